/* A picture of chosen images of a dataset in a grid, each under a label:
 * the misclassified digits of `nndl eval --errors`.
 *
 * Every tile is one image, scaled up (3x for MNIST's 28 x 28), drawn dark
 * on white in a thin frame, with "label→answer" under it and the image's
 * index in the dataset ("#1234") at its right; a title line can head the
 * grid. The picture is 8-bit gray, written as PNG. */
#ifndef NNDL_REPORT_MONTAGE_H
#define NNDL_REPORT_MONTAGE_H

#include <stddef.h>
#include <stdint.h>

#include "nndl.h"

enum {
    MONTAGE_MAX_TILES = 400, /* what the command line shows at most */
    MONTAGE_COLUMNS = 20,    /* tiles per row, at most */
    MONTAGE_MARGIN = 12,     /* white border around everything, pixels */
    MONTAGE_GAP = 8,         /* between tiles */
    MONTAGE_LABEL_SCALE = 2, /* font pixels of the "4→9" label */
    MONTAGE_LABEL_HEIGHT = 22 /* the label strip under each image */
};

typedef struct montage_tile {
    size_t index;      /* image of the dataset */
    int label, answer; /* its true label and the network's answer */
} montage_tile;

typedef struct montage_layout {
    int scale;          /* each image pixel is scale x scale */
    int columns, rows;  /* of the grid */
    int box_w, box_h;   /* an image with its 1-pixel frame */
    int cell_w, cell_h; /* a box and its label strip, plus the gap */
    int top;            /* y of the first row of tiles (below the title) */
    int width, height;  /* of the whole picture */
} montage_layout;

/* The layout for n_tiles images of `ds` under `title` (NULL or "" for
 * none). NNDL_ERR_ARG if the picture would exceed NNDL_MAX_PICTURE_SIDE or
 * NNDL_MAX_PICTURE_PIXELS. */
nndl_status montage_plan(const nndl_dataset *ds, size_t n_tiles, const char *title,
                         montage_layout *layout, nndl_error *err);

/* Top-left corner of tile i's box; its label strip is the MONTAGE_LABEL_HEIGHT
 * rows below the box. */
void montage_tile_origin(const montage_layout *layout, size_t i, int *x, int *y);

/* Draws the picture: *pixels gets layout->width x layout->height gray
 * bytes (0 black, 255 white), which the caller frees with free(). */
nndl_status montage_render(const nndl_dataset *ds, const montage_tile *tiles, size_t n_tiles,
                           const char *title, uint8_t **pixels, montage_layout *layout,
                           nndl_error *err);

/* montage_render, then nndl_image_save_png to `path`. */
nndl_status montage_save_png(const char *path, const nndl_dataset *ds,
                             const montage_tile *tiles, size_t n_tiles, const char *title,
                             nndl_error *err);

#endif
