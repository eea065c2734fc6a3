/* A picture of a handwritten digit made to look like an MNIST image.
 *
 * MNIST was made from NIST's black-and-white scans: each digit's bounding
 * box was scaled, keeping its aspect ratio, to fit a 20x20 box with
 * anti-aliasing (hence the gray levels), and the result was placed in a
 * 28x28 field so that its center of mass (of the pixel values) fell on the
 * field's center. Ink is 1 (255 in the files), background 0. Measured on the
 * 10,000 test digits: the bounding box of the pixels of at least 64/255 has
 * a longer side of 20 for 99.9% of them, and the mean center of mass, in
 * pixel indices, is (14.01, 13.99). This file repeats those steps on a
 * picture of any size and kind:
 *
 *  1. Reduce: a picture larger than WORK_SIDE pixels a side is first
 *     averaged over k x k blocks (k an integer) - nothing a 20-pixel digit
 *     shows is lost unless the digit spans under 2% of the picture.
 *  2. Polarity: the border (a frame 1 + min(w,h)/64 pixels wide) is mostly
 *     background. If its median is lighter than the whole picture's mean,
 *     the background is light (ink on paper) and the picture is inverted;
 *     otherwise (light ink on a dark ground, like MNIST) it is kept. Ink is
 *     now high.
 *  3. Levels: the background is a plane a + bx + cy fitted to the border
 *     (starting from the border's median, refitted twice without the pixels
 *     far from the last fit, such as ink touching the border), which follows
 *     light falling unevenly across a photo; it is subtracted. Levels up to
 *     3 robust standard deviations above it (1.4826 x the border's median
 *     absolute deviation: camera noise, paper texture) go to 0. Otsu's threshold
 *     splits the histogram into background and ink; the 90th percentile of
 *     the ink side goes to 1 (MNIST's strokes are saturated), linearly in
 *     between. If the ink is not at least MIN_CONTRAST levels above the
 *     background, the picture is blank.
 *  4. Specks: pixels of at least INK_LEVEL form 8-connected blobs. Blobs of
 *     at least 1/20 of the largest blob's area are the digit; smaller blobs
 *     outside the digit's box (grown by 10% of its size) are specks - dust,
 *     noise, a stray dot - and are erased.
 *     Several digits (nndl_image_to_mnist_digits): the large blobs are
 *     grouped left to right, blobs overlapping horizontally by a quarter of
 *     the narrower one being one digit (a 5 in two strokes); each group, its
 *     small blobs near it and its faint rim, alone, goes through 5 and 6.
 *  5. Scale: the bounding box of the remaining blobs is scaled so that its
 *     longer side is 20 pixels: by area averaging when shrinking (each
 *     output pixel is the mean of the picture under it), bilinearly when
 *     enlarging. The result's brightest value is raised to 1, as a thin pen
 *     stroke shrunk many times would otherwise be fainter than any MNIST
 *     stroke.
 *  6. Center: placed in the 28x28 field moved by whole pixels so that the
 *     center of mass lands on pixel (14, 14). */
#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "image/image.h"

enum {
    FIELD = 28,         /* MNIST's images are FIELD x FIELD */
    BOX = 20,           /* the digit's bounding box is scaled to BOX */
    WORK_SIDE = 1024,   /* larger pictures are first reduced below this */
    MIN_CONTRAST = 32,  /* ink must stand this many levels above background */
    SPECK_RATIO = 20    /* blobs under 1/SPECK_RATIO of the largest may be specks */
};
static const double CENTER = 14.0;   /* center of mass target, pixel indices */
static const float INK_LEVEL = 0.25f; /* a pixel is ink from here (64/255) */

/* A picture as floats, row by row. */
typedef struct plane {
    int w, h;
    float *v;
} plane;

/* ---- 1-3: gray levels to ink in [0,1] --------------------------------------- */

/* The smallest level whose cumulative count exceeds fraction q of `total`. */
static int hist_quantile(const size_t hist[256], size_t total, double q)
{
    size_t target = (size_t)(q * (double)total), sum = 0;
    for (int i = 0; i < 256; i++) {
        sum += hist[i];
        if (sum > target) return i;
    }
    return 255;
}

/* Otsu's threshold: the level t maximizing the between-class variance of
 * {< t} and {>= t}; -1 if the histogram has a single level. */
