/*
 * fo_server_call: the server-call API of fo_server.h (metadata, the request,
 * send, recv, finish, cancellation) and the UNIMPLEMENTED answer to methods
 * nobody registered. A call holds its worker's loop and counts in the
 * worker's calls until it is freed; fo_server.c makes calls from its request
 * slots.
 */
#include "fo_loop_internal.h"
#include "fo_rpc_internal.h"
#include "fo_server_internal.h"

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/slice.h>
#include <stdlib.h>
#include <string.h>

#include "fo_alloc.h"
#include "fo_log.h"

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
    fo_worker_check_settled(w);
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
        fo_log(FO_LOG_ERROR, json_pack("{s:s, s:s, s:s, s:s}", "event", "bug", "what", "grpc_call_start_batch", "error",
                                       grpc_call_error_to_string(rc), "method", c->method ? c->method->path : "?"));
        abort();
    }
}

fo_server_call *fo_server_call_create(fo_slot *slot)
{
    fo_server_call *c = fo_xcalloc(1, sizeof *c);
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
    fo_worker_check_settled(w);
}

void fo_server_answer_unimplemented(fo_slot *slot)
{
    fo_unknown_call *u = fo_xcalloc(1, sizeof *u);
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
