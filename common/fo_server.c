/*
 * fo_server: a server's lifetime (per-worker gRPC servers on one port,
 * start, shutdown, destroy) and its request slots, which turn arriving calls
 * into fo_server_calls (fo_server_call.c). The end of a server on a borrowed
 * loop has its own file, fo_server_settle.c.
 */
#include "fo_loop_internal.h"
#include "fo_rpc_internal.h"
#include "fo_server_internal.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fo_alloc.h"
#include "fo_log.h"
#include "fo_time.h"
#include "fo_tls.h"

#define SERVER_MAX_ARGS (4 + FO_SERVER_LIMITS_ARGS)

/*
 * Requests kept posted per method and worker. A call that finds none posted
 * on its connection's queue is handed to another worker's (gRPC's request
 * matcher tries every queue), so its connection and its completions then
 * cross threads. One worker needs only enough to absorb a burst between two
 * turns of its loop; several keep, for the methods that come in bursts (all
 * but bidirectional streams: reflection), as many as one connection may open
 * streams at once, so that a connection's whole burst stays on its worker.
 */
#define SLOTS_PER_METHOD_MIN 16
#define SLOTS_PER_METHOD_MAX 256
#define HEALTH_PREFIX "/grpc.health.v1.Health/"

static bool slot_post(fo_slot *slot);

/* --- request slots -------------------------------------------------------- */

/* The slot came back and is not posted again: nothing of it is on the queue any more. */
static void slot_retire(fo_slot *slot)
{
    atomic_fetch_sub(&slot->worker->slots_out, 1);
    fo_worker_check_settled(slot->worker);
}

/*
 * Why the server refuses a call before its handler sees it (NULL: it does
 * not): over the memory budget (fo_server_memory.c). Health checks are never
 * refused so: a probe must not restart a server for being busy.
 */
static fo_error *server_refuses(const fo_server *s, const fo_method *m)
{
    if (!fo_server_memory_over() || strncmp(m->path, HEALTH_PREFIX, sizeof HEALTH_PREFIX - 1) == 0)
        return NULL;
    return FO_ERROR(FO_STATUS_RESOURCE_EXHAUSTED, "server over its memory budget (max_memory_mb %lld): retry later",
                    (long long)s->limits.max_memory_mb);
}

static void slot_arrived(fo_tag *tag, bool ok)
{
    fo_slot *slot = fo_container_of(tag, fo_slot, tag);
    fo_server *s = slot->worker->server;
    if (!ok) {
        /* The server is shutting down: the slot is not posted again. */
        slot_retire(slot);
        return;
    }
    if (slot->method == NULL) {
        fo_server_answer_unimplemented(slot);
        grpc_call_details_destroy(&slot->details);
        grpc_call_details_init(&slot->details);
        grpc_metadata_array_destroy(&slot->md);
        grpc_metadata_array_init(&slot->md);
    } else {
        fo_server_call *c = fo_server_call_create(slot);
        slot->payload = NULL;
        grpc_metadata_array_init(&slot->md);
        fo_error *refused = server_refuses(s, slot->method);
        if (refused == NULL && s->admit != NULL)
            refused = s->admit(c, slot->method->path, s->admit_ctx);
        if (refused == NULL)
            slot->method->fn(c, slot->method->ctx);
        else
            fo_server_call_finish(c, refused->code, refused->message, NULL, NULL, 0);
        fo_error_free(refused);
    }
    if (atomic_load(&s->shutting_down) || !slot_post(slot))
        slot_retire(slot);
}

/* Posts the slot's request; false when gRPC refused it, so no completion will come. */
static bool slot_post(fo_slot *slot)
{
    fo_worker *w = slot->worker;
    grpc_completion_queue *cq = fo_loop_cq(w->loop);
    grpc_call_error rc;
    slot->call = NULL;
    slot->payload = NULL;
    if (slot->method == NULL) {
        rc = grpc_server_request_call(w->server->grpc, &slot->call, &slot->details, &slot->md, cq, cq, &slot->tag);
    } else {
        bool with_payload = slot->method->kind != FO_RPC_BIDI_STREAM;
        rc = grpc_server_request_registered_call(w->server->grpc, slot->method->handle, &slot->call, &slot->deadline,
                                                 &slot->md, with_payload ? &slot->payload : NULL, cq, cq, &slot->tag);
    }
    if (rc != GRPC_CALL_OK)
        fo_log(FO_LOG_ERROR, json_pack("{s:s, s:s, s:s}", "event", "error", "what", "request_call", "error",
                                       grpc_call_error_to_string(rc)));
    return rc == GRPC_CALL_OK;
}

/* --- server lifetime ------------------------------------------------------ */

