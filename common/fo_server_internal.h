/*
 * fo_server_internal: what the server's files share (fo_server.c, the
 * lifetime and the request slots; fo_server_call.c, the calls;
 * fo_server_settle.c, the end of a server on a borrowed loop). Nothing else
 * includes it.
 */
#ifndef FO_SERVER_INTERNAL_H
#define FO_SERVER_INTERNAL_H

#include <grpc/grpc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "fo_server.h"

#define FO_SERVER_MAX_METHODS 16

typedef struct fo_method {
    const char *path;
    fo_rpc_kind kind;
    fo_handler_fn fn;
    void *ctx;
    void *handle; /* from grpc_server_register_method */
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
 * A worker is one thread running one loop, whose queue is registered with
 * the server. gRPC hands each accepted connection to the workers' queues in
 * turn and each call to its connection's queue, so a connection, every call
 * on it and every completion of those calls stay on the worker's thread.
 */
struct fo_worker {
    fo_server *server;
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
};

struct fo_server {
    grpc_server *grpc;
    fo_method methods[FO_SERVER_MAX_METHODS];
    int nmethods;
    fo_worker *workers;
    int nworkers;
    bool borrowed; /* workers[0].loop is the caller's, run by the caller's thread */
    bool started;
    atomic_bool shutting_down;
    grpc_completion_queue *shutdown_cq; /* from fo_server_shutdown_begin to _end */

    /* A borrowed loop's word to fo_server_shutdown_end that nothing of the server is left on it (fo_server_settle.c). */
    pthread_mutex_t settle_mu;
    pthread_cond_t settle_cv;
    bool settled;
    fo_admit_fn admit;
    void *admit_ctx;
    fo_server_limits limits;    /* the opts' flood protections, defaults resolved */
    grpc_resource_quota *quota; /* the memory budget, as gRPC's transports see it */
};

/* fo_server_call.c: a call for what arrived in the slot, which hands it its request and metadata. */
fo_server_call *fo_server_call_create(fo_slot *slot);
/* fo_server_call.c: answers a call to a method nobody registered with UNIMPLEMENTED. */
void fo_server_answer_unimplemented(fo_slot *slot);

/* fo_server_settle.c: the borrowed loop's word that the server has settled, and the wait for it. */
void fo_server_settle_init(fo_server *s);
void fo_server_settle_destroy(fo_server *s);
/* After each request that came back for good and each call freed, on the loop's thread. */
void fo_worker_check_settled(fo_worker *w);
/* From fo_server_shutdown_begin: the loop reports from now on. */
void fo_server_settle_await(fo_server *s);
/* From fo_server_shutdown_end: blocks until the loop has reported. */
void fo_server_settle_wait(fo_server *s);

/* fo_server_limits.c: resolves opts into s->limits, makes s->quota, and sets the process's cap and budget. */
void fo_server_limits_apply(fo_server *s, const fo_server_limits *opts);
/* The channel arguments that enforce s->limits, into args; returns how many (FO_SERVER_LIMITS_ARGS). */
#define FO_SERVER_LIMITS_ARGS 4
size_t fo_server_limits_args(const fo_server *s, grpc_arg *args);

/* fo_server_accept.c: counts and caps incoming connections process-wide (the largest cap asked for). */
void fo_server_accept_configure(int64_t max_connections);

/* fo_server_memory.c: watches the process's memory against the largest budget asked for. */
void fo_server_memory_configure(int64_t max_memory_mb);
/* Past the budget: new calls are refused. One relaxed atomic load. */
bool fo_server_memory_over(void);

#endif
