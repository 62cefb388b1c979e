/* fo_server: server lifetime, per-worker servers and request slots, and server calls. */
#include "fo_server.h"
#include "fo_loop_internal.h"
#include "fo_rpc_internal.h"

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fo_alloc.h"
#include "fo_process.h"
#include "fo_time.h"
#include "fo_tls.h"

#define SERVER_HANDSHAKE_TIMEOUT_MS 10000
#define SERVER_MAX_ARGS 8

/* Requests kept posted per method and worker: enough to absorb a burst of
 * new calls between two turns of the loop. */
#define SLOTS_PER_METHOD 16
#define MAX_METHODS 16

typedef struct fo_method {
    const char *path;
    fo_rpc_kind kind;
    fo_handler_fn fn;
    void *ctx;
} fo_method;

typedef struct fo_worker fo_worker;

/* One posted grpc_server_request_registered_call, re-posted after each call. */
typedef struct fo_slot {
    fo_tag tag;
    fo_worker *worker;
    const fo_method *method; /* NULL: the catch-all slot for unregistered methods */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    grpc_call_details details; /* filled in the catch-all slot only */
} fo_slot;

/*
 * A worker shares nothing with the others on the hot path: its own gRPC
 * server (its own listening socket on the common port, SO_REUSEPORT, so the
 * kernel spreads connections over the workers), whose only queue is its
 * loop's. A connection, every call on it and every completion of those calls
 * stay on the worker's thread.
 */
struct fo_worker {
    fo_server *server;
    grpc_server *grpc;
    void *handles[MAX_METHODS]; /* grpc_server_register_method's, by method index */
    fo_loop *loop;
    pthread_t thread; /* own workers only */
    fo_slot *slots;
    size_t nslots;
    /*
     * What of the server is still on the loop's queue: requests posted and
     * not back for good, and calls not yet freed. On a borrowed loop the
     * shutdown waits for both to reach 0 (see fo_server.h).
     */
    atomic_size_t slots_out; /* the main thread posts the first requests */
    size_t calls;            /* this loop's thread only, as the two flags below */
    bool awaited;            /* a borrowed loop: the shutdown waits for settled */
    bool settle_posted;
    char shutdown_tag; /* its address is the tag of grpc_server_shutdown_and_notify */
};

struct fo_server {
    fo_method methods[MAX_METHODS];
    int nmethods;
    fo_worker *workers;
    int nworkers;
    bool borrowed; /* workers[0].loop is the caller's, run by the caller's thread */
    bool started;
    atomic_bool shutting_down;
    grpc_completion_queue *shutdown_cq; /* from fo_server_shutdown_begin to _end */

    /* A borrowed loop's word to fo_server_shutdown_end that nothing of the server is left on it. */
    pthread_mutex_t settle_mu;
    pthread_cond_t settle_cv;
    bool settled;
    fo_admit_fn admit;
    void *admit_ctx;
};

struct fo_server_call {
    grpc_call *call;
    fo_worker *worker;
    const fo_method *method;
    int64_t deadline_ns;
    grpc_metadata_array md;
    grpc_byte_buffer *payload;
    int refs; /* the handler's, the close batch's, and one per batch in flight */

    fo_tag close_tag;
    int cancelled_flag; /* written by RECV_CLOSE_ON_SERVER */
    bool closed;
    void (*on_cancel)(void *ud);
    void *cancel_ud;

    fo_tag send_tag;
    fo_tag *send_done;
    grpc_byte_buffer *send_buf;
    bool initial_md_sent;
    grpc_metadata headers[FO_SERVER_CALL_MAX_HEADERS]; /* for the initial metadata; values are ours */
    size_t nheaders;

    fo_tag recv_tag;
    fo_tag *recv_done;
    grpc_byte_buffer *recv_buf;

    fo_tag finish_tag;
    grpc_byte_buffer *finish_buf;
    bool finished;
};

static bool slot_post(fo_slot *slot);
static void worker_check_settled(fo_worker *w);

/* --- server calls ---------------------------------------------------------- */

