/* mock_data: window resolution, request checks and deterministic usage reports. */
#include "mock_data.h"
#include "fo_alloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mock_profile.h" /* mock_rng */

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)
/* Cap on one day's events, so totals stay plausible for a single customer. */
#define DAY_EVENTS_MAX 500
#define METRICS_MAX 3

typedef Fanout__Feature__V1__DailyCount daily_count;
typedef Fanout__Feature__V1__UsageReport__MetricsEntry metric_entry;

/* A figure a feature reports, drawn uniformly from [lo, hi]. */
typedef struct metric_spec {
    const char *name;
    double lo;
    double hi;
} metric_spec;

static const struct {
    const char *feature;
    metric_spec metrics[METRICS_MAX];
} metric_table[] = {
    {"listings", {{"views_per_listing", 5, 120}, {"avg_session_s", 20, 600}}},
    {"searches", {{"results_per_search", 3, 250}, {"refinements_per_search", 0, 4}}},
    {"saved_searches", {{"alerts_sent", 0, 60}, {"alert_click_rate", 0, 0.4}}},
    {"tours", {{"completion_rate", 0.5, 1}, {"avg_duration_min", 10, 75}, {"reschedule_rate", 0, 0.3}}},
    {"offers", {{"acceptance_rate", 0, 0.6}, {"avg_response_h", 1, 72}}},
    {"messages", {{"avg_reply_min", 1, 240}, {"messages_per_thread", 1, 30}}},
    {"documents", {{"signed_rate", 0.2, 1}, {"avg_pages", 1, 40}}},
    {"collections", {{"items_per_collection", 1, 50}, {"share_rate", 0, 0.5}}},
    {"campaigns", {{"open_rate", 0.05, 0.6}, {"click_rate", 0, 0.2}, {"unsubscribe_rate", 0, 0.02}}},
    {"open_houses", {{"avg_visitors", 2, 60}, {"signup_rate", 0, 0.7}}},
    {"valuations", {{"avg_confidence", 0.5, 0.99}, {"avg_error_pct", 1, 12}}},
    {"leads", {{"conversion_rate", 0, 0.25}, {"avg_response_min", 1, 600}, {"contact_rate", 0.3, 1}}},
};

/* What a feature outside the table reports. */
static const metric_spec generic_metrics[METRICS_MAX] = {
    {"events_per_user", 1, 50},
    {"avg_session_s", 10, 900},
};

/* How a customer uses a feature, the same for every window. */
typedef struct habit {
    uint64_t seed;
    int64_t level; /* typical events on a busy day; 0 when the feature is never used */
    int64_t seats; /* users who could use it */
} habit;

/* Midnight UTC of the day holding t; floors towards minus infinity. */
static int64_t day_floor(int64_t t)
{
    int64_t r = t % MOCK_DAY_S;
    return t - (r < 0 ? r + MOCK_DAY_S : r);
}

bool mock_window_resolve(int64_t start, int64_t end, int64_t now_unix, int64_t *out_start, int64_t *out_end)
{
    if (start != 0 || end != 0) {
        *out_start = start;
        *out_end = end;
        return false;
    }
    int64_t today = day_floor(now_unix);
    *out_start = today - MOCK_DEFAULT_WINDOW_DAYS * MOCK_DAY_S;
    *out_end = today;
    return true;
}

fo_error *mock_request_validate(const Fanout__Feature__V1__UsageRequest *req)
{
    int64_t start = req->window_start_unix;
    int64_t end = req->window_end_unix;
    if (req->customer_id == NULL || req->customer_id[0] == '\0')
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "customer_id is empty");
    if (start < 0)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "window_start_unix (%" PRId64 ") is negative", start);
    if (end < 0)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "window_end_unix (%" PRId64 ") is negative", end);
    if (end < start)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                        "window_end_unix (%" PRId64 ") is before window_start_unix (%" PRId64 ")", end, start);
    if (end - start > MOCK_WINDOW_MAX_S)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                        "window from window_start_unix (%" PRId64 ") to window_end_unix (%" PRId64
                        ") is longer than 366 days",
                        start, end);
    return NULL;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* Hashes v least significant byte first, so every host makes the same data. */
static uint64_t fnv1a_i64(uint64_t h, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++) {
        h ^= (u >> (8 * i)) & 0xff;
        h *= FNV_PRIME;
    }
    return h;
}

static habit habit_of(const char *feature, const char *customer_id)
{
    /* Hashing each NUL too keeps ("ab", "c") apart from ("a", "bc"). */
    habit h = {.seed = fnv1a(fnv1a(FNV_OFFSET, feature, strlen(feature) + 1), customer_id, strlen(customer_id) + 1)};
    mock_rng rng;
    mock_rng_seed(&rng, h.seed);
    /* One customer in ten never touches a given feature. */
    h.level = mock_rng_uniform(&rng) < 0.1 ? 0 : 5 + (int64_t)(mock_rng_next(&rng) % 300);
    h.seats = 1 + (int64_t)(mock_rng_next(&rng) % 40);
    return h;
}