static int otsu_threshold(const size_t hist[256])
{
    double total = 0, sum_all = 0;
    for (int i = 0; i < 256; i++) {
        total += (double)hist[i];
        sum_all += (double)i * (double)hist[i];
    }
    double w0 = 0, sum0 = 0, best = -1;
    int best_t = -1;
    for (int t = 1; t < 256; t++) {
        w0 += (double)hist[t - 1];
        sum0 += (double)(t - 1) * (double)hist[t - 1];
        double w1 = total - w0;
        if (w0 == 0 || w1 == 0) continue;
        double m0 = sum0 / w0, m1 = (sum_all - sum0) / w1;
        double between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if (between > best) {
            best = between;
            best_t = t;
        }
    }
    return best_t;
}

/* Reduces `img` by an integer factor when it is larger than WORK_SIDE. */
static uint8_t *reduce(const nndl_image *img, int *w_out, int *h_out)
{
    int w = img->width, h = img->height, side = w > h ? w : h;
    int k = (side + WORK_SIDE - 1) / WORK_SIDE;
    int rw = (w + k - 1) / k, rh = (h + k - 1) / k;
    uint8_t *r = alloc_array((size_t)rw * (size_t)rh, 1);
    if (!r) return NULL;
    for (int y = 0; y < rh; y++)
        for (int x = 0; x < rw; x++) {
            unsigned sum = 0, n = 0;
            for (int yy = y * k; yy < (y + 1) * k && yy < h; yy++)
                for (int xx = x * k; xx < (x + 1) * k && xx < w; xx++, n++)
                    sum += img->pixels[(size_t)yy * (size_t)w + (size_t)xx];
            r[(size_t)y * (size_t)rw + (size_t)x] = (uint8_t)((sum + n / 2) / n);
        }
    *w_out = rw;
    *h_out = rh;
    return r;
}

static int border_width(int w, int h) { return 1 + (w < h ? w : h) / 64; }

static int on_border(int x, int y, int w, int h, int t)
{
    return y < t || y >= h - t || x < t || x >= w - t;
}

/* The background as a plane a + b x + c y fitted by least squares to the
 * border pixels whose level is within `tol` of the previous fit (all of them
 * when tol < 0): this follows the even change of light across a photo. Keeps
 * the previous fit if the border cannot determine a plane. */
static void fit_background(const uint8_t *g, int w, int h, double tol, double plane_abc[3])
{
    int t = border_width(w, h);
    double s[3][3] = {{0}}, r[3] = {0};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (!on_border(x, y, w, h, t)) continue;
            double v = g[(size_t)y * (size_t)w + (size_t)x];
            if (tol >= 0 && fabs(v - (plane_abc[0] + plane_abc[1] * x + plane_abc[2] * y)) > tol)
                continue;
            double f[3] = {1, x, y};
            for (int i = 0; i < 3; i++) {
                r[i] += f[i] * v;
                for (int j = 0; j < 3; j++) s[i][j] += f[i] * f[j];
            }
        }
    /* Cramer's rule on the 3x3 normal equations. */
    double det = s[0][0] * (s[1][1] * s[2][2] - s[1][2] * s[2][1]) -
                 s[0][1] * (s[1][0] * s[2][2] - s[1][2] * s[2][0]) +
                 s[0][2] * (s[1][0] * s[2][1] - s[1][1] * s[2][0]);
    if (!(fabs(det) > 1e-9 * (s[0][0] * s[1][1] * s[2][2] + 1))) return;
    for (int k = 0; k < 3; k++) {
        double m[3][3];
        memcpy(m, s, sizeof m);
        for (int i = 0; i < 3; i++) m[i][k] = r[i];
        plane_abc[k] = (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                        m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                        m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])) /
                       det;
    }
}

/* The median absolute difference of the border from the plane. */
static double border_mad(const uint8_t *g, int w, int h, const double abc[3])
{
    int t = border_width(w, h);
    size_t hist[256] = {0}, count = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (on_border(x, y, w, h, t)) {
                double d = fabs(g[(size_t)y * (size_t)w + (size_t)x] - (abc[0] + abc[1] * x + abc[2] * y));
                hist[d > 255 ? 255 : (int)lround(d)]++;
                count++;
            }
    return hist_quantile(hist, count, 0.5);
}

