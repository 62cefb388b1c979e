/*
 * fo_server: the server half of the thin gRPC layer.
 *
 * A server has a fixed number of workers; each worker is one thread running
 * one fo_loop whose completion queue is registered with the server. gRPC
 * hands each accepted connection to the workers' queues in turn, and each
 * call to its connection's queue, where every registered method keeps
 * requests posted, with several workers as many as one connection may open
 * streams (a call that found none would go to another worker's queue). So
 * one client connection is served by one worker, and an
 * incoming call, and all the work it starts, stays on one thread: no lock
 * per request. Calls to methods nobody registered get UNIMPLEMENTED.
 *
 * Instead of its own workers a server may borrow one loop that the caller
 * runs (fo_server_opts.loop). Several servers may share that loop, so that
 * one thread, in one poll, serves all their connections.
 *
 * A handler receives an fo_server_call and owns it until it calls
 * fo_server_call_finish() exactly once (also after a cancellation). The layer
 * frees the call when the status has been sent and the client is gone.
 */
#ifndef FO_SERVER_H
#define FO_SERVER_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_error.h"
#include "fo_loop.h"
#include "fo_rpc.h"

typedef enum fo_rpc_kind {
    FO_RPC_UNARY,         /* one request message arrives with the call */
    FO_RPC_SERVER_STREAM, /* the same, answered with a stream */
    FO_RPC_BIDI_STREAM,   /* requests read with fo_server_call_recv */
} fo_rpc_kind;

typedef void (*fo_handler_fn)(fo_server_call *call, void *ctx);
/* NULL admits the call to path; an error refuses it with its status (owned by the caller). */
typedef fo_error *(*fo_admit_fn)(fo_server_call *call, const char *path, void *ctx);

typedef struct fo_server_tls {
    const char *cert; /* PEM files */
    const char *key;
    const char *client_ca; /* NULL: no client certificates; else mTLS required */
} fo_server_tls;

/*
 * What bounds a server's memory and connections under a flood (README,
 * "Floods"). 0 takes each default (fo_server_limits.c). Memory and connections are the process's: with several servers in one
 * process, the largest asked for holds for all.
 */
typedef struct fo_server_limits {
    /* Past about this much resident memory new calls get RESOURCE_EXHAUSTED; default 75% of the cgroup
     * memory limit, else a quarter of the machine's memory. Also gRPC's resource quota. */
    int64_t max_memory_mb;
    /* Incoming connections held at once; more are refused at once. Default: the open-files limit less
     * a quarter of it (at least 128 kept). */
    int64_t max_connections;
    int64_t max_concurrent_streams; /* per connection (HTTP/2 SETTINGS); default 100 */
    int64_t connection_idle_ms;     /* a connection without calls this long is closed; default 5 min */
    int64_t handshake_timeout_ms;   /* to finish the HTTP/2 preface (and TLS handshake); default 10 s */
} fo_server_limits;

typedef struct fo_server_opts {
    int workers;              /* threads, each with its own queue; at least 1; ignored with loop */
    size_t max_message_bytes; /* larger requests get RESOURCE_EXHAUSTED; 0: gRPC default */
    /*
     * 0: connections live as long as the client keeps them. Else each is
     * ended (GOAWAY; calls in flight finish) after about this long, so that
     * clients re-resolve the server's name and find replicas added since.
     */
    int64_t max_connection_age_ms;
    /* The workers' loops fire timers on time (fo_loop_set_precise_timers); ignored with loop. */
    bool precise_timers;
    /*
     * NULL: the server runs its own workers. Else the server's calls run on
     * this loop, borrowed: the caller runs it on a thread of its own (already,
     * or from fo_server_start on), keeps it running until fo_server_shutdown
     * has returned (see there), and destroys it only after the server.
     */
    fo_loop *loop;
    /* NULL, or asked before every handler: a refused call is finished here and never reaches it. */
    fo_admit_fn admit;
    void *admit_ctx;
    fo_server_limits limits;
} fo_server_opts;

typedef struct fo_server fo_server;

fo_server *fo_server_create(const fo_server_opts *opts);
/* Before fo_server_start. path is "/pkg.Service/Method" and must outlive the server. */
void fo_server_add_method(fo_server *s, const char *path, fo_rpc_kind kind, fo_handler_fn fn, void *ctx);
/* Before fo_server_start; *port receives the bound port (useful with port 0). */
fo_error *fo_server_listen(fo_server *s, const char *addr, const fo_server_tls *tls, int *port);
/*
 * Posts the requests for calls on every worker's queue and starts the own
 * workers; calls are accepted from now on (on a borrowed loop, served while
 * its thread runs it).
 */
