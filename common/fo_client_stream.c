/* fo_client_stream: server-streaming client calls on the gRPC C core. */
#include "fo_client_stream.h"
#include "fo_alloc.h"
#include "fo_loop_internal.h"
#include "fo_rpc_internal.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/slice.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Three kinds of batch, each with its own tag: the request (start_tag), the
 * one RECV_MESSAGE in flight at a time (read_tag) and RECV_STATUS_ON_CLIENT
 * (status_tag). pending counts the batches started and not yet completed;
 * the call is over, and on_done runs, when it drops to zero. That happens
 * exactly once: the status batch stays in flight until the call has ended,
 * and a read is only ever started from the completion of an earlier batch.
 */
struct fo_client_stream {
    fo_tag start_tag;
    fo_tag read_tag;
    fo_tag status_tag;
    fo_loop *loop;
    grpc_call *call;
    const ProtobufCMessageDescriptor *reply_desc;
    fo_client_stream_msg_fn on_message;
    fo_client_stream_done_fn on_done;
    void *ud;
    unsigned pending;
    grpc_byte_buffer *request;
    grpc_metadata_array initial_md;
    grpc_metadata_array trailing_md;
    grpc_byte_buffer *reply; /* filled by the read in flight */
    grpc_slice current;      /* the reply being handed to on_message */
    size_t received;
    grpc_status_code status;
    grpc_slice details;
    char *message; /* NUL-terminated copy of details, made on completion */
};

/* Ends the call with INTERNAL: its status batch then completes with that status. */
static void end_call(fo_client_stream *cs, const char *why)
{
    grpc_call_cancel_with_status(cs->call, GRPC_STATUS_INTERNAL, why, NULL);
}

static void end_call_batch_failed(fo_client_stream *cs, grpc_call_error rc)
{
    char why[128];
    snprintf(why, sizeof why, "grpc_call_start_batch: %s", grpc_call_error_to_string(rc));
    end_call(cs, why);
}

static void finish_if_idle(fo_client_stream *cs)
{
    if (cs->pending > 0)
        return;
    size_t n = GRPC_SLICE_LENGTH(cs->details);
    cs->message = fo_xmalloc(n + 1);
    memcpy(cs->message, GRPC_SLICE_START_PTR(cs->details), n);
    cs->message[n] = '\0';
    cs->on_done(cs, cs->ud);
}

static void start_read(fo_client_stream *cs)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &cs->reply;
    grpc_call_error rc = grpc_call_start_batch(cs->call, &op, 1, &cs->read_tag, NULL);
    if (rc == GRPC_CALL_OK) {
        cs->pending++;
        return;
    }
    /* No completion comes for a batch the core refused: end the call so that the status does. */
    end_call_batch_failed(cs, rc);
}

/* Hands one reply to on_message; false when it was unusable and the call is being ended. */
static bool deliver(fo_client_stream *cs, grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, bb)) {
        end_call(cs, "cannot read a reply (decompression failed)");
        return false;
    }
    cs->current = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    ProtobufCMessage *msg = NULL;
    bool ok = true;
    if (cs->reply_desc != NULL) {
        msg = protobuf_c_message_unpack(cs->reply_desc, NULL, GRPC_SLICE_LENGTH(cs->current),
                                        GRPC_SLICE_START_PTR(cs->current));
        ok = msg != NULL;
    }
    if (ok) {
        cs->received++;
        cs->on_message(cs, msg, cs->ud);
    } else {
        char why[256];
        snprintf(why, sizeof why, "reply %zu is not a valid %s", cs->received + 1, cs->reply_desc->name);
        end_call(cs, why);
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    grpc_slice_unref(cs->current);
    cs->current = grpc_empty_slice();
    return ok;
}

static void start_done(fo_tag *tag, bool ok)
{
    fo_client_stream *cs = fo_container_of(tag, fo_client_stream, start_tag);
    cs->pending--;
    /* A failed request batch means the call is already over; the status says why. */
    if (ok)
        start_read(cs);
    finish_if_idle(cs);
}

static void read_done(fo_tag *tag, bool ok)
{
    fo_client_stream *cs = fo_container_of(tag, fo_client_stream, read_tag);
    cs->pending--;
    grpc_byte_buffer *bb = cs->reply;
    cs->reply = NULL;
    /* No message (NULL) is the end of the stream; a failed read is the end of the call. */
    if (ok && bb != NULL && deliver(cs, bb))
        start_read(cs);
    grpc_byte_buffer_destroy(bb);
    finish_if_idle(cs);
}

static void status_done(fo_tag *tag, bool ok)
{
    fo_client_stream *cs = fo_container_of(tag, fo_client_stream, status_tag);
    cs->pending--;
    /* A batch with RECV_STATUS_ON_CLIENT always succeeds; be defensive. */
    if (!ok)
        cs->status = GRPC_STATUS_INTERNAL;
    finish_if_idle(cs);
}

