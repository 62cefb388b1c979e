/* testraw: connection floods and a window-starving HTTP/2 client on plain sockets. */
#include "testraw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define FRAME_HEADER 9
enum { H2_DATA = 0, H2_HEADERS = 1, H2_RST_STREAM = 3, H2_SETTINGS = 4, H2_PING = 6, H2_GOAWAY = 7 };
enum { H2_END_STREAM = 0x1, H2_ACK = 0x1, H2_END_HEADERS = 0x4 };
enum { H2_SETTINGS_ENABLE_PUSH = 0x2, H2_SETTINGS_INITIAL_WINDOW_SIZE = 0x4 };

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool testraw_http10(int port, const char *method, const char *path, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[256];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method, path);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || n < 0 || (size_t)n >= sizeof req ||
        write(fd, req, (size_t)n) != n) {
        close(fd);
        return false;
    }
    size_t got = 0;
    ssize_t r;
    while (got + 1 < cap && (r = read(fd, out + got, cap - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    close(fd);
    return true;
}

long testraw_raise_nofile(long n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if ((long)rl.rlim_cur < n) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || (long)rl.rlim_max >= n ? (rlim_t)n : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (long)rl.rlim_cur;
}

static bool parse_address(const char *address, struct sockaddr_in *sa)
{
    const char *colon = strrchr(address, ':');
    if (colon == NULL || (size_t)(colon - address) >= 64)
        return false;
    char host[64];
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    *sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

static int connect_nonblocking(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Waits for the sockets still connecting; closes (and marks -1) those that fail. Returns the ones up. */
static int await_connected(int *fds, int n, int64_t timeout_ms)
{
    struct pollfd *pfds = calloc((size_t)n, sizeof *pfds);
    bool *up = calloc((size_t)n, sizeof *up);
    if (pfds == NULL || up == NULL)
        abort();
    int64_t until = now_ms() + timeout_ms;
    int waiting = n;
    while (waiting > 0 && now_ms() < until) {
        for (int i = 0; i < n; i++)
            pfds[i] = (struct pollfd){.fd = fds[i] >= 0 && !up[i] ? fds[i] : -1, .events = POLLOUT};
        if (poll(pfds, (nfds_t)n, 100) <= 0)
            continue;
        for (int i = 0; i < n; i++) {
            if (pfds[i].revents == 0)
                continue;
            int err = 0;
            socklen_t elen = sizeof err;
            getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &elen);
            if (err == 0) {
                up[i] = true;
            } else {
                close(fds[i]);
                fds[i] = -1;
            }
        }
        waiting = 0;
        for (int i = 0; i < n; i++)
            waiting += fds[i] >= 0 && !up[i];
    }
    int count = 0;
    for (int i = 0; i < n; i++)
        count += up[i];
    free(pfds);
    free(up);
    return count;
}

int *testraw_connect_many(const char *address, int n, int64_t timeout_ms, int *up)
{
    int *fds = malloc((size_t)n * sizeof *fds);
    if (fds == NULL)
        abort();
    struct sockaddr_in sa;
    bool ok = parse_address(address, &sa);
    for (int i = 0; i < n; i++)
        fds[i] = ok ? connect_nonblocking(&sa) : -1;
    *up = await_connected(fds, n, timeout_ms);
    return fds;
}

void testraw_write_all(const int *fds, int n, const void *data, size_t len)
{
    for (int i = 0; i < n; i++) {
        if (fds[i] >= 0 && send(fds[i], data, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
            fprintf(stderr, "testraw: send: %s\n", strerror(errno));
    }
}

void testraw_close_many(int *fds, int n, bool reset)
{
    struct linger hard = {.l_onoff = 1, .l_linger = 0};
    for (int i = 0; i < n; i++) {
        if (fds[i] < 0)
            continue;
        if (reset)
            setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        close(fds[i]);
    }
    free(fds);
}

/* --- HTTP/2 ------------------------------------------------------------------ */

/* Appends a frame to out (room permitting); returns the new length. */
static size_t frame(unsigned char *out, size_t at, size_t cap, int type, int flags, uint32_t stream,
                    const void *payload, size_t len)
{
    if (at + FRAME_HEADER + len > cap)
        abort();
    unsigned char *h = out + at;
    h[0] = (unsigned char)(len >> 16);
    h[1] = (unsigned char)(len >> 8);
    h[2] = (unsigned char)len;
    h[3] = (unsigned char)type;
    h[4] = (unsigned char)flags;
    h[5] = (unsigned char)(stream >> 24);
    h[6] = (unsigned char)(stream >> 16);
    h[7] = (unsigned char)(stream >> 8);
    h[8] = (unsigned char)stream;
    if (len > 0)
        memcpy(h + FRAME_HEADER, payload, len);
    return at + FRAME_HEADER + len;
}

/* An HPACK "literal header field without indexing, new name", no Huffman; names and values under 127 bytes. */
static size_t hpack_literal(unsigned char *out, size_t at, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    out[at++] = 0x00;
    out[at++] = (unsigned char)nl;
    memcpy(out + at, name, nl);
    at += nl;
    out[at++] = (unsigned char)vl;
    memcpy(out + at, value, vl);
    return at + vl;
}

static bool send_fully(int fd, const unsigned char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* The preface and our SETTINGS: no push, and a window of 0 for every stream. */
static size_t open_connection(unsigned char *out, size_t cap)
{
    size_t at = strlen(H2_PREFACE);
    memcpy(out, H2_PREFACE, at);
    const unsigned char settings[] = {0, H2_SETTINGS_ENABLE_PUSH,         0, 0, 0, 0,
                                      0, H2_SETTINGS_INITIAL_WINDOW_SIZE, 0, 0, 0, 0};
    return frame(out, at, cap, H2_SETTINGS, 0, 0, settings, sizeof settings);
}

/* One call: its HEADERS, then the length-prefixed message in a DATA frame that ends the stream. */
static size_t start_stream(unsigned char *out, size_t at, size_t cap, uint32_t id, const char *path,
                           const char *timeout, const void *message, size_t len)
{
    unsigned char block[512];
    size_t b = 0;
    b = hpack_literal(block, b, ":method", "POST");
    b = hpack_literal(block, b, ":scheme", "http");
    b = hpack_literal(block, b, ":path", path);
    b = hpack_literal(block, b, ":authority", "localhost");
    b = hpack_literal(block, b, "content-type", "application/grpc");
    b = hpack_literal(block, b, "te", "trailers");
    b = hpack_literal(block, b, "grpc-timeout", timeout);
    at = frame(out, at, cap, H2_HEADERS, H2_END_HEADERS, id, block, b);
    unsigned char *msg = malloc(5 + len);
    if (msg == NULL)
        abort();
    msg[0] = 0; /* not compressed */
    msg[1] = (unsigned char)(len >> 24);
    msg[2] = (unsigned char)(len >> 16);
    msg[3] = (unsigned char)(len >> 8);
    msg[4] = (unsigned char)len;
    memcpy(msg + 5, message, len);
    at = frame(out, at, cap, H2_DATA, H2_END_STREAM, id, msg, 5 + len);
    free(msg);
    return at;
}

testraw_h2 *testraw_h2_stalled(const char *address, const char *path, const void *message, size_t len, int nstreams,
                               int64_t timeout_ms)
{
    struct sockaddr_in sa;
    if (nstreams > TESTRAW_MAX_STREAMS || !parse_address(address, &sa))
        return NULL;
    testraw_h2 *h = calloc(1, sizeof *h);
    if (h == NULL)
        abort();
    h->nstreams = nstreams;
    h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    size_t cap = 4096 + (size_t)nstreams * (1024 + len);
    unsigned char *out = malloc(cap);
    if (out == NULL)
        abort();
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%lldm", (long long)timeout_ms);
    size_t at = open_connection(out, cap);
    for (int i = 0; i < nstreams; i++)
        at = start_stream(out, at, cap, (uint32_t)(2 * i + 1), path, timeout, message, len);
    bool ok = h->fd >= 0 && connect(h->fd, (const struct sockaddr *)&sa, sizeof sa) == 0 && send_fully(h->fd, out, at);
    free(out);
    if (!ok) {
        testraw_h2_close(h);
        return NULL;
    }
    return h;
}

static void mark_ended(testraw_h2 *h, uint32_t stream, testraw_end how)
{
    if (stream % 2 == 1 && stream / 2 < (uint32_t)h->nstreams && h->ended[stream / 2] == TESTRAW_OPEN)
        h->ended[stream / 2] = how;
}

static void all_ended(testraw_h2 *h, testraw_end how)
{
    for (int i = 0; i < h->nstreams; i++)
        mark_ended(h, (uint32_t)(2 * i + 1), how);
}

/* Acts on one whole frame from the server. */
static void on_frame(testraw_h2 *h, const unsigned char *f, size_t len)
{
    int type = f[3], flags = f[4];
    uint32_t stream = ((uint32_t)(f[5] & 0x7f) << 24) | ((uint32_t)f[6] << 16) | ((uint32_t)f[7] << 8) | f[8];
    const unsigned char *payload = f + FRAME_HEADER;
    unsigned char reply[FRAME_HEADER + 8];
    if (type == H2_SETTINGS && !(flags & H2_ACK))
        send_fully(h->fd, reply, frame(reply, 0, sizeof reply, H2_SETTINGS, H2_ACK, 0, NULL, 0));
    else if (type == H2_PING && !(flags & H2_ACK) && len == 8)
        send_fully(h->fd, reply, frame(reply, 0, sizeof reply, H2_PING, H2_ACK, 0, payload, 8));
    else if (type == H2_HEADERS && (flags & H2_END_STREAM))
        mark_ended(h, stream, TESTRAW_TRAILERS);
    else if (type == H2_RST_STREAM)
        mark_ended(h, stream, TESTRAW_RESET);
    else if (type == H2_GOAWAY)
        all_ended(h, TESTRAW_CONN_GONE);
}

/* Parses the whole frames in the buffer and keeps the rest; false when a frame cannot fit it. */
static bool take_frames(testraw_h2 *h)
{
    size_t at = 0;
    while (h->len - at >= FRAME_HEADER) {
        const unsigned char *f = h->buf + at;
        size_t len = ((size_t)f[0] << 16) | ((size_t)f[1] << 8) | f[2];
        if (FRAME_HEADER + len > sizeof h->buf)
            return false;
        if (h->len - at < FRAME_HEADER + len)
            break;
        on_frame(h, f, len);
        at += FRAME_HEADER + len;
    }
    memmove(h->buf, h->buf + at, h->len - at);
    h->len -= at;
    return true;
}

static int count_ended(const testraw_h2 *h)
{
    int n = 0;
    for (int i = 0; i < h->nstreams; i++)
        n += h->ended[i] != TESTRAW_OPEN;
    return n;
}

int testraw_h2_wait(testraw_h2 *h, int64_t wait_ms)
{
    int64_t until = now_ms() + wait_ms;
    while (count_ended(h) < h->nstreams && now_ms() < until) {
        struct pollfd p = {.fd = h->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = recv(h->fd, h->buf + h->len, sizeof h->buf - h->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            all_ended(h, TESTRAW_CONN_GONE);
            break;
        }
        h->len += (size_t)n;
        if (!take_frames(h)) {
            fprintf(stderr, "testraw: a frame larger than the buffer\n");
            break;
        }
    }
    return count_ended(h);
}

void testraw_h2_close(testraw_h2 *h)
{
    if (h == NULL)
        return;
    if (h->fd >= 0)
        close(h->fd);
    free(h);
}
