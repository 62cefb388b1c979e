/*
 * agg_service: what all requests share: the config, the in-flight count
 * behind RESOURCE_EXHAUSTED, and the two Aggregator methods; and each
 * worker's own long-lived channel per feature, with connections of its own,
 * so that a request's feature calls never touch another worker's transport.
 */
#ifndef AGG_SERVICE_H
#define AGG_SERVICE_H

#include <stdatomic.h>

#include "agg_breaker.h"
#include "agg_budget.h"
#include "agg_hedge.h"
#include "agg_config.h"
#include "fo_rpc.h"
#include "fo_server.h"

#define AGG_GET_PATH "/fanout.v1.Aggregator/GetCustomerAnalytics"
#define AGG_STREAM_PATH "/fanout.v1.Aggregator/StreamCustomerAnalytics"
#define AGG_FEATURE_GET_USAGE_PATH "/fanout.feature.v1.FeatureService/GetUsage"

typedef struct agg_target {
    const agg_feature_config *cfg;
    fo_channel *channel;
    void *get_usage; /* the method registered on channel */
    /* The feature's breaker, shared by every worker; NULL: off. */
    agg_breaker *breaker;
    /* This worker's recent latency of the feature, for adaptive hedges (agg_hedge.h). */
    agg_latency *latency;
    /* The feature's extra-attempt budget, shared by every worker; NULL: no hedge, no retry. */
    agg_budget *budget;
    agg_code_set retry_on; /* the codes an attempt is retried on */
} agg_target;

typedef struct agg_service {
    const agg_config *cfg;
    agg_target *targets; /* cfg->workers rows, each parallel to cfg->features */
    /* Parallel to cfg->features: one per feature, not per worker. */
    agg_breaker *breakers;
    agg_budget *budgets;    /* parallel to cfg->features */
    agg_latency *latencies; /* parallel to targets */
    atomic_long in_flight;
    struct agg_auth *auth; /* NULL: auth off; else set before the server starts */
} agg_service;

/* Creates every worker's channels; cfg must outlive svc. */
fo_error *agg_service_init(agg_service *svc, const agg_config *cfg);
/* Starts every channel connecting, once the server is up: no connection is made for nothing. */
void agg_service_connect(agg_service *svc);
/* Worker w's channel to the feature cfg->features[feature]. */
static inline const agg_target *agg_service_target(const agg_service *svc, int w, size_t feature)
{
    return &svc->targets[(size_t)w * svc->cfg->n_features + feature];
}
void agg_service_register(agg_service *svc, fo_server *s);
void agg_service_release(agg_service *svc);

#endif
