/* Reading JPEG pictures (photos of handwriting) through libjpeg-turbo, into
 * 8-bit gray.
 *
 * libjpeg's default error handler prints and calls exit(), and its default
 * reaction to a damaged or cut file is a warning and a picture padded with
 * gray. Here every error, and every warning that means the data is damaged
 * or missing, ends the decoding through longjmp with one line naming the
 * file. The bytes come from the same image_source as PNG and PGM (load.c),
 * through a source manager of our own, so a truncated file is noticed where
 * it ends. The size in the frame header is checked against nndl's limits
 * before anything is decoded, and libjpeg's own memory is capped. */
#include "image/image.h"

#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "common/alloc.h"
#include "common/error.h"

enum {
    JPEG_CHUNK = 4096, /* bytes handed to libjpeg at a time */
    /* A progressive file repeats passes over the whole picture, one per
     * scan: a small file of thousands of scans could take minutes. Real
     * files have about 10 (djpeg's -maxscans guards the same way). */
    JPEG_MAX_SCANS = 256
};

/* What libjpeg's callbacks share with the reader; lives in the caller's
 * frame, so its fields keep their values across longjmp. */
typedef struct jpeg_state {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_source_mgr smgr;
    struct jpeg_progress_mgr progress;
    jmp_buf escape;
    image_source *src;
    int truncated;
    char message[JMSG_LENGTH_MAX + 32];
    JOCTET buffer[JPEG_CHUNK];
    uint8_t *gray; /* width x height, the result */
} jpeg_state;

/* ---- errors: never print, never exit ------------------------------------------ */

static jpeg_state *state_of(j_common_ptr cinfo)
{
    return (jpeg_state *)((char *)cinfo - offsetof(jpeg_state, cinfo));
}

static void on_error_exit(j_common_ptr cinfo)
{
    jpeg_state *st = state_of(cinfo);
    if (cinfo->err->msg_code == JERR_INPUT_EOF) st->truncated = 1;
    (*cinfo->err->format_message)(cinfo, st->message);
    longjmp(st->escape, 1);
}

/* Warnings (level -1) that mean the picture cannot be read as it was made
 * end the decoding; the rest (an unknown JFIF revision, a colour transform
 * code) change nothing we read and are ignored. Trace messages (level >= 0)
 * too. */
static void on_message(j_common_ptr cinfo, int level)
{
    if (level >= 0) return;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
        state_of(cinfo)->truncated = 1;
        on_error_exit(cinfo);
        break;
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_MUST_RESYNC:
        on_error_exit(cinfo);
        break;
    default:
        break;
    }
}

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_state *st = state_of(cinfo);
        snprintf(st->message, sizeof st->message, "more than %d scans", JPEG_MAX_SCANS);
        longjmp(st->escape, 1);
    }
}

/* ---- the bytes, from the image_source ----------------------------------------- */

static void source_init(j_decompress_ptr cinfo) { (void)cinfo; }
static void source_term(j_decompress_ptr cinfo) { (void)cinfo; }

static boolean source_fill(j_decompress_ptr cinfo)
{
    jpeg_state *st = state_of((j_common_ptr)cinfo);
    size_t n = image_source_read(st->src, st->buffer, sizeof st->buffer);
    /* libjpeg's stdio source pads a cut file with an end marker and goes
     * on with a warning; a cut file is an error here. */
    if (n == 0) ERREXIT(cinfo, JERR_INPUT_EOF);
    st->smgr.next_input_byte = st->buffer;
    st->smgr.bytes_in_buffer = n;
    return TRUE;
}

/* Markers nndl does not read (EXIF, comments, ICC profiles) are skipped
 * unread, a buffer at a time, however long they say they are. */
static void source_skip(j_decompress_ptr cinfo, long count)
{
    jpeg_state *st = state_of((j_common_ptr)cinfo);
    if (count <= 0) return;
    size_t left = (size_t)count;
    while (left > st->smgr.bytes_in_buffer) {
        left -= st->smgr.bytes_in_buffer;
        st->smgr.bytes_in_buffer = 0;
        source_fill(cinfo);
    }
    st->smgr.next_input_byte += left;
    st->smgr.bytes_in_buffer -= left;
}

