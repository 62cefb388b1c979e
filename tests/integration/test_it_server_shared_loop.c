/*
 * Integration tests of fo_server on a borrowed loop (fo_server_opts.loop),
 * in this process on loopback: two servers share one loop that one thread of
 * the test runs. Each answers as itself; one shuts down, with a call that
 * never ends in flight, while the loop keeps running for the other: its
 * shutdown returns only once the loop has dispatched that call's
 * cancellation, and the other server still answers afterwards. The
 * sanitizers check that nothing is touched after it is freed or leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanout/feature/v1/feature.pb-c.h"
#include "fo_server.h"
#include "fo_time.h"
#include "tool_rpc.h"

#define OK_PATH "/fanout.test.v1.Test/Ok"
#define HANG_PATH "/fanout.test.v1.Test/Hang"
#define CALL_DEADLINE_MS 10000
/* Long enough for the hanging call to reach its server before the shutdown. */
#define IN_FLIGHT_AFTER_MS 300
#define GRACE_MS 200

typedef struct test_server {
    const char *name;
    fo_server *server;
    char address[64];
    int hung;      /* Hang calls that arrived; the loop's thread writes them */
    int cancelled; /* and those it saw cancelled */
} test_server;

typedef struct shared_loop {
    fo_loop *loop;
    pthread_t thread;
} shared_loop;

/* --- the servers' methods, on the shared loop ---------------------------------------- */

/* Answers with a UsageReport whose feature is the server's name. */
static void answer_ok(fo_server_call *call, void *ctx)
{
    const test_server *ts = ctx;
    Fanout__Feature__V1__UsageReport report = FANOUT__FEATURE__V1__USAGE_REPORT__INIT;
    report.feature = (char *)ts->name;
    fo_payload *reply = fo_payload_pack(&report.base);
    fo_server_call_finish(call, FO_STATUS_OK, NULL, reply, NULL, 0);
    fo_payload_free(reply);
}

typedef struct hang_call {
    fo_server_call *call;
    test_server *ts;
} hang_call;

static void hang_cancelled(void *ud)
{
    hang_call *h = ud;
    h->ts->cancelled++;
    fo_server_call_finish(h->call, FO_STATUS_CANCELLED, "cancelled", NULL, NULL, 0);
    free(h);
}

/* Never answers: only a cancellation ends it. */
static void hang(fo_server_call *call, void *ctx)
{
    hang_call *h = malloc(sizeof *h);
    assert_non_null(h);
    *h = (hang_call){.call = call, .ts = ctx};
    h->ts->hung++;
    fo_server_call_on_cancel(call, hang_cancelled, h);
}

/* --- set-up -------------------------------------------------------------------------- */

static void *run_loop(void *loop)
{
    fo_loop_run(loop, NULL);
    return NULL;
}

static void loop_start(shared_loop *sl)
{
    sl->loop = fo_loop_create();
    assert_int_equal(pthread_create(&sl->thread, NULL, run_loop, sl->loop), 0);
}

/* After its last server is destroyed. */
static void loop_stop(shared_loop *sl)
{
    fo_loop_stop(sl->loop);
    pthread_join(sl->thread, NULL);
    fo_loop_destroy(sl->loop);
}

static void server_start(test_server *ts, const char *name, fo_loop *loop)
{
    *ts = (test_server){.name = name};
    ts->server = fo_server_create(&(fo_server_opts){.loop = loop});
    fo_server_add_method(ts->server, OK_PATH, FO_RPC_UNARY, answer_ok, ts);
    fo_server_add_method(ts->server, HANG_PATH, FO_RPC_UNARY, hang, ts);
    int port = 0;
    fo_error *err = fo_server_listen(ts->server, "127.0.0.1:0", NULL, &port);
    if (err != NULL)
        fail_msg("listen: %s", err->message);
    snprintf(ts->address, sizeof ts->address, "127.0.0.1:%d", port);
    fo_server_start(ts->server);
    assert_int_equal(fo_server_worker_count(ts->server), 1);
    assert_ptr_equal(fo_server_worker_loop(ts->server, 0), loop);
}

static void expect_answer(const test_server *ts)
{
    Fanout__Feature__V1__UsageRequest req = FANOUT__FEATURE__V1__USAGE_REQUEST__INIT;
    tool_rpc_result r;
    tool_rpc_call(ts->address, OK_PATH, &req.base, &fanout__feature__v1__usage_report__descriptor, CALL_DEADLINE_MS,
                  NULL, &r);
    if (r.status != FO_STATUS_OK)
        fail_msg("%s: %s (%s)", ts->name, fo_status_name(r.status), r.message);
    assert_string_equal(tool_rpc_usage_reply(&r)->feature, ts->name);
    tool_rpc_result_release(&r);
}

