/*
 * Unit tests of fo_http: a listener on a picked port answers through its
 * handler, runs the completion callback, and bad or taken addresses are
 * errors that name the address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fo_http.h"
#include "testraw.h"

static atomic_int completed;

static enum MHD_Result echo_url(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                const char *version, const char *upload, size_t *upload_len, void **req)
{
    (void)cls, (void)version, (void)upload, (void)upload_len, (void)req;
    char body[128];
    int n = snprintf(body, sizeof body, "%s %s", method, url);
    return fo_http_respond(conn, MHD_HTTP_OK, "text/plain", body, (size_t)n);
}

static void count_completed(void *cls, struct MHD_Connection *conn, void **req, enum MHD_RequestTerminationCode t)
{
    (void)cls, (void)conn, (void)req, (void)t;
    atomic_fetch_add(&completed, 1);
}

static void test_serves_on_picked_port(void **state)
{
    (void)state;
    fo_http *h = NULL;
    fo_http_opts o = {.name = "test", .listen = "127.0.0.1:0", .handler = echo_url, .completed = count_completed};
    assert_null(fo_http_start(&o, &h));
    int port = fo_http_port(h);
    assert_true(port > 0);
    char answer[1024];
    assert_true(testraw_http10(port, "GET", "/some/path", answer, sizeof answer));
    assert_true(strncmp(answer, "HTTP/1.1 200", 12) == 0 || strncmp(answer, "HTTP/1.0 200", 12) == 0);
    assert_non_null(strstr(answer, "Content-Type: text/plain"));
    assert_non_null(strstr(answer, "\r\n\r\nGET /some/path"));
    fo_http_stop(h);
    assert_int_equal(atomic_load(&completed), 1);
}

static void test_bad_addresses(void **state)
{
    (void)state;
    const char *bad[] = {"nocolon", "127.0.0.1:65536", "127.0.0.1:x", "no.such.host.invalid:80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fo_http *h = NULL;
        fo_http_opts o = {.listen = bad[i], .handler = echo_url};
        fo_error *err = fo_http_start(&o, &h);
        assert_non_null(err);
        assert_non_null(strstr(err->message, bad[i]));
        fo_error_free(err);
    }
}

static void test_taken_port(void **state)
{
    (void)state;
    fo_http *a = NULL, *b = NULL;
    fo_http_opts o = {.name = "first", .listen = "127.0.0.1:0", .handler = echo_url};
    assert_null(fo_http_start(&o, &a));
    char taken[32];
    snprintf(taken, sizeof taken, "127.0.0.1:%d", fo_http_port(a));
    fo_http_opts o2 = {.name = "second", .listen = taken, .handler = echo_url};
    fo_error *err = fo_http_start(&o2, &b);
    assert_non_null(err);
    assert_non_null(strstr(err->message, taken));
    fo_error_free(err);
    fo_http_stop(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serves_on_picked_port),
        cmocka_unit_test(test_bad_addresses),
        cmocka_unit_test(test_taken_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