/* Steps 2 and 3: gray levels g (w x h, 0 black) to ink levels in out->v.
 * Returns 0 when no ink stands out of the background. */
static int ink_levels(uint8_t *g, plane *out)
{
    int w = out->w, h = out->h, t = border_width(w, h);
    size_t n = (size_t)w * (size_t)h, hist[256] = {0}, count = 0;
    double mean = 0;
    for (size_t i = 0; i < n; i++) mean += g[i];
    mean /= (double)n;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (on_border(x, y, w, h, t)) {
                hist[g[(size_t)y * (size_t)w + (size_t)x]]++;
                count++;
            }
    int border = hist_quantile(hist, count, 0.5);
    if ((double)border > mean)
        for (size_t i = 0; i < n; i++) g[i] = (uint8_t)(255 - g[i]);

    /* The background: the border's median, refined to a plane fitted to
     * the border without the ink that touches it; its noise: 1.4826 x the
     * median absolute deviation (a standard deviation for Gaussian noise). */
    double bg[3] = {border > mean ? 255 - border : border, 0, 0};
    double mad = border_mad(g, w, h, bg);
    fit_background(g, w, h, 3 * 1.4826 * mad + 1, bg);
    mad = border_mad(g, w, h, bg);
    fit_background(g, w, h, 3 * 1.4826 * mad + 1, bg);
    mad = border_mad(g, w, h, bg);
    double lo = 3.0 * 1.4826 * mad;

    /* Ink levels above the background, and Otsu's split of them. */
    memset(hist, 0, sizeof hist);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            double v = g[i] - (bg[0] + bg[1] * x + bg[2] * y);
            out->v[i] = (float)v;
            hist[v <= 0 ? 0 : v >= 255 ? 255 : (int)lround(v)]++;
        }
    int split = otsu_threshold(hist);
    if (split < 0) return 0;
    size_t ink_count = 0, ink_hist[256] = {0};
    for (int i = split; i < 256; i++) {
        ink_hist[i] = hist[i];
        ink_count += hist[i];
    }
    double hi = hist_quantile(ink_hist, ink_count, 0.9);
    if (hi < MIN_CONTRAST || hi <= lo) return 0;
    for (size_t i = 0; i < n; i++) {
        double v = (out->v[i] - lo) / (hi - lo);
        out->v[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
    return 1;
}

/* ---- 4: marks and specks ------------------------------------------------------ */

typedef struct blob {
    size_t area;
    int x0, y0, x1, y1; /* bounding box, inclusive */
} blob;

typedef struct box {
    int x0, y0, x1, y1; /* inclusive; x1 < x0 when empty */
} box;

/* The 8-connected blobs of pixels >= INK_LEVEL: label[i] is 0 for a pixel
 * below it, k + 1 for a pixel of blobs[k]. */
typedef struct marks {
    uint32_t *label;
    blob *blobs;
    size_t n, largest; /* blobs; the largest one's area */
} marks;

static void marks_free(marks *m)
{
    alloc_free(m->label);
    alloc_free(m->blobs);
}

/* Labels the blobs of `p` into `m` (freed with marks_free, also after a
 * failure). 0 on out of memory. */
static int find_marks(const plane *p, marks *m)
{
    size_t n = (size_t)p->w * (size_t)p->h, cap = 0;
    *m = (marks){alloc_zeroed(n, sizeof *m->label), NULL, 0, 0};
    size_t *stack = alloc_array(n, sizeof *stack);
    int ok = m->label && stack;
    uint32_t *label = m->label;
    for (size_t start = 0; ok && start < n; start++) {
        if (label[start] || p->v[start] < INK_LEVEL) continue;
        if (m->n == cap) {
            size_t new_cap = cap ? 2 * cap : 64;
            blob *grown = alloc_resize(m->blobs, new_cap, sizeof *m->blobs);
            if (!grown) {
                ok = 0;
                break;
            }
            m->blobs = grown;
            cap = new_cap;
        }
        blob *b = &m->blobs[m->n++];
        uint32_t id = (uint32_t)m->n;
        *b = (blob){0, p->w, p->h, -1, -1};
        size_t top = 0;
        stack[top++] = start;
        label[start] = id;
        while (top) {
            size_t i = stack[--top];
            int x = (int)(i % (size_t)p->w), y = (int)(i / (size_t)p->w);
            b->area++;
            if (x < b->x0) b->x0 = x;
            if (x > b->x1) b->x1 = x;
            if (y < b->y0) b->y0 = y;
            if (y > b->y1) b->y1 = y;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= p->w || ny >= p->h) continue;
                    size_t j = (size_t)ny * (size_t)p->w + (size_t)nx;
                    if (label[j] || p->v[j] < INK_LEVEL) continue;
                    label[j] = id;
                    stack[top++] = j;
                }
        }
        if (b->area > m->largest) m->largest = b->area;
    }
    alloc_free(stack);
    return ok; /* the caller frees `m` either way */
}

