/* mock_fault: parsing of the x-mock-fault header into one feature's fault. */
#include "mock_fault.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fo_parse.h"

/* Bytes of an offending item quoted in a message; the rest is elided. */
#define QUOTE_MAX 64
/* Room for QUOTE_MAX bytes escaped as \xNN, the ellipsis and the NUL. */
#define QUOTE_BUF (QUOTE_MAX * 4 + 4)
/* No valid duration or status code is this long, so longer ones need no copy. */
#define VALUE_MAX 32

/* A slice of the header: headers are not NUL-terminated and may hold NULs. */
typedef struct span {
    const char *p;
    size_t n;
} span;

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static span trim(span s)
{
    while (s.n > 0 && is_blank(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_blank(s.p[s.n - 1]))
        s.n--;
    return s;
}

static bool span_is(span s, const char *text) { return s.n == strlen(text) && memcmp(s.p, text, s.n) == 0; }

/* Splits s at its first c into trimmed head and tail; false when there is no c. */
static bool split_at(span s, char c, span *head, span *tail)
{
    const char *at = s.n > 0 ? memchr(s.p, c, s.n) : NULL;
    if (at == NULL)
        return false;
    size_t before = (size_t)(at - s.p);
    *head = trim((span){s.p, before});
    *tail = trim((span){at + 1, s.n - before - 1});
    return true;
}

/* Renders s for a message: printable ASCII as is, other bytes as \xNN, long spans cut short. */
static const char *quote(span s, char buf[QUOTE_BUF])
{
    size_t n = s.n < QUOTE_MAX ? s.n : QUOTE_MAX;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\')
            w += (size_t)snprintf(buf + w, QUOTE_BUF - w, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            buf[w++] = (char)c;
        else
            w += (size_t)snprintf(buf + w, QUOTE_BUF - w, "\\x%02x", c);
    }
    strcpy(buf + w, s.n > n ? "..." : "");
    return buf;
}

static fo_error *bad_item(span item, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one shape of every item error: which item, then why. */
static fo_error *bad_item(span item, const char *fmt, ...)
{
    char why[2 * QUOTE_BUF + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    char q[QUOTE_BUF];
    return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, MOCK_FAULT_HEADER ": bad item \"%s\": %s", quote(item, q), why);
}

/* Copies a short value out of the header so the NUL-terminated parsers can read it. */
static bool copy_value(span v, char buf[VALUE_MAX])
{
    if (v.n >= VALUE_MAX)
        return false;
    memcpy(buf, v.p, v.n);
    buf[v.n] = '\0';
    return true;
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static fo_error *check_name(span item, span name)
{
    char q[QUOTE_BUF];
    if (name.n == 0)
        return bad_item(item, "missing feature name before \"=\"");
    for (size_t i = 0; i < name.n; i++) {
        if (!is_name_char(name.p[i]))
            return bad_item(item, "invalid feature name \"%s\"", quote(name, q));
    }
    return NULL;
}

static fo_error *parse_delay(span item, span arg, mock_fault *f)
{
    char q[QUOTE_BUF];
    char value[VALUE_MAX];
    if (arg.n == 0)
        return bad_item(item, "delay needs a duration, e.g. delay:300ms");
    if (!copy_value(arg, value) || fo_parse_duration_us(value, &f->delay_us) != FO_PARSE_OK)
        return bad_item(item, "bad duration \"%s\"", quote(arg, q));
    return NULL;
}

static fo_error *parse_error(span item, span arg, mock_fault *f)
{
    char q[QUOTE_BUF];
    char value[VALUE_MAX];
    if (arg.n == 0)
        return bad_item(item, "error needs a status code, e.g. error:UNAVAILABLE");
    if (!copy_value(arg, value) || !fo_status_parse(value, &f->error_code))
        return bad_item(item, "unknown status code \"%s\"", quote(arg, q));
    if (f->error_code == FO_STATUS_OK)
        return bad_item(item, "status code \"%s\" is not an error", quote(arg, q));
    f->kind = MOCK_FAULT_ERROR;
    return NULL;
}

static fo_error *parse_huge(span item, span arg, mock_fault *f)
{
    char q[QUOTE_BUF];
    char value[VALUE_MAX];
    if (arg.n == 0)
        return bad_item(item, "huge needs a size, e.g. huge:8MiB");
    uint64_t bytes = 0;
    /* 8MiB and the like; the unit GiB would always be past the limit. */
    if (!copy_value(arg, value) || fo_parse_size(value, MOCK_HUGE_MAX_BYTES, &bytes) != FO_PARSE_OK || bytes == 0)
        return bad_item(item, "bad size \"%s\": expected 1 to %zu bytes, or KiB or MiB", quote(arg, q),
                        MOCK_HUGE_MAX_BYTES);
    f->huge_bytes = (size_t)bytes;
    f->kind = MOCK_FAULT_HUGE;
    return NULL;
}

/* The faults that take no argument. */
static const struct {
    const char *name;
    mock_fault_kind kind;
} bare_kinds[] = {
    {"hang", MOCK_FAULT_HANG},
    {"malformed", MOCK_FAULT_MALFORMED},
    {"crash", MOCK_FAULT_CRASH},
};

/* Parses KIND[:ARG] into f; *is_delay tells a delay from a terminal fault. */
static fo_error *parse_kind(span item, span spec, mock_fault *f, bool *is_delay)
{
    char q[QUOTE_BUF];
    span kind = spec;
    span arg = {spec.p, 0};
    bool has_arg = split_at(spec, ':', &kind, &arg);
    *is_delay = span_is(kind, "delay");
    if (*is_delay)
        return parse_delay(item, arg, f);
    if (span_is(kind, "error"))
        return parse_error(item, arg, f);
    if (span_is(kind, "huge"))
        return parse_huge(item, arg, f);
    for (size_t i = 0; i < sizeof bare_kinds / sizeof bare_kinds[0]; i++) {
        if (!span_is(kind, bare_kinds[i].name))
            continue;
        if (has_arg)
            return bad_item(item, "\"%s\" takes no argument", bare_kinds[i].name);
        f->kind = bare_kinds[i].kind;
        return NULL;
    }
    if (kind.n == 0)
        return bad_item(item, "missing fault kind after \"=\"");
    return bad_item(item, "unknown fault kind \"%s\"", quote(kind, q));
}

/* Parses the "attempt=N" of an item's "@attempt=N" into *only. */
static fo_error *parse_selector(span item, span selector, int *only)
{
    char q[QUOTE_BUF];
    char value[VALUE_MAX];
    span key, arg;
    int64_t n;
    if (!split_at(selector, '=', &key, &arg) || !span_is(key, "attempt"))
        return bad_item(item, "after \"@\" expected attempt=N, got \"%s\"", quote(selector, q));
    if (!copy_value(arg, value) || fo_parse_int(value, 0, MOCK_FAULT_MAX_ATTEMPT, &n) != FO_PARSE_OK)
        return bad_item(item, "bad attempt \"%s\": expected 0 to %d", quote(arg, q), MOCK_FAULT_MAX_ATTEMPT);
    *only = (int)n;
    return NULL;
}

/* Parses one trimmed, non-empty NAME=KIND[:ARG][@attempt=N] item; *only is N, or -1 for every attempt. */
static fo_error *parse_item(span item, span *name, mock_fault *f, bool *is_delay, int *only)
{
    for (size_t i = 0; i < item.n; i++) {
        unsigned char c = (unsigned char)item.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return bad_item(item, "control character \\x%02x", c);
    }
    span spec;
    if (!split_at(item, '=', name, &spec))
        return bad_item(item, "missing \"=\", expected NAME=KIND[:ARG]");
    fo_error *err = check_name(item, *name);
    if (err != NULL)
        return err;
    span kind_spec, selector;
    *only = -1;
    if (split_at(spec, '@', &kind_spec, &selector)) {
        err = parse_selector(item, selector, only);
        spec = kind_spec;
    }
    return err != NULL ? err : parse_kind(item, spec, f, is_delay);
}

/* Folds one item meant for this feature into out, refusing a second delay or terminal fault. */
static fo_error *merge(span item, const mock_fault *f, bool is_delay, bool *seen_delay, mock_fault *out)
{
    if (is_delay) {
        if (*seen_delay)
            return bad_item(item, "a second delay for the same feature");
        *seen_delay = true;
        out->delay_us = f->delay_us;
        return NULL;
    }
    if (out->kind != MOCK_FAULT_NONE)
        return bad_item(item, "a second terminal fault for the same feature");
    out->kind = f->kind;
    out->error_code = f->error_code;
    out->huge_bytes = f->huge_bytes;
    return NULL;
}

/* Parses every item of the trimmed header, folding those meant for feature's attempt into mine. */
static fo_error *parse_items(span all, const char *feature, int attempt, mock_fault *mine)
{
    bool seen_delay = false;
    if (all.n == 0)
        return NULL; /* a blank header asks nothing */
    /* A comma always promises another item, so "a=hang," and ",a=hang" are errors. */
    span rest = all;
    for (;;) {
        span item = rest;
        span tail = {rest.p, 0};
        bool more = split_at(rest, ',', &item, &tail);
        if (item.n == 0) {
            char q[QUOTE_BUF];
            return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, MOCK_FAULT_HEADER ": empty item in \"%s\"", quote(all, q));
        }
        span name = {0};
        mock_fault f = {0};
        bool is_delay = false;
        int only = -1;
        fo_error *err = parse_item(item, &name, &f, &is_delay, &only);
        if (err == NULL && span_is(name, feature) && (only < 0 || only == attempt))
            err = merge(item, &f, is_delay, &seen_delay, mine);
        if (err != NULL || !more)
            return err;
        rest = tail;
    }
}

fo_error *mock_fault_parse(const char *header, size_t len, const char *feature, int attempt, mock_fault *out)
{
    mock_fault mine = {0};
    fo_error *err = parse_items(trim((span){header, len}), feature, attempt, &mine);
    *out = err == NULL ? mine : (mock_fault){0};
    return err;
}
