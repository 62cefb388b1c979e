/* fo_json: the strict JSON reader (see fo_json.h). */
#include "fo_json.h"
#include "fo_parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values longer than this are cut in messages. */
#define SHOWN_MAX 72
#define RULE_MAX 160

static void cut_visibly(char *buf, size_t cap, int n)
{
    if (n >= 0 && (size_t)n >= cap)
        memcpy(buf + cap - 4, "...", 4);
}

fo_json_at fo_json_top(const char *origin, const char *path)
{
    fo_json_at at = {.origin = origin};
    cut_visibly(at.path, sizeof at.path, snprintf(at.path, sizeof at.path, "%s", path != NULL ? path : ""));
    return at;
}

fo_json_at fo_json_key(const fo_json_at *parent, const char *key)
{
    fo_json_at at = {.origin = parent->origin};
    const char *dot = parent->path[0] != '\0' ? "." : "";
    cut_visibly(at.path, sizeof at.path, snprintf(at.path, sizeof at.path, "%s%s%s", parent->path, dot, key));
    return at;
}

fo_json_at fo_json_index(const fo_json_at *parent, size_t i)
{
    fo_json_at at = {.origin = parent->origin};
    cut_visibly(at.path, sizeof at.path, snprintf(at.path, sizeof at.path, "%s[%zu]", parent->path, i));
    return at;
}

static fo_error *verror(const fo_json_at *at, const char *fmt, va_list ap, const char *got)
{
    char what[RULE_MAX];
    vsnprintf(what, sizeof what, fmt, ap);
    const char *origin = at->origin != NULL ? at->origin : "";
    const char *sep1 = at->origin != NULL && at->path[0] != '\0' ? ": " : "";
    const char *sep2 = at->origin != NULL || at->path[0] != '\0' ? ": " : "";
    return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s%s%s%s%s%s%s", origin, sep1, at->path, sep2, what,
                    got != NULL ? ", got " : "", got != NULL ? got : "");
}

fo_error *fo_json_error(const fo_json_at *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fo_error *err = verror(at, fmt, ap, NULL);
    va_end(ap);
    return err;
}

fo_error *fo_json_invalid(const fo_json_at *at, const json_t *got, const char *fmt, ...)
{
    char shown[SHOWN_MAX];
    char *text = got != NULL ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    cut_visibly(shown, sizeof shown, snprintf(shown, sizeof shown, "%s", text != NULL ? text : "nothing"));
    free(text);
    va_list ap;
    va_start(ap, fmt);
    fo_error *err = verror(at, fmt, ap, shown);
    va_end(ap);
    return err;
}

static fo_error *loaded(const char *origin, json_t *root, const json_error_t *jerr, json_t **out)
{
    *out = root;
    if (root == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s:%d:%d: %s", origin, jerr->line, jerr->column, jerr->text);
    return NULL;
}

fo_error *fo_json_load_file(const char *path, json_t **out)
{
    /* fopen ourselves: jansson's open failure text repeats the path and hides errno. */
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: cannot open: %s", path, strerror(errno));
    json_error_t jerr;
    /* Without JSON_ALLOW_NUL, no string in the document holds a NUL. */
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    int read_errno = errno;
    /* A read error (say, path is a directory) is about the file, not its JSON. */
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        json_decref(root);
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: cannot read: %s", path, strerror(read_errno));
    }
    return loaded(path, root, &jerr, out);
}

fo_error *fo_json_load_text(const char *origin, const char *text, json_t **out)
{
    json_error_t jerr;
    return loaded(origin, json_loads(text, JSON_REJECT_DUPLICATES, &jerr), &jerr, out);
}

fo_error *fo_json_required(const fo_json_at *at, const json_t *v)
{
    return v == NULL ? fo_json_error(at, "required") : NULL;
}

static bool is_listed(const char *key, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(key, *list) == 0)
            return true;
    }
    return false;
}