/* ---- decoding ------------------------------------------------------------------- */

/* Decodes the picture into st->gray. Everything libjpeg allocates belongs to
 * st->cinfo (the caller destroys it); returns NNDL_OK, a status set in
 * `err`, or -1 when libjpeg failed with the reason in st->message. */
static int jpeg_decode(jpeg_state *st, nndl_error *err)
{
    j_decompress_ptr cinfo = &st->cinfo;
    if (setjmp(st->escape)) return -1;

    jpeg_create_decompress(cinfo);
    /* Coefficient buffers of a progressive picture within the pixel limit
     * take up to 6 bytes a pixel; nothing else is near that. Past this,
     * libjpeg refuses rather than allocates. */
    cinfo->mem->max_memory_to_use = (long)((uint64_t)NNDL_MAX_PICTURE_PIXELS * 8u + (16u << 20));
    cinfo->src = &st->smgr;
    st->smgr.init_source = source_init;
    st->smgr.fill_input_buffer = source_fill;
    st->smgr.skip_input_data = source_skip;
    st->smgr.resync_to_restart = jpeg_resync_to_restart;
    st->smgr.term_source = source_term;
    st->progress.progress_monitor = on_progress;
    cinfo->progress = &st->progress;

    jpeg_read_header(cinfo, TRUE);
    nndl_status status = image_check_size(st->src->path, cinfo->image_width,
                                          cinfo->image_height, err);
    if (status != NNDL_OK) return status;
    if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: CMYK JPEG images are not supported (save it as RGB or gray)",
                         st->src->path);
    /* Gray is the luminance channel itself: libjpeg drops the colour
     * channels without converting them. */
    cinfo->out_color_space = JCS_GRAYSCALE;
    jpeg_start_decompress(cinfo);
    uint32_t w = cinfo->output_width, h = cinfo->output_height;
    if (cinfo->output_components != 1 || w != cinfo->image_width || h != cinfo->image_height)
        return error_set(err, NNDL_ERR_FORMAT, "%s: unsupported JPEG variant", st->src->path);
    st->gray = alloc_array(w, h);
    if (!st->gray)
        return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory for a %u x %u image",
                         st->src->path, (unsigned)w, (unsigned)h);
    while (cinfo->output_scanline < h) {
        JSAMPROW row = st->gray + (size_t)cinfo->output_scanline * w;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
    return NNDL_OK;
}

nndl_status image_load_jpeg(image_source *src, uint8_t **pixels, uint32_t *w, uint32_t *h,
                            nndl_error *err)
{
    /* large (a 4 KB buffer and libjpeg's structs): not on the stack */
    jpeg_state *st = alloc_zeroed(1, sizeof *st);
    if (!st) return error_set(err, NNDL_ERR_NOMEM, "%s: out of memory reading JPEG", src->path);
    st->src = src;
    st->cinfo.err = jpeg_std_error(&st->jerr);
    st->jerr.error_exit = on_error_exit;
    st->jerr.emit_message = on_message;

    int rc = jpeg_decode(st, err);
    nndl_status status;
    if (rc == -1 && st->truncated)
        status = error_set(err, NNDL_ERR_FORMAT, "%s: truncated JPEG image (the file ends "
                           "before the picture does)", src->path);
    else if (rc == -1)
        status = error_set(err, NNDL_ERR_FORMAT, "%s: damaged JPEG image: %s", src->path,
                           st->message);
    else
        status = (nndl_status)rc;
    if (status == NNDL_OK) {
        *pixels = st->gray;
        *w = st->cinfo.output_width;
        *h = st->cinfo.output_height;
    } else {
        alloc_free(st->gray);
    }
    jpeg_destroy_decompress(&st->cinfo);
    alloc_free(st);
    return status;
}
