/*
 * agg_service: what all requests share: the config, one long-lived channel
 * per feature (shared by every worker thread), the in-flight count behind
 * RESOURCE_EXHAUSTED, and the two Aggregator methods.
 */
#ifndef AGG_SERVICE_H
#define AGG_SERVICE_H

#include <stdatomic.h>

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
} agg_target;

typedef struct agg_service {
    const agg_config *cfg;
    agg_target *targets; /* parallel to cfg->features */
    atomic_long in_flight;
} agg_service;

/* Creates the channels; cfg must outlive svc. */
fo_error *agg_service_init(agg_service *svc, const agg_config *cfg);
void agg_service_register(agg_service *svc, fo_server *s);
void agg_service_release(agg_service *svc);

#endif