fo_error *fo_json_object(const fo_json_at *at, const json_t *v, const char *const *keys)
{
    if (v == NULL)
        return NULL;
    if (!json_is_object(v))
        return fo_json_invalid(at, v, "must be an object");
    /* jansson's iterators take a non-const object but only read it. */
    json_t *o = (json_t *)v;
    for (void *it = json_object_iter(o); keys != NULL && it != NULL; it = json_object_iter_next(o, it)) {
        if (!is_listed(json_object_iter_key(it), keys)) {
            /* A misspelt key must not quietly leave its default. */
            fo_json_at key = fo_json_key(at, json_object_iter_key(it));
            return fo_json_error(&key, "unknown key");
        }
    }
    return NULL;
}

fo_error *fo_json_array(const fo_json_at *at, const json_t *v, bool nonempty, const char *of, size_t *n)
{
    if (v == NULL)
        return NULL;
    if (!json_is_array(v) || (nonempty && json_array_size(v) == 0))
        return fo_json_invalid(at, v, "must be %s%s%s", nonempty ? "a non-empty array" : "an array",
                               of != NULL ? " of " : "", of != NULL ? of : "");
    *n = json_array_size(v);
    return NULL;
}

fo_error *fo_json_string(const fo_json_at *at, const json_t *v, const char **out)
{
    if (v == NULL)
        return NULL;
    /* The length check refuses a string cut by an embedded NUL (json_stringn can make one). */
    if (!json_is_string(v) || json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v))
        return fo_json_invalid(at, v, "must be a non-empty string");
    *out = json_string_value(v);
    return NULL;
}

fo_error *fo_json_int(const fo_json_at *at, const json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (v == NULL)
        return NULL;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        if (hi == INT64_MAX)
            return fo_json_invalid(at, v, "must be an integer of at least %" PRId64, lo);
        return fo_json_invalid(at, v, "must be an integer from %" PRId64 " to %" PRId64, lo, hi);
    }
    *out = json_integer_value(v);
    return NULL;
}

fo_error *fo_json_number(const fo_json_at *at, const json_t *v, double lo, double hi, double *out)
{
    if (v == NULL)
        return NULL;
    if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
        return fo_json_invalid(at, v, "must be a number from %g to %g", lo, hi);
    *out = json_number_value(v);
    return NULL;
}

fo_error *fo_json_duration_ms(const fo_json_at *at, const json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (v == NULL)
        return NULL;
    int64_t ms = -1, us;
    if (json_is_integer(v))
        ms = json_integer_value(v);
    else if (json_is_string(v) && fo_parse_duration_us(json_string_value(v), &us) == FO_PARSE_OK)
        ms = us / 1000;
    if (ms < lo || ms > hi) {
        if (hi == INT64_MAX)
            return fo_json_invalid(at, v, "must be milliseconds or a duration such as \"2s\", at least %" PRId64 " ms",
                                   lo);
        return fo_json_invalid(
            at, v, "must be milliseconds or a duration such as \"2s\", from %" PRId64 " to %" PRId64 " ms", lo, hi);
    }
    *out = ms;
    return NULL;
}

fo_error *fo_json_bool(const fo_json_at *at, const json_t *v, bool *out)
{
    if (v == NULL)
        return NULL;
    if (!json_is_boolean(v))
        return fo_json_invalid(at, v, "must be true or false");
    *out = json_is_true(v);
    return NULL;
}

fo_error *fo_json_choice(const fo_json_at *at, const json_t *v, const char *const *names, size_t *index)
{
    if (v == NULL)
        return NULL;
    const char *text = json_is_string(v) ? json_string_value(v) : "";
    for (size_t i = 0; names[i] != NULL; i++) {
        if (strcmp(text, names[i]) == 0) {
            *index = i;
            return NULL;
        }
    }
    char rule[RULE_MAX] = "must be one of";
    for (size_t i = 0; names[i] != NULL; i++) {
        size_t used = strlen(rule);
        snprintf(rule + used, sizeof rule - used, "%s %s", i == 0 ? "" : ",", names[i]);
    }
    return fo_json_invalid(at, v, "%s", rule);
}
