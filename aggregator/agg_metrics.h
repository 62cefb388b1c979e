/*
 * agg_metrics: the aggregator's Prometheus metrics (prefix fanout_).
 *
 * Counted on the hot path, into the calling worker's own shard (fo_metrics):
 *   fanout_requests_total{method,policy,code}          every answered call
 *   fanout_request_duration_seconds{method}            its latency
 *   fanout_requests_refused_total{reason}              refused before any fan-out
 *   fanout_feature_calls_total{feature,kind}           feature results by outcome kind
 *   fanout_feature_call_duration_seconds{feature}      calls actually made
 *   fanout_feature_extra_attempts_total{feature,reason} hedges and retries
 *   fanout_feature_hedges_held_total{feature}          hedges held back: they were not winning
 *   fanout_unknown_feature_requests_total              names not in the config
 * Read at scrape: fanout_requests_in_flight, fanout_max_in_flight,
 * fanout_workers and fanout_feature_breaker_state{feature,state}, plus the
 * process_* metrics.
 *
 * Labels are fixed at start-up: methods, policies, status codes, the
 * configured features and their kinds, plus rows kept for features a reload
 * adds (agg_metrics_features); never a customer or request id.
 * With metrics off (no admin_listen) every hook returns at its first test.
 */
#ifndef AGG_METRICS_H
#define AGG_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "agg_config.h"
#include "agg_service.h"
#include "fanout/v1/aggregator.pb-c.h"
#include "fo_error.h"
#include "fo_metrics.h"

/* Turns the hooks on for svc's config (svc must outlive the metrics); the registry to serve. */
fo_metrics *agg_metrics_create(agg_service *svc);
/* Turns them off again and frees the registry, once no worker runs. */
void agg_metrics_destroy(void);
/*
 * Gives each feature of cfg (a config read again) its series, before any
 * request uses it: features the metrics already know keep theirs, new ones
 * claim one of the rows kept spare at start (32; past them, a warning and
 * no series until restart). A removed feature's series stay, as counters
 * should. The reload's thread; one at a time.
 */
void agg_metrics_features(const agg_config *cfg);

/* A call answered with code, after elapsed_ns; policy FAILURE_POLICY_UNSPECIFIED when refused before validation. */
void agg_metrics_request(bool streaming, Fanout__V1__FailurePolicy policy, fo_status code, int64_t elapsed_ns);
/* A call refused before any fan-out, the reason told by its status (limit, deadline, validation, auth). */
void agg_metrics_refused(fo_status code);
/*
 * One feature's result: kind ERROR_KIND_UNSPECIFIED for success; latency_us
 * < 0 when no call was made (breaker open). f NULL: a feature not configured.
 */
void agg_metrics_feature(const agg_feature_config *f, Fanout__V1__ErrorKind kind, int64_t latency_us);

typedef enum agg_metrics_attempt {
    AGG_METRICS_HEDGE,
    AGG_METRICS_RETRY,
} agg_metrics_attempt;
/* An attempt beyond a feature call's first one. */
void agg_metrics_extra_attempt(const agg_feature_config *f, agg_metrics_attempt why);
/* A hedge whose delay was over, held back because the feature's hedges were not winning. */
void agg_metrics_hedge_held(const agg_feature_config *f);

#endif
