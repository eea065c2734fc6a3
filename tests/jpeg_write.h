/* JPEG pictures for the tests, made with libjpeg in memory. */
#ifndef NNDL_TESTS_JPEG_WRITE_H
#define NNDL_TESTS_JPEG_WRITE_H

#include <stddef.h>
#include <stdint.h>

/* Encodes w x h pixels of `components` bytes each (1: gray, 3: RGB) at
 * `quality` (1-100), progressive or baseline. Returns a malloc'd buffer of
 * *len bytes, or NULL. */
unsigned char *test_jpeg_encode(const uint8_t *pixels, int w, int h, int components,
                                int quality, int progressive, size_t *len);

/* The same, written to `path`; 0 on failure. */
int test_jpeg_write(const char *path, const uint8_t *pixels, int w, int h, int components,
                    int quality, int progressive);

#endif
