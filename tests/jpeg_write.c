/* JPEG pictures for the tests (see jpeg_write.h). libjpeg's default error
 * handler exits; the tests only encode pictures they made, so that is a
 * failure of the test program itself, which is acceptable here. */
#include "jpeg_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

unsigned char *test_jpeg_encode(const uint8_t *pixels, int w, int h, int components,
                                int quality, int progressive, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *out = NULL;
    unsigned long out_len = 0;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &out_len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = components;
    c.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)c.next_scanline * (size_t)w * (size_t)components);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    /* libjpeg's buffer comes from malloc; hand back a copy of our own size */
    unsigned char *copy = out ? malloc(out_len) : NULL;
    if (copy) memcpy(copy, out, out_len);
    free(out);
    *len = copy ? (size_t)out_len : 0;
    return copy;
}

int test_jpeg_write(const char *path, const uint8_t *pixels, int w, int h, int components,
                    int quality, int progressive)
{
    size_t len;
    unsigned char *data = test_jpeg_encode(pixels, w, h, components, quality, progressive, &len);
    FILE *f = data ? fopen(path, "wb") : NULL;
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0) ok = 0;
    free(data);
    return ok;
}
