/* agg_reduce: outcomes into responses, by reference (see agg_reduce.h). */
#include "agg_reduce.h"
#include "fo_alloc.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * protobuf-c's string fields are `char *` though packing only reads them;
 * the response lends them borrowed text, and NULL becomes "".
 */
static char *lend(const char *s) { return (char *)(s != NULL ? s : ""); }

/* Reports are untrusted input: a sum must not overflow into undefined behaviour. */
static int64_t add_saturating(int64_t a, int64_t b)
{
    int64_t sum;
    if (!__builtin_add_overflow(a, b, &sum))
        return sum;
    return b > 0 ? INT64_MAX : INT64_MIN;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static int by_day(const void *a, const void *b)
{
    const Fanout__Feature__V1__DailyCount *x = a, *y = b;
    return (x->day_unix > y->day_unix) - (x->day_unix < y->day_unix);
}

/* Room for count items of size bytes in the block, aligned for any type; returns the offset. */
static size_t reserve(size_t *used, size_t count, size_t size)
{
    size_t align = alignof(max_align_t);
    size_t at = (*used + align - 1) / align * align;
    *used = at + count * size;
    return at;
}

/* The part of the block at offset `at`, or NULL for an empty part (the block may be NULL). */
static void *part(char *block, size_t at, size_t count) { return count > 0 ? block + at : NULL; }

Fanout__V1__ErrorKind agg_error_kind_for_status(fo_status code)
{
    switch (code) {
    case FO_STATUS_DEADLINE_EXCEEDED:
        return FANOUT__V1__ERROR_KIND__DEADLINE;
    case FO_STATUS_UNAVAILABLE:
        return FANOUT__V1__ERROR_KIND__UNAVAILABLE;
    case FO_STATUS_CANCELLED:
        return FANOUT__V1__ERROR_KIND__CANCELLED;
    default:
        return FANOUT__V1__ERROR_KIND__BACKEND_ERROR;
    }
}

void agg_result_fill(const agg_outcome *o, Fanout__V1__FeatureResult *res, Fanout__V1__FeatureError *err_storage)
{
    fanout__v1__feature_result__init(res);
    res->index = o->index;
    res->feature = lend(o->feature);
    res->latency_us = o->latency_us;
    res->attempts = o->attempts;
    res->answered_by_attempt = o->answered_by_attempt;
    if (o->usage != NULL) {
        res->outcome_case = FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE;
        res->usage = o->usage;
        return;
    }
    fanout__v1__feature_error__init(err_storage);
    err_storage->index = o->index;
    err_storage->feature = lend(o->feature);
    err_storage->code = (int32_t)o->code;
    err_storage->message = lend(o->message);
    err_storage->kind = o->kind;
    res->outcome_case = FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR;
    res->error = err_storage;
}

/* A fresh message: copying the report's would carry its unknown fields along. */
static void copy_day(Fanout__Feature__V1__DailyCount *to, const Fanout__Feature__V1__DailyCount *from)
{
    fanout__feature__v1__daily_count__init(to);
    to->day_unix = from->day_unix;
    to->events = from->events;
}

static bool days_ascending(const Fanout__Feature__V1__UsageReport *u)
{
    for (size_t j = 1; j < u->n_daily; j++) {
        if (u->daily[j]->day_unix <= u->daily[j - 1]->day_unix)
            return false;
    }
    return true;
}

/*
 * Merges a report's days, strictly ascending, into days[0..n), sorted and
 * distinct: in place, from the back, once the merged length is known.
 * Returns that length.
 */
static size_t merge_report_days(Fanout__Feature__V1__DailyCount *days, size_t n,
                                const Fanout__Feature__V1__UsageReport *u)
{
    size_t r = u->n_daily, shared = 0;
    for (size_t i = 0, j = 0; i < n && j < r;) {
        int64_t a = days[i].day_unix, b = u->daily[j]->day_unix;
        shared += a == b;
        i += a <= b;
        j += b <= a;
    }
    size_t merged = n + r - shared;
    size_t i = n, j = r, k = merged;
    /* k - i is how many of the report's days still to place are new days: days[i..k) is free. */
    while (j > 0) {
        const Fanout__Feature__V1__DailyCount *d = u->daily[j - 1];
        if (i > 0 && days[i - 1].day_unix > d->day_unix) {
            days[--k] = days[--i];
        } else if (i > 0 && days[i - 1].day_unix == d->day_unix) {
            days[--k] = days[--i];
            days[k].events = add_saturating(days[k].events, d->events);
            j--;
        } else {
            copy_day(&days[--k], d);
            j--;
        }
    }
    return merged;
}

/*
 * The slow way, for reports whose days are out of order or repeated: gathers
 * every day, sorts them and sums equal days in place. Returns how many
 * distinct days remain.
 */
static size_t sort_days(const agg_outcome *outcomes, size_t n, Fanout__Feature__V1__DailyCount *days)
{
    size_t n_days = 0;
    for (size_t i = 0; i < n; i++) {
        const Fanout__Feature__V1__UsageReport *u = outcomes[i].usage;
        for (size_t j = 0; u != NULL && j < u->n_daily; j++)
            copy_day(&days[n_days++], u->daily[j]);
    }
    if (n_days == 0)
        return 0;
    qsort(days, n_days, sizeof *days, by_day);
    size_t kept = 1;
    for (size_t i = 1; i < n_days; i++) {
        if (days[i].day_unix == days[kept - 1].day_unix)
            days[kept - 1].events = add_saturating(days[kept - 1].events, days[i].events);
        else
            days[kept++] = days[i];
    }
    return kept;
}

/*
 * The days of every report, summed per day and in day order. Reports list
 * their days in order (feature.proto), so merging them one after another is
 * linear; one that does not sends all through the sort.
 */
static size_t merge_days(const agg_outcome *outcomes, size_t n, Fanout__Feature__V1__DailyCount *days)
{
    for (size_t i = 0; i < n; i++) {
        if (outcomes[i].usage != NULL && !days_ascending(outcomes[i].usage))
            return sort_days(outcomes, n, days);
    }
    size_t n_days = 0;
    for (size_t i = 0; i < n; i++) {
        if (outcomes[i].usage != NULL)
            n_days = merge_report_days(days, n_days, outcomes[i].usage);
    }
    return n_days;
}

/* days has room for every daily entry of every report; daily for as many pointers. */
static void fill_totals(const agg_outcome *outcomes, size_t n, Fanout__V1__Totals *t,
                        Fanout__Feature__V1__DailyCount *days, Fanout__Feature__V1__DailyCount **daily)
{
    const agg_outcome *top = NULL;
    for (size_t i = 0; i < n; i++) {
        const Fanout__Feature__V1__UsageReport *u = outcomes[i].usage;
        if (u == NULL)
            continue;
        t->events = add_saturating(t->events, u->events);
        t->active_users = max64(t->active_users, u->active_users);
        t->last_used_unix = max64(t->last_used_unix, u->last_used_unix);
        /* Strictly more: a tie keeps the earlier feature. */
        if (top == NULL || u->events > top->usage->events)
            top = &outcomes[i];
    }
    t->n_daily = merge_days(outcomes, n, days);
    for (size_t i = 0; i < t->n_daily; i++)
        daily[i] = &days[i];
    t->daily = t->n_daily > 0 ? daily : NULL;
    t->top_feature = top != NULL ? lend(top->feature) : lend(NULL);
}

void agg_reduce(const agg_outcome *outcomes, size_t n, const char *customer_id, int64_t elapsed_us, agg_response *out)
{
    size_t failed = 0, n_days = 0;
    for (size_t i = 0; i < n; i++) {
        if (outcomes[i].usage == NULL)
            failed++;
        else
            n_days += outcomes[i].usage->n_daily;
    }
    size_t used = 0;
    size_t at_results = reserve(&used, n, sizeof(Fanout__V1__FeatureResult *));
    size_t at_errors = reserve(&used, failed, sizeof(Fanout__V1__FeatureError *));
    size_t at_daily = reserve(&used, n_days, sizeof(Fanout__Feature__V1__DailyCount *));
    size_t at_result_structs = reserve(&used, n, sizeof(Fanout__V1__FeatureResult));
    size_t at_error_structs = reserve(&used, failed, sizeof(Fanout__V1__FeatureError));
    size_t at_day_structs = reserve(&used, n_days, sizeof(Fanout__Feature__V1__DailyCount));
    char *block = used > 0 ? fo_xmalloc(used) : NULL;

    Fanout__V1__FeatureResult *results = part(block, at_result_structs, n);
    Fanout__V1__FeatureError *errors = part(block, at_error_structs, failed);
    Fanout__V1__AnalyticsResponse *msg = &out->msg;
    fanout__v1__analytics_response__init(msg);
    fanout__v1__totals__init(&out->totals);
    out->storage = block;
    msg->customer_id = lend(customer_id);
    msg->n_results = n;
    msg->results = part(block, at_results, n);
    msg->errors = part(block, at_errors, failed);
    for (size_t i = 0; i < n; i++) {
        const agg_outcome *o = &outcomes[i];
        agg_result_fill(o, &results[i], o->usage == NULL ? &errors[msg->n_errors] : NULL);
        msg->results[i] = &results[i];
        if (o->usage == NULL)
            msg->errors[msg->n_errors++] = results[i].error;
    }
    msg->failed = (int32_t)failed;
    msg->succeeded = (int32_t)(n - failed);
    msg->partial = failed > 0;
    msg->elapsed_us = elapsed_us;
    fill_totals(outcomes, n, &out->totals, part(block, at_day_structs, n_days), part(block, at_daily, n_days));
    msg->totals = &out->totals;
}

void agg_response_release(agg_response *r)
{
    free(r->storage);
    memset(r, 0, sizeof *r);
}
