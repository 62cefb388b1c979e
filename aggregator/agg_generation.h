/*
 * agg_generation: one generation of the aggregator's config and of what is
 * built from it: the config itself, the token keys (agg_auth), each worker's
 * channel per feature (agg_target) and each feature's breaker. A reload on
 * SIGHUP makes a new one (agg_reload.h); a request takes the generation
 * current on its worker when it arrives and keeps it to its end, so a
 * reload never changes a request in flight.
 *
 * Its life, without a shared atomic per request: each worker counts its own
 * requests on the generation (only that worker's thread touches its count),
 * and the generation counts the workers that still hold it (current there,
 * or with requests on it there): that count changes once per worker per
 * reload. The worker that lets go last frees it, on its own thread.
 *
 * Features that a reload leaves alone keep their channels and breaker
 * (agg_link.h): they are shared with the previous generation, not rebuilt.
 */
#ifndef AGG_GENERATION_H
#define AGG_GENERATION_H

#include <stdatomic.h>
#include <stdbool.h>

#include "agg_auth.h"
#include "agg_budget.h"
#include "agg_config.h"
#include "agg_link.h"
#include "agg_service.h"

/* One worker's hold on a generation; a cache line each, as only that worker writes it. */
typedef struct agg_gen_worker {
    _Alignas(64) long requests; /* the worker's requests on the generation */
    bool current;               /* the worker's current generation */
} agg_gen_worker;

typedef struct agg_generation {
    long number; /* 0 at start, then one more per reload */
    const agg_config *cfg;
    agg_auth *auth; /* NULL: auth off */
    bool borrowed;  /* cfg and auth belong to the caller (the first generation's are main's) */
    int workers;
    agg_target *targets; /* workers rows, each parallel to cfg->features */
    agg_link **links;    /* parallel to cfg->features */
    agg_link_breaker **breakers;
    /* Parallel to cfg->features: each feature's extra-attempt budget, shared by every worker (a
     * reload starts a fresh window). */
    agg_budget *budgets;
    agg_gen_worker *per_worker;
    atomic_int holders;
} agg_generation;

/*
 * A generation for cfg and auth on workers workers, current on every one of
 * them once published, keeping prev's channels and breakers where they
 * still fit (prev may be NULL). On success it owns cfg (heap-allocated) and
 * auth unless borrowed; on failure the caller keeps them.
 */
fo_error *agg_generation_create(const agg_config *cfg, agg_auth *auth, bool borrowed, int workers,
                                const agg_generation *prev, agg_generation **out);
/* Starts the channels connecting (those kept from prev already are). */
void agg_generation_connect(agg_generation *g);

/* Worker w's channel to the feature cfg->features[feature]. */
static inline const agg_target *agg_generation_target(const agg_generation *g, int w, size_t feature)
{
    return &g->targets[(size_t)w * g->cfg->n_features + feature];
}

/* On worker w's thread: a request arrives on g, and ends. */
static inline void agg_generation_enter(agg_generation *g, int w) { g->per_worker[w].requests++; }
void agg_generation_leave(agg_generation *g, int w);
/* On worker w's thread (or once it has stopped): g is no longer w's current generation. */
void agg_generation_retire(agg_generation *g, int w);

#endif
