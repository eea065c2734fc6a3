/* Reading pictures: PNG through libpng, JPEG through libjpeg (jpeg.c), PGM
 * (P2 and P5) by hand, all into 8-bit gray with 0 black and 255 white.
 *
 * The file is recognized by its first bytes. Every size is checked against
 * NNDL_MAX_PICTURE_SIDE and NNDL_MAX_PICTURE_PIXELS before anything is
 * allocated; for a PNG the dimensions are read from the IHDR chunk before
 * libpng sees the file, so that a hostile header gets nndl's own message,
 * and libpng's user limits are set as well. */
#include "image/image.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"

nndl_status image_check_size(const char *path, uint64_t width, uint64_t height,
                             nndl_error *err)
{
    if (width == 0 || height == 0)
        return error_set(err, NNDL_ERR_FORMAT, "%s: image has no pixels (%llu x %llu)", path,
                         (unsigned long long)width, (unsigned long long)height);
    if (width > NNDL_MAX_PICTURE_SIDE || height > NNDL_MAX_PICTURE_SIDE ||
        width * height > NNDL_MAX_PICTURE_PIXELS)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: image of %llu x %llu pixels is too large (nndl reads at most "
                         "%u pixels a side and %u megapixels)",
                         path, (unsigned long long)width, (unsigned long long)height,
                         (unsigned)NNDL_MAX_PICTURE_SIDE,
                         (unsigned)(NNDL_MAX_PICTURE_PIXELS >> 20));
    return NNDL_OK;
}

const char *image_name(const nndl_image *img)
{
    return img && img->name ? img->name : "image";
}

void nndl_image_free(nndl_image *img)
{
    if (!img) return;
    alloc_free(img->pixels);
    alloc_free(img->name);
    img->pixels = NULL;
    img->name = NULL;
    img->width = img->height = 0;
}

/* ---- The input stream ------------------------------------------------------ */

size_t image_source_read(image_source *s, uint8_t *data, size_t len)
{
    size_t n = 0;
    while (n < len && s->head_pos < s->head_len) data[n++] = s->head[s->head_pos++];
    if (n < len) n += fread(data + n, 1, len - n, s->f);
    s->pos += n;
    return n;
}

static int source_getc(image_source *s)
{
    if (s->head_pos < s->head_len) return s->head[s->head_pos++];
    return getc(s->f);
}

static uint32_t read_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- PNG --------------------------------------------------------------------- */

/* What libpng's callbacks share with the reader. */
typedef struct png_state {
    image_source *src;
    uint64_t next_chunk; /* offset of the next chunk's length field; 0 once lost */
    char message[160]; /* libpng's reason, when it fails */
    png_structp png;
    png_infop info;
    uint8_t *decoded; /* height rows of width * channels bytes */
    png_bytep *rows;
    int channels;
} png_state;

static void png_on_error(png_structp png, png_const_charp message)
{
    png_state *st = png_get_error_ptr(png);
    snprintf(st->message, sizeof st->message, "%s", message);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp message)
{
    (void)png; /* The library never prints; warnings change nothing we read. */
    (void)message;
}

/* libpng reads each chunk's length and type as one 8-byte read at the
 * chunk's start. Following those reads, a chunk that declares more bytes
 * than the file has left is refused there, before libpng reads (or
 * allocates) anything for it. */
static void check_chunk(png_state *st, uint64_t at, const png_bytep data, size_t len)
{
    if (!st->next_chunk || at + len <= st->next_chunk) return;
    if (at != st->next_chunk || len != 8) {
        st->next_chunk = 0; /* some other pattern of reads: leave it to libpng */
        return;
    }
    uint32_t length = read_be32(data);
    uint64_t end = at + 12 + (uint64_t)length; /* length, type, data, CRC */
    if (end > st->src->size) {
        char type[5];
        for (int k = 0; k < 4; k++)
            type[k] = data[4 + k] >= 33 && data[4 + k] <= 126 ? (char)data[4 + k] : '?';
        type[4] = 0;
        snprintf(st->message, sizeof st->message,
                 "its %s chunk at byte %llu declares %lu bytes, past the end of the file (%llu "
                 "bytes)", type, (unsigned long long)at, (unsigned long)length,
                 (unsigned long long)st->src->size);
        png_longjmp(st->png, 1);
    }
    st->next_chunk = end;
}

static void png_read_bytes(png_structp png, png_bytep data, size_t len)
{
    png_state *st = png_get_io_ptr(png);
    uint64_t at = st->src->pos;
    if (image_source_read(st->src, data, len) < len)
        png_error(png, ferror(st->src->f) ? "read error" : "truncated file");
    check_chunk(st, at, data, len);
}

