/*
 * agg_link: what of a feature outlives a config generation, so that a
 * reload on SIGHUP neither reconnects nor resets a feature it leaves alone:
 *
 *   - agg_link: the feature's connections, one channel per worker, each with
 *     connections of its own, and each worker's record of its latency and
 *     its hedges. Kept by a new generation when the feature's target, load
 *     balancing, TLS files and the message limit are the same.
 *   - agg_link_breaker: the feature's circuit breaker, shared by every
 *     worker. Kept when the feature's name and breaker settings are the same.
 *
 * Both are counted per generation that uses them (never per request), so
 * the count changes only when a generation is made or freed; the last
 * generation to let go frees them, on whatever thread frees it.
 */
#ifndef AGG_LINK_H
#define AGG_LINK_H

#include <stdatomic.h>
#include <stdbool.h>

#include "agg_breaker.h"
#include "agg_config.h"
#include "agg_hedge.h"
#include "fo_rpc.h"

typedef struct agg_link {
    atomic_int refs;
    int workers;
    fo_channel **channels; /* one per worker */
    void **get_usage;      /* the method registered on each channel */
    /* Each worker's recent latency of the feature and how its hedges fared, for adaptive hedges
     * (agg_hedge.h): they describe the backend, so they live as long as the connections do. */
    agg_latency *latencies;
    agg_hedge_wins *wins;
    /* What it was made from, to tell whether a new config can keep it. */
    agg_feature_config made_from; /* target, lb and tls only (owned copies) */
    int max_message_bytes;
} agg_link;

/* Worker count channels to f's target; an error names the feature. */
fo_error *agg_link_create(const agg_feature_config *f, const agg_config *cfg, int workers, agg_link **out);
/* Whether the link serves f under cfg unchanged (same target, lb, TLS files, message limit). */
bool agg_link_matches(const agg_link *l, const agg_feature_config *f, const agg_config *cfg);
/* Starts every channel connecting (harmless when they already are). */
void agg_link_connect(agg_link *l);
agg_link *agg_link_ref(agg_link *l);
/* Drops one reference; the last one destroys the channels. */
void agg_link_unref(agg_link *l);

typedef struct agg_link_breaker {
    atomic_int refs;
    char *name; /* the breaker's log name points here */
    agg_breaker breaker;
} agg_link_breaker;

agg_link_breaker *agg_link_breaker_create(const char *name, const agg_breaker_cfg *cfg);
bool agg_breaker_cfg_equal(const agg_breaker_cfg *a, const agg_breaker_cfg *b);
agg_link_breaker *agg_link_breaker_ref(agg_link_breaker *b);
void agg_link_breaker_unref(agg_link_breaker *b);

#endif
