/* agg_metrics: the aggregator's families, its hooks and its scrape-time gauges (agg_metrics.h). */
#include "agg_metrics.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg_generation.h"
#include "fo_alloc.h"
#include "fo_log.h"
#include "fo_metrics_process.h"
#include "fo_time.h"

#define N_METHODS 2
#define N_POLICIES 3
#define N_CODES 17
/* ERROR_KIND_UNSPECIFIED (success) to CIRCUIT_OPEN: what a configured feature can end with. */
#define N_KINDS 7
#define N_REASONS 6
#define N_ATTEMPTS 2
/* Rows kept for features that config reloads add: their series exist from the start, unnamed. */
#define SPARE_FEATURES 32

static const char *const methods[N_METHODS] = {"GetCustomerAnalytics", "StreamCustomerAnalytics"};
/* Indexed by Fanout__V1__FailurePolicy. */
static const char *const policies[N_POLICIES] = {"UNSPECIFIED", "ALLOW_PARTIAL", "FAIL_FAST"};
/* Indexed by Fanout__V1__ErrorKind. */
static const char *const kinds[N_KINDS] = {
    "OK", "DEADLINE", "UNAVAILABLE", "BACKEND_ERROR", "MALFORMED_RESPONSE", "CANCELLED", "CIRCUIT_OPEN"};
static const char *const reasons[N_REASONS] = {"max_in_flight",   "deadline",          "invalid_request",
                                               "unauthenticated", "permission_denied", "other"};
static const char *const attempts[N_ATTEMPTS] = {"hedge", "retry"};