/* Fills args with what the server is created with; returns how many. */
static size_t server_args(const fo_server *s, const fo_server_opts *opts, grpc_arg args[SERVER_MAX_ARGS])
{
    size_t nargs = fo_server_limits_args(s, args);
    /* No channelz, as on the client side (fo_channel_create). */
    args[nargs++] = (grpc_arg){.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_CHANNELZ, .value.integer = 0};
    if (opts->max_message_bytes > 0) {
        int max = opts->max_message_bytes > INT32_MAX ? INT32_MAX : (int)opts->max_message_bytes;
        args[nargs++] =
            (grpc_arg){.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = max};
    }
    if (opts->max_connection_age_ms > 0) {
        int age = opts->max_connection_age_ms > INT32_MAX ? INT32_MAX : (int)opts->max_connection_age_ms;
        args[nargs++] =
            (grpc_arg){.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_CONNECTION_AGE_MS, .value.integer = age};
    }
    return nargs;
}

fo_server *fo_server_create(const fo_server_opts *opts)
{
    fo_server *s = fo_xcalloc(1, sizeof *s);
    fo_server_limits_apply(s, &opts->limits);
    grpc_arg args[SERVER_MAX_ARGS];
    grpc_channel_args chargs = {.num_args = server_args(s, opts, args), .args = args};
    s->borrowed = opts->loop != NULL;
    s->admit = opts->admit;
    s->admit_ctx = opts->admit_ctx;
    s->nworkers = s->borrowed ? 1 : opts->workers > 0 ? opts->workers : 1;
    s->workers = fo_xcalloc((size_t)s->nworkers, sizeof *s->workers);
    s->grpc = grpc_server_create(&chargs, NULL);
    for (int i = 0; i < s->nworkers; i++) {
        fo_worker *w = &s->workers[i];
        w->server = s;
        /* One queue may serve several servers: each finds its own calls by their tags. */
        w->loop = s->borrowed ? opts->loop : fo_loop_create();
        if (!s->borrowed)
            fo_loop_set_precise_timers(w->loop, opts->precise_timers);
        atomic_init(&w->slots_out, 0);
        grpc_server_register_completion_queue(s->grpc, fo_loop_cq(w->loop), NULL);
    }
    atomic_init(&s->shutting_down, false);
    fo_server_settle_init(s);
    return s;
}

void fo_server_add_method(fo_server *s, const char *path, fo_rpc_kind kind, fo_handler_fn fn, void *ctx)
{
    if (s->nmethods == FO_SERVER_MAX_METHODS || s->started)
        abort(); /* a programming error, caught in every test run */
    grpc_server_register_method_payload_handling payload =
        kind == FO_RPC_BIDI_STREAM ? GRPC_SRM_PAYLOAD_NONE : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER;
    s->methods[s->nmethods++] = (fo_method){.path = path,
                                            .kind = kind,
                                            .fn = fn,
                                            .ctx = ctx,
                                            .handle = grpc_server_register_method(s->grpc, path, NULL, payload, 0)};
}

static fo_error *server_credentials(const fo_server_tls *tls, grpc_server_credentials **out)
{
    if (tls == NULL || tls->cert == NULL) {
        *out = grpc_insecure_server_credentials_create();
        return NULL;
    }
    /* gRPC would take a bad file silently and fail each handshake without naming it. */
    fo_error *err = fo_tls_check_pair(tls->cert, tls->key);
    if (err == NULL && tls->client_ca != NULL)
        err = fo_tls_check_ca(tls->client_ca);
    if (err != NULL)
        return err;
    char *cert = NULL, *key = NULL, *ca = NULL;
    err = fo_read_file(tls->cert, &cert);
    if (err == NULL)
        err = fo_read_file(tls->key, &key);
    if (err == NULL && tls->client_ca != NULL)
        err = fo_read_file(tls->client_ca, &ca);
    if (err == NULL) {
        grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
        grpc_ssl_client_certificate_request_type want =
            ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
        *out = grpc_ssl_server_credentials_create_ex(ca, &pair, 1, want, NULL);
    }
    free(cert);
    free(key);
    free(ca);
    return err;
}

fo_error *fo_server_listen(fo_server *s, const char *addr, const fo_server_tls *tls, int *port)
{
    grpc_server_credentials *creds = NULL;
    fo_error *err = server_credentials(tls, &creds);
    if (err != NULL)
        return err;
    int bound = grpc_server_add_http2_port(s->grpc, addr, creds);
    grpc_server_credentials_release(creds);
    if (bound <= 0)
        return FO_ERROR(FO_STATUS_UNAVAILABLE, "cannot listen on %s (address in use or invalid)", addr);
    *port = bound;
    return NULL;
}

static void *worker_main(void *arg)
{
    fo_worker *w = arg;
    fo_loop_run(w->loop, NULL);
    return NULL;
}

static size_t slots_for(const fo_server *s, const fo_method *m)
{
    int64_t burst = s->limits.max_concurrent_streams;
    if (s->nworkers == 1 || m->kind == FO_RPC_BIDI_STREAM || burst <= SLOTS_PER_METHOD_MIN)
        return SLOTS_PER_METHOD_MIN;
    return burst < SLOTS_PER_METHOD_MAX ? (size_t)burst : SLOTS_PER_METHOD_MAX;
}