/* Whether blob `b` is part of a digit rather than a possible speck. */
static int is_major(const marks *m, const blob *b) { return b->area * SPECK_RATIO >= m->largest; }

static void box_add(box *to, int x0, int y0, int x1, int y1)
{
    if (x0 < to->x0) to->x0 = x0;
    if (y0 < to->y0) to->y0 = y0;
    if (x1 > to->x1) to->x1 = x1;
    if (y1 > to->y1) to->y1 = y1;
}

/* Whether blob `b` lies within `digit` grown by 10% of its longer side. */
static int is_near(const blob *b, box digit)
{
    int side = digit.x1 - digit.x0 > digit.y1 - digit.y0 ? digit.x1 - digit.x0 : digit.y1 - digit.y0;
    int grow = 1 + side / 10;
    return b->x0 >= digit.x0 - grow && b->y0 >= digit.y0 - grow && b->x1 <= digit.x1 + grow &&
           b->y1 <= digit.y1 + grow;
}

/* The whole picture as one digit: the box of the major blobs and the small
 * ones near them, in *digit; the other small blobs (specks) are erased. */
static void remove_specks(plane *p, const marks *m, box *digit)
{
    box major = {p->w, p->h, -1, -1};
    for (size_t k = 0; k < m->n; k++)
        if (is_major(m, &m->blobs[k]))
            box_add(&major, m->blobs[k].x0, m->blobs[k].y0, m->blobs[k].x1, m->blobs[k].y1);
    *digit = major;
    for (size_t k = 0; k < m->n; k++) {
        const blob *b = &m->blobs[k];
        if (is_major(m, b)) continue;
        if (is_near(b, major)) {
            box_add(digit, b->x0, b->y0, b->x1, b->y1);
            continue;
        }
        /* A speck: erase it and its faint rim (one pixel around). */
        for (int y = b->y0 - 1; y <= b->y1 + 1; y++)
            for (int x = b->x0 - 1; x <= b->x1 + 1; x++) {
                if (x < 0 || y < 0 || x >= p->w || y >= p->h) continue;
                size_t i = (size_t)y * (size_t)p->w + (size_t)x;
                uint32_t l = m->label[i];
                if (l == k + 1 || (l == 0 && p->v[i] < INK_LEVEL)) p->v[i] = 0;
            }
    }
}

/* ---- 4b: several digits side by side -------------------------------------------- */

/* Groups the blobs into digits, left to right: group[k] is blob k's digit
 * (0, 1, ...) or -1 for a speck, and boxes[g] digit g's box. Major blobs
 * that overlap horizontally by at least a quarter of the narrower are one
 * digit (a 5 written in two strokes, a 4 whose strokes do not touch); a
 * major blob apart from the digit before it starts the next. A small blob
 * belongs to the first digit it lies near (a dot, a piece of a broken
 * stroke); elsewhere it is a speck. Returns the number of digits, or -1 on
 * out of memory (*boxes is then NULL). */