/* --- the tests ---------------------------------------------------------------------- */

static void two_servers_answer_as_themselves(void **state)
{
    (void)state;
    shared_loop sl;
    loop_start(&sl);
    test_server a, b;
    server_start(&a, "a", sl.loop);
    server_start(&b, "b", sl.loop);
    assert_string_not_equal(a.address, b.address);
    for (int i = 0; i < 3; i++) {
        expect_answer(&a);
        expect_answer(&b);
    }
    /* Both stop taking calls at once, then share one grace period (how fo_host_drain_all drains). */
    fo_server_shutdown_begin(a.server);
    fo_server_shutdown_begin(b.server);
    int64_t deadline = fo_deadline_in_ms(GRACE_MS);
    fo_server_shutdown_end(a.server, deadline);
    fo_server_shutdown_end(b.server, deadline);
    fo_server_destroy(a.server);
    fo_server_destroy(b.server);
    loop_stop(&sl);
}

/* Lets the test run a loop for a while: fired turns true when the timer does. */
typedef struct flag_timer {
    fo_timer timer;
    bool fired;
} flag_timer;

static void flag_fired(fo_timer *t) { fo_container_of(t, flag_timer, timer)->fired = true; }

/*
 * a shuts down with a hanging call in flight: after the grace period the call
 * is cancelled, and the shutdown returns only once the shared loop has run
 * its cancellation. b, on the same loop, answers before, during and after.
 */
static void one_server_goes_the_other_stays(void **state)
{
    (void)state;
    shared_loop sl;
    loop_start(&sl);
    test_server a, b;
    server_start(&a, "a", sl.loop);
    server_start(&b, "b", sl.loop);
    expect_answer(&b);

    fo_loop *client = fo_loop_create();
    Fanout__Feature__V1__UsageRequest req = FANOUT__FEATURE__V1__USAGE_REQUEST__INIT;
    tool_rpc_pending hung;
    tool_rpc_start(&hung, client, a.address, HANG_PATH, &req.base, &fanout__feature__v1__usage_report__descriptor,
                   CALL_DEADLINE_MS, NULL);
    flag_timer wait = {.fired = false};
    fo_timer_init(&wait.timer, flag_fired);
    fo_timer_start(client, &wait.timer, fo_deadline_in_ms(IN_FLIGHT_AFTER_MS));
    fo_loop_run(client, &wait.fired);
    assert_false(hung.done);

    int64_t t0 = fo_now_ns();
    fo_server_shutdown(a.server, GRACE_MS);
    int64_t took_ms = (fo_now_ns() - t0) / FO_NS_PER_MS;
    /* Read after the shutdown returned: it synchronised with the loop's thread. */
    assert_int_equal(a.hung, 1);
    assert_int_equal(a.cancelled, 1);
    assert_true(took_ms >= GRACE_MS - 10);
    fo_server_destroy(a.server);

    expect_answer(&b);
    tool_rpc_wait(&hung);
    if (hung.result.status != FO_STATUS_CANCELLED && hung.result.status != FO_STATUS_UNAVAILABLE)
        fail_msg("hung call ended with %s: %s", fo_status_name(hung.result.status), hung.result.message);
    tool_rpc_pending_release(&hung);
    fo_loop_destroy(client);

    expect_answer(&b);
    fo_server_shutdown(b.server, GRACE_MS);
    assert_int_equal(b.hung, 0);
    fo_server_destroy(b.server);
    loop_stop(&sl);
}

/* fo_server_destroy alone shuts down (no grace); a server never started needs nothing of the loop. */
static void destroy_without_shutdown(void **state)
{
    (void)state;
    shared_loop sl;
    loop_start(&sl);
    test_server a;
    server_start(&a, "a", sl.loop);
    expect_answer(&a);
    fo_server_destroy(a.server);
    fo_server *idle = fo_server_create(&(fo_server_opts){.loop = sl.loop});
    fo_server_add_method(idle, OK_PATH, FO_RPC_UNARY, answer_ok, &a);
    fo_server_destroy(idle);
    loop_stop(&sl);
}

static int rpc_init(void **state)
{
    (void)state;
    fo_rpc_init();
    return 0;
}

static int rpc_shutdown(void **state)
{
    (void)state;
    fo_rpc_shutdown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_servers_answer_as_themselves),
        cmocka_unit_test(one_server_goes_the_other_stays),
        cmocka_unit_test(destroy_without_shutdown),
    };
    return cmocka_run_group_tests(tests, rpc_init, rpc_shutdown);
}