/* The chunks nndl reads are IHDR, PLTE, IDAT, IEND, tRNS (transparency)
 * and the colour chunks gAMA, cHRM and sRGB, all of bounded size. Every
 * other chunk is skipped unread, a kilobyte at a time: libpng would
 * otherwise buffer text, profiles and the like whole (and decompress
 * them), so that a few bytes could ask for gigabytes. */
static void skip_other_chunks(png_structp png)
{
    static const png_byte skipped[] = "bKGD" "\0" "eXIf" "\0" "hIST" "\0" "iCCP" "\0"
                                      "iTXt" "\0" "oFFs" "\0" "pCAL" "\0" "pHYs" "\0"
                                      "sBIT" "\0" "sCAL" "\0" "sPLT" "\0" "tEXt" "\0"
                                      "tIME" "\0" "zTXt";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0); /* unknown ones */
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, skipped, (int)(sizeof skipped / 5));
}

/* Decodes the whole picture into st->decoded, 8-bit gray or gray+alpha.
 * Everything it allocates hangs off `st` (which lives in the caller's frame,
 * so it keeps its values across libpng's longjmp) and is freed by the
 * caller. Returns NNDL_OK, a status set in `err`, or -1 when libpng failed
 * with the reason in st->message. */
static int png_decode(png_state *st, uint32_t width, uint32_t height, nndl_error *err)
{
    png_structp png = st->png;
    png_infop info = st->info;
    if (setjmp(png_jmpbuf(png))) return -1;

    png_set_read_fn(png, st, png_read_bytes);
    png_set_user_limits(png, NNDL_MAX_PICTURE_SIDE, NNDL_MAX_PICTURE_SIDE);
    png_set_chunk_cache_max(png, 1000);        /* ancillary chunks kept */
    png_set_chunk_malloc_max(png, 16u << 20);  /* bytes of one chunk */
    skip_other_chunks(png);
    png_read_info(png, info);

    /* Palette to RGB, gray of 1, 2 or 4 bits to 8, tRNS to an alpha
     * channel; 16 bits to 8 with rounding; color to gray (luminance with
     * the file's or sRGB's coefficients). What is left is gray or gray and
     * alpha, one byte each. */
    png_set_expand(png);
#ifdef PNG_READ_SCALE_16_TO_8_SUPPORTED
    png_set_scale_16(png);
#else
    png_set_strip_16(png);
#endif
    if (png_get_color_type(png, info) & PNG_COLOR_MASK_COLOR)
        png_set_rgb_to_gray_fixed(png, PNG_ERROR_ACTION_NONE, -1, -1);
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, info);

    st->channels = png_get_channels(png, info);
    if (png_get_image_width(png, info) != width || png_get_image_height(png, info) != height ||
        png_get_bit_depth(png, info) != 8 || (st->channels != 1 && st->channels != 2) ||
        png_get_rowbytes(png, info) != (size_t)width * (size_t)st->channels)
        return error_set(err, NNDL_ERR_FORMAT, "%s: unsupported PNG variant (color type %d)",
                         st->src->path, png_get_color_type(png, info));

    st->decoded = alloc_array((size_t)width * height, (size_t)st->channels);
    st->rows = alloc_array(height, sizeof *st->rows);
    if (!st->decoded || !st->rows)
        return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory for a %u x %u image",
                         st->src->path, (unsigned)width, (unsigned)height);
    for (uint32_t y = 0; y < height; y++)
        st->rows[y] = st->decoded + (size_t)y * width * (size_t)st->channels;
    png_read_image(png, st->rows);
    png_read_end(png, NULL);
    return NNDL_OK;
}