static void slot_init_post(fo_worker *w, fo_slot *slot, const fo_method *method)
{
    slot->tag.fn = slot_arrived;
    slot->worker = w;
    slot->method = method;
    grpc_metadata_array_init(&slot->md);
    grpc_call_details_init(&slot->details);
    /* Counted first: on a running borrowed loop it may come back before slot_post returns. */
    atomic_fetch_add(&w->slots_out, 1);
    if (!slot_post(slot))
        atomic_fetch_sub(&w->slots_out, 1);
}

static void worker_post_slots(fo_worker *w)
{
    fo_server *s = w->server;
    /* One catch-all slot answers unregistered methods; calls to them are rare. */
    w->nslots = 1;
    for (int m = 0; m < s->nmethods; m++)
        w->nslots += slots_for(s, &s->methods[m]);
    w->slots = fo_xcalloc(w->nslots, sizeof *w->slots);
    size_t i = 0;
    for (int m = 0; m < s->nmethods; m++) {
        for (size_t n = slots_for(s, &s->methods[m]); n > 0; n--)
            slot_init_post(w, &w->slots[i++], &s->methods[m]);
    }
    slot_init_post(w, &w->slots[i], NULL);
}

void fo_server_start(fo_server *s)
{
    grpc_server_start(s->grpc);
    s->started = true;
    for (int i = 0; i < s->nworkers; i++)
        worker_post_slots(&s->workers[i]);
    if (s->borrowed)
        return; /* the caller's thread runs the loop */
    for (int i = 0; i < s->nworkers; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0)
            abort();
        /* For top -H, perf and /proc/PID/task/TID/comm (15 characters at most). */
        char name[16];
        snprintf(name, sizeof name, "worker-%hu", (unsigned short)i);
        pthread_setname_np(s->workers[i].thread, name);
    }
}

int fo_server_worker_count(const fo_server *s) { return s->nworkers; }

fo_loop *fo_server_worker_loop(fo_server *s, int i) { return s->workers[i].loop; }

/* The tag of grpc_server_shutdown_and_notify; each server has its own queue for it. */
static int shutdown_tag;

void fo_server_shutdown_begin(fo_server *s)
{
    if (!s->started || s->shutdown_cq != NULL)
        return;
    atomic_store(&s->shutting_down, true);
    s->shutdown_cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_server_shutdown_and_notify(s->grpc, s->shutdown_cq, &shutdown_tag);
    if (s->borrowed)
        fo_server_settle_await(s);
}

/* Waits for the server to have shut down; after deadline_ns, cancels the calls left. */
static void wait_shutdown(fo_server *s, int64_t deadline_ns)
{
    grpc_event ev = grpc_completion_queue_pluck(s->shutdown_cq, &shutdown_tag, fo_deadline_to_gpr(deadline_ns), NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        grpc_server_cancel_all_calls(s->grpc);
        grpc_completion_queue_pluck(s->shutdown_cq, &shutdown_tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    }
}

void fo_server_shutdown_end(fo_server *s, int64_t deadline_ns)
{
    if (!s->started)
        return;
    fo_server_shutdown_begin(s);
    wait_shutdown(s, deadline_ns);
    grpc_completion_queue_shutdown(s->shutdown_cq);
    grpc_completion_queue_destroy(s->shutdown_cq);
    s->shutdown_cq = NULL;
    if (s->borrowed) {
        /* The loop goes on for its other servers; it has dispatched our last completion once this returns. */
        fo_server_settle_wait(s);
    } else {
        for (int i = 0; i < s->nworkers; i++)
            fo_loop_stop(s->workers[i].loop);
        for (int i = 0; i < s->nworkers; i++)
            pthread_join(s->workers[i].thread, NULL);
    }
    s->started = false;
}

void fo_server_shutdown(fo_server *s, int64_t grace_ms)
{
    fo_server_shutdown_begin(s);
    fo_server_shutdown_end(s, fo_deadline_in_ms(grace_ms));
}

static void slot_release(fo_slot *slot)
{
    /* Slots that never completed still own their metadata arrays. */
    grpc_metadata_array_destroy(&slot->md);
    grpc_call_details_destroy(&slot->details);
}

void fo_server_destroy(fo_server *s)
{
    if (s == NULL)
        return;
    fo_server_shutdown(s, 0);
    grpc_server_destroy(s->grpc);
    for (int i = 0; i < s->nworkers; i++) {
        /* Own loops dispatch what is still queued as they go, before the slots go; a borrowed one did already. */
        if (!s->borrowed)
            fo_loop_destroy(s->workers[i].loop);
        for (size_t j = 0; j < s->workers[i].nslots; j++)
            slot_release(&s->workers[i].slots[j]);
        free(s->workers[i].slots);
    }
    free(s->workers);
    grpc_resource_quota_unref(s->quota);
    fo_server_settle_destroy(s);
    free(s);
}
