#include "common/json_strict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The first flaw the scan saw, or none yet. */
static void flaw(json_scan *scan, json_problem_kind kind, size_t offset)
{
    if (scan->flaw) return;
    scan->flaw = kind;
    scan->flaw_offset = offset;
}

/* The offset just past the string that starts at text[i] (a '"'), or len
 * with scan->ends_early set when the text ends inside it. A raw control
 * character and the escape \u0000 are flaws: cJSON keeps the first and
 * cuts the string short at the second, so that "QuadraticCost\u0000junk"
 * would read as "QuadraticCost". */
static size_t string_end(const char *text, size_t len, size_t i, json_scan *scan)
{
    for (i++; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20) {
            flaw(scan, JSON_CONTROL_IN_STRING, i);
        } else if (c == '\\') {
            if (i + 5 < len && memcmp(text + i + 1, "u0000", 5) == 0)
                flaw(scan, JSON_NUL_IN_STRING, i);
            i++;
        } else if (c == '"') {
            return i + 1;
        }
    }
    scan->ends_early = 1;
    return len;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* The end of the number at text[i] ('-' or a digit) as JSON writes
 * numbers: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, not followed by
 * more of what cJSON would take into it. cJSON reads numbers with strtod,
 * which also takes "01", "5." and "-.5"; those are flaws. */
static size_t number_end(const char *text, size_t len, size_t i, json_scan *scan)
{
    size_t j = i, start;
    int ok = 1;
    if (text[j] == '-') j++;
    if (j < len && text[j] == '0') {
        j++;
    } else {
        start = j;
        while (j < len && is_digit(text[j])) j++;
        ok &= j > start;
    }
    if (ok && j < len && text[j] == '.') {
        start = ++j;
        while (j < len && is_digit(text[j])) j++;
        ok &= j > start;
    }
    if (ok && j < len && (text[j] == 'e' || text[j] == 'E')) {
        j++;
        if (j < len && (text[j] == '+' || text[j] == '-')) j++;
        start = j;
        while (j < len && is_digit(text[j])) j++;
        ok &= j > start;
    }
    /* what strtod would still read belongs to the same (bad) number */
    size_t end = j;
    while (end < len && (is_digit(text[end]) || text[end] == '.' || text[end] == 'e' ||
                         text[end] == 'E' || text[end] == '+' || text[end] == '-'))
        end++;
    if (!ok || end != j) flaw(scan, JSON_BAD_NUMBER, i);
    return end;
}

void json_scan_text(const char *text, size_t len, json_scan *scan)
{
    memset(scan, 0, sizeof *scan);
    struct json_member *member = NULL; /* the top-level member being read */
    size_t depth = 0;
    int root_seen = 0, root_object = 0;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (!root_seen && !is_space(c)) {
            root_seen = 1;
            root_object = c == '{';
        }
        if (c == '"') {
            size_t end = string_end(text, len, i, scan), next = end;
            while (next < len && is_space(text[next])) next++;
            if (next < len && text[next] == ':') {
                /* a key; in the top-level object, a member starts */
                if (root_object && depth == 1 && scan->n_members < JSON_SCAN_MEMBERS) {
                    member = &scan->members[scan->n_members++];
                    size_t n = end - i - 2; /* between the quotes */
                    if (n > sizeof member->key - 1) n = sizeof member->key - 1;
                    memcpy(member->key, text + i + 1, n);
                    member->key[n] = 0;
                    size_t value = next + 1;
                    while (value < len && is_space(text[value])) value++;
                    member->offset = value;
                    member->values = scan->values;
                } else {
                    member = NULL;
                }
                i = next + 1;
                continue;
            }
            scan->values++;
            i = end;
            continue;
        }
        if (c == '{' || c == '[') {
            scan->values++;
            depth++;
        } else if (c == '}' || c == ']' || c == ',') {
            if (c != ',' && depth > 0) depth--;
            /* the member's value ends with the ',' or '}' after it, or
             * with its own closing bracket */
            if (member && depth <= 1) {
                member->values = scan->values - member->values;
                member = NULL;
            }
        } else if (c == '-' || is_digit(c)) {
            scan->values++;
            i = number_end(text, len, i, scan);
            continue;
        } else if (c >= 'a' && c <= 'z') {
            /* a literal: true, false, null */
            scan->values++;
            while (i + 1 < len && text[i + 1] >= 'a' && text[i + 1] <= 'z') i++;
        } else if (c == 0) {
            flaw(scan, JSON_MALFORMED, i); /* cJSON would stop there */
        }
        i++;
    }
    if (member) member->values = scan->values - member->values;
    if (depth > 0 || !root_seen) scan->ends_early = 1;
}