static void call_unref(fo_server_call *c)
{
    if (--c->refs > 0)
        return;
    grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->md);
    for (size_t i = 0; i < c->nheaders; i++)
        grpc_slice_unref(c->headers[i].value);
    grpc_byte_buffer_destroy(c->payload);
    grpc_byte_buffer_destroy(c->send_buf);
    grpc_byte_buffer_destroy(c->recv_buf);
    grpc_byte_buffer_destroy(c->finish_buf);
    fo_worker *w = c->worker;
    fo_loop_release(w->loop);
    free(c);
    w->calls--;
    worker_check_settled(w);
}

static void call_closed(fo_tag *tag, bool ok)
{
    (void)ok;
    fo_server_call *c = fo_container_of(tag, fo_server_call, close_tag);
    c->closed = true;
    if (c->cancelled_flag && !c->finished && c->on_cancel != NULL)
        c->on_cancel(c->cancel_ud);
    call_unref(c);
}

static void start_batch(fo_server_call *c, const grpc_op *ops, size_t n, fo_tag *tag)
{
    grpc_call_error rc = grpc_call_start_batch(c->call, ops, n, tag, NULL);
    if (rc != GRPC_CALL_OK) {
        /* Only misuse gets here (two sends at once, a send after finish). */
        fprintf(stderr, "{\"event\":\"bug\",\"what\":\"grpc_call_start_batch: %s\",\"method\":\"%s\"}\n",
                grpc_call_error_to_string(rc), c->method ? c->method->path : "?");
        abort();
    }
}

static fo_server_call *call_create(fo_slot *slot)
{
    fo_server_call *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    c->call = slot->call;
    c->worker = slot->worker;
    c->method = slot->method;
    c->deadline_ns = fo_deadline_from_gpr(slot->deadline);
    c->md = slot->md; /* moved out of the slot, which re-initializes its own */
    c->payload = slot->payload;
    c->refs = 2;
    fo_loop_hold(c->worker->loop);
    c->worker->calls++;

    c->close_tag.fn = call_closed;
    grpc_op op = {.op = GRPC_OP_RECV_CLOSE_ON_SERVER};
    op.data.recv_close_on_server.cancelled = &c->cancelled_flag;
    start_batch(c, &op, 1, &c->close_tag);
    return c;
}

fo_loop *fo_server_call_loop(fo_server_call *c) { return c->worker->loop; }

int fo_server_call_worker(const fo_server_call *c) { return (int)(c->worker - c->worker->server->workers); }

int64_t fo_server_call_deadline(const fo_server_call *c) { return c->deadline_ns; }

const char *fo_server_call_metadata(const fo_server_call *c, const char *key, size_t *len)
{
    return fo_md_find(&c->md, key, len);
}

ProtobufCMessage *fo_server_call_request(const fo_server_call *c, const ProtobufCMessageDescriptor *desc,
                                         fo_error **err)
{
    if (c->payload == NULL) {
        *err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "no request message");
        return NULL;
    }
    ProtobufCMessage *msg = fo_buffer_unpack(c->payload, desc);
    if (msg == NULL)
        *err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "request is not a valid %s", desc->name);
    return msg;
}

void fo_server_call_on_cancel(fo_server_call *c, void (*fn)(void *ud), void *ud)
{
    c->on_cancel = fn;
    c->cancel_ud = ud;
}

bool fo_server_call_cancelled(const fo_server_call *c) { return c->closed && c->cancelled_flag; }

static void add_initial_metadata_op(fo_server_call *c, grpc_op *ops, size_t *n)
{
    if (c->initial_md_sent)
        return;
    c->initial_md_sent = true;
    memset(&ops[*n], 0, sizeof ops[*n]);
    ops[*n].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[*n].data.send_initial_metadata.count = c->nheaders;
    ops[*n].data.send_initial_metadata.metadata = c->nheaders > 0 ? c->headers : NULL;
    (*n)++;
}

bool fo_server_call_add_header(fo_server_call *c, const char *key, const char *value, size_t len)
{
    if (c->initial_md_sent || c->nheaders == FO_SERVER_CALL_MAX_HEADERS)
        return false;
    /* A copy: gRPC may encode the headers after the caller's bytes are gone. */
    c->headers[c->nheaders++] =
        (grpc_metadata){.key = grpc_slice_from_static_string(key), .value = grpc_slice_from_copied_buffer(value, len)};
    return true;
}

