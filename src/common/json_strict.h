/* JSON text from files and requests, read with cJSON under limits it does
 * not keep itself.
 *
 * cJSON builds a tree of about 80 bytes per value, so a file of zeros
 * costs some 40 times its size. json_scan counts the values first, in one
 * pass that allocates nothing, and json_parse_strict refuses text with
 * more than the caller allows before cJSON sees it, text that goes on
 * after its value, and what cJSON lets through although JSON does not
 * allow it or readers disagree on it: numbers such as 01 and 5., the
 * escape \u0000 (which cJSON takes for the end of the string), raw
 * control characters in strings, and a key twice in one object. */
#ifndef NNDL_COMMON_JSON_STRICT_H
#define NNDL_COMMON_JSON_STRICT_H

#include <stddef.h>

#include <cjson/cJSON.h>

enum { JSON_SCAN_MEMBERS = 16 }; /* top-level members json_scan notes */

/* What one pass over the text found. A value is a number, string (not a
 * key), true, false, null, array or object: what cJSON makes an item of. */
typedef enum json_problem_kind {
    JSON_FINE,
    JSON_MALFORMED,       /* at `offset` (at or past len: the text ends early) */
    JSON_TRAILING,        /* something other than white space after the value, at `offset` */
    JSON_TOO_MANY_VALUES, /* `values` values, over the caller's limit */
    JSON_BAD_NUMBER,      /* a number outside JSON's grammar ("01", "5.", "-.5"), at `offset` */
    JSON_NUL_IN_STRING,   /* the escape \u0000, which cJSON reads as the string's end */
    JSON_CONTROL_IN_STRING, /* a raw character below 0x20 in a string */
    JSON_DUPLICATE_KEY,   /* `key` twice in one object (readers disagree on which wins) */
    JSON_NOMEM,
} json_problem_kind;

typedef struct json_scan {
    size_t values;
    int ends_early; /* inside a string, array or object at the end of the text */
    json_problem_kind flaw; /* the first flaw of numbers and strings, or JSON_FINE */
    size_t flaw_offset;
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

typedef struct json_problem {
    json_problem_kind kind;
    size_t offset;
    size_t values;
    char key[72];
} json_problem;

/* Parses text[0..len) (which need not end in a NUL) as one JSON value with
 * nothing but white space after it, if it holds at most `max_values`
 * values, its numbers and strings are as JSON writes them, and no object
 * has a key twice (at any depth); NULL with `problem` filled otherwise.
 * When memory runs out inside cJSON, which cannot tell, it comes out as
 * JSON_MALFORMED. */
cJSON *json_parse_strict(const char *text, size_t len, size_t max_values,
                         json_problem *problem);

/* What is wrong, as a phrase: "malformed JSON near byte 12", "the key
 * \"cost\" appears twice in one object". */
void json_problem_describe(const json_problem *problem, char *buf, size_t cap);

#endif
