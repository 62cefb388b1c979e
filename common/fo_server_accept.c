/*
 * fo_server_accept: the cap on incoming connections, and a listener that
 * keeps accepting after the process ran out of file descriptors.
 *
 * gRPC 1.51's TCP server accepts in its own code, and after one accept4 that
 * fails with EMFILE or ENFILE it never accepts again (grpc/grpc#16058,
 * #20418, #31080). Owning the accept loop instead
 * (grpc_server_add_channel_from_fd) works only for plaintext in 1.51, and TLS
 * must keep working. So this file stands in front of accept4 itself: the
 * accept4 and close defined here are found by the dynamic linker before
 * libc's, for gRPC as for every library of the process (symbol
 * interposition, as an allocator's malloc is), and they call the kernel
 * directly. Each costs a branch or two: accept4 and close are not on the
 * per-call path.
 *
 * accept4 then:
 *   - refuses at once (closed with a reset, so the client's connect fails
 *     now rather than at its deadline) a connection past max_connections, or
 *     one whose descriptor is among the last FDS_KEPT below the open-files
 *     limit, which stay for the feature channels and the rest;
 *   - on EMFILE or ENFILE, frees a spare descriptor held for this, accepts
 *     the waiting connection into it and refuses it (libev's and nginx's
 *     answer), until the backlog is empty; gRPC sees EAGAIN, never EMFILE,
 *     so its listener stays armed and accepts again when descriptors are
 *     free.
 * close forgets the connections accept4 counted.
 */
#include "fo_server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fo_alloc.h"
#include "fo_limits.h"
#include "fo_log.h"
#include "fo_time.h"

/* Descriptors below the open-files limit that no incoming connection may take. */
#define FDS_KEPT 64
/* The descriptors whose connections are counted: beyond, none is accepted. */
#define FDS_TRACKED_MAX (1L << 22)
#define REFUSAL_LOG_INTERVAL_NS 1000000000LL

static struct {
    pthread_once_t once;
    /* The table of counted descriptors, published once its size is set. */
    _Atomic(atomic_uchar *) counted;
    long ncounted;
    long fd_ceiling;
    atomic_long cap; /* the largest max_connections a server of the process asked for */
    atomic_long open;
    atomic_long refused;
    atomic_llong logged_ns;
    pthread_mutex_t spare_mu;
    int spare; /* /dev/null, closed to make room for one accept on EMFILE */
} guard = {.once = PTHREAD_ONCE_INIT, .spare_mu = PTHREAD_MUTEX_INITIALIZER, .spare = -1};

static int sys_close(int fd) { return (int)syscall(SYS_close, fd); }

static int sys_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    return (int)syscall(SYS_accept4, fd, addr, len, flags);
}

static void guard_init(void)
{
    fo_nofile nofile = fo_limits_nofile_raise();
    long n = nofile.soft > FDS_TRACKED_MAX ? FDS_TRACKED_MAX : (long)nofile.soft;
    guard.fd_ceiling = n - FDS_KEPT;
    guard.ncounted = n;
    guard.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    atomic_store(&guard.counted, fo_xcalloc((size_t)n, sizeof(atomic_uchar)));
}

void fo_server_accept_configure(int64_t max_connections)
{
    pthread_once(&guard.once, guard_init);
    long cap = atomic_load(&guard.cap);
    while (cap < max_connections && !atomic_compare_exchange_weak(&guard.cap, &cap, (long)max_connections)) {
    }
}

/* A log line for the first refusal of each second, with the count so far. */
static void log_refusal(const char *why)
{
    long refused = atomic_fetch_add(&guard.refused, 1) + 1;
    int64_t now = fo_now_ns(), last = atomic_load(&guard.logged_ns);
    if (now - last < REFUSAL_LOG_INTERVAL_NS || !atomic_compare_exchange_strong(&guard.logged_ns, &last, now))
        return;
    fo_log(FO_LOG_WARN, json_pack("{s:s, s:s, s:I, s:I, s:I}", "event", "connection_refused", "why", why, "open",
                                  (json_int_t)atomic_load(&guard.open), "max_connections",
                                  (json_int_t)atomic_load(&guard.cap), "refused", (json_int_t)refused));
}

/* Closes an accepted connection with a reset: the client learns at once. */
static void refuse(int fd, const char *why)
{
    struct linger now = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
    sys_close(fd);
    log_refusal(why);
}

/* Counts the connection on fd; false when it is one too many. */
static bool admit(atomic_uchar *counted, int fd)
{
    if (fd >= guard.fd_ceiling)
        return false;
    long before = atomic_fetch_add(&guard.open, 1);
    if (before >= atomic_load(&guard.cap)) {
        atomic_fetch_sub(&guard.open, 1);
        return false;
    }
    atomic_store(&counted[fd], 1);
    return true;
}

/* Out of descriptors: refuses the next waiting connection through the spare one. False when none waits. */
static bool refuse_through_spare(int listener)
{
    pthread_mutex_lock(&guard.spare_mu);
    if (guard.spare >= 0)
        sys_close(guard.spare);
    int fd = sys_accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    guard.spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pthread_mutex_unlock(&guard.spare_mu);
    if (fd < 0)
        return false;
    refuse(fd, "out of file descriptors");
    return true;
}

int accept4(int listener, struct sockaddr *addr, socklen_t *len, int flags)
{
    atomic_uchar *counted = atomic_load(&guard.counted);
    socklen_t room = len != NULL ? *len : 0;
    for (;;) {
        if (len != NULL)
            *len = room;
        int fd = sys_accept4(listener, addr, len, flags);
        if (counted == NULL)
            return fd;
        if (fd >= 0) {
            if (admit(counted, fd))
                return fd;
            refuse(fd, fd >= guard.fd_ceiling ? "file descriptors kept for the rest" : "max_connections");
            continue;
        }
        if (errno != EMFILE && errno != ENFILE)
            return -1;
        if (!refuse_through_spare(listener)) {
            errno = EAGAIN;
            return -1;
        }
    }
}

int close(int fd)
{
    atomic_uchar *counted = atomic_load(&guard.counted);
    /* Forgotten before the descriptor is free, so an accept that gets its number again is counted anew. */
    if (counted != NULL && fd >= 0 && fd < guard.ncounted && atomic_exchange(&counted[fd], 0) != 0)
        atomic_fetch_sub(&guard.open, 1);
    return sys_close(fd);
}