static void call_sent(fo_tag *tag, bool ok)
{
    fo_server_call *c = fo_container_of(tag, fo_server_call, send_tag);
    grpc_byte_buffer_destroy(c->send_buf);
    c->send_buf = NULL;
    fo_tag *done = c->send_done;
    c->send_done = NULL;
    done->fn(done, ok);
    call_unref(c);
}

void fo_server_call_send(fo_server_call *c, const fo_payload *msg, fo_tag *done)
{
    grpc_op ops[2];
    size_t n = 0;
    add_initial_metadata_op(c, ops, &n);
    c->send_buf = fo_payload_buffer(msg);
    c->send_done = done;
    memset(&ops[n], 0, sizeof ops[n]);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = c->send_buf;
    n++;
    c->send_tag.fn = call_sent;
    c->refs++;
    start_batch(c, ops, n, &c->send_tag);
}

static void call_received(fo_tag *tag, bool ok)
{
    fo_server_call *c = fo_container_of(tag, fo_server_call, recv_tag);
    fo_tag *done = c->recv_done;
    c->recv_done = NULL;
    done->fn(done, ok);
    call_unref(c);
}

void fo_server_call_recv(fo_server_call *c, fo_tag *done)
{
    grpc_byte_buffer_destroy(c->recv_buf);
    c->recv_buf = NULL;
    c->recv_done = done;
    grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
    op.data.recv_message.recv_message = &c->recv_buf;
    c->recv_tag.fn = call_received;
    c->refs++;
    start_batch(c, &op, 1, &c->recv_tag);
}

ProtobufCMessage *fo_server_call_take_message(fo_server_call *c, const ProtobufCMessageDescriptor *desc, bool *end)
{
    *end = c->recv_buf == NULL;
    ProtobufCMessage *msg = fo_buffer_unpack(c->recv_buf, desc);
    grpc_byte_buffer_destroy(c->recv_buf);
    c->recv_buf = NULL;
    return msg;
}

static void call_finished(fo_tag *tag, bool ok)
{
    (void)ok; /* a cancelled call cannot take a status; nothing more to do */
    fo_server_call *c = fo_container_of(tag, fo_server_call, finish_tag);
    call_unref(c);
}

void fo_server_call_finish(fo_server_call *c, fo_status code, const char *message, const fo_payload *reply,
                           const fo_md *trailers, size_t ntrailers)
{
    grpc_op ops[3];
    size_t n = 0;
    c->finished = true;
    add_initial_metadata_op(c, ops, &n);
    if (reply != NULL) {
        c->finish_buf = fo_payload_buffer(reply);
        memset(&ops[n], 0, sizeof ops[n]);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n].data.send_message.send_message = c->finish_buf;
        n++;
    }
    grpc_metadata *md = fo_md_to_grpc(trailers, ntrailers);
    grpc_slice details = grpc_slice_from_copied_string(message ? message : "");
    memset(&ops[n], 0, sizeof ops[n]);
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)code;
    ops[n].data.send_status_from_server.status_details = &details;
    ops[n].data.send_status_from_server.trailing_metadata_count = ntrailers;
    ops[n].data.send_status_from_server.trailing_metadata = md;
    n++;
    c->finish_tag.fn = call_finished;
    /* The handler's reference now belongs to this batch. */
    start_batch(c, ops, n, &c->finish_tag);
    grpc_slice_unref(details);
    free(md);
}

/* --- unregistered methods ------------------------------------------------- */

typedef struct fo_unknown_call {
    fo_tag tag;
    fo_worker *worker;
    grpc_call *call;
    grpc_slice details;
    int cancelled;
} fo_unknown_call;

static void unknown_call_done(fo_tag *tag, bool ok)
{
    (void)ok;
    fo_unknown_call *u = fo_container_of(tag, fo_unknown_call, tag);
    fo_worker *w = u->worker;
    grpc_call_unref(u->call);
    grpc_slice_unref(u->details);
    free(u);
    w->calls--;
    worker_check_settled(w);
}

