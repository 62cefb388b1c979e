/* agg_generation: a config generation and its per-worker holds (see agg_generation.h). */
#include "agg_generation.h"

#include <stdlib.h>
#include <string.h>

#include "fo_alloc.h"

static void generation_free(agg_generation *g)
{
    for (size_t i = 0; g->links != NULL && i < g->cfg->n_features; i++) {
        agg_link_unref(g->links[i]);
        agg_link_breaker_unref(g->breakers[i]);
    }
    free(g->links);
    free(g->breakers);
    free(g->budgets);
    free(g->targets);
    free(g->per_worker);
    if (!g->borrowed) {
        agg_auth_destroy(g->auth);
        agg_config_release((agg_config *)g->cfg);
        free((agg_config *)g->cfg);
    }
    free(g);
}

/* The link and breaker of feature i: prev's where they still fit, else new ones. */
static fo_error *feature_parts(agg_generation *g, size_t i, const agg_generation *prev)
{
    const agg_feature_config *f = &g->cfg->features[i];
    int old = prev != NULL ? agg_config_feature_index(prev->cfg, f->name, strlen(f->name)) : -1;
    if (old >= 0 && agg_link_matches(prev->links[old], f, g->cfg))
        g->links[i] = agg_link_ref(prev->links[old]);
    if (old >= 0 && agg_breaker_cfg_equal(&prev->breakers[old]->breaker.cfg, &f->breaker))
        g->breakers[i] = agg_link_breaker_ref(prev->breakers[old]);
    else
        g->breakers[i] = agg_link_breaker_create(f->name, &f->breaker);
    if (g->links[i] == NULL)
        return agg_link_create(f, g->cfg, g->workers, &g->links[i]);
    return NULL;
}

fo_error *agg_generation_create(const agg_config *cfg, agg_auth *auth, bool borrowed, int workers,
                                const agg_generation *prev, agg_generation **out)
{
    *out = NULL;
    size_t n = cfg->n_features;
    agg_generation *g = fo_xcalloc(1, sizeof *g);
    g->number = prev != NULL ? prev->number + 1 : 0;
    g->cfg = cfg;
    g->auth = auth;
    g->borrowed = true; /* until it succeeds: on failure the caller keeps them */
    g->workers = workers;
    g->links = fo_xcalloc(n, sizeof *g->links);
    g->breakers = fo_xcalloc(n, sizeof *g->breakers);
    g->budgets = fo_xcalloc(n, sizeof *g->budgets);
    for (size_t i = 0; i < n; i++)
        agg_budget_init(&g->budgets[i], &cfg->extra_attempts_budget);
    g->targets = fo_xcalloc((size_t)workers * n, sizeof *g->targets);
    g->per_worker = aligned_alloc(_Alignof(agg_gen_worker), (size_t)workers * sizeof *g->per_worker);
    if (g->per_worker == NULL)
        abort();
    memset(g->per_worker, 0, (size_t)workers * sizeof *g->per_worker);
    atomic_init(&g->holders, workers);
    for (size_t i = 0; i < n; i++) {
        fo_error *err = feature_parts(g, i, prev);
        if (err != NULL) {
            generation_free(g);
            return err;
        }
    }
    for (int w = 0; w < workers; w++) {
        g->per_worker[w].current = true;
        for (size_t i = 0; i < n; i++) {
            agg_target *t = &g->targets[(size_t)w * n + i];
            agg_breaker *b = &g->breakers[i]->breaker;
            bool extra = cfg->features[i].hedge.max_attempts > 1;
            *t = (agg_target){.cfg = &cfg->features[i],
                              .channel = g->links[i]->channels[w],
                              .get_usage = g->links[i]->get_usage[w],
                              .breaker = b->cfg.enabled ? b : NULL,
                              .latency = &g->links[i]->latencies[w],
                              .wins = &g->links[i]->wins[w],
                              .budget = extra ? &g->budgets[i] : NULL,
                              .retry_on = cfg->retry_on};
        }
    }
    g->borrowed = borrowed;
    *out = g;
    return NULL;
}

void agg_generation_connect(agg_generation *g)
{
    for (size_t i = 0; i < g->cfg->n_features; i++)
        agg_link_connect(g->links[i]);
}

/* One worker holds g no more; the last to let go frees it. */
static void let_go(agg_generation *g)
{
    if (atomic_fetch_sub(&g->holders, 1) == 1)
        generation_free(g);
}

void agg_generation_leave(agg_generation *g, int w)
{
    if (--g->per_worker[w].requests == 0 && !g->per_worker[w].current)
        let_go(g);
}

void agg_generation_retire(agg_generation *g, int w)
{
    g->per_worker[w].current = false;
    if (g->per_worker[w].requests == 0)
        let_go(g);
}
