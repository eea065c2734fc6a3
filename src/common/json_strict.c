#include "common/json_strict.h"

#include <stdio.h>
#include <string.h>

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The offset just past the string that starts at text[i] (a '"'), or len
 * with *open set when the text ends inside it. */
static size_t string_end(const char *text, size_t len, size_t i, int *open)
{
    for (i++; i < len; i++) {
        if (text[i] == '\\')
            i++;
        else if (text[i] == '"')
            return i + 1;
    }
    *open = 1;
    return len;
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
            size_t end = string_end(text, len, i, &scan->ends_early), next = end;
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
        } else if (c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) {
            /* a number or a literal: true, false, null */
            scan->values++;
            while (i + 1 < len && (text[i + 1] == '.' || text[i + 1] == '+' ||
                                   text[i + 1] == '-' || (text[i + 1] >= '0' && text[i + 1] <= '9') ||
                                   (text[i + 1] >= 'a' && text[i + 1] <= 'z') ||
                                   text[i + 1] == 'E'))
                i++;
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
    return root;
}

void json_problem_describe(const json_problem *p, char *buf, size_t cap)
{
    switch (p->kind) {
    case JSON_FINE:
        snprintf(buf, cap, "is fine");
        break;
    case JSON_MALFORMED:
        snprintf(buf, cap, "is malformed JSON near byte %zu", p->offset);
        break;
    case JSON_TRAILING:
        snprintf(buf, cap, "has text after its JSON value, at byte %zu", p->offset);
        break;
    case JSON_TOO_MANY_VALUES:
        snprintf(buf, cap, "holds %zu JSON values, more than are read", p->values);
        break;
    }
}
