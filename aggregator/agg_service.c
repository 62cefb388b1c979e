/* agg_service: each worker's channels to the features, the shared breakers, and the Aggregator's registration. */
#include "agg_service.h"

#include <stdlib.h>

#include "agg_request.h"
#include "fo_alloc.h"

static fo_error *target_open(agg_target *t, const agg_feature_config *f, const agg_config *cfg)
{
    fo_channel_opts opts = {
        .lb_policy = f->lb == AGG_LB_ROUND_ROBIN ? "round_robin" : NULL,
        .max_message_bytes = (size_t)cfg->max_message_bytes,
        .tls_ca = f->tls.ca,
        .tls_cert = f->tls.cert,
        .tls_key = f->tls.key,
        .own_connections = true,
    };
    t->cfg = f;
    fo_error *err = fo_channel_create(f->target, &opts, &t->channel);
    if (err != NULL) {
        fo_error *named = FO_ERROR(err->code, "feature %s: %s", f->name, err->message);
        fo_error_free(err);
        return named;
    }
    t->get_usage = fo_channel_method(t->channel, AGG_FEATURE_GET_USAGE_PATH);
    return NULL;
}

fo_error *agg_service_init(agg_service *svc, const agg_config *cfg)
{
    svc->cfg = cfg;
    atomic_init(&svc->in_flight, 0);
    size_t n = (size_t)cfg->workers * cfg->n_features;
    svc->targets = fo_xcalloc(n, sizeof *svc->targets);
    svc->breakers = fo_xcalloc(cfg->n_features, sizeof *svc->breakers);
    svc->budgets = fo_xcalloc(cfg->n_features, sizeof *svc->budgets);
    svc->latencies = fo_xcalloc(n, sizeof *svc->latencies);
    for (size_t i = 0; i < cfg->n_features; i++)
        agg_budget_init(&svc->budgets[i], &cfg->extra_attempts_budget);
    for (size_t i = 0; i < cfg->n_features; i++)
        agg_breaker_init(&svc->breakers[i], cfg->features[i].name, &cfg->features[i].breaker);
    for (size_t i = 0; i < n; i++) {
        fo_error *err = target_open(&svc->targets[i], &cfg->features[i % cfg->n_features], cfg);
        if (err != NULL) {
            agg_service_release(svc);
            return err;
        }
        agg_breaker *b = &svc->breakers[i % cfg->n_features];
        svc->targets[i].breaker = b->cfg.enabled ? b : NULL;
        svc->targets[i].latency = &svc->latencies[i];
        bool extra = cfg->features[i % cfg->n_features].hedge.max_attempts > 1;
        svc->targets[i].retry_on = cfg->retry_on;
        svc->targets[i].budget = extra ? &svc->budgets[i % cfg->n_features] : NULL;
    }
    return NULL;
}

void agg_service_connect(agg_service *svc)
{
    /* Each worker has channels of its own: none should make its first request wait for a connection. */
    for (size_t i = 0; i < (size_t)svc->cfg->workers * svc->cfg->n_features; i++)
        fo_channel_connect(svc->targets[i].channel);
}

void agg_service_register(agg_service *svc, fo_server *s)
{
    fo_server_add_method(s, AGG_GET_PATH, FO_RPC_UNARY, agg_request_start_unary, svc);
    fo_server_add_method(s, AGG_STREAM_PATH, FO_RPC_SERVER_STREAM, agg_request_start_stream, svc);
}

void agg_service_release(agg_service *svc)
{
    if (svc->targets == NULL)
        return;
    for (size_t i = 0; i < (size_t)svc->cfg->workers * svc->cfg->n_features; i++)
        fo_channel_destroy(svc->targets[i].channel);
    free(svc->targets);
    free(svc->breakers);
    free(svc->budgets);
    free(svc->latencies);
    svc->targets = NULL;
    svc->breakers = NULL;
}
