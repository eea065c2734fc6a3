#include "plot_png.h"

#include <cairo.h>
#include <librsvg/rsvg.h>
#include <string.h>
#include <strings.h>

int plot_wants_png(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".png") == 0;
}

static cairo_status_t write_to_file(void *closure, const unsigned char *data, unsigned int length)
{
    return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS
                                                      : CAIRO_STATUS_WRITE_ERROR;
}

int plot_svg_to_png(const char *svg, size_t len, FILE *f, char *why, size_t why_cap)
{
    GError *error = NULL;
    RsvgHandle *svg_handle = rsvg_handle_new_from_data((const guint8 *)svg, len, &error);
    double width = 0, height = 0;
    int ok = svg_handle && rsvg_handle_get_intrinsic_size_in_pixels(svg_handle, &width, &height) &&
             width >= 1 && height >= 1;
    cairo_surface_t *surface =
        ok ? cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)width, (int)height) : NULL;
    cairo_t *cr = surface ? cairo_create(surface) : NULL;
    ok = ok && cr && cairo_status(cr) == CAIRO_STATUS_SUCCESS;
    if (ok) {
        RsvgRectangle viewport = {0, 0, width, height};
        ok = rsvg_handle_render_document(svg_handle, cr, &viewport, &error);
    }
    if (ok) ok = cairo_surface_write_to_png_stream(surface, write_to_file, f) == CAIRO_STATUS_SUCCESS;
    if (!ok)
        snprintf(why, why_cap, "cannot draw the PNG picture: %s",
                 error ? error->message : "librsvg or cairo failed");
    if (error) g_error_free(error);
    if (cr) cairo_destroy(cr);
    if (surface) cairo_surface_destroy(surface);
    if (svg_handle) g_object_unref(svg_handle);
    return ok ? 0 : -1;
}