static int group_marks(const marks *m, int *group, box **boxes)
{
    *boxes = NULL;
    size_t n_major = 0;
    for (size_t k = 0; k < m->n; k++) n_major += is_major(m, &m->blobs[k]);
    size_t *order = alloc_array(n_major ? n_major : 1, sizeof *order);
    box *b = alloc_array(n_major ? n_major : 1, sizeof *b);
    if (!order || !b) {
        alloc_free(order);
        alloc_free(b);
        return -1;
    }
    /* the major blobs by their left edge (insertion sort: a picture has a
     * few; a noisy one with thousands costs a moment, bounded by its
     * pixels) */
    size_t count = 0;
    for (size_t k = 0; k < m->n; k++) {
        group[k] = -1;
        if (!is_major(m, &m->blobs[k])) continue;
        size_t at = count++;
        while (at > 0 && m->blobs[order[at - 1]].x0 > m->blobs[k].x0) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = k;
    }
    int n_groups = 0;
    for (size_t j = 0; j < count; j++) {
        const blob *bl = &m->blobs[order[j]];
        if (n_groups > 0) {
            box *g = &b[n_groups - 1];
            int overlap = (bl->x1 < g->x1 ? bl->x1 : g->x1) - bl->x0 + 1;
            int narrower = bl->x1 - bl->x0 < g->x1 - g->x0 ? bl->x1 - bl->x0 + 1 : g->x1 - g->x0 + 1;
            if (overlap > 0 && 4 * overlap >= narrower) {
                box_add(g, bl->x0, bl->y0, bl->x1, bl->y1);
                group[order[j]] = n_groups - 1;
                continue;
            }
        }
        b[n_groups] = (box){bl->x0, bl->y0, bl->x1, bl->y1};
        group[order[j]] = n_groups++;
    }
    for (size_t k = 0; k < m->n; k++) {
        if (group[k] >= 0) continue;
        for (int g = 0; g < n_groups; g++)
            if (is_near(&m->blobs[k], b[g])) {
                group[k] = g;
                break;
            }
    }
    for (size_t k = 0; k < m->n; k++)
        if (group[k] >= 0 && !is_major(m, &m->blobs[k])) {
            const blob *bl = &m->blobs[k];
            box_add(&b[group[k]], bl->x0, bl->y0, bl->x1, bl->y1);
        }
    alloc_free(order);
    *boxes = b;
    return n_groups;
}

/* ---- 5: scaling -------------------------------------------------------------- */

/* The source pixels and weights that make output pixel `o` along one axis,
 * for the map source = origin + output / s. Area averaging (s <= 1): the
 * output pixel covers [origin + o/s, origin + (o+1)/s) and each source pixel
 * weighs by its overlap. Bilinear (s > 1): the output pixel's center falls
 * between two source centers. Source indices outside [0, n) are background
 * and are left out (their weight counts as zero ink). Returns the count. */
static int axis_taps(int o, double s, double origin, int n, int *idx, float *wt, int max_taps)
{
    int count = 0;
    if (s <= 1) {
        double a = origin + o / s, b = origin + (o + 1) / s;
        for (int i = (int)floor(a); i < b && count < max_taps; i++) {
            double lo = a > i ? a : i, hi = b < i + 1 ? b : i + 1;
            if (hi <= lo || i < 0 || i >= n) continue;
            idx[count] = i;
            wt[count++] = (float)((hi - lo) * s);
        }
    } else {
        double c = origin + (o + 0.5) / s - 0.5;
        int i = (int)floor(c);
        double f = c - i;
        if (i >= 0 && i < n) {
            idx[count] = i;
            wt[count++] = (float)(1 - f);
        }
        if (i + 1 >= 0 && i + 1 < n && f > 0) {
            idx[count] = i + 1;
            wt[count++] = (float)f;
        }
    }
    return count;
}

/* Resamples the part of `p` from (ox, oy) on into `out` (out->w x out->h)
 * at scale s, separably: rows first, then columns. 0 on out of memory. */
static int resample(const plane *p, double s, double ox, double oy, plane *out)
{
    int max_taps = (int)ceil(1 / (s < 1 ? s : 1)) + 2;
    int *idx = alloc_array((size_t)max_taps, sizeof *idx);
    float *wt = alloc_array((size_t)max_taps, sizeof *wt);
    float *tmp = alloc_zeroed((size_t)p->h * (size_t)out->w, sizeof *tmp);
    int ok = idx && wt && tmp;
    /* Horizontal: every source row to out->w columns. */
    for (int X = 0; ok && X < out->w; X++) {
        int taps = axis_taps(X, s, ox, p->w, idx, wt, max_taps);
        for (int y = 0; y < p->h; y++) {
            const float *row = p->v + (size_t)y * (size_t)p->w;
            float sum = 0;
            for (int k = 0; k < taps; k++) sum += wt[k] * row[idx[k]];
            tmp[(size_t)y * (size_t)out->w + (size_t)X] = sum;
        }
    }
    /* Vertical: out->h rows from the filtered source rows. */
    for (int Y = 0; ok && Y < out->h; Y++) {
        int taps = axis_taps(Y, s, oy, p->h, idx, wt, max_taps);
        for (int X = 0; X < out->w; X++) {
            float sum = 0;
            for (int k = 0; k < taps; k++) sum += wt[k] * tmp[(size_t)idx[k] * (size_t)out->w + (size_t)X];
            out->v[(size_t)Y * (size_t)out->w + (size_t)X] = sum;
        }
    }
    alloc_free(idx);
    alloc_free(wt);
    alloc_free(tmp);
    return ok;
}

