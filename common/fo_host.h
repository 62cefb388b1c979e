/*
 * fo_host: the life of a gRPC server process around its own services.
 *
 * Both binaries live the same way: their services plus gRPC health checking
 * and server reflection for them; listen; SERVING; wait for SIGTERM or
 * SIGINT (fo_signals_wait, the caller's); NOT_SERVING, then the drain (no
 * new calls, calls in flight get a grace period, then are cancelled); tear
 * down. The caller blocks the signals first (fo_signals_block) and
 * initialises gRPC (fo_rpc_init).
 */
#ifndef FO_HOST_H
#define FO_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "fo_error.h"
#include "fo_server.h"

typedef struct fo_host_opts {
    /* The names health checks and reflection answer for, the caller's own first. */
    const char *const *services;
    size_t n_services;
    fo_server_opts server;
    const char *listen;       /* "host:port"; port 0 picks a free one */
    const fo_server_tls *tls; /* NULL: plaintext */
    /* Adds the caller's methods to the server before it starts. */
    void (*add_methods)(fo_server *server, void *ud);
    void *ud;
} fo_host_opts;

typedef struct fo_host fo_host;

/*
 * Builds the server, listens and starts serving (health SERVING). On success
 * *address holds where it listens, with the real port. On failure nothing is
 * left behind.
 */
fo_error *fo_host_start(const fo_host_opts *opts, char *address, size_t address_len, fo_host **out);
/* The server's "limits" log line (fo_server_log_limits): after the caller's "listening" line. */
void fo_host_log_limits(const fo_host *h);
/* NOT_SERVING, no new calls, calls in flight get grace_ms to finish, then are cancelled. */
void fo_host_drain(fo_host *h, int64_t grace_ms);
/*
 * The same for n hosts at once, so that draining many costs one grace
 * period, not n: all go NOT_SERVING and stop taking calls first, then their
 * calls in flight share the one grace period.
 */
void fo_host_drain_all(fo_host *const *hosts, size_t n, int64_t grace_ms);
/* The server, for a face that runs its requests on the server's workers (the HTTP one). */
fo_server *fo_host_server(fo_host *h);
void fo_host_destroy(fo_host *h);

#endif
