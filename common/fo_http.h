/*
 * fo_http: an HTTP/1.1 listener on libmicrohttpd, for the faces that are not
 * gRPC (the admin endpoints, the HTTP/JSON API). libmicrohttpd parses the
 * requests and runs its own polling threads beside the completion-queue
 * threads, so a slow or hostile HTTP client never holds a worker. The handler
 * is libmicrohttpd's own access handler: a face uses the library's API
 * directly (queueing responses, suspending a connection for an answer that
 * comes later); this file only owns the daemon's lifetime and the settings
 * every listener shares (address, limits, timeouts, TLS, logs).
 */
#ifndef FO_HTTP_H
#define FO_HTTP_H

#include <microhttpd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fo_error.h"

typedef struct fo_http fo_http;

typedef struct fo_http_opts {
    const char *name;   /* in log lines: "admin", "http" */
    const char *listen; /* "host:port", "[v6]:port"; port 0 picks a free one */
    MHD_AccessHandlerCallback handler;
    void *ctx;
    /* Called once per request that reached the handler, however it ended
     * (answered, client gone, timed out); NULL: none. */
    MHD_RequestCompletedCallback completed;
    unsigned threads;         /* polling threads; 0: 1 */
    unsigned max_connections; /* 0: libmicrohttpd's default */
    unsigned timeout_s;       /* idle connection timeout; 0: 30 s */
    size_t memory_per_conn;   /* bounds headers and buffered body; 0: 32 KiB */
    /* PEM text; both set: HTTPS. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    /* PEM text of the CAs client certificates must chain to; set: the handshake asks for one, and
     * fo_http_client_verified tells whether it was given and verifies. */
    const char *tls_client_ca_pem;
} fo_http_opts;

/* Binds and starts serving; a bad address or a failed bind is an error naming it. */
fo_error *fo_http_start(const fo_http_opts *opts, fo_http **out);
/* The bound port (the one picked when opts->listen asked for 0). */
int fo_http_port(const fo_http *h);
/* Stops accepting, closes every connection (completed runs for each), frees h. */
void fo_http_stop(fo_http *h);

/* For the handler of a listener with tls_client_ca_pem: whether the client sent a certificate that
 * verifies against it (chain, validity, usage). */
bool fo_http_client_verified(struct MHD_Connection *conn);

/* Queues a response with a copy of body; for the handler. */
enum MHD_Result fo_http_respond(struct MHD_Connection *conn, unsigned status, const char *content_type,
                                const void *body, size_t len);

#endif