static nndl_status load_png(image_source *src, uint8_t **pixels, uint32_t *w, uint32_t *h,
                            nndl_error *err)
{
    /* The IHDR chunk must come first: length 13, "IHDR", width, height. */
    if (src->head_len < IMAGE_HEAD_MAX)
        return error_set(err, NNDL_ERR_FORMAT, "%s: truncated PNG image (no header)", src->path);
    if (read_be32(src->head + 8) != 13 || memcmp(src->head + 12, "IHDR", 4) != 0)
        return error_set(err, NNDL_ERR_FORMAT, "%s: damaged PNG image (no IHDR chunk)",
                         src->path);
    uint32_t width = read_be32(src->head + 16), height = read_be32(src->head + 20);
    nndl_status status = image_check_size(src->path, width, height, err);
    if (status != NNDL_OK) return status;

    png_state st;
    memset(&st, 0, sizeof st);
    st.src = src;
    st.next_chunk = 8; /* after the signature */
    st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, png_on_error, png_on_warning);
    if (st.png) st.info = png_create_info_struct(st.png);
    if (!st.png || !st.info) {
        png_destroy_read_struct(st.png ? &st.png : NULL, NULL, NULL);
        return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory reading PNG", src->path);
    }
    int rc = png_decode(&st, width, height, err);
    if (rc == -1)
        status = error_set(err, NNDL_ERR_FORMAT, "%s: damaged PNG image: %s", src->path,
                           st.message);
    else
        status = (nndl_status)rc;

    uint8_t *gray = NULL;
    if (status == NNDL_OK && !(gray = alloc_array(width, height)))
        status = error_set(err, NNDL_ERR_NOMEM, "%s: out of memory for a %u x %u image",
                           src->path, (unsigned)width, (unsigned)height);
    if (status == NNDL_OK) {
        size_t n = (size_t)width * height;
        if (st.channels == 1) {
            memcpy(gray, st.decoded, n);
        } else {
            /* Composite onto white: ink drawn on a transparent background
             * becomes ink on paper. */
            for (size_t i = 0; i < n; i++) {
                unsigned g = st.decoded[2 * i], a = st.decoded[2 * i + 1];
                gray[i] = (uint8_t)((g * a + 255u * (255u - a) + 127u) / 255u);
            }
        }
        *pixels = gray;
        *w = width;
        *h = height;
    }
    png_destroy_read_struct(&st.png, &st.info, NULL);
    alloc_free(st.rows);
    alloc_free(st.decoded);
    return status;
}

/* ---- PGM --------------------------------------------------------------------- */

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Reads one decimal number of a PGM header or P2 raster, skipping
 * whitespace and '#' comments before it. A number too large for any limit
 * stops growing past 2^31 (so it cannot overflow) and is refused by the
 * caller's range checks; -1 at the end of the file or a character that is
 * not a digit. `after` receives the character that ended the number (EOF
 * possible). */
static int64_t pgm_number(image_source *s, int *after)
{
    int c = source_getc(s);
    for (;;) {
        while (is_space(c)) c = source_getc(s);
        if (c != '#') break;
        while (c != '\n' && c != '\r' && c != EOF) c = source_getc(s);
    }
    if (c < '0' || c > '9') {
        *after = c;
        return -1;
    }
    int64_t v = 0;
    while (c >= '0' && c <= '9') {
        if (v < ((int64_t)1 << 31)) v = v * 10 + (c - '0');
        c = source_getc(s);
    }
    *after = c;
    return v;
}

static nndl_status load_pgm(image_source *src, int ascii, uint8_t **pixels, uint32_t *w, uint32_t *h,
                            nndl_error *err)
{
    const char *path = src->path;
    int after;
    int64_t width = pgm_number(src, &after), height = -1, maxval = -1;
    if (width >= 0 && is_space(after)) height = pgm_number(src, &after);
    if (height >= 0 && is_space(after)) maxval = pgm_number(src, &after);
    if (maxval < 0 || !is_space(after))
        return error_set(err, NNDL_ERR_FORMAT, "%s: damaged PGM header (%s)", path,
                         after == EOF ? "truncated" : "expected width, height and maxval");
    if (maxval < 1 || maxval > 65535)
        return error_set(err, NNDL_ERR_FORMAT, "%s: PGM maxval %lld is out of range 1..65535",
                         path, (long long)maxval);
    nndl_status status = image_check_size(path, (uint64_t)width, (uint64_t)height, err);
    if (status != NNDL_OK) return status;

    size_t n = (size_t)width * (size_t)height;
    uint8_t *gray = alloc_array(n, 1);
    if (!gray)
        return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory for a %lld x %lld image", path,
                         (long long)width, (long long)height);
    unsigned max = (unsigned)maxval, bytes = max > 255 ? 2 : 1;
    size_t done = 0;
    const char *problem = NULL;
    if (ascii) {
        for (; done < n; done++) {
            int64_t v = pgm_number(src, &after);
            if (v < 0) {
                problem = after == EOF ? "truncated" : "a sample is not a number";
                break;
            }
            if (v > (int64_t)max || (done + 1 < n && !is_space(after))) {
                problem = v > (int64_t)max ? "a sample exceeds maxval" : "a sample is not a number";
                break;
            }
            gray[done] = (uint8_t)(((unsigned)v * 255u + max / 2) / max);
        }
    } else {
        uint8_t buf[4096];
        while (done < n && !problem) {
            size_t want = (n - done) * bytes < sizeof buf ? (n - done) * bytes : sizeof buf;
            size_t got = image_source_read(src, buf, want);
            for (size_t k = 0; k + bytes <= got; k += bytes, done++) {
                unsigned v = bytes == 2 ? (unsigned)buf[k] << 8 | buf[k + 1] : buf[k];
                if (v > max) {
                    problem = "a sample exceeds maxval";
                    break;
                }
                gray[done] = (uint8_t)((v * 255u + max / 2) / max);
            }
            if (!problem && got < want) problem = ferror(src->f) ? "read error" : "truncated";
        }
    }
    if (problem) {
        alloc_free(gray);
        return error_set(err, NNDL_ERR_FORMAT, "%s: damaged PGM image: %s (pixel %zu of %zu)",
                         path, problem, done + 1, n);
    }
    *pixels = gray;
    *w = (uint32_t)width;
    *h = (uint32_t)height;
    return NNDL_OK;
}

