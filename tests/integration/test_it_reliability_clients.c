/*
 * Hostile clients against the aggregator: bytes that are not an
 * AnalyticsRequest, a request over max_message_bytes, a request of 0 bytes,
 * 2,000 TCP connections opened at once and dropped, and streaming calls whose
 * client never grants the server any flow-control window (it never reads).
 * Each gets a clear status or is cut off, and after each the aggregator still
 * answers a normal request. One fleet and aggregator serve the whole file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fo_rpc.h"
#include "fo_time.h"
#include "test_it_reliability.h"
#include "testraw.h"
#include "tool_rpc.h"

#define UNARY_PATH "/fanout.v1.Aggregator/GetCustomerAnalytics"
#define STREAM_PATH "/fanout.v1.Aggregator/StreamCustomerAnalytics"
#define FEATURE_TIMEOUT_MS 2000
#define MAX_MESSAGE_BYTES 65536
#define FLOOD_CONNECTIONS 2000
/* Room for the aggregator to accept the whole flood before the request behind it. */
#define FLOOD_SERVE_DEADLINE_MS 30000
/* Descriptors the test needs besides the flood: its own channels, logs, the loop. */
#define FD_HEADROOM 256
/* The flood's descriptors must be closed by the aggregator within this, give or take a few of its own. */
#define FD_SETTLE_MS 15000
#define FD_SLACK 16
#define STALLED_STREAMS 16
#define STALL_DEADLINE_MS 1000
/* A stalled stream must end within its deadline plus this. */
#define STALL_SLACK_MS 4000

static rel_fixture *fx;

/* A raw unary call of bytes to path; asserts its status is one of the two given and there is no reply. */
static tool_rpc_result raw_call(const char *path, const void *bytes, size_t len, fo_status a, fo_status b)
{
    tool_rpc_result r;
    tool_rpc_call_raw(rel_address(fx), path, bytes, len, &fanout__v1__analytics_response__descriptor,
                      REL_CALL_DEADLINE_MS, &r);
    if (r.status != a && r.status != b)
        fail_msg("%s: status %s (%s), expected %s or %s", path, fo_status_name(r.status), r.message, fo_status_name(a),
                 fo_status_name(b));
    assert_null(r.reply);
    return r;
}

static void test_garbage_request(void **state)
{
    (void)state;
    /* A string field claiming 2^28 bytes that never come; then bytes that are no field at all. */
    static const unsigned char truncated[] = {0x0a, 0x80, 0x80, 0x80, 0x80, 0x01, 'x'};
    static const unsigned char junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    const char *const paths[] = {UNARY_PATH, STREAM_PATH};
    for (size_t i = 0; i < 2; i++) {
        tool_rpc_result r =
            raw_call(paths[i], truncated, sizeof truncated, FO_STATUS_INVALID_ARGUMENT, FO_STATUS_INTERNAL);
        tool_rpc_result_release(&r);
        r = raw_call(paths[i], junk, sizeof junk, FO_STATUS_INVALID_ARGUMENT, FO_STATUS_INTERNAL);
        tool_rpc_result_release(&r);
    }
    rel_assert_serves(fx);
}

static void test_oversized_request(void **state)
{
    (void)state;
    size_t n = 4 * MAX_MESSAGE_BYTES;
    char *customer = malloc(n + 1);
    assert_non_null(customer);
    memset(customer, 'c', n);
    customer[n] = '\0';
    tool_rpc_result r;
    tool_rpc_analytics(rel_address(fx), customer, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, REL_CALL_DEADLINE_MS,
                       NULL, &r);
    assert_int_equal(r.status, FO_STATUS_RESOURCE_EXHAUSTED);
    assert_null(r.reply);
    tool_rpc_result_release(&r);
    free(customer);
    rel_assert_serves(fx);
}

static void test_empty_request(void **state)
{
    (void)state;
    /* 0 bytes are a valid, empty AnalyticsRequest: refused for what it lacks. */
    tool_rpc_result r = raw_call(UNARY_PATH, "", 0, FO_STATUS_INVALID_ARGUMENT, FO_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(r.message, "customer_id"));
    tool_rpc_result_release(&r);
    rel_assert_serves(fx);
}

/* Waits until the aggregator holds at most limit descriptors; returns the last count. */
static int await_fds_below(int limit)
{
    int64_t until = fo_now_ns() + FD_SETTLE_MS * FO_NS_PER_MS;
    int n = testproc_fd_count(fx->agg->pid);
    while (n > limit && fo_now_ns() < until) {
        rel_sleep_ms(100);
        n = testproc_fd_count(fx->agg->pid);
    }
    return n;
}

