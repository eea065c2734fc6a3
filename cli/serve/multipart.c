/* The first file of a multipart/form-data body (RFC 7578, the framing of
 * RFC 2046): what `curl -F file=@digit.png` and a browser's file input send.
 *
 * Only what finding that file needs is read: the boundary parameter, each
 * part's headers (for a filename in Content-Disposition) and the
 * delimiters. Everything is bounded by the body: nothing is allocated, no
 * index leaves [body, body + len), and the delimiter search is linear (see
 * find_delimiter). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "serve.h"

enum {
    BOUNDARY_MAX = 70,          /* RFC 2046's limit on a boundary's length */
    PART_HEADERS_MAX = 8192     /* bytes of one part's headers */
};

/* RFC 2046's bchars: a boundary is made of these (a space, but not last). */
static int is_bchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("'()+_,-./:=? ", c) != NULL);
}

/* The boundary parameter of a Content-Type, quoted or not, into `out`
 * (BOUNDARY_MAX + 1 bytes). 0 when missing, -1 when not a valid boundary. */
static int boundary_of(const char *content_type, char *out)
{
    const char *p = strchr(content_type, ';');
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t') p++;
        if (strncasecmp(p, "boundary=", 9) != 0) {
            /* skip this parameter, minding quoted values */
            int quoted = 0;
            for (; *p && (quoted || *p != ';'); p++) {
                if (*p == '"') quoted = !quoted;
                else if (*p == '\\' && quoted && p[1]) p++;
            }
            p = *p == ';' ? p : NULL;
            continue;
        }
        p += 9;
        size_t n = 0;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (n == BOUNDARY_MAX || !is_bchar(*p)) return -1;
                out[n++] = *p;
            }
            if (*p != '"') return -1;
        } else {
            for (; *p && *p != ';' && *p != ' ' && *p != '\t'; p++) {
                if (n == BOUNDARY_MAX || !is_bchar(*p)) return -1;
                out[n++] = *p;
            }
        }
        if (n == 0 || out[n - 1] == ' ') return -1;
        out[n] = 0;
        return 1;
    }
    return 0;
}

/* The offset in body[from, len) of the next "\r\n--BOUNDARY", or len when
 * there is none. Linear: the pattern holds one '\r', its first byte (a
 * boundary has none), so a partial match at a '\r' that fails after k bytes
 * has passed no other '\r', and the next candidate starts past them. */
static size_t find_delimiter(const char *body, size_t len, size_t from, const char *boundary,
                             size_t blen)
{
    size_t need = 4 + blen;
    while (from < len && len - from >= need) {
        const char *cr = memchr(body + from, '\r', len - from - need + 1);
        if (!cr) return len;
        size_t at = (size_t)(cr - body);
        if (body[at + 1] == '\n' && body[at + 2] == '-' && body[at + 3] == '-' &&
            memcmp(body + at + 4, boundary, blen) == 0)
            return at;
        from = at + 1;
    }
    return len;
}

/* Whether a Content-Disposition value (`len` bytes) has a filename or
 * filename* parameter. */
static int has_filename(const char *v, size_t len)
{
    size_t i = 0;
    int quoted = 0;
    while (i < len) {
        /* to the next ';' outside quotes */
        for (; i < len && (quoted || v[i] != ';'); i++) {
            if (v[i] == '"') quoted = !quoted;
            else if (v[i] == '\\' && quoted && i + 1 < len) i++;
        }
        if (i >= len) return 0;
        i++;
        while (i < len && (v[i] == ' ' || v[i] == '\t')) i++;
        if (len - i >= 8 && strncasecmp(v + i, "filename", 8) == 0) {
            size_t j = i + 8;
            if (j < len && v[j] == '*') j++;
            while (j < len && (v[j] == ' ' || v[j] == '\t')) j++;
            if (j < len && v[j] == '=') return 1;
        }
    }
    return 0;
}

/* Reads the headers of part `n` starting at body[*at]; on success *at is
 * the first byte of its content and *is_file says whether it carries a
 * file. 0 with the reason in `why`. */
static int read_part_headers(const char *body, size_t len, size_t *at, int n, int *is_file,
                             char *why, size_t cap)
{
    size_t p = *at;
    const size_t start = p;
    *is_file = 0;
    for (;;) {
        /* one line, up to CRLF; all of the part's headers within the limit */
        size_t end = p;
        while (end + 1 < len && !(body[end] == '\r' && body[end + 1] == '\n')) {
            if (end - start >= PART_HEADERS_MAX) {
                snprintf(why, cap, "multipart/form-data: the headers of part %d are over %d "
                         "bytes", n, PART_HEADERS_MAX);
                return 0;
            }
            end++;
        }
        if (end + 1 >= len) {
            snprintf(why, cap, "multipart/form-data: the body is cut off in the headers of "
                     "part %d", n);
            return 0;
        }
        if (end == p) { /* the empty line: content follows */
            *at = end + 2;
            return 1;
        }
        static const char cd[] = "Content-Disposition:";
        if (end - p >= sizeof cd - 1 && strncasecmp(body + p, cd, sizeof cd - 1) == 0 &&
            has_filename(body + p + sizeof cd - 1, end - p - (sizeof cd - 1)))
            *is_file = 1;
        p = end + 2;
    }
}

int multipart_first_file(const char *content_type, const char *body, size_t len,
                         const char **file, size_t *file_len, char *why, size_t cap)
{
    char boundary[BOUNDARY_MAX + 1];
    int b = content_type ? boundary_of(content_type, boundary) : 0;
    if (b == 0) {
        snprintf(why, cap, "multipart/form-data without a boundary= parameter in its "
                 "Content-Type");
        return 0;
    }
    if (b < 0) {
        snprintf(why, cap, "multipart/form-data: the boundary is not valid (1 to %d letters, "
                 "digits or '()+_,-./:=? )", BOUNDARY_MAX);
        return 0;
    }
    size_t blen = strlen(boundary);

    /* The first delimiter: at the start, or after a preamble and CRLF. */
    size_t at;
    if (len >= 2 + blen && body[0] == '-' && body[1] == '-' && memcmp(body + 2, boundary, blen) == 0)
        at = 0;
    else if ((at = find_delimiter(body, len, 0, boundary, blen)) < len)
        at += 2;
    else {
        snprintf(why, cap, "multipart/form-data: the body does not hold its boundary \"%s\"",
                 boundary);
        return 0;
    }
    for (int n = 1;; n++) {
        at += 2 + blen; /* past "--BOUNDARY" */
        if (len - at >= 2 && body[at] == '-' && body[at + 1] == '-') break; /* the last one */
        while (at < len && (body[at] == ' ' || body[at] == '\t')) at++;
        if (len - at < 2 || body[at] != '\r' || body[at + 1] != '\n') {
            snprintf(why, cap, "multipart/form-data: the body is cut off or malformed after "
                     "boundary %d", n);
            return 0;
        }
        at += 2;
        int is_file;
        if (!read_part_headers(body, len, &at, n, &is_file, why, cap)) return 0;
        size_t end = find_delimiter(body, len, at, boundary, blen);
        if (end == len) {
            snprintf(why, cap, "multipart/form-data: the body is cut off: part %d does not end "
                     "with its boundary", n);
            return 0;
        }
        if (is_file) {
            *file = body + at;
            *file_len = end - at;
            return 1;
        }
        at = end + 2;
    }
    snprintf(why, cap, "multipart/form-data: no file in the body (send the picture as a file: "
             "curl -F file=@digit.png)");
    return 0;
}
