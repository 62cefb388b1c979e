/* fo_health: the health statuses, Check, and the Watch streams of each worker loop. */
#include "fo_health.h"
#include "fo_alloc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"

#define CHECK_PATH "/" FO_HEALTH_SERVICE "/Check"
#define WATCH_PATH "/" FO_HEALTH_SERVICE "/Watch"

_Static_assert((int)FO_HEALTH_SERVING == (int)GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING &&
                   (int)FO_HEALTH_NOT_SERVING ==
                       (int)GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING &&
                   (int)FO_HEALTH_SERVICE_UNKNOWN ==
                       (int)GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN,
               "fo_health_status follows the health proto's numbering");

typedef struct health_entry {
    char *name;
    atomic_int status; /* fo_health_status; written by any thread */
} health_entry;

typedef struct health_watch health_watch;

/*
 * One worker loop's share: its Watch streams, touched only on that loop's
 * thread. notify_pending coalesces changes into one post per loop.
 */
typedef struct health_loop {
    fo_health *h;
    fo_loop *loop;
    health_watch *watchers; /* a doubly linked list */
    atomic_bool notify_pending;
} health_loop;

struct fo_health {
    health_entry *entries; /* [0] is "" */
    size_t nentries;
    health_loop *loops; /* one per worker of the registered server */
    size_t nloops;
    atomic_bool draining;
};

fo_health *fo_health_create(const char *const *services, size_t n)
{
    fo_health *h = fo_xcalloc(1, sizeof *h);
    h->nentries = n + 1;
    h->entries = fo_xcalloc(h->nentries, sizeof *h->entries);
    for (size_t i = 0; i < h->nentries; i++) {
        h->entries[i].name = fo_xstrdup(i == 0 ? "" : services[i - 1]);
        atomic_init(&h->entries[i].status, FO_HEALTH_NOT_SERVING);
    }
    atomic_init(&h->draining, false);
    return h;
}

void fo_health_destroy(fo_health *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->nentries; i++)
        free(h->entries[i].name);
    free(h->entries);
    free(h->loops);
    free(h);
}

static health_entry *find_entry(fo_health *h, const char *service)
{
    for (size_t i = 0; i < h->nentries; i++)
        if (strcmp(h->entries[i].name, service) == 0)
            return &h->entries[i];
    return NULL;
}

static fo_payload *pack_status(fo_health_status status)
{
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
    return fo_payload_pack(&resp.base);
}

/* --- Watch streams ---------------------------------------------------------- */

/*
 * A Watch stream is IDLE (nothing in flight; last_sent is what the client
 * knows) or SENDING one status. Every event - a change, a finished send, a
 * cancellation, the drain - leads to watch_update, which does what the
 * state allows; events while SENDING wait for the send to complete.
 */
typedef enum watch_state {
    WATCH_IDLE,
    WATCH_SENDING,
} watch_state;

struct health_watch {
    fo_tag sent;
    watch_state state;
    fo_server_call *call;
    health_loop *hl;
    const health_entry *entry; /* NULL: an unknown name */
    int last_sent;             /* -1 before the first send */
    health_watch *prev, *next;
};

static fo_health_status watch_status(const health_watch *w)
{
    if (w->entry == NULL)
        return FO_HEALTH_SERVICE_UNKNOWN;
    return (fo_health_status)atomic_load(&w->entry->status);
}

static void watch_link(health_watch *w)
{
    health_loop *hl = w->hl;
    w->prev = NULL;
    w->next = hl->watchers;
    if (hl->watchers != NULL)
        hl->watchers->prev = w;
    hl->watchers = w;
}

static void watch_unlink(health_watch *w)
{
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        w->hl->watchers = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
}

/* Ends the stream with code; the final status, when the client lacks it, rides with it. */
static void watch_end(health_watch *w, fo_status code)
{
    fo_payload *last = NULL;
    if (code == FO_STATUS_OK && (int)watch_status(w) != w->last_sent)
        last = pack_status(watch_status(w));
    fo_server_call_finish(w->call, code, NULL, last, NULL, 0);
    fo_payload_free(last);
    watch_unlink(w);
    free(w);
}

static void watch_send(health_watch *w, fo_health_status status)
{
    fo_payload *msg = pack_status(status);
    w->state = WATCH_SENDING;
    w->last_sent = (int)status;
    fo_server_call_send(w->call, msg, &w->sent);
    fo_payload_free(msg); /* the send holds its own reference to the bytes */
}

static void watch_update(health_watch *w)
{
    if (w->state == WATCH_SENDING)
        return; /* watch_sent looks again */
    if (atomic_load(&w->hl->h->draining)) {
        watch_end(w, FO_STATUS_OK);
        return;
    }
    fo_health_status status = watch_status(w);
    if ((int)status != w->last_sent)
        watch_send(w, status);
}

