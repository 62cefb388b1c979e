/* hs_match: the subset rule between an expected and an actual JSON value. */
#include "hs_match.h"
#include "fo_alloc.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Long values are cut here in messages; the whole actual reply is printed apart. */
#define VALUE_TEXT_MAX 160

/* A path being built down the tree: "reply.results[1].error". */
typedef struct path {
    char *text;
    size_t len, cap;
} path;

static void path_append(path *p, const char *fmt, const char *key, size_t index)
{
    for (;;) {
        int n = key != NULL ? snprintf(p->text + p->len, p->cap - p->len, fmt, key)
                            : snprintf(p->text + p->len, p->cap - p->len, fmt, index);
        if (n >= 0 && (size_t)n < p->cap - p->len) {
            p->len += (size_t)n;
            return;
        }
        p->cap *= 2;
        p->text = fo_xrealloc(p->text, p->cap);
    }
}

static void path_truncate(path *p, size_t len)
{
    p->len = len;
    p->text[len] = '\0';
}

/* Compact JSON text of v, cut to VALUE_TEXT_MAX; malloc'd. */
static char *value_text(const json_t *v)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text == NULL)
        abort();
    if (strlen(text) > VALUE_TEXT_MAX)
        strcpy(text + VALUE_TEXT_MAX - 3, "...");
    return text;
}

static char *mismatch(const path *p, const json_t *expected, const char *got)
{
    char *want = value_text(expected);
    char *out = NULL;
    if (asprintf(&out, "%s: expected %s, got %s", p->text, want, got) < 0)
        abort();
    free(want);
    return out;
}

static char *mismatch_value(const path *p, const json_t *expected, const json_t *actual)
{
    char *got = value_text(actual);
    char *out = mismatch(p, expected, got);
    free(got);
    return out;
}

/* What canonical proto3 JSON leaves out: the expected value also matches an absent key. */
static bool is_proto3_default(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE:
        return true;
    case JSON_INTEGER:
        return json_integer_value(v) == 0;
    case JSON_REAL:
        return json_real_value(v) == 0.0;
    case JSON_STRING:
        return json_string_length(v) == 0 || strcmp(json_string_value(v), "0") == 0;
    case JSON_ARRAY:
        return json_array_size(v) == 0;
    default:
        return false;
    }
}

/* 64-bit integers are decimal strings in proto3 JSON; a scenario may write them as numbers. */
static bool integer_matches_string(const json_t *expected, const json_t *actual)
{
    if (!json_is_integer(expected) || !json_is_string(actual))
        return false;
    char text[32];
    snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(expected));
    return strcmp(text, json_string_value(actual)) == 0;
}

static char *match_at(const json_t *expected, const json_t *actual, path *p);

static char *match_object(const json_t *expected, const json_t *actual, path *p)
{
    size_t base = p->len;
    const char *key;
    json_t *want;
    json_object_foreach((json_t *)expected, key, want)
    {
        path_append(p, base == 0 ? "%s" : ".%s", key, 0);
        const json_t *got = json_object_get(actual, key);
        char *diff = NULL;
        if (got == NULL) {
            if (!is_proto3_default(want))
                diff = mismatch(p, want, "nothing (the key is absent)");
        } else {
            diff = match_at(want, got, p);
        }
        path_truncate(p, base);
        if (diff != NULL)
            return diff;
    }
    return NULL;
}

static char *match_array(const json_t *expected, const json_t *actual, path *p)
{
    size_t n = json_array_size(expected);
    if (json_array_size(actual) != n) {
        char *out = NULL;
        if (asprintf(&out, "%s: expected %zu elements, got %zu", p->text, n, json_array_size(actual)) < 0)
            abort();
        return out;
    }
    size_t base = p->len;
    for (size_t i = 0; i < n; i++) {
        path_append(p, "[%zu]", NULL, i);
        char *diff = match_at(json_array_get(expected, i), json_array_get(actual, i), p);
        path_truncate(p, base);
        if (diff != NULL)
            return diff;
    }
    return NULL;
}

static char *match_at(const json_t *expected, const json_t *actual, path *p)
{
    if (json_is_object(expected) && json_is_object(actual))
        return match_object(expected, actual, p);
    if (json_is_array(expected) && json_is_array(actual))
        return match_array(expected, actual, p);
    if (json_equal((json_t *)expected, (json_t *)actual) || integer_matches_string(expected, actual))
        return NULL;
    return mismatch_value(p, expected, actual);
}

char *hs_match(const json_t *expected, const json_t *actual, const char *root)
{
    path p = {.cap = 128};
    p.text = fo_xmalloc(p.cap);
    path_truncate(&p, 0);
    path_append(&p, "%s", root, 0);
    char *diff = match_at(expected, actual, &p);
    free(p.text);
    return diff;
}