/* Latency buckets in microseconds: 0.5 ms to 10 s. */
static const uint64_t latency_bounds_us[] = {500,    1000,   2500,   5000,    10000,   25000,   50000,
                                             100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define N_BOUNDS (sizeof latency_bounds_us / sizeof *latency_bounds_us)

static const char *const label_method_policy_code[] = {"method", "policy", "code", NULL};
static const char *const label_method[] = {"method", NULL};
static const char *const label_reason[] = {"reason", NULL};
static const char *const label_feature_kind[] = {"feature", "kind", NULL};
static const char *const label_feature[] = {"feature", NULL};
static const char *const label_feature_reason[] = {"feature", "reason", NULL};
static const char *const label_feature_state[] = {"feature", "state", NULL};

/* A feature's series: the started config's features first, then the spare rows. */
typedef struct feature_series {
    _Atomic(const char *) name; /* NULL: a spare row not claimed yet */
    fo_metric_series calls[N_KINDS];
    fo_metric_series latency;
    fo_metric_series extra[N_ATTEMPTS];
    fo_metric_series held;
} feature_series;

typedef struct agg_metrics {
    fo_metrics *reg;
    agg_service *svc;
    const agg_feature_config *features; /* the config's, for the index of a hook's feature */
    size_t n_features;
    fo_metric_series requests[N_METHODS][N_POLICIES][N_CODES];
    const fo_metric_family *request_latency;
    fo_metric_series request_latency_of[N_METHODS];
    fo_metric_series refused[N_REASONS];
    fo_metric_family *feature_calls, *feature_latency, *feature_extra, *feature_held;
    feature_series *per_feature; /* n_features + SPARE_FEATURES rows */
    atomic_size_t n_rows;        /* rows named so far; grows as reloads claim spare ones */
    char *claimed_names[SPARE_FEATURES];
    fo_metric_series unknown_features;
} agg_metrics;

/* NULL: metrics off. Set before the server starts and cleared after it stopped, so workers only read it. */
static agg_metrics *the_metrics;

static void declare_requests(agg_metrics *am)
{
    fo_metric_family *total = fo_metrics_counter(am->reg, "fanout_requests_total",
                                                 "Aggregator calls answered, by method, failure policy and gRPC "
                                                 "status code.",
                                                 label_method_policy_code);
    for (int m = 0; m < N_METHODS; m++) {
        for (int p = 0; p < N_POLICIES; p++) {
            for (int c = 0; c < N_CODES; c++)
                am->requests[m][p][c] =
                    fo_metrics_series(total, (const char *const[]){methods[m], policies[p], fo_status_name(c)});
        }
    }
    fo_metric_family *latency = fo_metrics_histogram(am->reg, "fanout_request_duration_seconds",
                                                     "Aggregator call latency from arrival to the status, by method.",
                                                     label_method, latency_bounds_us, N_BOUNDS, 1e-6);
    am->request_latency = latency;
    for (int m = 0; m < N_METHODS; m++)
        am->request_latency_of[m] = fo_metrics_series(latency, (const char *const[]){methods[m]});
    fo_metric_family *refused =
        fo_metrics_counter(am->reg, "fanout_requests_refused_total",
                           "Aggregator calls refused before any feature was called, by reason.", label_reason);
    for (int r = 0; r < N_REASONS; r++)
        am->refused[r] = fo_metrics_series(refused, (const char *const[]){reasons[r]});
    fo_metric_family *unknown =
        fo_metrics_counter(am->reg, "fanout_unknown_feature_requests_total",
                           "Features asked for that are not in the configuration (UNKNOWN_FEATURE results).", NULL);
    am->unknown_features = fo_metrics_series(unknown, NULL);
}

static void declare_features(agg_metrics *am)
{
    fo_metric_family *calls =
        fo_metrics_counter(am->reg, "fanout_feature_calls_total",
                           "Feature results by outcome kind (OK or the FeatureError kind).", label_feature_kind);
    fo_metric_family *latency =
        fo_metrics_histogram(am->reg, "fanout_feature_call_duration_seconds",
                             "Latency of the feature calls that were made, whatever their outcome.", label_feature,
                             latency_bounds_us, N_BOUNDS, 1e-6);
    fo_metric_family *extra =
        fo_metrics_counter(am->reg, "fanout_feature_extra_attempts_total",
                           "Attempts beyond the first of a feature call: hedges and retries.", label_feature_reason);
    fo_metric_family *held = fo_metrics_counter(
        am->reg, "fanout_feature_hedges_held_total",
        "Hedges held back because the feature's recent hedges did not win (adaptive hedges).", label_feature);
    am->feature_calls = calls;
    am->feature_latency = latency;
    am->feature_extra = extra;
    am->feature_held = held;
    am->per_feature = fo_xcalloc(am->n_features + SPARE_FEATURES, sizeof *am->per_feature);
    for (size_t i = 0; i < am->n_features + SPARE_FEATURES; i++) {
        /* A spare row's series are reserved (NULL labels) until agg_metrics_features names them. */
        const char *name = i < am->n_features ? am->features[i].name : NULL;
        feature_series *fs = &am->per_feature[i];
        atomic_init(&fs->name, name);
        for (int k = 0; k < N_KINDS; k++)
            fs->calls[k] = name ? fo_metrics_series(calls, (const char *const[]){name, kinds[k]})
                                : fo_metrics_series_reserve(calls);
        fs->latency =
            name ? fo_metrics_series(latency, (const char *const[]){name}) : fo_metrics_series_reserve(latency);
        for (int a = 0; a < N_ATTEMPTS; a++)
            fs->extra[a] = name ? fo_metrics_series(extra, (const char *const[]){name, attempts[a]})
                                : fo_metrics_series_reserve(extra);
        fs->held = name ? fo_metrics_series(held, (const char *const[]){name}) : fo_metrics_series_reserve(held);
    }
    atomic_init(&am->n_rows, am->n_features);
}

static void gauge(fo_metrics_out *out, const char *name, const char *help, double value)
{
    fo_metrics_out_family(out, name, help, "gauge");
    fo_metrics_out_sample(out, name, NULL, NULL, value);
}

typedef struct scrape {
    fo_metrics_out *out;
    const agg_metrics *am;
} scrape;

/* The newest generation's breakers (a reload may add, drop or reset one) and limit. */
static void collect_latest(const agg_generation *g, void *ctx)
{
    static const char *const states[] = {"closed", "open", "half_open"};
    fo_metrics_out *out = ((scrape *)ctx)->out;
    gauge(out, "fanout_max_in_flight", "The max_in_flight limit: calls beyond it get RESOURCE_EXHAUSTED.",
          (double)g->cfg->max_in_flight);
    fo_metrics_out_family(out, "fanout_feature_breaker_state",
                          "1 for the state each feature's circuit breaker is in (closed, open, half_open); "
                          "features without a breaker have no series.",
                          "gauge");
    for (size_t i = 0; i < g->cfg->n_features; i++) {
        const agg_breaker *b = &g->breakers[i]->breaker;
        if (!b->cfg.enabled)
            continue;
        agg_breaker_state now = agg_breaker_state_now(b);
        for (int s = 0; s < 3; s++)
            fo_metrics_out_sample(out, "fanout_feature_breaker_state", label_feature_state,
                                  (const char *const[]){g->cfg->features[i].name, states[s]}, (int)now == s ? 1 : 0);
    }
}

static void collect(fo_metrics_out *out, void *ctx)
{
    const agg_metrics *am = ctx;
    gauge(out, "fanout_requests_in_flight", "Aggregator calls being served now.",
          (double)atomic_load_explicit(&am->svc->in_flight, memory_order_relaxed));
    gauge(out, "fanout_workers", "Worker threads, each with its own completion queue.", (double)am->svc->workers);
    agg_service_with_latest(am->svc, collect_latest, &(scrape){out, am});
}

fo_metrics *agg_metrics_create(agg_service *svc)
{
    agg_metrics *am = fo_xcalloc(1, sizeof *am);
    am->reg = fo_metrics_create();
    am->svc = svc;
    am->features = svc->started->features;
    am->n_features = svc->started->n_features;
    declare_requests(am);
    declare_features(am);
    fo_metrics_add_collector(am->reg, collect, am);
    fo_metrics_process_register(am->reg);
    /* A shard per worker; the rest (none expected) share one. */
    fo_metrics_seal(am->reg, (unsigned)svc->workers + 1);
    the_metrics = am;
    return am->reg;
}

void agg_metrics_destroy(void)
{
    agg_metrics *am = the_metrics;
    if (am == NULL)
        return;
    the_metrics = NULL;
    fo_metrics_destroy(am->reg);
    for (size_t i = 0; i < SPARE_FEATURES; i++)
        free(am->claimed_names[i]);
    free(am->per_feature);
    free(am);
}

void agg_metrics_request(bool streaming, Fanout__V1__FailurePolicy policy, fo_status code, int64_t elapsed_ns)
{
    agg_metrics *am = the_metrics;
    if (am == NULL)
        return;
    int m = streaming ? 1 : 0;
    int p = policy >= 0 && policy < N_POLICIES ? (int)policy : 0;
    int c = code >= 0 && code < N_CODES ? (int)code : FO_STATUS_UNKNOWN;
    fo_metrics_add(am->reg, am->requests[m][p][c], 1);
    fo_metrics_observe(am->reg, am->request_latency, am->request_latency_of[m],
                       (uint64_t)(elapsed_ns > 0 ? elapsed_ns / FO_NS_PER_US : 0));
}

static int reason_of(fo_status code)
{
    switch (code) {
    case FO_STATUS_RESOURCE_EXHAUSTED:
        return 0;
    case FO_STATUS_DEADLINE_EXCEEDED:
        return 1;
    case FO_STATUS_INVALID_ARGUMENT:
        return 2;
    case FO_STATUS_UNAUTHENTICATED:
        return 3;
    case FO_STATUS_PERMISSION_DENIED:
        return 4;
    default:
        return 5;
    }
}

void agg_metrics_refused(fo_status code)
{
    agg_metrics *am = the_metrics;
    if (am != NULL)
        fo_metrics_add(am->reg, am->refused[reason_of(code)], 1);
}

/* The row named name among the first n, or NULL. */
static feature_series *row_named(agg_metrics *am, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const char *row = atomic_load_explicit(&am->per_feature[i].name, memory_order_relaxed);
        if (strcmp(row, name) == 0)
            return &am->per_feature[i];
    }
    return NULL;
}

