/*
 * Integration tests of the aggregator where timing between calls matters:
 * StreamCustomerAnalytics sending results in completion order, a client
 * cancelling while features hang, and the max_in_flight limit. Calls that
 * must overlap or be cancelled run on the test's own fo_loop (tool_rpc_start);
 * the stream is read by tool_stream. One fleet (fleet-fast.json) serves the
 * whole file; the tests that read the aggregator's log or change its limits
 * start an aggregator of their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "fo_loop.h"
#include "fo_time.h"
#include "testproc.h"
#include "tool_rpc.h"
#include "tool_stream.h"

#define FLEET_FAST FANOUT_SOURCE_DIR "/mock_services/fleet-fast.json"
#define AGG_PATH "/fanout.v1.Aggregator/GetCustomerAnalytics"
#define CUSTOMER "cust-7"
#define N_FEATURES 12
/* Generous: nothing in these tests should take this long. */
#define CALL_DEADLINE_MS 10000
/* Far beyond the 200 ms cancellation, so only the cancellation can end the request early. */
#define FEATURE_TIMEOUT_MS 2000
/* The client's deadline on a call that hangs in the aggregator while another is refused. */
#define HANG_DEADLINE_MS 2000

typedef struct fixture {
    tool_proc *fleet;
    tool_proc *agg; /* shared by the streaming tests */
} fixture;

static fixture fx;

/* --- requests ------------------------------------------------------------------------ */

static Fanout__V1__AnalyticsRequest request(const char *const *features, size_t n, Fanout__V1__FailurePolicy policy)
{
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = CUSTOMER;
    req.n_features = n;
    req.features = (char **)features;
    req.failure_policy = policy;
    return req;
}