const struct json_member *json_scan_member(const json_scan *scan, const char *key)
{
    for (int i = 0; i < scan->n_members; i++)
        if (strcmp(scan->members[i].key, key) == 0) return &scan->members[i];
    return NULL;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key that appears twice in one object of the tree under
 * `item`, or NULL; *nomem set when a list of keys could not be made. */
static const char *duplicate_key(const cJSON *item, int *nomem)
{
    if (cJSON_IsObject(item)) {
        size_t n = 0;
        for (const cJSON *c = item->child; c; c = c->next) n++;
        if (n <= 16) {
            for (const cJSON *a = item->child; a; a = a->next)
                for (const cJSON *b = a->next; b; b = b->next)
                    if (strcmp(a->string, b->string) == 0) return b->string;
        } else {
            const char **keys = alloc_array(n, sizeof *keys);
            if (!keys) {
                *nomem = 1;
                return NULL;
            }
            size_t k = 0;
            for (const cJSON *c = item->child; c; c = c->next) keys[k++] = c->string;
            qsort(keys, n, sizeof *keys, by_key);
            const char *twice = NULL;
            for (k = 1; k < n && !twice; k++)
                if (strcmp(keys[k - 1], keys[k]) == 0) twice = keys[k];
            alloc_free(keys);
            if (twice) return twice;
        }
    }
    if (cJSON_IsObject(item) || cJSON_IsArray(item))
        for (const cJSON *c = item->child; c && !*nomem; c = c->next) {
            const char *twice = duplicate_key(c, nomem);
            if (twice) return twice;
        }
    return NULL;
}

cJSON *json_parse_strict(const char *text, size_t len, size_t max_values,
                         json_problem *problem)
{
    memset(problem, 0, sizeof *problem);
    json_scan scan;
    json_scan_text(text, len, &scan);
    problem->values = scan.values;
    if (scan.values > max_values) {
        problem->kind = JSON_TOO_MANY_VALUES;
        return NULL;
    }
    if (scan.flaw && !scan.ends_early) {
        problem->kind = scan.flaw;
        problem->offset = scan.flaw_offset;
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        /* cJSON puts a failure at the end of the text on its last byte */
        problem->kind = JSON_MALFORMED;
        problem->offset = scan.ends_early ? len : end ? (size_t)(end - text) : 0;
        return NULL;
    }
    size_t at = end ? (size_t)(end - text) : len;
    while (at < len && is_space(text[at])) at++;
    if (at < len) {
        cJSON_Delete(root);
        problem->kind = JSON_TRAILING;
        problem->offset = at;
        return NULL;
    }
    int nomem = 0;
    const char *twice = duplicate_key(root, &nomem);
    if (twice || nomem) {
        problem->kind = nomem ? JSON_NOMEM : JSON_DUPLICATE_KEY;
        snprintf(problem->key, sizeof problem->key, "%s", twice ? twice : "");
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

void json_problem_describe(const json_problem *p, char *buf, size_t cap)
{
    switch (p->kind) {
    case JSON_FINE:
        snprintf(buf, cap, "well-formed JSON");
        break;
    case JSON_MALFORMED:
        snprintf(buf, cap, "malformed JSON near byte %zu", p->offset);
        break;
    case JSON_TRAILING:
        snprintf(buf, cap, "text after the JSON value, at byte %zu", p->offset);
        break;
    case JSON_TOO_MANY_VALUES:
        snprintf(buf, cap, "%zu JSON values, more than are read", p->values);
        break;
    case JSON_BAD_NUMBER:
        snprintf(buf, cap, "a number JSON does not allow at byte %zu (a leading zero, or a "
                 "point or exponent without digits)", p->offset);
        break;
    case JSON_NUL_IN_STRING:
        snprintf(buf, cap, "\\u0000 in a string at byte %zu", p->offset);
        break;
    case JSON_CONTROL_IN_STRING:
        snprintf(buf, cap, "a control character in a string at byte %zu", p->offset);
        break;
    case JSON_DUPLICATE_KEY:
        snprintf(buf, cap, "the key \"%.64s\" appears twice in one object", p->key);
        break;
    case JSON_NOMEM:
        snprintf(buf, cap, "out of memory");
        break;
    }
}