void fo_server_start(fo_server *s);
/* One log line with the server's limits and the open-files limits; after the "listening" line. */
void fo_server_log_limits(const fo_server *s);
/* The loops calls run on: the own workers', or the one borrowed loop. */
int fo_server_worker_count(const fo_server *s);
fo_loop *fo_server_worker_loop(fo_server *s, int i);
/*
 * Stops accepting calls, lets calls in flight finish for up to grace_ms,
 * cancels the rest, and returns once nothing of the server is left to run on
 * its loops. Blocking; call it from the main thread, never from a loop's
 * thread. In two steps, so that several servers drain at once: _begin stops
 * accepting calls and returns; _end waits for the calls until deadline_ns (on
 * the fo_time clock), then cancels the rest.
 *
 * What is left after gRPC's own shutdown completes: the posted requests for
 * calls come back with ok=false, and cancelled calls still have their last
 * batches to complete, on the loops' queues. They point into the server, so
 * they must be dispatched before fo_server_destroy frees it:
 *   - own workers: _end stops the workers (each returns once no call holds
 *     its loop) and joins them; fo_server_destroy then destroys their loops,
 *     which dispatches what is still queued, before it frees the requests.
 *   - a borrowed loop: _end does not stop it (other servers may live on it),
 *     and it must keep running meanwhile: it is what dispatches those
 *     completions. _end returns once it has dispatched the last of them
 *     (every request back, every call freed) and then every fo_loop_post made
 *     before _begin (the health service's last notification, say), so the
 *     server's owners may go too. Stop the loop after destroying its last
 *     server.
 */
void fo_server_shutdown(fo_server *s, int64_t grace_ms);
void fo_server_shutdown_begin(fo_server *s);
void fo_server_shutdown_end(fo_server *s, int64_t deadline_ns);
/* Shuts down first if needed (grace 0); a borrowed loop must still run then. */
void fo_server_destroy(fo_server *s);

/* --- calls ---------------------------------------------------------------- */

fo_loop *fo_server_call_loop(fo_server_call *c);
/* The index of the worker the call runs on, 0 to fo_server_worker_count() - 1. */
int fo_server_call_worker(const fo_server_call *c);
int64_t fo_server_call_deadline(const fo_server_call *c);
/* A request-metadata value (not NUL-terminated), or NULL. */
const char *fo_server_call_metadata(const fo_server_call *c, const char *key, size_t *len);
/*
 * Unpacks the request message that came with a unary or server-streaming
 * call. NULL with *err set when there was none or it does not parse.
 */
ProtobufCMessage *fo_server_call_request(const fo_server_call *c, const ProtobufCMessageDescriptor *desc,
                                         fo_error **err);

/*
 * fn(ud) runs at most once, on the call's loop, if the client cancels or the
 * deadline passes before fo_server_call_finish.
 */
void fo_server_call_on_cancel(fo_server_call *c, void (*fn)(void *ud), void *ud);
bool fo_server_call_cancelled(const fo_server_call *c);

/*
 * Adds a header to the call's initial metadata, which goes out with its first
 * message or its status: key a static string, value copied. False once the
 * headers have gone out or when FO_SERVER_CALL_MAX_HEADERS are there.
 */
#define FO_SERVER_CALL_MAX_HEADERS 2
bool fo_server_call_add_header(fo_server_call *c, const char *key, const char *value, size_t len);

/*
 * Streams one message. done->fn(done, ok) runs on the call's loop when the
 * transport has taken it (flow control: one send in flight at a time).
 */
void fo_server_call_send(fo_server_call *c, const fo_payload *msg, fo_tag *done);
/*
 * Reads the next message of a bidi stream; done->fn(done, ok) runs when it
 * has arrived. Then fo_server_call_take_message unpacks it (NULL at the end
 * of the stream, with *end set, or when it does not parse).
 */
void fo_server_call_recv(fo_server_call *c, fo_tag *done);
ProtobufCMessage *fo_server_call_take_message(fo_server_call *c, const ProtobufCMessageDescriptor *desc, bool *end);

/*
 * Ends the call: the optional reply, then the status with its message and
 * trailing metadata. The handler must not touch c afterwards. Payloads are
 * shared, not copied: the caller may free them at once.
 */
void fo_server_call_finish(fo_server_call *c, fo_status code, const char *message, const fo_payload *reply,
                           const fo_md *trailers, size_t ntrailers);

#endif