static void answer_unimplemented(fo_slot *slot)
{
    fo_unknown_call *u = calloc(1, sizeof *u);
    if (u == NULL)
        abort();
    u->tag.fn = unknown_call_done;
    u->worker = slot->worker;
    u->worker->calls++;
    u->call = slot->call;
    char msg[300];
    snprintf(msg, sizeof msg, "unknown method %.*s", (int)GRPC_SLICE_LENGTH(slot->details.method),
             (const char *)GRPC_SLICE_START_PTR(slot->details.method));
    u->details = grpc_slice_from_copied_string(msg);
    grpc_op ops[3];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[1].data.send_status_from_server.status = GRPC_STATUS_UNIMPLEMENTED;
    ops[1].data.send_status_from_server.status_details = &u->details;
    ops[2].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[2].data.recv_close_on_server.cancelled = &u->cancelled;
    if (grpc_call_start_batch(u->call, ops, 3, &u->tag, NULL) != GRPC_CALL_OK)
        unknown_call_done(&u->tag, false);
}

/* --- request slots -------------------------------------------------------- */

/* The slot came back and is not posted again: nothing of it is on the queue any more. */
static void slot_retire(fo_slot *slot)
{
    atomic_fetch_sub(&slot->worker->slots_out, 1);
    worker_check_settled(slot->worker);
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
        answer_unimplemented(slot);
        grpc_call_details_destroy(&slot->details);
        grpc_call_details_init(&slot->details);
        grpc_metadata_array_destroy(&slot->md);
        grpc_metadata_array_init(&slot->md);
    } else {
        fo_server_call *c = call_create(slot);
        slot->payload = NULL;
        grpc_metadata_array_init(&slot->md);
        fo_error *refused = s->admit != NULL ? s->admit(c, slot->method->path, s->admit_ctx) : NULL;
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
        rc = grpc_server_request_call(w->grpc, &slot->call, &slot->details, &slot->md, cq, cq, &slot->tag);
    } else {
        bool with_payload = slot->method->kind != FO_RPC_BIDI_STREAM;
        void *handle = w->handles[slot->method - w->server->methods];
        rc = grpc_server_request_registered_call(w->grpc, handle, &slot->call, &slot->deadline, &slot->md,
                                                 with_payload ? &slot->payload : NULL, cq, cq, &slot->tag);
    }
    if (rc != GRPC_CALL_OK)
        fprintf(stderr, "{\"event\":\"error\",\"what\":\"request_call: %s\"}\n", grpc_call_error_to_string(rc));
    return rc == GRPC_CALL_OK;
}

/* --- the end of a server on a borrowed loop ------------------------------- */

/* On the loop's thread, its last use of the server: fo_server_shutdown_end may go on. */
static void worker_settled(void *arg)
{
    fo_server *s = ((fo_worker *)arg)->server;
    pthread_mutex_lock(&s->settle_mu);
    s->settled = true;
    pthread_cond_signal(&s->settle_cv);
    pthread_mutex_unlock(&s->settle_mu);
}

/*
 * On the loop's thread, after each request that came back for good and each
 * call freed. Once the shutdown awaits it and neither is left, nothing of
 * the server remains on the queue; the word goes through a post, which runs
 * at the start of the loop's next turn, after every post queued before it.
 */
static void worker_check_settled(fo_worker *w)
{
    if (!w->awaited || w->settle_posted)
        return;
    if (atomic_load(&w->slots_out) > 0 || w->calls > 0)
        return;
    w->settle_posted = true;
    fo_loop_post(w->loop, worker_settled, w);
}

/*
 * Posted by fo_server_shutdown_begin: from now on the loop reports when the
 * server has settled. Only after this post has run can worker_settled be
 * posted, so no post of ours is left on the loop once the shutdown returns.
 */
static void worker_await(void *arg)
{
    fo_worker *w = arg;
    w->awaited = true;
    worker_check_settled(w); /* it may have settled already */
}

