/* A small bitmap font for labels drawn into pictures (the montage of
 * misclassified digits): 5 x 8 glyphs, hand-drawn in font.c, covering
 * printable ASCII and the arrow U+2192. */
#ifndef NNDL_REPORT_FONT_H
#define NNDL_REPORT_FONT_H

#include <stdint.h>

enum {
    FONT_WIDTH = 5,   /* ink columns of a glyph */
    FONT_HEIGHT = 8,  /* rows: 7 above the baseline, 1 descender row */
    FONT_ADVANCE = 6  /* columns from one character to the next */
};

typedef struct font_glyph {
    uint32_t code;                 /* Unicode code point */
    const char *rows[FONT_HEIGHT]; /* FONT_WIDTH characters each: '#' ink, '.' none */
} font_glyph;

/* The glyph of code point `code`, or NULL if the font lacks it. */
const font_glyph *font_find(uint32_t code);

/* Decodes the UTF-8 character at *s and advances *s past it; a malformed
 * byte decodes as U+FFFD and is skipped alone. *s must not be at the end. */
uint32_t font_next_char(const char **s);

/* 1 if the font has a glyph for every character of `utf8`. */
int font_covers(const char *utf8);

/* Width in pixels of `utf8` drawn at `scale` (each font pixel a scale x
 * scale square), without the space after the last character. */
int font_text_width(const char *utf8, int scale);

/* Draws `utf8` in gray level `ink` into a grayscale image of width x
 * height bytes (row by row) with its top-left corner at (x, y), clipped to
 * the image. A character without a glyph is drawn as '?'. */
void font_draw(uint8_t *gray, int width, int height, int x, int y, const char *utf8, int scale,
               uint8_t ink);

#endif