static grpc_call *create_call(const fo_call_spec *spec)
{
    gpr_timespec deadline = fo_deadline_to_gpr(spec->deadline_ns);
    grpc_completion_queue *cq = fo_loop_cq(spec->loop);
    if (spec->method != NULL)
        return grpc_channel_create_registered_call(fo_channel_grpc(spec->channel), NULL, 0, cq, spec->method, deadline,
                                                   NULL);
    return grpc_channel_create_call(fo_channel_grpc(spec->channel), NULL, 0, cq,
                                    grpc_slice_from_static_string(spec->path), NULL, deadline, NULL);
}

/* RECV_STATUS_ON_CLIENT, posted first and alone, as grpc's own clients do. */
static grpc_call_error start_status(fo_client_stream *cs)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op.data.recv_status_on_client.trailing_metadata = &cs->trailing_md;
    op.data.recv_status_on_client.status = &cs->status;
    op.data.recv_status_on_client.status_details = &cs->details;
    grpc_call_error rc = grpc_call_start_batch(cs->call, &op, 1, &cs->status_tag, NULL);
    if (rc == GRPC_CALL_OK)
        cs->pending++;
    return rc;
}

/* The request in one batch, with the wait for the server's initial metadata. */
static grpc_call_error start_request(fo_client_stream *cs, const fo_call_spec *spec)
{
    cs->request = fo_payload_buffer(spec->request);
    size_t nmd;
    grpc_metadata *md = fo_spec_md_to_grpc(spec, &nmd);
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = nmd;
    ops[0].data.send_initial_metadata.metadata = md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = cs->request;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &cs->initial_md;
    grpc_call_error rc = grpc_call_start_batch(cs->call, ops, 4, &cs->start_tag, NULL);
    /* The core copies metadata during start_batch. */
    free(md);
    if (rc == GRPC_CALL_OK)
        cs->pending++;
    return rc;
}

fo_client_stream *fo_client_stream_start(const fo_call_spec *spec, const ProtobufCMessageDescriptor *reply_desc,
                                         fo_client_stream_msg_fn on_message, fo_client_stream_done_fn on_done, void *ud,
                                         fo_error **err)
{
    fo_client_stream *cs = fo_xcalloc(1, sizeof *cs);
    cs->start_tag.fn = start_done;
    cs->read_tag.fn = read_done;
    cs->status_tag.fn = status_done;
    cs->reply_desc = reply_desc;
    cs->on_message = on_message;
    cs->on_done = on_done;
    cs->ud = ud;
    cs->current = grpc_empty_slice();
    cs->details = grpc_empty_slice();
    cs->loop = spec->loop;
    fo_loop_hold(cs->loop);
    grpc_metadata_array_init(&cs->initial_md);
    grpc_metadata_array_init(&cs->trailing_md);
    cs->call = create_call(spec);

    grpc_call_error rc = start_status(cs);
    if (rc != GRPC_CALL_OK) {
        /* Nothing is in flight yet: the call can go at once. */
        *err = FO_ERROR(FO_STATUS_INTERNAL, "grpc_call_start_batch: %s", grpc_call_error_to_string(rc));
        fo_client_stream_free(cs);
        return NULL;
    }
    rc = start_request(cs, spec);
    if (rc != GRPC_CALL_OK) {
        /* The status batch is in flight and must complete: report the failure through on_done. */
        end_call_batch_failed(cs, rc);
    }
    return cs;
}

void fo_client_stream_free(fo_client_stream *cs)
{
    if (cs == NULL)
        return;
    if (cs->call != NULL)
        grpc_call_unref(cs->call);
    grpc_byte_buffer_destroy(cs->request);
    grpc_byte_buffer_destroy(cs->reply);
    grpc_metadata_array_destroy(&cs->initial_md);
    grpc_metadata_array_destroy(&cs->trailing_md);
    grpc_slice_unref(cs->current);
    grpc_slice_unref(cs->details);
    free(cs->message);
    fo_loop_release(cs->loop);
    free(cs);
}

const void *fo_client_stream_bytes(const fo_client_stream *cs, size_t *len)
{
    *len = GRPC_SLICE_LENGTH(cs->current);
    return GRPC_SLICE_START_PTR(cs->current);
}

size_t fo_client_stream_received(const fo_client_stream *cs) { return cs->received; }

fo_status fo_client_stream_status(const fo_client_stream *cs) { return (fo_status)cs->status; }

const char *fo_client_stream_message(const fo_client_stream *cs) { return cs->message ? cs->message : ""; }

const char *fo_client_stream_trailer(const fo_client_stream *cs, const char *key, size_t *len)
{
    return fo_md_find(&cs->trailing_md, key, len);
}
