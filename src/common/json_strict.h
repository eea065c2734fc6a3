/* JSON text from files and requests, read with cJSON under limits it does
 * not keep itself.
 *
 * cJSON builds a tree of about 80 bytes per value, so a file of zeros
 * costs some 40 times its size. json_scan counts the values first, in one
 * pass that allocates nothing, and json_parse_strict refuses text with
 * more than the caller allows before cJSON sees it, and text that goes on
 * after its value. */
#ifndef NNDL_COMMON_JSON_STRICT_H
#define NNDL_COMMON_JSON_STRICT_H

#include <stddef.h>

#include <cjson/cJSON.h>

enum { JSON_SCAN_MEMBERS = 16 }; /* top-level members json_scan notes */

/* What one pass over the text found. A value is a number, string (not a
 * key), true, false, null, array or object: what cJSON makes an item of. */
typedef struct json_scan {
    size_t values;
    int ends_early; /* inside a string, array or object at the end of the text */
    /* The first JSON_SCAN_MEMBERS members of a top-level object: the key
     * (cut to 31 bytes, escapes left as written), where its value starts
     * and how many values it holds, nested ones included. */
    int n_members;
    struct json_member {
        char key[32];
        size_t offset, values;
    } members[JSON_SCAN_MEMBERS];
} json_scan;

/* Scans text[0..len). Malformed text is counted as far as it goes; the
 * parse reports it. */
void json_scan_text(const char *text, size_t len, json_scan *scan);

/* The member of a scanned top-level object named `key`, or NULL. */
const struct json_member *json_scan_member(const json_scan *scan, const char *key);

typedef enum json_problem_kind {
    JSON_FINE,
    JSON_MALFORMED,       /* at `offset` (at or past len: the text ends early) */
    JSON_TRAILING,        /* something other than white space after the value, at `offset` */
    JSON_TOO_MANY_VALUES, /* `values` values, over the caller's limit */
} json_problem_kind;

typedef struct json_problem {
    json_problem_kind kind;
    size_t offset;
    size_t values;
} json_problem;

/* Parses text[0..len) (which need not end in a NUL) as one JSON value with
 * nothing but white space after it, if it holds at most `max_values`
 * values; NULL with `problem` filled otherwise (or when memory runs out:
 * cJSON cannot tell, and it comes out as JSON_MALFORMED). */
cJSON *json_parse_strict(const char *text, size_t len, size_t max_values,
                         json_problem *problem);

/* What is wrong, as a phrase to follow a name: "is malformed JSON near
 * byte 12", "holds 300000 JSON values; at most 262160 are read". */
void json_problem_describe(const json_problem *problem, char *buf, size_t cap);

#endif