/* ---- 5 and 6: one digit into the 28x28 field ------------------------------------- */

/* Scales the ink of `p` within `digit` and centers it in the field (steps 5
 * and 6), writing out[784] and, if not NULL, preview[784]. */
static nndl_status place_digit(const plane *p, box digit, float out[784], uint8_t preview[784],
                               const char *name, nndl_error *err)
{
    /* Step 5: the box's longer side to BOX pixels, with a margin of two
     * output pixels on each side for the anti-aliased rim. */
    int bw = digit.x1 - digit.x0 + 1, bh = digit.y1 - digit.y0 + 1;
    double s = (double)BOX / (bw > bh ? bw : bh);
    int margin = (int)ceil(2 / s);
    plane scaled = {(int)ceil((bw + 2 * margin) * s), (int)ceil((bh + 2 * margin) * s), NULL};
    scaled.v = alloc_array((size_t)scaled.w * (size_t)scaled.h, sizeof *scaled.v);
    if (!scaled.v || !resample(p, s, digit.x0 - margin, digit.y0 - margin, &scaled)) {
        alloc_free(scaled.v);
        return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", name);
    }
    size_t n = (size_t)scaled.w * (size_t)scaled.h;
    double mass = 0, mx = 0, my = 0;
    float peak = 0;
    for (size_t i = 0; i < n; i++) {
        float v = scaled.v[i];
        mass += v;
        mx += v * (double)(i % (size_t)scaled.w);
        my += v * (double)(i / (size_t)scaled.w);
        if (v > peak) peak = v;
    }
    nndl_status status = NNDL_OK;
    if (!(mass > 0)) {
        status = error_set(err, NNDL_ERR_ARG, "%s: no ink found (blank image)", name);
    } else {
        /* Step 6: whole-pixel shift putting the center of mass at CENTER. */
        int dx = (int)lround(CENTER - mx / mass), dy = (int)lround(CENTER - my / mass);
        float gain = peak < 1 ? 1 / peak : 1;
        float field[FIELD * FIELD] = {0};
        for (int y = 0; y < scaled.h; y++)
            for (int x = 0; x < scaled.w; x++) {
                int fx = x + dx, fy = y + dy;
                if (fx < 0 || fy < 0 || fx >= FIELD || fy >= FIELD) continue;
                float v = scaled.v[(size_t)y * (size_t)scaled.w + (size_t)x] * gain;
                field[fy * FIELD + fx] = v < 0 ? 0 : v > 1 ? 1 : v;
            }
        memcpy(out, field, sizeof field);
        if (preview)
            for (int i = 0; i < FIELD * FIELD; i++) preview[i] = (uint8_t)lrintf(field[i] * 255);
    }
    alloc_free(scaled.v);
    return status;
}

/* Digit g alone: copies into `only` (zero everywhere else) the pixels
 * within `b` of the blobs of group g, and the faint ones (under INK_LEVEL:
 * anti-aliased edges, thin joins) except those next to another group's
 * blob or a speck, so that a neighbour's ink does not come along. */
static void isolate(const plane *p, const marks *m, const int *group, int g, box b, plane *only)
{
    for (int y = b.y0; y <= b.y1; y++)
        for (int x = b.x0; x <= b.x1; x++) {
            size_t i = (size_t)y * (size_t)p->w + (size_t)x;
            uint32_t l = m->label[i];
            int mine = l ? group[l - 1] == g : 1;
            for (int dy = -1; !l && mine && dy <= 1; dy++)
                for (int dx = -1; mine && dx <= 1; dx++) {
                    int nx = x + dx, ny = y + dy;
                    if (nx < 0 || ny < 0 || nx >= p->w || ny >= p->h) continue;
                    uint32_t nl = m->label[(size_t)ny * (size_t)p->w + (size_t)nx];
                    mine = !nl || group[nl - 1] == g;
                }
            only->v[i] = mine ? p->v[i] : 0;
        }
}

