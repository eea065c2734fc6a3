/* A plot written as PNG: the SVG picture, rasterized by librsvg. */
#ifndef NNDL_CLI_PLOT_PNG_H
#define NNDL_CLI_PLOT_PNG_H

#include <stddef.h>
#include <stdio.h>

/* Whether `path` asks for PNG (ends in .png, any case). */
int plot_wants_png(const char *path);

/* Draws the SVG document `svg` (`len` bytes) at its own size and writes it
 * to `f` as PNG; 0, or -1 with the reason in `why`. */
int plot_svg_to_png(const char *svg, size_t len, FILE *f, char *why, size_t why_cap);

#endif
