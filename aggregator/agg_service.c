/* agg_service: the workers' current generations, their switch on reload, and the Aggregator's registration. */
#include "agg_service.h"

#include <stdlib.h>

#include "agg_auth.h"
#include "agg_generation.h"
#include "agg_request.h"
#include "fo_alloc.h"

fo_error *agg_service_init(agg_service *svc, const agg_config *cfg, agg_auth *auth)
{
    svc->workers = cfg->workers;
    svc->started = cfg;
    atomic_init(&svc->in_flight, 0);
    agg_generation *g;
    fo_error *err = agg_generation_create(cfg, auth, true, cfg->workers, NULL, &g);
    if (err != NULL)
        return err;
    svc->current = fo_xcalloc((size_t)svc->workers, sizeof *svc->current);
    for (int w = 0; w < svc->workers; w++)
        svc->current[w] = g;
    svc->latest = g;
    pthread_mutex_init(&svc->latest_lock, NULL);
    return NULL;
}

void agg_service_connect(agg_service *svc)
{
    /* Each worker has channels of its own: none should make its first request wait for a connection. */
    agg_generation_connect(svc->latest);
}

void agg_service_register(agg_service *svc, fo_server *s)
{
    svc->server = s;
    fo_server_add_method(s, AGG_GET_PATH, FO_RPC_UNARY, agg_request_start_unary, svc);
    fo_server_add_method(s, AGG_STREAM_PATH, FO_RPC_SERVER_STREAM, agg_request_start_stream, svc);
}

/* A switch to a new generation, posted to one worker's loop. */
typedef struct switch_msg {
    agg_service *svc;
    agg_generation *gen;
    int worker;
} switch_msg;

static void switch_worker(void *arg)
{
    switch_msg *m = arg;
    agg_generation *old = m->svc->current[m->worker];
    m->svc->current[m->worker] = m->gen;
    agg_generation_retire(old, m->worker);
    free(m);
}

void agg_service_publish(agg_service *svc, agg_generation *gen)
{
    /* A reader holding the lock sees a generation still current on every worker: no switch away
     * from it is posted until the lock is free. */
    pthread_mutex_lock(&svc->latest_lock);
    svc->latest = gen;
    for (int w = 0; w < svc->workers; w++) {
        switch_msg *m = fo_xmalloc(sizeof *m);
        *m = (switch_msg){.svc = svc, .gen = gen, .worker = w};
        fo_loop_post(fo_server_worker_loop(svc->server, w), switch_worker, m);
    }
    pthread_mutex_unlock(&svc->latest_lock);
}

void agg_service_with_latest(agg_service *svc, void (*fn)(const agg_generation *g, void *ctx), void *ctx)
{
    pthread_mutex_lock(&svc->latest_lock);
    fn(svc->latest, ctx);
    pthread_mutex_unlock(&svc->latest_lock);
}

agg_generation *agg_service_enter(agg_service *svc, int w)
{
    agg_generation *g = svc->current[w];
    agg_generation_enter(g, w);
    return g;
}

fo_error *agg_service_admit(fo_server_call *call, const char *path, void *ctx)
{
    agg_service *svc = ctx;
    return agg_auth_admit(call, path, svc->current[fo_server_call_worker(call)]->auth);
}

void agg_service_release(agg_service *svc)
{
    if (svc->current == NULL)
        return;
    /* The server is gone, and its loops with it: every switch posted has run. */
    for (int w = 0; w < svc->workers; w++)
        agg_generation_retire(svc->current[w], w);
    free(svc->current);
    svc->current = NULL;
    svc->latest = NULL;
    pthread_mutex_destroy(&svc->latest_lock);
}
