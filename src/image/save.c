/* Writing an 8-bit grayscale PNG through libpng, atomically (the previous
 * file survives a failure; see src/model/atomic_file.h). */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>

#include "common/error.h"
#include "image/image.h"
#include "model/atomic_file.h"

typedef struct png_picture {
    const uint8_t *gray;
    int width, height;
} png_picture;

static void png_on_write_error(png_structp png, png_const_charp message)
{
    (void)message; /* reported as an I/O error by atomic_file_write */
    png_longjmp(png, 1);
}

static void png_on_write_warning(png_structp png, png_const_charp message)
{
    (void)png;
    (void)message;
}

/* Encodes into `f`. Everything libpng allocates hangs off png and info,
 * which are set before setjmp and not changed after it. */
static int png_encode(png_structp png, png_infop info, FILE *f, const png_picture *p)
{
    if (setjmp(png_jmpbuf(png))) return -1;
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)p->width, (png_uint_32)p->height, 8,
                 PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < p->height; y++)
        png_write_row(png, p->gray + (size_t)y * (size_t)p->width);
    png_write_end(png, info);
    return 0;
}

static int write_png(FILE *f, const void *ctx)
{
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_on_write_error, png_on_write_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = -1;
    errno = 0;
    if (info) rc = png_encode(png, info, f, ctx);
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    /* A failed fwrite set errno; otherwise say it was an I/O error. */
    if (rc != 0 && errno == 0) errno = EIO;
    return rc;
}

nndl_status nndl_image_save_png(const char *path, const uint8_t *gray, int width, int height,
                                nndl_error *err)
{
    if (!path || !gray) return error_set(err, NNDL_ERR_ARG, "nndl_image_save_png: NULL argument");
    if (width < 1 || height < 1 || (unsigned)width > NNDL_MAX_PICTURE_SIDE ||
        (unsigned)height > NNDL_MAX_PICTURE_SIDE ||
        (uint64_t)width * (uint64_t)height > NNDL_MAX_PICTURE_PIXELS)
        return error_set(err, NNDL_ERR_ARG, "%s: cannot write an image of %d x %d pixels", path,
                         width, height);
    png_picture p = {gray, width, height};
    return atomic_file_write(path, "PNG image", write_png, &p, err);
}