/* Events over the whole of one day: quiet now and then, more often at weekends. */
static int64_t full_day_events(const habit *h, int64_t day)
{
    if (h->level == 0)
        return 0;
    mock_rng rng;
    mock_rng_seed(&rng, fnv1a_i64(h->seed, day));
    /* 1970-01-01 was a Thursday, so day number + 4 counts weekdays from a Sunday. */
    int64_t weekday = (day / MOCK_DAY_S + 4) % 7;
    double quiet = weekday == 0 || weekday == 6 ? 0.45 : 0.12;
    if (mock_rng_uniform(&rng) < quiet)
        return 0;
    int64_t n = 1 + (int64_t)((double)h->level * 1.6 * mock_rng_uniform(&rng));
    return n < DAY_EVENTS_MAX ? n : DAY_EVENTS_MAX;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* One entry per UTC day touched by [start, end); a day partly inside gets its share of events. */
static void fill_days(mock_report *r, const habit *h, int64_t start, int64_t end)
{
    size_t n = end > start ? (size_t)((day_floor(end - 1) - day_floor(start)) / MOCK_DAY_S + 1) : 0;
    r->days = fo_xcalloc(n, sizeof *r->days);
    r->msg.daily = fo_xcalloc(n, sizeof *r->msg.daily);
    r->msg.n_daily = n;
    int64_t day = day_floor(start);
    for (size_t i = 0; i < n; i++, day += MOCK_DAY_S) {
        daily_count *d = &r->days[i];
        fanout__feature__v1__daily_count__init(d);
        d->day_unix = day;
        int64_t inside = min64(end, day + MOCK_DAY_S) - max64(start, day);
        d->events = full_day_events(h, day) * inside / MOCK_DAY_S;
        r->msg.daily[i] = d;
        r->msg.events += d->events;
    }
}

/* A moment inside the window on the last day with events; 0 when there are none. */
static int64_t last_used(const mock_report *r, int64_t start, int64_t end, mock_rng *rng)
{
    for (size_t i = r->msg.n_daily; i-- > 0;) {
        const daily_count *d = r->msg.daily[i];
        if (d->events == 0)
            continue;
        /* A day with events overlaps the window, so lo < hi. */
        int64_t lo = max64(start, d->day_unix);
        int64_t hi = min64(end, d->day_unix + MOCK_DAY_S);
        return lo + (int64_t)(mock_rng_next(rng) % (uint64_t)(hi - lo));
    }
    return 0;
}

static const metric_spec *metrics_of(const char *feature)
{
    for (size_t i = 0; i < sizeof metric_table / sizeof metric_table[0]; i++) {
        if (strcmp(feature, metric_table[i].feature) == 0)
            return metric_table[i].metrics;
    }
    return generic_metrics;
}

static void fill_metrics(mock_report *r, const char *feature, mock_rng *rng)
{
    const metric_spec *spec = metrics_of(feature);
    size_t n = 0;
    while (n < METRICS_MAX && spec[n].name != NULL)
        n++;
    r->metrics = fo_xcalloc(n, sizeof *r->metrics);
    r->msg.metrics = fo_xcalloc(n, sizeof *r->msg.metrics);
    r->msg.n_metrics = n;
    for (size_t i = 0; i < n; i++) {
        metric_entry *e = &r->metrics[i];
        fanout__feature__v1__usage_report__metrics_entry__init(e);
        e->key = (char *)spec[i].name; /* static; packing only reads it */
        double v = spec[i].lo + (spec[i].hi - spec[i].lo) * mock_rng_uniform(rng);
        /* Figures of an unused feature are 0; others are rounded to hundredths. */
        e->value = r->msg.events == 0 ? 0 : round(v * 100) / 100;
        r->msg.metrics[i] = e;
    }
}

void mock_report_generate(mock_report *r, const char *feature, const char *customer_id, int64_t start, int64_t end)
{
    habit h = habit_of(feature, customer_id);
    /* Figures that belong to the whole window draw from a generator seeded by it. */
    mock_rng rng;
    mock_rng_seed(&rng, fnv1a_i64(fnv1a_i64(h.seed, start), end));

    *r = (mock_report){0};
    fanout__feature__v1__usage_report__init(&r->msg);
    r->msg.feature = fo_xstrdup(feature);
    r->msg.customer_id = fo_xstrdup(customer_id);
    fill_days(r, &h, start, end);
    if (r->msg.events > 0) {
        int64_t users = 1 + (int64_t)(mock_rng_next(&rng) % (uint64_t)h.seats);
        r->msg.active_users = min64(r->msg.events, users);
    }
    r->msg.last_used_unix = last_used(r, start, end, &rng);
    fill_metrics(r, feature, &rng);
}

void mock_report_release(mock_report *r)
{
    free(r->msg.feature);
    free(r->msg.customer_id);
    free(r->msg.daily);
    free(r->msg.metrics);
    free(r->days);
    free(r->metrics);
    *r = (mock_report){0};
}