/* f's row: by position in the config the metrics were made for, else by name (a config read again); or NULL. */
static const feature_series *series_of(agg_metrics *am, const agg_feature_config *f)
{
    uintptr_t at = (uintptr_t)f, base = (uintptr_t)am->features;
    if (at >= base && at < base + am->n_features * sizeof *f)
        return &am->per_feature[(at - base) / sizeof *f];
    /* Acquire: the rows counted here were named before n_rows grew over them. */
    return row_named(am, atomic_load_explicit(&am->n_rows, memory_order_acquire), f->name);
}

/* Claims the next spare row for name and names its series; false when none is left. */
static bool claim_row(agg_metrics *am, const char *name)
{
    size_t n = atomic_load_explicit(&am->n_rows, memory_order_relaxed);
    if (n >= am->n_features + SPARE_FEATURES)
        return false;
    feature_series *fs = &am->per_feature[n];
    char *own = fo_xstrdup(name);
    am->claimed_names[n - am->n_features] = own;
    for (int k = 0; k < N_KINDS; k++)
        fo_metrics_series_name(am->feature_calls, fs->calls[k], (const char *const[]){own, kinds[k]});
    fo_metrics_series_name(am->feature_latency, fs->latency, (const char *const[]){own});
    for (int a = 0; a < N_ATTEMPTS; a++)
        fo_metrics_series_name(am->feature_extra, fs->extra[a], (const char *const[]){own, attempts[a]});
    fo_metrics_series_name(am->feature_held, fs->held, (const char *const[]){own});
    atomic_store_explicit(&fs->name, own, memory_order_relaxed);
    atomic_store_explicit(&am->n_rows, n + 1, memory_order_release);
    return true;
}