/* ---- Recognizing the file ------------------------------------------------------ */

/* Reads the picture in `f` (already open, `size` bytes; closed here);
 * `name` names it in messages and becomes out->name. */
static nndl_status load_stream(FILE *f, uint64_t size, const char *name, nndl_image *out,
                               nndl_error *err)
{
    image_source src = {0};
    src.path = name;
    src.f = f;
    src.size = size;
    src.head_len = fread(src.head, 1, IMAGE_HEAD_MAX, src.f);

    uint8_t *pixels = NULL;
    uint32_t width = 0, height = 0;
    nndl_status status;
    if (ferror(src.f)) {
        status = error_set(err, NNDL_ERR_IO, "%s: cannot read image: %s", name, strerror(errno));
    } else if (src.head_len == 0) {
        status = error_set(err, NNDL_ERR_FORMAT, "%s: empty, not an image", name);
    } else if (src.head_len >= 8 && png_sig_cmp(src.head, 0, 8) == 0) {
        status = load_png(&src, &pixels, &width, &height, err);
    } else if (src.head_len >= 3 && src.head[0] == 0xFF && src.head[1] == 0xD8 &&
               src.head[2] == 0xFF) {
        status = image_load_jpeg(&src, &pixels, &width, &height, err);
    } else if (src.head_len >= 2 && src.head[0] == 'P' && (src.head[1] == '2' || src.head[1] == '5')) {
        src.head_pos = 2;
        status = load_pgm(&src, src.head[1] == '2', &pixels, &width, &height, err);
    } else if (src.head_len >= 2 && src.head[0] == 'P' && src.head[1] >= '1' && src.head[1] <= '7') {
        status = error_set(err, NNDL_ERR_FORMAT,
                           "%s: Netpbm P%c images are not supported (only PGM, P2 and P5, PNG and JPEG)",
                           name, src.head[1]);
    } else {
        status = error_set(err, NNDL_ERR_FORMAT, "%s: not a PNG, JPEG or PGM image", name);
    }
    fclose(src.f);

    if (status == NNDL_OK) {
        size_t len = strlen(name);
        char *copy = alloc_array(len + 1, 1);
        if (!copy) {
            alloc_free(pixels);
            return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", name);
        }
        memcpy(copy, name, len + 1);
        out->width = (int)width;
        out->height = (int)height;
        out->pixels = pixels;
        out->name = copy;
    }
    return status;
}

nndl_status nndl_image_load(const char *path, nndl_image *out, nndl_error *err)
{
    if (!path || !out) return error_set(err, NNDL_ERR_ARG, "nndl_image_load: NULL argument");
    FILE *f;
    uint64_t size;
    nndl_status st = file_open_read(path, "image", NNDL_ERR_IO, &f, &size, err);
    if (st != NNDL_OK) return st;
    return load_stream(f, size, path, out, err);
}

nndl_status nndl_image_load_memory(const void *data, size_t size, const char *name,
                                   nndl_image *out, nndl_error *err)
{
    if ((!data && size) || !out)
        return error_set(err, NNDL_ERR_ARG, "nndl_image_load_memory: NULL argument");
    if (!name) name = "image";
    if (size == 0) return error_set(err, NNDL_ERR_FORMAT, "%s: empty, not an image", name);
    /* fmemopen gives the decoders the same FILE they read files through */
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f) return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", name);
    return load_stream(f, size, name, out, err);
}
