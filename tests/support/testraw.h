/*
 * testraw: clients below gRPC, on plain sockets: a bare HTTP/1.0 exchange,
 * and hostile ones for integration tests: many TCP connections opened at once and dropped, and an HTTP/2
 * client that starts streaming calls and then never grants the server any
 * flow-control window, so nothing the server sends can be delivered.
 */
#ifndef TESTRAW_H
#define TESTRAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One HTTP/1.0 exchange with 127.0.0.1:port: method and path, no body; the
 * whole answer, NUL-terminated and cut at cap - 1 bytes, in out. False when
 * the connection or the request failed.
 */
bool testraw_http10(int port, const char *method, const char *path, char *out, size_t cap);

/* Raises this process's soft RLIMIT_NOFILE to at least n if the hard limit allows; returns the soft limit now. */
long testraw_raise_nofile(long n);

/*
 * Opens n non-blocking TCP connections to address ("127.0.0.1:PORT") at once
 * and waits up to timeout_ms for them to be established. Returns the sockets
 * (malloc'd, -1 for those that failed) and the number established in *up.
 */
int *testraw_connect_many(const char *address, int n, int64_t timeout_ms, int *up);
/* Writes len bytes of data to every open socket, as far as each takes them without blocking. */
void testraw_write_all(const int *fds, int n, const void *data, size_t len);
/* Closes every socket; with reset, as a RST (SO_LINGER 0) instead of a FIN. Frees fds. */
void testraw_close_many(int *fds, int n, bool reset);

/* How a stalled stream ended, as the client saw it. */
typedef enum testraw_end {
    TESTRAW_OPEN = 0,  /* not ended yet */
    TESTRAW_TRAILERS,  /* HEADERS with END_STREAM: a status */
    TESTRAW_RESET,     /* RST_STREAM */
    TESTRAW_CONN_GONE, /* GOAWAY, or the connection closed */
} testraw_end;

#define TESTRAW_MAX_STREAMS 64

typedef struct testraw_h2 {
    int fd;
    int nstreams;
    testraw_end ended[TESTRAW_MAX_STREAMS]; /* stream i has HTTP/2 id 2i+1 */
    size_t len;                             /* bytes in buf not yet parsed */
    unsigned char buf[1 << 16];
} testraw_h2;

/*
 * Connects to address, announces an initial stream window of 0, and starts
 * nstreams calls of path, each sending message (a gRPC message's bytes) with
 * a grpc-timeout of timeout_ms. Returns the connection (malloc'd), or NULL.
 */
testraw_h2 *testraw_h2_stalled(const char *address, const char *path, const void *message, size_t len, int nstreams,
                               int64_t timeout_ms);
/*
 * Reads what the server sends for up to wait_ms, answering its SETTINGS and
 * PINGs but never opening a window, until every stream has ended. Returns
 * the number of streams ended so far.
 */
int testraw_h2_wait(testraw_h2 *h, int64_t wait_ms);
void testraw_h2_close(testraw_h2 *h);

#endif