void agg_metrics_features(const agg_config *cfg)
{
    agg_metrics *am = the_metrics;
    if (am == NULL)
        return;
    for (size_t i = 0; i < cfg->n_features; i++) {
        const char *name = cfg->features[i].name;
        if (row_named(am, atomic_load_explicit(&am->n_rows, memory_order_relaxed), name) != NULL || claim_row(am, name))
            continue;
        fo_log(FO_LOG_WARN, json_pack("{s:s, s:s, s:i}", "event", "metrics_feature_not_counted", "feature", name,
                                      "spare_rows", SPARE_FEATURES));
    }
}

void agg_metrics_feature(const agg_feature_config *f, Fanout__V1__ErrorKind kind, int64_t latency_us)
{
    agg_metrics *am = the_metrics;
    if (am == NULL)
        return;
    if (f == NULL) {
        fo_metrics_add(am->reg, am->unknown_features, 1);
        return;
    }
    const feature_series *fs = series_of(am, f);
    if (fs == NULL || kind < 0 || kind >= N_KINDS)
        return;
    fo_metrics_add(am->reg, fs->calls[kind], 1);
    if (latency_us >= 0)
        fo_metrics_observe(am->reg, am->feature_latency, fs->latency, (uint64_t)latency_us);
}

void agg_metrics_extra_attempt(const agg_feature_config *f, agg_metrics_attempt why)
{
    agg_metrics *am = the_metrics;
    if (am == NULL)
        return;
    const feature_series *fs = series_of(am, f);
    if (fs != NULL)
        fo_metrics_add(am->reg, fs->extra[why], 1);
}

void agg_metrics_hedge_held(const agg_feature_config *f)
{
    agg_metrics *am = the_metrics;
    if (am == NULL)
        return;
    const feature_series *fs = series_of(am, f);
    if (fs != NULL)
        fo_metrics_add(am->reg, fs->held, 1);
}
