/* agg_validate: request checks and the plan they produce (see agg_validate.h). */
#include "agg_validate.h"
#include "fo_alloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A requested name and its position, sorted by name to find repeats in O(n log n). */
typedef struct named {
    const char *name;
    size_t index;
} named;

/* Hand-built messages may leave strings NULL; unpacked ones never do. */
static const char *text(const char *s) { return s != NULL ? s : ""; }

static fo_error *check_customer(const char *customer_id)
{
    size_t len = strlen(text(customer_id));
    if (len == 0)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "customer_id: must not be empty");
    if (len > AGG_MAX_CUSTOMER_ID_BYTES)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "customer_id: must be at most %d bytes, got %zu",
                        AGG_MAX_CUSTOMER_ID_BYTES, len);
    return NULL;
}

static fo_error *check_policy(Fanout__V1__FailurePolicy policy)
{
    /* proto3 enums are open: the wire can carry any number. */
    switch (policy) {
    case FANOUT__V1__FAILURE_POLICY__FAILURE_POLICY_UNSPECIFIED:
    case FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL:
    case FANOUT__V1__FAILURE_POLICY__FAIL_FAST:
        return NULL;
    default:
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "failure_policy: unknown value %d", (int)policy);
    }
}

static fo_error *check_window(int64_t start, int64_t end)
{
    if (start < 0)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "window_start_unix: must not be negative, got %" PRId64, start);
    if (end < 0)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "window_end_unix: must not be negative, got %" PRId64, end);
    if (end < start)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                        "window_end_unix (%" PRId64 ") is before window_start_unix (%" PRId64 ")", end, start);
    if (end - start > AGG_MAX_WINDOW_SECONDS)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                        "window_end_unix (%" PRId64 ") is more than 366 days after "
                        "window_start_unix (%" PRId64 ")",
                        end, start);
    return NULL;
}

static int by_name_then_index(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

/*
 * Reports the repeat a left-to-right scan would meet first: among runs of
 * equal names, the smallest second position, together with the run's first.
 */
static fo_error *check_duplicates(char *const *names, size_t n)
{
    if (n < 2)
        return NULL;
    named *sorted = fo_xmalloc(n * sizeof *sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i] = (named){text(names[i]), i};
    qsort(sorted, n, sizeof *sorted, by_name_then_index);
    const named *repeat = NULL, *original = NULL;
    size_t first = 0; /* start of the current run of equal names */
    for (size_t i = 1; i < n; i++) {
        if (strcmp(sorted[i].name, sorted[first].name) != 0)
            first = i;
        else if (i == first + 1 && (repeat == NULL || sorted[i].index < repeat->index)) {
            repeat = &sorted[i];
            original = &sorted[first];
        }
    }
    fo_error *err = NULL;
    if (repeat != NULL)
        err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "features[%zu]: duplicate feature \"%.64s\" (also features[%zu])",
                       repeat->index, repeat->name, original->index);
    free(sorted);
    return err;
}

static fo_error *check_features(char *const *names, size_t n, int max)
{
    if (n > (size_t)max)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "features: %zu requested, at most %d allowed", n, max);
    for (size_t i = 0; i < n; i++) {
        if (text(names[i])[0] == '\0')
            return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "features[%zu]: must not be empty", i);
    }
    return check_duplicates(names, n);
}

static void build_plan(const Fanout__V1__AnalyticsRequest *req, const agg_config *cfg, agg_plan *out)
{
    bool every = req->n_features == 0;
    size_t n = every ? cfg->n_features : req->n_features;
    out->features = n > 0 ? fo_xmalloc(n * sizeof *out->features) : NULL;
    out->n_features = n;
    for (size_t i = 0; i < n; i++) {
        agg_plan_feature *f = &out->features[i];
        f->name = every ? cfg->features[i].name : req->features[i];
        f->config_index = every ? (int)i : agg_config_feature_index(cfg, f->name, strlen(f->name));
    }
    out->policy = req->failure_policy == FANOUT__V1__FAILURE_POLICY__FAILURE_POLICY_UNSPECIFIED ? cfg->default_policy
                                                                                                : req->failure_policy;
}

fo_error *agg_validate_request(const Fanout__V1__AnalyticsRequest *req, const agg_config *cfg, agg_plan *out)
{
    memset(out, 0, sizeof *out);
    fo_error *err = check_customer(req->customer_id);
    if (err == NULL)
        err = check_policy(req->failure_policy);
    if (err == NULL)
        err = check_window(req->window_start_unix, req->window_end_unix);
    if (err == NULL)
        err = check_features(req->features, req->n_features, cfg->max_features_per_request);
    if (err == NULL)
        build_plan(req, cfg, out);
    return err;
}

void agg_plan_release(agg_plan *p)
{
    free(p->features);
    memset(p, 0, sizeof *p);
}
