/*
 * Unit tests of fo_server_accept, the accept4 and close that stand in front
 * of gRPC's listener, on a plain loopback socket: past max_connections a
 * connection is refused at once (reset) and counted again once one closes;
 * out of file descriptors (EMFILE), the waiting connection is refused through
 * the spare descriptor, the caller sees EAGAIN rather than EMFILE, and
 * accepting works again once descriptors are free.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fo_server.h"

#define CAP 2

static int listener = -1;
static struct sockaddr_in where;

static int setup(void **state)
{
    (void)state;
    fo_rpc_init();
    /* A server configures the process's guard (its cap: the largest asked for). */
    fo_server_opts opts = {.workers = 1, .limits = {.max_connections = CAP}};
    fo_server_destroy(fo_server_create(&opts));
    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    where = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof where;
    if (listener < 0 || bind(listener, (struct sockaddr *)&where, sizeof where) != 0 || listen(listener, 64) != 0 ||
        getsockname(listener, (struct sockaddr *)&where, &len) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(listener);
    fo_rpc_shutdown();
    return 0;
}

/* A client socket, connected (loopback: the connection waits in the backlog at once). */
static int client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&where, sizeof where), 0);
    return fd;
}

/* Whether the server side reset the client's connection (read fails with ECONNRESET, within 2 s). */
static bool was_reset(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 2000) != 1)
        return false;
    char b;
    return read(fd, &b, 1) < 0 && errno == ECONNRESET;
}

static int accept_one(void)
{
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    return accept4(listener, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

static void test_cap_refuses_at_once_and_counts_closes(void **state)
{
    (void)state;
    int c[CAP + 1], s[CAP];
    for (int i = 0; i < CAP + 1; i++)
        c[i] = client();
    for (int i = 0; i < CAP; i++) {
        s[i] = accept_one();
        assert_true(s[i] >= 0);
    }
    /* The third is one too many: refused, and nothing else waits. */
    errno = 0;
    assert_int_equal(accept_one(), -1);
    assert_int_equal(errno, EAGAIN);
    assert_true(was_reset(c[CAP]));
    /* A connection closed makes room for the next. */
    close(s[0]);
    int late = client();
    int again = accept_one();
    assert_true(again >= 0);
    close(again);
    close(late);
    close(s[1]);
    for (int i = 0; i < CAP + 1; i++)
        close(c[i]);
}

static void test_out_of_descriptors_refuses_then_recovers(void **state)
{
    (void)state;
    int waiting = client(), later = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(later >= 0);
    /* Every descriptor taken, under a soft limit lowered for the test. */
    struct rlimit was;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
    struct rlimit low = {.rlim_cur = (rlim_t)later + 16, .rlim_max = was.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int fill[32], n = 0;
    while (n < 32 && (fill[n] = dup(listener)) >= 0)
        n++;
    assert_true(n < 32);
    assert_int_equal(errno, EMFILE);
    /* The waiting connection is refused through the spare descriptor; the caller never sees EMFILE. */
    errno = 0;
    assert_int_equal(accept_one(), -1);
    assert_int_equal(errno, EAGAIN);
    assert_true(was_reset(waiting));
    /* Descriptors free again: the next connection is accepted. */
    for (int i = 0; i < n; i++)
        close(fill[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
    assert_int_equal(connect(later, (struct sockaddr *)&where, sizeof where), 0);
    int s = accept_one();
    assert_true(s >= 0);
    close(s);
    close(later);
    close(waiting);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_refuses_at_once_and_counts_closes),
        cmocka_unit_test(test_out_of_descriptors_refuses_then_recovers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
