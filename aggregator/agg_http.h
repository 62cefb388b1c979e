/*
 * agg_http: the aggregator's HTTP/JSON face on its own listener
 * (http_listen), beside the gRPC one and on the same request path:
 *
 *   GET  /v1/customers/{customer_id}/analytics         → AnalyticsResponse
 *   GET  /v1/customers/{customer_id}/analytics:stream  → Server-Sent Events
 *   POST /v1/analytics:query   (AnalyticsRequest)       → AnalyticsResponse
 *   GET  /v1/features                                  → {"features": [...]}
 *
 * as canonical proto3 JSON (what fanout-cli prints); errors as
 * {"code", "message", "details"} with the HTTP status of the gRPC code.
 * libmicrohttpd reads requests on its own threads; each request that fans
 * out is handed to a worker's loop (round-robin) while its connection is
 * suspended, and the worker resumes it when there is something to send, so
 * neither side ever waits for the other.
 */
#ifndef AGG_HTTP_H
#define AGG_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "agg_http_exchange.h"
#include "agg_service.h"
#include "fo_http.h"
#include "fo_server.h"

typedef struct agg_http_worker {
    fo_loop *loop;
    agg_http_exchange *live; /* the exchanges it runs, for the drain; its thread only */
} agg_http_worker;

struct agg_http {
    agg_service *svc;
    fo_http *listener;
    agg_http_worker *workers;
    int n_workers;
    atomic_uint next_worker;
    atomic_long live; /* exchanges handed to a worker and not answered yet */
    atomic_bool draining;
    int64_t drain_deadline_ns;
    pthread_t drain_thread;
    bool verify_clients; /* mutual TLS: tls.client_ca is set */
};

/* Listens on svc->cfg->http_listen with the gRPC listener's TLS; the workers are server's. */
fo_error *agg_http_start(agg_service *svc, fo_server *server, agg_http **out);
int agg_http_port(const agg_http *h);
/*
 * New requests get UNAVAILABLE at once; those in flight have until
 * deadline_ns (the fo_time clock) to finish, then are answered UNAVAILABLE.
 * On a thread of its own, so that the gRPC face drains meanwhile: the
 * workers keep running while an HTTP request holds them.
 */
void agg_http_drain_start(agg_http *h, int64_t deadline_ns);
/* Waits for the drain, if one was started, and closes every connection. */
void agg_http_destroy(agg_http *h);

#endif