static void wait_settled(fo_server *s)
{
    pthread_mutex_lock(&s->settle_mu);
    while (!s->settled)
        pthread_cond_wait(&s->settle_cv, &s->settle_mu);
    pthread_mutex_unlock(&s->settle_mu);
}

/* --- server lifetime ------------------------------------------------------ */

/* Fills args with what every worker's server is created with; returns how many. */
static size_t server_args(const fo_server_opts *opts, grpc_arg args[SERVER_MAX_ARGS])
{
    size_t nargs = 0;
    /*
     * A connection that never finishes its HTTP/2 preface (or TLS handshake)
     * holds a file descriptor for gRPC's default 120 s; hostile or broken
     * clients get much less.
     */
    args[nargs++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
                               .key = GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                               .value.integer = SERVER_HANDSHAKE_TIMEOUT_MS};
    /* No channelz, as on the client side (fo_channel_create). */
    args[nargs++] = (grpc_arg){.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_CHANNELZ, .value.integer = 0};
    /* Every worker binds the same port; the kernel spreads connections over them. */
    args[nargs++] = (grpc_arg){.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ALLOW_REUSEPORT, .value.integer = 1};
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
    grpc_arg args[SERVER_MAX_ARGS];
    grpc_channel_args chargs = {.num_args = server_args(opts, args), .args = args};
    s->borrowed = opts->loop != NULL;
    s->admit = opts->admit;
    s->admit_ctx = opts->admit_ctx;
    s->nworkers = s->borrowed ? 1 : opts->workers > 0 ? opts->workers : 1;
    s->workers = fo_xcalloc((size_t)s->nworkers, sizeof *s->workers);
    for (int i = 0; i < s->nworkers; i++) {
        fo_worker *w = &s->workers[i];
        w->server = s;
        /* One queue may serve several servers: each finds its own calls by their tags. */
        w->loop = s->borrowed ? opts->loop : fo_loop_create();
        if (!s->borrowed)
            fo_loop_set_precise_timers(w->loop, opts->precise_timers);
        atomic_init(&w->slots_out, 0);
        w->grpc = grpc_server_create(&chargs, NULL);
        grpc_server_register_completion_queue(w->grpc, fo_loop_cq(w->loop), NULL);
    }
    atomic_init(&s->shutting_down, false);
    pthread_mutex_init(&s->settle_mu, NULL);
    pthread_cond_init(&s->settle_cv, NULL);
    return s;
}

