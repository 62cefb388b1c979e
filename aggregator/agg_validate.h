/*
 * agg_validate: checks an AnalyticsRequest against the configuration and
 * turns it into a plan: which features to call, in result order, and under
 * which failure policy.
 *
 * A feature name the configuration does not know is not a validation error:
 * it stays in the plan with config_index -1 and becomes an UNKNOWN_FEATURE
 * result later, so one stray name does not spoil the other features.
 */
#ifndef AGG_VALIDATE_H
#define AGG_VALIDATE_H

#include <stddef.h>

#include "agg_config.h"
#include "fanout/v1/aggregator.pb-c.h"
#include "fo_error.h"

#define AGG_MAX_CUSTOMER_ID_BYTES 256
#define AGG_MAX_WINDOW_SECONDS (366 * 86400)

typedef struct agg_plan_feature {
    const char *name; /* borrowed from the request, or from the config when it named none */
    int config_index; /* into cfg->features; -1 when the name is not configured */
} agg_plan_feature;

typedef struct agg_plan {
    agg_plan_feature *features; /* one per result, in result (request) order */
    size_t n_features;
    Fanout__V1__FailurePolicy policy; /* never UNSPECIFIED: that becomes cfg->default_policy */
} agg_plan;

/*
 * Fills *out (released with agg_plan_release) or returns an
 * FO_STATUS_INVALID_ARGUMENT error whose message names the field, e.g.
 * `features[4]: duplicate feature "tours" (also features[1])`. An empty
 * feature list means every configured feature, in configuration order; the
 * max_features_per_request limit applies only to lists the client sent. The
 * plan borrows from req and cfg: it must not outlive them. O(n log n) in the
 * number of features, plus a linear config lookup per feature.
 */
fo_error *agg_validate_request(const Fanout__V1__AnalyticsRequest *req, const agg_config *cfg, agg_plan *out);
void agg_plan_release(agg_plan *p);

#endif
