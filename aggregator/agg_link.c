/* agg_link: a feature's channels and breaker, shared by the generations that keep them (see agg_link.h). */
#include "agg_link.h"

#include <stdlib.h>
#include <string.h>

#include "agg_service.h"
#include "fo_alloc.h"

static char *dup_or_null(const char *s) { return s != NULL ? fo_xstrdup(s) : NULL; }

static bool same_string(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void link_free(agg_link *l)
{
    for (int w = 0; w < l->workers; w++)
        fo_channel_destroy(l->channels[w]);
    free(l->channels);
    free(l->get_usage);
    free(l->latencies);
    free(l->wins);
    free(l->made_from.target);
    free(l->made_from.tls.ca);
    free(l->made_from.tls.cert);
    free(l->made_from.tls.key);
    free(l);
}

fo_error *agg_link_create(const agg_feature_config *f, const agg_config *cfg, int workers, agg_link **out)
{
    *out = NULL;
    agg_link *l = fo_xcalloc(1, sizeof *l);
    atomic_init(&l->refs, 1);
    l->workers = workers;
    l->channels = fo_xcalloc((size_t)workers, sizeof *l->channels);
    l->get_usage = fo_xcalloc((size_t)workers, sizeof *l->get_usage);
    l->latencies = fo_xcalloc((size_t)workers, sizeof *l->latencies);
    l->wins = fo_xcalloc((size_t)workers, sizeof *l->wins);
    l->made_from = (agg_feature_config){
        .target = fo_xstrdup(f->target),
        .lb = f->lb,
        .tls = {.enabled = f->tls.enabled,
                .ca = dup_or_null(f->tls.ca),
                .cert = dup_or_null(f->tls.cert),
                .key = dup_or_null(f->tls.key)},
    };
    l->max_message_bytes = cfg->max_message_bytes;
    fo_channel_opts opts = {
        .lb_policy = f->lb == AGG_LB_ROUND_ROBIN ? "round_robin" : NULL,
        .max_message_bytes = (size_t)cfg->max_message_bytes,
        .tls_ca = f->tls.ca,
        .tls_cert = f->tls.cert,
        .tls_key = f->tls.key,
        .own_connections = true,
    };
    for (int w = 0; w < workers; w++) {
        fo_error *err = fo_channel_create(f->target, &opts, &l->channels[w]);
        if (err != NULL) {
            fo_error *named = FO_ERROR(err->code, "feature %s: %s", f->name, err->message);
            fo_error_free(err);
            link_free(l);
            return named;
        }
        l->get_usage[w] = fo_channel_method(l->channels[w], AGG_FEATURE_GET_USAGE_PATH);
    }
    *out = l;
    return NULL;
}

bool agg_link_matches(const agg_link *l, const agg_feature_config *f, const agg_config *cfg)
{
    const agg_feature_config *m = &l->made_from;
    return strcmp(m->target, f->target) == 0 && m->lb == f->lb && m->tls.enabled == f->tls.enabled &&
           same_string(m->tls.ca, f->tls.ca) && same_string(m->tls.cert, f->tls.cert) &&
           same_string(m->tls.key, f->tls.key) && l->max_message_bytes == cfg->max_message_bytes;
}

void agg_link_connect(agg_link *l)
{
    for (int w = 0; w < l->workers; w++)
        fo_channel_connect(l->channels[w]);
}

agg_link *agg_link_ref(agg_link *l)
{
    atomic_fetch_add(&l->refs, 1);
    return l;
}

void agg_link_unref(agg_link *l)
{
    if (l != NULL && atomic_fetch_sub(&l->refs, 1) == 1)
        link_free(l);
}

agg_link_breaker *agg_link_breaker_create(const char *name, const agg_breaker_cfg *cfg)
{
    agg_link_breaker *b = fo_xcalloc(1, sizeof *b);
    atomic_init(&b->refs, 1);
    b->name = fo_xstrdup(name);
    agg_breaker_init(&b->breaker, b->name, cfg);
    return b;
}

bool agg_breaker_cfg_equal(const agg_breaker_cfg *a, const agg_breaker_cfg *b)
{
    return a->enabled == b->enabled && a->failure_ratio == b->failure_ratio && a->min_calls == b->min_calls &&
           a->window_ms == b->window_ms && a->consecutive_failures == b->consecutive_failures &&
           a->open_ms == b->open_ms && a->max_open_ms == b->max_open_ms && a->half_open_calls == b->half_open_calls &&
           a->count_app_errors == b->count_app_errors;
}

agg_link_breaker *agg_link_breaker_ref(agg_link_breaker *b)
{
    atomic_fetch_add(&b->refs, 1);
    return b;
}

void agg_link_breaker_unref(agg_link_breaker *b)
{
    if (b == NULL || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    free(b->name);
    free(b);
}