static void watch_sent(fo_tag *tag, bool ok)
{
    health_watch *w = fo_container_of(tag, health_watch, sent);
    w->state = WATCH_IDLE;
    if (!ok || fo_server_call_cancelled(w->call)) {
        watch_end(w, FO_STATUS_CANCELLED);
        return;
    }
    watch_update(w);
}

static void watch_cancelled(void *ud)
{
    health_watch *w = ud;
    /* While SENDING, that send fails or completes, and watch_sent ends the stream. */
    if (w->state == WATCH_IDLE)
        watch_end(w, FO_STATUS_CANCELLED);
}

static health_loop *loop_of(fo_health *h, fo_loop *loop)
{
    for (size_t i = 0; i < h->nloops; i++)
        if (h->loops[i].loop == loop)
            return &h->loops[i];
    abort(); /* every call runs on one of the registered server's workers */
}

/* The call's HealthCheckRequest; NULL when it does not parse, and the call is then answered. */
static Grpc__Health__V1__HealthCheckRequest *read_request(fo_server_call *call)
{
    fo_error *err = NULL;
    Grpc__Health__V1__HealthCheckRequest *req = (Grpc__Health__V1__HealthCheckRequest *)fo_server_call_request(
        call, &grpc__health__v1__health_check_request__descriptor, &err);
    if (req == NULL) {
        fo_server_call_finish(call, err->code, err->message, NULL, NULL, 0);
        fo_error_free(err);
    }
    return req;
}

static void watch_start(fo_server_call *call, void *ctx)
{
    fo_health *h = ctx;
    Grpc__Health__V1__HealthCheckRequest *req = read_request(call);
    if (req == NULL)
        return;
    health_watch *w = fo_xcalloc(1, sizeof *w);
    w->sent.fn = watch_sent;
    w->call = call;
    w->hl = loop_of(h, fo_server_call_loop(call));
    w->entry = find_entry(h, req->service);
    w->last_sent = -1;
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
    watch_link(w);
    fo_server_call_on_cancel(call, watch_cancelled, w);
    watch_update(w);
}

/* Runs on a worker loop after a change: every watcher there looks at its status. */
static void loop_notify(void *arg)
{
    health_loop *hl = arg;
    /* Cleared before reading the statuses: a change made after this posts again. */
    atomic_store(&hl->notify_pending, false);
    health_watch *next;
    for (health_watch *w = hl->watchers; w != NULL; w = next) {
        next = w->next; /* watch_update may free w */
        watch_update(w);
    }
}

static void notify_loops(fo_health *h)
{
    for (size_t i = 0; i < h->nloops; i++) {
        health_loop *hl = &h->loops[i];
        if (!atomic_exchange(&hl->notify_pending, true))
            fo_loop_post(hl->loop, loop_notify, hl);
    }
}

/* --- Check -------------------------------------------------------------------- */

static void check(fo_server_call *call, void *ctx)
{
    fo_health *h = ctx;
    Grpc__Health__V1__HealthCheckRequest *req = read_request(call);
    if (req == NULL)
        return;
    const health_entry *e = find_entry(h, req->service);
    if (e == NULL) {
        char message[300];
        snprintf(message, sizeof message, "unknown service \"%.250s\"", req->service);
        fo_server_call_finish(call, FO_STATUS_NOT_FOUND, message, NULL, NULL, 0);
    } else {
        fo_payload *reply = pack_status((fo_health_status)atomic_load(&e->status));
        fo_server_call_finish(call, FO_STATUS_OK, NULL, reply, NULL, 0);
        fo_payload_free(reply);
    }
    grpc__health__v1__health_check_request__free_unpacked(req, NULL);
}

/* --- setting statuses ------------------------------------------------------------ */

void fo_health_register(fo_health *h, fo_server *s)
{
    h->nloops = (size_t)fo_server_worker_count(s);
    h->loops = fo_xcalloc(h->nloops, sizeof *h->loops);
    for (size_t i = 0; i < h->nloops; i++) {
        h->loops[i].h = h;
        h->loops[i].loop = fo_server_worker_loop(s, (int)i);
        atomic_init(&h->loops[i].notify_pending, false);
    }
    fo_server_add_method(s, CHECK_PATH, FO_RPC_UNARY, check, h);
    fo_server_add_method(s, WATCH_PATH, FO_RPC_SERVER_STREAM, watch_start, h);
}

static void set_entry(fo_health *h, health_entry *e, fo_health_status status)
{
    if (atomic_load(&h->draining))
        return; /* NOT_SERVING for good */
    if (atomic_exchange(&e->status, (int)status) != (int)status)
        notify_loops(h);
}

void fo_health_set_all(fo_health *h, fo_health_status status)
{
    for (size_t i = 0; i < h->nentries; i++)
        set_entry(h, &h->entries[i], status);
}

void fo_health_drain(fo_health *h)
{
    fo_health_set_all(h, FO_HEALTH_NOT_SERVING);
    /* After the statuses: a loop that sees the flag also sees NOT_SERVING. */
    atomic_store(&h->draining, true);
    notify_loops(h);
}