static void clear_box(plane *only, box b)
{
    for (int y = b.y0; y <= b.y1; y++)
        memset(only->v + (size_t)y * (size_t)only->w + (size_t)b.x0, 0,
               (size_t)(b.x1 - b.x0 + 1) * sizeof *only->v);
}

/* ---- The whole procedure ------------------------------------------------------ */

/* Steps 1-4 for the public functions below; with max < 0 the picture is
 * one digit (nndl_image_to_mnist), otherwise its digits are counted into
 * *found and the first `max` prepared (nndl_image_to_mnist_digits). */
static nndl_status to_mnist(const nndl_image *img, int max, float *out, uint8_t *preview,
                            int *found, nndl_error *err)
{
    const char *name = image_name(img);
    if (img->width < 1 || img->height < 1)
        return error_set(err, NNDL_ERR_ARG, "%s: image has no pixels", name);

    plane ink = {0, 0, NULL}, only = {0, 0, NULL};
    marks m = {NULL, NULL, 0, 0};
    int *group = NULL;
    box *boxes = NULL;
    nndl_status status = NNDL_OK;
    uint8_t *gray = reduce(img, &ink.w, &ink.h);
    if (gray) ink.v = alloc_array((size_t)ink.w * (size_t)ink.h, sizeof *ink.v);
    if (!gray || !ink.v) {
        status = error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", name);
    } else if (!ink_levels(gray, &ink)) {
        status = error_set(err, NNDL_ERR_ARG, "%s: no ink found (blank image)", name);
    } else if (!find_marks(&ink, &m)) {
        status = error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", name);
    } else if (m.n == 0) {
        status = error_set(err, NNDL_ERR_ARG, "%s: no ink found (blank image)", name);
    }
    if (status == NNDL_OK && max < 0) {
        box digit;
        remove_specks(&ink, &m, &digit);
        status = place_digit(&ink, digit, out, preview, name, err);
    } else if (status == NNDL_OK) {
        int n = -1;
        group = alloc_array(m.n, sizeof *group);
        if (group) n = group_marks(&m, group, &boxes);
        if (n > 0 && max > 0) {
            only = (plane){ink.w, ink.h, alloc_zeroed((size_t)ink.w * (size_t)ink.h, sizeof *only.v)};
            if (!only.v) n = -1;
        }
        if (n < 0) status = error_set(err, NNDL_ERR_NOMEM, "%s: out of memory", name);
        for (int g = 0; status == NNDL_OK && g < n && g < max; g++) {
            box b = boxes[g], rim = {b.x0 > 0 ? b.x0 - 1 : 0, b.y0 > 0 ? b.y0 - 1 : 0,
                                     b.x1 < ink.w - 1 ? b.x1 + 1 : b.x1,
                                     b.y1 < ink.h - 1 ? b.y1 + 1 : b.y1};
            isolate(&ink, &m, group, g, rim, &only);
            status = place_digit(&only, b, out + (size_t)g * FIELD * FIELD,
                                 preview ? preview + (size_t)g * FIELD * FIELD : NULL, name, err);
            clear_box(&only, rim);
        }
        if (status == NNDL_OK) *found = n;
    }
    alloc_free(gray);
    alloc_free(ink.v);
    alloc_free(only.v);
    alloc_free(group);
    alloc_free(boxes);
    marks_free(&m);
    return status;
}

nndl_status nndl_image_to_mnist(const nndl_image *img, float out[784], uint8_t preview[784],
                                nndl_error *err)
{
    if (!img || !img->pixels || !out)
        return error_set(err, NNDL_ERR_ARG, "nndl_image_to_mnist: NULL argument");
    return to_mnist(img, -1, out, preview, NULL, err);
}

nndl_status nndl_image_to_mnist_digits(const nndl_image *img, float *out, uint8_t *preview,
                                       int max, int *found, nndl_error *err)
{
    if (!img || !img->pixels || !found || max < 0 || (max > 0 && !out))
        return error_set(err, NNDL_ERR_ARG, "nndl_image_to_mnist_digits: bad argument");
    return to_mnist(img, max, out, preview, found, err);
}
