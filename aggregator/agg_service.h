/*
 * agg_service: what all requests share: the in-flight count behind
 * RESOURCE_EXHAUSTED, the two Aggregator methods, and each worker's current
 * config generation (agg_generation.h): the config, and each worker's own
 * long-lived channel per feature, with connections of its own, so that a
 * request's feature calls never touch another worker's transport. A reload
 * (agg_reload.h) publishes a new generation to every worker through its
 * loop; each worker switches on its own thread.
 */
#ifndef AGG_SERVICE_H
#define AGG_SERVICE_H

#include <pthread.h>
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
    /* This worker's recent latency of the feature and how its hedges fared (agg_hedge.h). */
    agg_latency *latency;
    agg_hedge_wins *wins;
    /* The feature's extra-attempt budget, shared by every worker; NULL: no hedge, no retry. */
    agg_budget *budget;
    agg_code_set retry_on; /* the codes an attempt is retried on */
} agg_target;

struct agg_auth;
struct agg_generation;

typedef struct agg_service {
    int workers;
    /* Per worker: its current generation, read and switched by that worker's thread only. */
    struct agg_generation **current;
    /* The newest generation, the main thread's: a reload builds on it. */
    struct agg_generation *latest;
    /* Held while latest changes, and by readers on other threads (the metrics' scrape). */
    pthread_mutex_t latest_lock;
    /* The config the process started with: the keys that need a restart keep its values. */
    const agg_config *started;
    fo_server *server;
    atomic_long in_flight;
} agg_service;

/* Creates the first generation and every worker's channels; cfg and auth (may be NULL) must outlive svc. */
fo_error *agg_service_init(agg_service *svc, const agg_config *cfg, struct agg_auth *auth);
/* Starts every channel connecting, once the server is up: no connection is made for nothing. */
void agg_service_connect(agg_service *svc);
void agg_service_register(agg_service *svc, fo_server *s);
/* Main thread: makes gen (built on svc->latest) every worker's current generation, each on its own thread. */
void agg_service_publish(agg_service *svc, struct agg_generation *gen);
/* Any thread: fn sees the newest generation, which no reload frees while fn runs. */
void agg_service_with_latest(agg_service *svc, void (*fn)(const struct agg_generation *g, void *ctx), void *ctx);
/* On worker w's thread: the generation a request arriving now takes, held until agg_generation_leave. */
struct agg_generation *agg_service_enter(agg_service *svc, int w);
/* An fo_admit_fn (ctx: the agg_service): agg_auth_admit with the keys of the worker's current generation. */
fo_error *agg_service_admit(fo_server_call *call, const char *path, void *ctx);
/* Once the server is gone: lets go of every generation. */
void agg_service_release(agg_service *svc);

#endif