static void start(tool_rpc_pending *p, fo_loop *loop, const tool_proc *agg, int64_t deadline_ms, const char *mock_fault)
{
    Fanout__V1__AnalyticsRequest req = request(NULL, 0, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    tool_rpc_start(p, loop, tool_proc_field(agg, "address"), AGG_PATH, &req.base,
                   &fanout__v1__analytics_response__descriptor, deadline_ms, mock_fault);
}

/* A blocking request for every feature, none of them faulty: all must succeed. */
static void assert_answers_normally(const tool_proc *agg)
{
    tool_rpc_result r;
    tool_rpc_analytics(tool_proc_field(agg, "address"), CUSTOMER, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL,
                       CALL_DEADLINE_MS, NULL, &r);
    assert_int_equal(r.status, FO_STATUS_OK);
    assert_non_null(r.reply);
    assert_int_equal(tool_rpc_analytics_reply(&r)->succeeded, N_FEATURES);
    tool_rpc_result_release(&r);
}

/* Runs loop for ms, so the calls started on it make progress meanwhile. */
typedef struct loop_pause {
    fo_timer timer;
    bool over;
} loop_pause;

static void pause_over(fo_timer *t) { fo_container_of(t, loop_pause, timer)->over = true; }

static void run_loop_for(fo_loop *loop, int64_t ms)
{
    loop_pause pause = {.over = false};
    fo_timer_init(&pause.timer, pause_over);
    fo_timer_start(loop, &pause.timer, fo_now_ns() + ms * FO_NS_PER_MS);
    fo_loop_run(loop, &pause.over);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A normal request, retried while refused for up to 3 s: the aggregator frees a slot after the client sees the end. */
static fo_status status_once_admitted(const tool_proc *agg)
{
    fo_status status = FO_STATUS_RESOURCE_EXHAUSTED;
    for (int tries = 0; tries < 60 && status == FO_STATUS_RESOURCE_EXHAUSTED; tries++) {
        sleep_ms(50);
        tool_rpc_result r;
        tool_rpc_analytics(tool_proc_field(agg, "address"), CUSTOMER, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL,
                           CALL_DEADLINE_MS, NULL, &r);
        status = r.status;
        tool_rpc_result_release(&r);
    }
    return status;
}

/* --- streaming ---------------------------------------------------------------------------- */

static void assert_streamed_usage(const tool_stream_result *s, size_t i, int index, const char *feature)
{
    const Fanout__V1__FeatureResult *res = s->results[i];
    assert_non_null(res);
    assert_int_equal(res->index, index);
    assert_string_equal(res->feature, feature);
    assert_int_equal(res->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
    assert_string_equal(res->usage->feature, feature);
    assert_int_equal(res->attempts, 1);
}

static void test_stream_in_completion_order(void **state)
{
    (void)state;
    static const char *const features[] = {"listings", "searches", "tours"};
    Fanout__V1__AnalyticsRequest req = request(features, 3, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    tool_stream_result s;
    tool_stream_analytics(tool_proc_field(fx.agg, "address"), &req, CALL_DEADLINE_MS,
                          "listings=delay:800ms,searches=delay:100ms,tours=delay:400ms", &s);
    assert_int_equal(s.status, FO_STATUS_OK);
    assert_int_equal(s.n, 3);
    assert_streamed_usage(&s, 0, 1, "searches");
    assert_streamed_usage(&s, 1, 2, "tours");
    assert_streamed_usage(&s, 2, 0, "listings");
    /*
     * Each result comes when its feature is done: the first some 700 ms
     * before the last (a gap that a loaded machine delays on both sides).
     */
    assert_in_range(s.arrival_ms[0], 100, 2499);
    assert_in_range(s.arrival_ms[1], 400, 2499);
    assert_in_range(s.arrival_ms[2], 800, 2499);
    assert_true(s.arrival_ms[2] - s.arrival_ms[0] >= 500);
    assert_in_range(s.elapsed_ms, 800, 2499);
    tool_stream_result_release(&s);
}

/* Under FAIL_FAST what finished before the failure is streamed, then the failure ends the stream. */
static void test_stream_fail_fast(void **state)
{
    (void)state;
    static const char *const features[] = {"listings", "tours", "offers"};
    Fanout__V1__AnalyticsRequest req = request(features, 3, FANOUT__V1__FAILURE_POLICY__FAIL_FAST);
    tool_stream_result s;
    tool_stream_analytics(tool_proc_field(fx.agg, "address"), &req, CALL_DEADLINE_MS,
                          "tours=delay:200ms,tours=error:UNAVAILABLE,offers=delay:1s", &s);
    assert_int_equal(s.status, FO_STATUS_UNAVAILABLE);
    assert_true(strncmp(s.message, "feature tours: ", strlen("feature tours: ")) == 0);
    assert_non_null(s.failed_feature);
    assert_string_equal(s.failed_feature, "tours");
    assert_int_equal(s.n, 1);
    assert_streamed_usage(&s, 0, 0, "listings");
    /* offers' 1 s was not waited for. */
    assert_in_range(s.elapsed_ms, 200, 999);
    tool_stream_result_release(&s);
}

/* --- cancellation and limits --------------------------------------------------------------- */

static void test_client_cancellation(void **state)
{
    tool_proc *agg = *state;
    fo_loop *loop = fo_loop_create();
    tool_rpc_pending p;
    start(&p, loop, agg, 0, "listings=hang");
    tool_rpc_cancel_after(&p, 200);
    tool_rpc_wait(&p);
    assert_int_equal(p.result.status, FO_STATUS_CANCELLED);
    assert_in_range(p.result.elapsed_ms, 200, 1499);
    tool_rpc_pending_release(&p);
    fo_loop_destroy(loop);

    /* The aggregator ends the request on the cancellation, well before listings' 2 s timeout would. */
    assert_true(tool_proc_wait_output(agg, "\"status\":\"CANCELLED\"", 1500));
    assert_answers_normally(agg);
}

static void test_over_max_in_flight(void **state)
{
    tool_proc *agg = *state; /* max_in_flight 1 */
    fo_loop *loop = fo_loop_create();
    tool_rpc_pending hanging, refused;
    start(&hanging, loop, agg, HANG_DEADLINE_MS, "listings=hang");
    /* Time for it to reach the aggregator; listings holds it there for 2 s. */
    run_loop_for(loop, 500);
    start(&refused, loop, agg, CALL_DEADLINE_MS, NULL);
    tool_rpc_wait(&refused);
    assert_false(hanging.done);
    assert_int_equal(refused.result.status, FO_STATUS_RESOURCE_EXHAUSTED);
    assert_true(refused.result.elapsed_ms < 300);

    tool_rpc_cancel_after(&hanging, 0);
    tool_rpc_wait(&hanging);
    tool_rpc_pending_release(&refused);
    tool_rpc_pending_release(&hanging);
    fo_loop_destroy(loop);

    /* The slot comes back once the aggregator has let the cancelled call go. */
    assert_int_equal(status_once_admitted(agg), FO_STATUS_OK);
}

/* --- fixtures -------------------------------------------------------------------------------- */

static int own_aggregator(void **state, const char *extra_json)
{
    *state = testproc_aggregator_for(fx.fleet, FEATURE_TIMEOUT_MS, extra_json);
    return *state != NULL ? 0 : -1;
}

static int setup_plain_aggregator(void **state) { return own_aggregator(state, NULL); }

static int setup_limited_aggregator(void **state) { return own_aggregator(state, "{\"max_in_flight\": 1}"); }

static int teardown_aggregator(void **state)
{
    tool_proc_free(*state);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tool_proc_free(fx.agg);
    tool_proc_free(fx.fleet);
    fo_rpc_shutdown();
    return 0;
}

static int group_setup(void **state)
{
    fo_rpc_init();
    fx.fleet = testproc_fleet(FLEET_FAST);
    if (fx.fleet != NULL)
        fx.agg = testproc_aggregator_for(fx.fleet, FEATURE_TIMEOUT_MS, NULL);
    if (fx.agg == NULL) {
        group_teardown(state);
        return -1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_in_completion_order),
        cmocka_unit_test(test_stream_fail_fast),
        cmocka_unit_test_setup_teardown(test_client_cancellation, setup_plain_aggregator, teardown_aggregator),
        cmocka_unit_test_setup_teardown(test_over_max_in_flight, setup_limited_aggregator, teardown_aggregator),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
