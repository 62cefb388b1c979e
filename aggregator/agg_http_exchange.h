/*
 * agg_http_exchange: one HTTP request that goes through the fan-out, shared
 * by libmicrohttpd's thread (agg_http.c: the connection) and the worker the
 * request runs on (this file: its agg_face), in one state field:
 *
 *   BODY ─(POST body read, or a GET)─▶ WAITING: handed to the worker, the
 *     connection suspended          │      │ the fan-out starts (streaming)
 *                                    │      ▼
 *     refusal, answer, error ───────▶│   STREAM: the SSE response is out; each
 *                                    ▼      result is an event in the outbox
 *                                  REPLY ──(the handler queues it)──▶ SENT
 *                                           │ the last event (done / error)
 *                                           ▼
 *                                        STREAM_END: the reader ends the stream
 *
 * The worker only ever resumes the connection (when it has something to
 * send); libmicrohttpd's thread suspends it (when it has nothing). mu guards
 * what both touch: the state, the connection (NULL once libmicrohttpd is
 * done with it: the client is gone), the suspension, the outbox and the
 * answer. Three references keep it: the connection's (until libmicrohttpd's
 * request-completed callback), the worker's (until agg_request frees the
 * request) and the SSE response's (until libmicrohttpd destroys it).
 */
#ifndef AGG_HTTP_EXCHANGE_H
#define AGG_HTTP_EXCHANGE_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "agg_face.h"
#include "fanout/v1/aggregator.pb-c.h"

typedef struct agg_http agg_http;

typedef enum xchg_state {
    XS_BODY,       /* libmicrohttpd: a POST body is coming */
    XS_WAITING,    /* with the worker; the connection is suspended until it answers */
    XS_STREAM,     /* the SSE response goes out; the worker adds events */
    XS_STREAM_END, /* the last event is in the outbox */
    XS_REPLY,      /* a whole response is ready for the handler */
    XS_SENT,       /* the handler queued it */
} xchg_state;

/* Why the worker gave up on the request before its answer. */
typedef enum xchg_cancel {
    XC_NONE,
    XC_CLIENT_GONE,
    XC_DEADLINE,
    XC_DRAIN,
} xchg_cancel;

/*
 * A request header, copied for the request path (agg_face's metadata): all
 * of them, as the config a reload brings may forward any. Keys and values
 * live in the same allocation as the array.
 */
typedef struct xchg_header {
    const char *key; /* as the client sent it: looked up ignoring case */
    const char *value;
    size_t len;
    bool printable; /* only printable ASCII, which gRPC metadata can carry */
} xchg_header;

typedef struct agg_http_exchange agg_http_exchange;
struct agg_http_exchange {
    agg_face face;
    agg_http *http;
    pthread_mutex_t mu;
    atomic_int refs;
    bool streaming;

    /* Under mu. */
    xchg_state state;
    struct MHD_Connection *conn;
    bool suspended;
    bool response_queued; /* libmicrohttpd's thread only: the SSE response or the reply is queued */
    char *out;            /* SSE bytes not yet taken by the reader */
    size_t out_len, out_off;
    unsigned status; /* XS_REPLY: the response */
    char *body;
    size_t body_len;
    char *failed_feature; /* FAIL_FAST's: the fanout-failed-feature header */

    /* Set by libmicrohttpd's thread before the worker has it. */
    char *upload; /* the POST body so far */
    size_t upload_len;
    bool upload_too_large;
    Fanout__V1__AnalyticsRequest *msg; /* handed to the request path */
    fo_error *parse_error;
    xchg_header *headers; /* one allocation with their bytes */
    size_t nheaders;
    char *origin; /* the allowed CORS origin to answer to, or NULL */
    int64_t deadline_ns;
    int worker;
    fo_loop *loop;

    /* The worker's. */
    agg_http_exchange *prev, *next; /* the worker's live exchanges (drain) */
    xchg_cancel cancel;
    void (*cancel_fn)(void *ud);
    void *cancel_ud;
    fo_timer tick; /* watches for the client going and for the deadline */
    fo_timer sent; /* completes a send on the loop's next turn */
    fo_tag *send_done;
    unsigned events;
    char request_id[129];
};

/* The exchange with its face; one reference, the connection's. */
agg_http_exchange *agg_http_exchange_new(agg_http *h, struct MHD_Connection *conn, bool streaming);
void agg_http_exchange_unref(agg_http_exchange *x);
/* On the worker (a fo_loop_post): the request path takes it; a worker reference is held from the post. */
void agg_http_exchange_begin(void *x);
/* On the worker: the server drains; the request is answered UNAVAILABLE. */
void agg_http_exchange_drain(agg_http_exchange *x);
/* libmicrohttpd's content reader of an SSE response (cls: the exchange, with a reference of its own). */
ssize_t agg_http_exchange_read(void *cls, uint64_t pos, char *buf, size_t max);
void agg_http_exchange_read_done(void *cls);

#endif