static void test_connection_flood(void **state)
{
    (void)state;
    int baseline = testproc_fd_count(fx->agg->pid);
    assert_true(baseline > 0);
    int up = 0;
    int *fds = testraw_connect_many(rel_address(fx), FLOOD_CONNECTIONS, 10000, &up);
    print_message("flood: %d of %d connections up; aggregator fds %d before, %d with them open\n", up,
                  FLOOD_CONNECTIONS, baseline, testproc_fd_count(fx->agg->pid));
    assert_int_equal(up, FLOOD_CONNECTIONS);
    /* A third send a valid HTTP/2 preface and then garbage, a third half a preface, the rest nothing. */
    static const char preface_then_junk[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff";
    static const char half_preface[] = "PRI * HTTP/2.0\r\n";
    int third = FLOOD_CONNECTIONS / 3;
    testraw_write_all(fds, third, preface_then_junk, sizeof preface_then_junk - 1);
    testraw_write_all(fds + third, third, half_preface, sizeof half_preface - 1);
    /*
     * Others are served while the flood is open. A new connection waits in the listen queue behind
     * the flood's: gRPC accepts them in order (a few hundred a second under ASan on a busy machine).
     */
    int64_t ms = rel_assert_serves_within(fx, FLOOD_SERVE_DEADLINE_MS);
    print_message("flood: a normal request answered in %lld ms meanwhile; aggregator fds %d\n", (long long)ms,
                  testproc_fd_count(fx->agg->pid));
    /* Half dropped with a RST, half with a FIN. */
    int half = FLOOD_CONNECTIONS / 2;
    int *rest = malloc((size_t)(FLOOD_CONNECTIONS - half) * sizeof *rest);
    assert_non_null(rest);
    memcpy(rest, fds + half, (size_t)(FLOOD_CONNECTIONS - half) * sizeof *rest);
    testraw_close_many(fds, half, true);
    testraw_close_many(rest, FLOOD_CONNECTIONS - half, false);
    rel_assert_serves(fx);
    int after = await_fds_below(baseline + FD_SLACK);
    print_message("flood: aggregator fds %d after the drop\n", after);
    assert_true(after <= baseline + FD_SLACK);
}

/* Requests for StreamCustomerAnalytics the aggregator logged so far as ended by their deadline. */
static size_t stream_requests_logged(void)
{
    json_t *lines = testproc_events(fx->agg, "request");
    size_t n = 0, i;
    json_t *line;
    json_array_foreach(lines, i, line)
    {
        const char *method = json_string_value(json_object_get(line, "method"));
        const char *status = json_string_value(json_object_get(line, "status"));
        n += method != NULL && strcmp(method, "StreamCustomerAnalytics") == 0 && status != NULL &&
             strcmp(status, "DEADLINE_EXCEEDED") == 0;
    }
    json_decref(lines);
    return n;
}

static void test_stream_never_read(void **state)
{
    (void)state;
    size_t logged_before = stream_requests_logged();
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = REL_CUSTOMER;
    uint8_t msg[64];
    size_t len = fanout__v1__analytics_request__pack(&req, msg);
    int64_t t0 = fo_now_ns();
    testraw_h2 *h = testraw_h2_stalled(rel_address(fx), STREAM_PATH, msg, len, STALLED_STREAMS, STALL_DEADLINE_MS);
    assert_non_null(h);
    /* Others are served while the streams are stuck. */
    rel_assert_serves(fx);
    int ended = testraw_h2_wait(h, STALL_DEADLINE_MS + STALL_SLACK_MS);
    int64_t elapsed_ms = (fo_now_ns() - t0) / FO_NS_PER_MS;
    int how[TESTRAW_CONN_GONE + 1] = {0};
    for (int i = 0; i < STALLED_STREAMS; i++)
        how[h->ended[i]]++;
    print_message("stalled streams: %d of %d ended after %lld ms: %d with a status, %d reset, %d by the "
                  "connection\n",
                  ended, STALLED_STREAMS, (long long)elapsed_ms, how[TESTRAW_TRAILERS], how[TESTRAW_RESET],
                  how[TESTRAW_CONN_GONE]);
    testraw_h2_close(h);
    assert_int_equal(ended, STALLED_STREAMS);
    /*
     * Not by luck: nothing could be delivered, so they ended at their deadline, and the aggregator
     * itself finished every one of those requests (its log line comes at the end).
     */
    assert_true(elapsed_ms >= STALL_DEADLINE_MS - 50);
    int64_t until = fo_now_ns() + STALL_SLACK_MS * FO_NS_PER_MS;
    while (stream_requests_logged() < logged_before + STALLED_STREAMS && fo_now_ns() < until) {
        rel_sleep_ms(50);
    }
    assert_int_equal(stream_requests_logged(), logged_before + STALLED_STREAMS);
    rel_assert_serves(fx);
}

static int setup(void **state)
{
    (void)state;
    /* Raised before the aggregator starts, so that it inherits room for the flood too. */
    if (testraw_raise_nofile(FLOOD_CONNECTIONS + FD_HEADROOM) < FLOOD_CONNECTIONS + FD_HEADROOM) {
        print_error("RLIMIT_NOFILE cannot be raised to %d\n", FLOOD_CONNECTIONS + FD_HEADROOM);
        return -1;
    }
    fx = rel_group_start(FEATURE_TIMEOUT_MS, MAX_MESSAGE_BYTES);
    return fx == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    return rel_group_stop(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_request),   cmocka_unit_test(test_oversized_request),
        cmocka_unit_test(test_empty_request),     cmocka_unit_test(test_connection_flood),
        cmocka_unit_test(test_stream_never_read),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
