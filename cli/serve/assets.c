/* Finding the page's files that assets.S put into the binary. */
#include <string.h>

#include "serve.h"

extern const char nndl_web_index_html[], nndl_web_index_html_end[];
extern const char nndl_web_app_js[], nndl_web_app_js_end[];
extern const char nndl_web_style_css[], nndl_web_style_css_end[];

int web_asset_find(const char *path, web_asset *out)
{
    static const struct {
        const char *path, *type, *start, *end;
    } table[] = {
        {"/", "text/html; charset=utf-8", nndl_web_index_html, nndl_web_index_html_end},
        {"/app.js", "text/javascript; charset=utf-8", nndl_web_app_js, nndl_web_app_js_end},
        {"/style.css", "text/css; charset=utf-8", nndl_web_style_css, nndl_web_style_css_end},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(path, table[i].path) != 0 &&
            !(i == 0 && strcmp(path, "/index.html") == 0))
            continue;
        out->path = table[i].path;
        out->content_type = table[i].type;
        out->data = table[i].start;
        out->length = (size_t)(table[i].end - table[i].start);
        return 1;
    }
    return 0;
}
