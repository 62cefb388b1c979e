/* agg_reload: SIGHUP's new config generation (see agg_reload.h). */
#include "agg_reload.h"

#include <stdlib.h>
#include <string.h>

#include "agg_auth.h"
#include "agg_generation.h"
#include "agg_metrics.h"
#include "fo_alloc.h"
#include "fo_log.h"

static bool same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_strings(char *const *a, size_t na, char *const *b, size_t nb)
{
    for (size_t i = 0; na == nb && i < na; i++) {
        if (strcmp(a[i], b[i]) != 0)
            return false;
    }
    return na == nb;
}

/* The keys that only a restart applies, where the new config differs from the running one. */
static json_t *restart_keys(const agg_config *running, const agg_config *next)
{
    json_t *keys = json_array();
    if (!same_string(running->listen, next->listen))
        json_array_append_new(keys, json_string("listen"));
    if (running->workers != next->workers)
        json_array_append_new(keys, json_string("workers"));
    if (running->tls.enabled != next->tls.enabled || !same_string(running->tls.cert, next->tls.cert) ||
        !same_string(running->tls.key, next->tls.key) || !same_string(running->tls.client_ca, next->tls.client_ca))
        json_array_append_new(keys, json_string("tls"));
    if (running->max_message_bytes != next->max_message_bytes)
        json_array_append_new(keys, json_string("max_message_bytes"));
    if (running->shutdown_grace_ms != next->shutdown_grace_ms)
        json_array_append_new(keys, json_string("shutdown_grace_ms"));
    if (!same_string(running->admin_listen, next->admin_listen))
        json_array_append_new(keys, json_string("admin_listen"));
    if (!same_string(running->http.listen, next->http.listen))
        json_array_append_new(keys, json_string("http_listen"));
    if (!same_strings(running->http.cors_origins, running->http.n_cors_origins, next->http.cors_origins,
                      next->http.n_cors_origins))
        json_array_append_new(keys, json_string("cors_origins"));
    /* The flood limits are the server's, set when it starts. */
    const struct {
        const char *key;
        int64_t was, is;
    } limits[] = {
        {"max_memory_mb", running->max_memory_mb, next->max_memory_mb},
        {"max_connections", running->max_connections, next->max_connections},
        {"max_concurrent_streams", running->max_concurrent_streams, next->max_concurrent_streams},
        {"connection_idle_timeout_ms", running->connection_idle_timeout_ms, next->connection_idle_timeout_ms},
        {"handshake_timeout_ms", running->handshake_timeout_ms, next->handshake_timeout_ms},
    };
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        if (limits[i].was != limits[i].is)
            json_array_append_new(keys, json_string(limits[i].key));
    }
    return keys;
}

static bool feature_same(const agg_generation *old, size_t i, const agg_generation *next, size_t j)
{
    const agg_feature_config *a = &old->cfg->features[i], *b = &next->cfg->features[j];
    const agg_hedge_cfg *ha = &a->hedge, *hb = &b->hedge;
    bool same_hedge = ha->mode == hb->mode && ha->after_ms == hb->after_ms && ha->quantile == hb->quantile &&
                      ha->min_ms == hb->min_ms && ha->max_ms == hb->max_ms && ha->max_attempts == hb->max_attempts;
    return next->links[j] == old->links[i] && next->breakers[j] == old->breakers[i] && a->timeout_ms == b->timeout_ms &&
           same_hedge;
}

/* The features next adds, removes and changes against old, as one log line. */
static void log_reloaded(const agg_generation *old, const agg_generation *next, const char *path)
{
    json_t *added = json_array(), *removed = json_array(), *changed = json_array();
    for (size_t j = 0; j < next->cfg->n_features; j++) {
        const char *name = next->cfg->features[j].name;
        int i = agg_config_feature_index(old->cfg, name, strlen(name));
        if (i < 0)
            json_array_append_new(added, json_string(name));
        else if (!feature_same(old, (size_t)i, next, j))
            json_array_append_new(changed, json_string(name));
    }
    for (size_t i = 0; i < old->cfg->n_features; i++) {
        const char *name = old->cfg->features[i].name;
        if (agg_config_feature_index(next->cfg, name, strlen(name)) < 0)
            json_array_append_new(removed, json_string(name));
    }
    fo_log(FO_LOG_INFO, json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:o}", "event", "config_reloaded", "config", path,
                                  "generation", (json_int_t)next->number, "features", (json_int_t)next->cfg->n_features,
                                  "added", added, "removed", removed, "changed", changed));
}

/* The new generation, or an error (nothing of it left behind). */
static fo_error *build(agg_service *svc, const char *path, agg_generation **out)
{
    agg_config *cfg = fo_xcalloc(1, sizeof *cfg);
    agg_auth *auth = NULL;
    fo_error *err = agg_config_load(path, NULL, cfg);
    if (err == NULL)
        err = agg_auth_create(&cfg->auth, svc->workers, &auth);
    if (err == NULL)
        err = agg_generation_create(cfg, auth, false, svc->workers, svc->latest, out);
    if (err != NULL) {
        agg_auth_destroy(auth);
        agg_config_release(cfg);
        free(cfg);
    }
    return err;
}

void agg_reload(agg_service *svc, const char *path, bool keep_log_level)
{
    agg_generation *next = NULL;
    fo_error *err = build(svc, path, &next);
    if (err != NULL) {
        fo_log(FO_LOG_ERROR, json_pack("{s:s, s:s, s:s, s:I}", "event", "config_reload_failed", "config", path, "error",
                                       err->message, "generation", (json_int_t)svc->latest->number));
        fo_error_free(err);
        return;
    }
    agg_generation *old = svc->latest;
    json_t *keys = restart_keys(svc->started, next->cfg);
    if (json_array_size(keys) > 0)
        fo_log(FO_LOG_WARN,
               json_pack("{s:s, s:s, s:O}", "event", "config_needs_restart", "config", path, "keys", keys));
    json_decref(keys);
    log_reloaded(old, next, path);
    if (!keep_log_level)
        fo_log_set_level(next->cfg->log_level);
    agg_metrics_features(next->cfg);
    agg_generation_connect(next);
    agg_service_publish(svc, next);
}
