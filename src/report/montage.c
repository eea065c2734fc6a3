/* A grid of labelled images, drawn in gray and written as PNG. */
#include "report/montage.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "report/font.h"

enum {
    PAPER = 255,     /* background */
    FRAME = 200,     /* the thin frame around each image */
    INK = 0,         /* labels and the title */
    INDEX_INK = 110, /* the image index, quieter than the label */
    TILE_SIDE = 84,  /* an image is scaled up to about this many pixels */
    TITLE_SCALE = 2
};

static int title_height(const char *title)
{
    return title && *title ? FONT_HEIGHT * TITLE_SCALE + MONTAGE_GAP : 0;
}

nndl_status montage_plan(const nndl_dataset *ds, size_t n_tiles, const char *title,
                         montage_layout *layout, nndl_error *err)
{
    int rows = nndl_dataset_rows(ds), cols = nndl_dataset_cols(ds);
    int side = rows > cols ? rows : cols;
    montage_layout l = {0};
    l.scale = side < TILE_SIDE ? TILE_SIDE / side : 1;
    l.box_w = cols * l.scale + 2;
    l.box_h = rows * l.scale + 2;
    /* room for a digit's label and a five-digit index side by side */
    int min_w = font_text_width("0\xe2\x86\x92" "0", MONTAGE_LABEL_SCALE) + MONTAGE_GAP +
                font_text_width("#00000", 1);
    if (l.box_w < min_w) l.box_w = min_w;
    l.cell_w = l.box_w + MONTAGE_GAP;
    l.cell_h = l.box_h + MONTAGE_LABEL_HEIGHT + MONTAGE_GAP;
    l.columns = n_tiles < MONTAGE_COLUMNS ? (int)n_tiles : MONTAGE_COLUMNS;
    size_t grid_rows = l.columns ? (n_tiles + (size_t)l.columns - 1) / (size_t)l.columns : 0;
    l.top = MONTAGE_MARGIN + title_height(title);

    uint64_t width = 2 * MONTAGE_MARGIN + (uint64_t)l.columns * (uint64_t)l.cell_w;
    if (l.columns) width -= MONTAGE_GAP;
    uint64_t title_w = 2 * MONTAGE_MARGIN;
    if (title) title_w += (uint64_t)font_text_width(title, TITLE_SCALE);
    if (width < title_w) width = title_w;
    uint64_t height = (uint64_t)l.top + (uint64_t)grid_rows * (uint64_t)l.cell_h +
                      MONTAGE_MARGIN - (grid_rows ? MONTAGE_GAP : 0);
    if (width > NNDL_MAX_PICTURE_SIDE || height > NNDL_MAX_PICTURE_SIDE ||
        width * height > NNDL_MAX_PICTURE_PIXELS)
        return error_set(err, NNDL_ERR_ARG,
                         "montage: %zu images of %d x %d make a picture of %llu x %llu pixels, "
                         "over the limit of %u per side and %u in all",
                         n_tiles, rows, cols, (unsigned long long)width,
                         (unsigned long long)height, NNDL_MAX_PICTURE_SIDE,
                         NNDL_MAX_PICTURE_PIXELS);
    l.rows = (int)grid_rows;
    l.width = (int)width;
    l.height = (int)height;
    *layout = l;
    return NNDL_OK;
}

void montage_tile_origin(const montage_layout *layout, size_t i, int *x, int *y)
{
    size_t columns = layout->columns > 0 ? (size_t)layout->columns : 1;
    *x = MONTAGE_MARGIN + (int)(i % columns) * layout->cell_w;
    *y = layout->top + (int)(i / columns) * layout->cell_h;
}

/* The image in its frame, dark on white, and its labels below it. */
static void draw_tile(uint8_t *pixels, const montage_layout *l, const nndl_dataset *ds,
                      const montage_tile *t, int x0, int y0)
{
    int rows = nndl_dataset_rows(ds), cols = nndl_dataset_cols(ds), s = l->scale;
    int img_w = cols * s + 2, img_h = rows * s + 2; /* frame included */
    for (int y = 0; y < img_h; y++)
        for (int x = 0; x < img_w; x++) {
            uint8_t v = FRAME;
            if (x > 0 && y > 0 && x < img_w - 1 && y < img_h - 1)
                v = (uint8_t)(255 - nndl_dataset_image(ds, t->index)[(y - 1) / s * cols +
                                                                     (x - 1) / s]);
            pixels[(size_t)(y0 + y) * (size_t)l->width + (size_t)(x0 + x)] = v;
        }

    /* "4→9" under the image; the index right-aligned beside it */
    char label[64], index[32];
    snprintf(label, sizeof label, "%d\xe2\x86\x92%d", t->label, t->answer);
    snprintf(index, sizeof index, "#%zu", t->index);
    int text_y = y0 + l->box_h + 4;
    font_draw(pixels, l->width, l->height, x0, text_y, label, MONTAGE_LABEL_SCALE, INK);
    int index_w = font_text_width(index, 1);
    if (font_text_width(label, MONTAGE_LABEL_SCALE) + MONTAGE_GAP + index_w > l->box_w) return;
    int label_bottom = text_y + (FONT_HEIGHT - 1) * MONTAGE_LABEL_SCALE; /* digits' baseline */
    font_draw(pixels, l->width, l->height, x0 + l->box_w - index_w,
              label_bottom - (FONT_HEIGHT - 1), index, 1, INDEX_INK);
}

nndl_status montage_render(const nndl_dataset *ds, const montage_tile *tiles, size_t n_tiles,
                           const char *title, uint8_t **pixels, montage_layout *layout,
                           nndl_error *err)
{
    if (!ds || (!tiles && n_tiles) || !pixels || !layout)
        return error_set(err, NNDL_ERR_ARG, "montage: NULL argument");
    size_t count = nndl_dataset_count(ds);
    for (size_t i = 0; i < n_tiles; i++)
        if (tiles[i].index >= count)
            return error_set(err, NNDL_ERR_ARG, "montage: image %zu of a dataset of %zu",
                             tiles[i].index, count);
    montage_layout l;
    nndl_status st = montage_plan(ds, n_tiles, title, &l, err);
    if (st != NNDL_OK) return st;
    uint8_t *p = alloc_array((size_t)l.width * (size_t)l.height, 1);
    if (!p)
        return error_set(err, NNDL_ERR_NOMEM, "montage: out of memory for %d x %d pixels",
                         l.width, l.height);
    memset(p, PAPER, (size_t)l.width * (size_t)l.height);
    if (title && *title)
        font_draw(p, l.width, l.height, MONTAGE_MARGIN, MONTAGE_MARGIN, title, TITLE_SCALE, INK);
    for (size_t i = 0; i < n_tiles; i++) {
        int x, y;
        montage_tile_origin(&l, i, &x, &y);
        draw_tile(p, &l, ds, &tiles[i], x, y);
    }
    *pixels = p;
    *layout = l;
    return NNDL_OK;
}

nndl_status montage_save_png(const char *path, const nndl_dataset *ds,
                             const montage_tile *tiles, size_t n_tiles, const char *title,
                             nndl_error *err)
{
    uint8_t *pixels;
    montage_layout l;
    nndl_status st = montage_render(ds, tiles, n_tiles, title, &pixels, &l, err);
    if (st != NNDL_OK) return st;
    st = nndl_image_save_png(path, pixels, l.width, l.height, err);
    alloc_free(pixels);
    return st;
}
