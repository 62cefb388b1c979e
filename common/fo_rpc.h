/*
 * fo_rpc: the client half of the thin gRPC layer.
 *
 * - fo_payload: a packed protobuf message, built once and sent on any number
 *   of calls without copying its bytes again (the aggregator sends the same
 *   UsageRequest to a dozen features).
 * - fo_channel: one long-lived channel to a target, with plaintext or TLS
 *   credentials and an optional load-balancing policy; safe to use from any
 *   thread, though a worker keeps its own for speed.
 * - fo_client_call: one unary call started on a loop's completion queue as a
 *   single batch; on_done runs on that loop exactly once.
 *
 * Deadlines are fo_now_ns() nanoseconds (see fo_time.h).
 */
#ifndef FO_RPC_H
#define FO_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_error.h"
#include "fo_loop.h"

/* Process-wide set-up and tear-down of the gRPC library. */
void fo_rpc_init(void);
void fo_rpc_shutdown(void);
/*
 * The polling engine gRPC runs on, once initialised: "epoll1" (its default on
 * Linux) or what GRPC_POLL_STRATEGY chose; NULL if it cannot tell.
 */
const char *fo_rpc_poll_engine(void);
/* Sizes the gRPC resource quota every client channel shares (a server's memory budget sets it). */
void fo_rpc_channels_budget(int64_t bytes);

/* A metadata pair; value need not be NUL-terminated. */
typedef struct fo_md {
    const char *key;
    const char *value;
    size_t value_len;
} fo_md;

typedef struct fo_payload fo_payload;
fo_payload *fo_payload_pack(const ProtobufCMessage *msg);
/* Bytes as given, e.g. a deliberately malformed message. */
fo_payload *fo_payload_from_bytes(const void *data, size_t len);
/* Room for len bytes, for the caller to write at *data before sending it. */
fo_payload *fo_payload_alloc(size_t len, uint8_t **data);
void fo_payload_free(fo_payload *p);
size_t fo_payload_size(const fo_payload *p);
const uint8_t *fo_payload_data(const fo_payload *p);

typedef struct fo_channel_opts {
    const char *lb_policy;    /* NULL: pick_first; "round_robin" spreads over resolved addresses */
    size_t max_message_bytes; /* 0: gRPC's default */
    const char *tls_ca;       /* PEM file; NULL: plaintext */
    const char *tls_cert;     /* client certificate for mTLS, optional */
    const char *tls_key;
    /*
     * Connections of its own. By default every channel to a target shares
     * one connection per address, process-wide; a worker that must not share
     * its transport with other threads asks for its own.
     */
    bool own_connections;
} fo_channel_opts;

typedef struct fo_channel fo_channel;
fo_error *fo_channel_create(const char *target, const fo_channel_opts *opts, fo_channel **out);
void fo_channel_destroy(fo_channel *ch);
/* Starts connecting now, in the background, rather than at the first call. */
void fo_channel_connect(fo_channel *ch);
/* A pre-registered method ("/pkg.Service/Method") of this channel, for fast call creation. */
void *fo_channel_method(fo_channel *ch, const char *path);

typedef struct fo_server_call fo_server_call;
typedef struct fo_client_call fo_client_call;
typedef void (*fo_client_call_fn)(fo_client_call *cc, void *ud);

typedef struct fo_call_spec {
    fo_channel *channel;
    void *method;        /* from fo_channel_method, or NULL to use path */
    const char *path;    /* "/pkg.Service/Method" when method is NULL */
    fo_loop *loop;       /* where on_done runs */
    int64_t deadline_ns; /* FO_DEADLINE_NONE for none */
    const fo_md *md;
    size_t nmd;
    /* The call's own metadata, sent after md (a child traceparent, say): calls may share md. */
    const fo_md *call_md;
    size_t ncall_md;
    const fo_payload *request;
} fo_call_spec;

/*
 * Starts a unary call. On success on_done(cc, ud) runs later on spec->loop,
 * exactly once, and the caller frees cc with fo_client_call_free from then
 * on (on_done itself may).
 * On failure returns NULL and sets *err; on_done never runs.
 */
fo_client_call *fo_client_call_start(const fo_call_spec *spec, fo_client_call_fn on_done, void *ud, fo_error **err);
/* Asks the call to end now with CANCELLED; on_done still runs. */
void fo_client_call_cancel(fo_client_call *cc);
void fo_client_call_free(fo_client_call *cc);

fo_status fo_client_call_status(const fo_client_call *cc);
const char *fo_client_call_message(const fo_client_call *cc);
/* Unpacks the reply; NULL when there was none or it is not a valid message. */
ProtobufCMessage *fo_client_call_unpack(const fo_client_call *cc, const ProtobufCMessageDescriptor *desc);
/* The reply's bytes as they came, shared with the call (no copy in the usual case); NULL without one. */
fo_payload *fo_client_call_take_reply(fo_client_call *cc);
/* An initial-metadata (header) value, or NULL. */
const char *fo_client_call_header(const fo_client_call *cc, const char *key, size_t *len);
/* A trailing-metadata value, or NULL. */
const char *fo_client_call_trailer(const fo_client_call *cc, const char *key, size_t *len);

/*
 * A blocking unary call on a private loop, for tools and tests: starts spec
 * (spec->loop is ignored) and returns the finished call in *out.
 */
fo_error *fo_client_call_blocking(const fo_call_spec *spec, fo_client_call **out);

#endif
