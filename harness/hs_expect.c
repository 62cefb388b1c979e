/* hs_expect: checking one outcome, reporting the first difference. */
#include "hs_expect.h"
#include "fo_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_match.h"

static char *differ(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *differ(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    if (vasprintf(&out, fmt, ap) < 0)
        abort();
    va_end(ap);
    return out;
}

static int by_index(const void *a, const void *b)
{
    json_int_t ia = json_integer_value(json_object_get(*(json_t *const *)a, "index"));
    json_int_t ib = json_integer_value(json_object_get(*(json_t *const *)b, "index"));
    return (ia > ib) - (ia < ib);
}

/* The streamed results in the order the expectation is written in. */
static json_t *results_in_order(const json_t *results, hs_order order)
{
    if (order == HS_ORDER_ARRIVAL)
        return json_incref((json_t *)results);
    size_t n = json_array_size(results);
    json_t **items = fo_xcalloc(n + 1, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(results, i);
    qsort(items, n, sizeof *items, by_index);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(sorted, items[i]);
    free(items);
    return sorted;
}

static char *check_status(const hs_expect *e, const hs_outcome *o)
{
    if (o->status != e->status)
        return differ("status: expected %s, got %s (message: \"%s\")", fo_status_name((int)e->status),
                      fo_status_name((int)o->status), o->message);
    if (e->message != NULL && strcmp(o->message, e->message) != 0)
        return differ("message: expected \"%s\", got \"%s\"", e->message, o->message);
    if (e->message_prefix != NULL && strncmp(o->message, e->message_prefix, strlen(e->message_prefix)) != 0)
        return differ("message: expected it to start with \"%s\", got \"%s\"", e->message_prefix, o->message);
    if (e->failed_feature != NULL && (o->failed_feature == NULL || strcmp(o->failed_feature, e->failed_feature) != 0))
        return differ("failed_feature: expected \"%s\", got %s%s%s", e->failed_feature, o->failed_feature ? "\"" : "",
                      o->failed_feature ? o->failed_feature : "no fanout-failed-feature trailer",
                      o->failed_feature ? "\"" : "");
    return NULL;
}

static char *check_payload(const hs_expect *e, const hs_outcome *o)
{
    if (e->reply != NULL)
        return hs_match(e->reply, o->actual, "reply");
    if (e->results == NULL)
        return NULL;
    json_t *ordered = results_in_order(o->actual, e->results_order);
    char *diff = hs_match(e->results, ordered, e->results_order == HS_ORDER_INDEX ? "results(by index)" : "results");
    json_decref(ordered);
    return diff;
}

static char *check_elapsed(const hs_expect *e, const hs_outcome *o)
{
    if (e->min_ms != HS_MS_UNSET && o->elapsed_ms < e->min_ms)
        return differ("elapsed_ms: expected at least %lld, got %lld", (long long)e->min_ms, (long long)o->elapsed_ms);
    if (e->max_ms != HS_MS_UNSET && o->elapsed_ms > e->max_ms)
        return differ("elapsed_ms: expected at most %lld, got %lld", (long long)e->max_ms, (long long)o->elapsed_ms);
    return NULL;
}

char *hs_expect_check(const hs_expect *e, const hs_outcome *o)
{
    char *diff = check_status(e, o);
    if (diff == NULL)
        diff = check_payload(e, o);
    if (diff == NULL)
        diff = check_elapsed(e, o);
    return diff;
}