void fo_server_add_method(fo_server *s, const char *path, fo_rpc_kind kind, fo_handler_fn fn, void *ctx)
{
    if (s->nmethods == MAX_METHODS || s->started)
        abort(); /* a programming error, caught in every test run */
    int m = s->nmethods++;
    s->methods[m] = (fo_method){.path = path, .kind = kind, .fn = fn, .ctx = ctx};
    grpc_server_register_method_payload_handling payload =
        kind == FO_RPC_BIDI_STREAM ? GRPC_SRM_PAYLOAD_NONE : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER;
    for (int i = 0; i < s->nworkers; i++)
        s->workers[i].handles[m] = grpc_server_register_method(s->workers[i].grpc, path, NULL, payload, 0);
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

/* Binds one worker's server to addr; the port it got, or 0. */
static int worker_listen(fo_worker *w, const char *addr, const fo_server_tls *tls, fo_error **err)
{
    grpc_server_credentials *creds = NULL;
    *err = server_credentials(tls, &creds);
    if (*err != NULL)
        return 0;
    int bound = grpc_server_add_http2_port(w->grpc, addr, creds);
    grpc_server_credentials_release(creds);
    if (bound <= 0)
        *err = FO_ERROR(FO_STATUS_UNAVAILABLE, "cannot listen on %s (address in use or invalid)", addr);
    return bound;
}

fo_error *fo_server_listen(fo_server *s, const char *addr, const fo_server_tls *tls, int *port)
{
    fo_error *err = NULL;
    int bound = worker_listen(&s->workers[0], addr, tls, &err);
    /* The others take the port the first one got, which port 0 leaves to the kernel. */
    char same[FO_ADDRESS_MAX];
    fo_address_with_port(addr, bound, same, sizeof same);
    for (int i = 1; err == NULL && i < s->nworkers; i++)
        worker_listen(&s->workers[i], same, tls, &err);
    if (err == NULL)
        *port = bound;
    return err;
}

static void *worker_main(void *arg)
{
    fo_worker *w = arg;
    fo_loop_run(w->loop, NULL);
    return NULL;
}

static void worker_post_slots(fo_worker *w)
{
    fo_server *s = w->server;
    /* One catch-all slot answers unregistered methods; calls to them are rare. */
    w->nslots = (size_t)s->nmethods * SLOTS_PER_METHOD + 1;
    w->slots = calloc(w->nslots, sizeof *w->slots);
    if (w->slots == NULL)
        abort();
    for (size_t i = 0; i < w->nslots; i++) {
        fo_slot *slot = &w->slots[i];
        slot->tag.fn = slot_arrived;
        slot->worker = w;
        slot->method = i + 1 < w->nslots ? &s->methods[i / SLOTS_PER_METHOD] : NULL;
        grpc_metadata_array_init(&slot->md);
        grpc_call_details_init(&slot->details);
        /* Counted first: on a running borrowed loop it may come back before slot_post returns. */
        atomic_fetch_add(&w->slots_out, 1);
        if (!slot_post(slot))
            atomic_fetch_sub(&w->slots_out, 1);
    }
}

void fo_server_start(fo_server *s)
{
    for (int i = 0; i < s->nworkers; i++)
        grpc_server_start(s->workers[i].grpc);
    s->started = true;
    for (int i = 0; i < s->nworkers; i++)
        worker_post_slots(&s->workers[i]);
    if (s->borrowed)
        return; /* the caller's thread runs the loop */
    for (int i = 0; i < s->nworkers; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0)
            abort();
    }
}

int fo_server_worker_count(const fo_server *s) { return s->nworkers; }

fo_loop *fo_server_worker_loop(fo_server *s, int i) { return s->workers[i].loop; }

void fo_server_shutdown_begin(fo_server *s)
{
    if (!s->started || s->shutdown_cq != NULL)
        return;
    atomic_store(&s->shutting_down, true);
    /* Each server has its own queue for the workers' shutdown tags. */
    s->shutdown_cq = grpc_completion_queue_create_for_pluck(NULL);
    for (int i = 0; i < s->nworkers; i++)
        grpc_server_shutdown_and_notify(s->workers[i].grpc, s->shutdown_cq, &s->workers[i].shutdown_tag);
    if (s->borrowed)
        fo_loop_post(s->workers[0].loop, worker_await, &s->workers[0]);
}

/* Waits for every worker's server to have shut down; after deadline_ns, cancels the calls left. */
static void wait_shutdown(fo_server *s, int64_t deadline_ns)
{
    bool cancelled = false;
    for (int i = 0; i < s->nworkers; i++) {
        void *tag = &s->workers[i].shutdown_tag;
        grpc_event ev = grpc_completion_queue_pluck(s->shutdown_cq, tag, fo_deadline_to_gpr(deadline_ns), NULL);
        if (ev.type == GRPC_QUEUE_TIMEOUT) {
            for (int j = 0; !cancelled && j < s->nworkers; j++)
                grpc_server_cancel_all_calls(s->workers[j].grpc);
            cancelled = true;
            grpc_completion_queue_pluck(s->shutdown_cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        }
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
        wait_settled(s);
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
    for (int i = 0; i < s->nworkers; i++)
        grpc_server_destroy(s->workers[i].grpc);
    for (int i = 0; i < s->nworkers; i++) {
        /* Own loops dispatch what is still queued as they go, before the slots go; a borrowed one did already. */
        if (!s->borrowed)
            fo_loop_destroy(s->workers[i].loop);
        for (size_t j = 0; j < s->workers[i].nslots; j++)
            slot_release(&s->workers[i].slots[j]);
        free(s->workers[i].slots);
    }
    free(s->workers);
    pthread_mutex_destroy(&s->settle_mu);
    pthread_cond_destroy(&s->settle_cv);
    free(s);
}
