/*
 * Integration tests of one mock feature service process: its deterministic
 * data, its request checks, an unknown method, fault profiles given with
 * --profile, and a clean stop on SIGTERM with a call in flight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "fo_loop.h"
#include "fo_rpc.h"
#include "fo_time.h"
#include "mock_data.h"
#include "test_it_mock.h"

#define DAY MOCK_DAY_S

/* The same call twice: both replies are the generated report, byte for byte. */
static void test_reply_is_the_generated_report(void **state)
{
    tool_proc *mock = *state;
    tool_rpc_result first, second;
    it_mock_usage(mock, NULL, &first);
    it_mock_assert_report(&first, "listings", IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END);
    /* 30 days not aligned to midnight touch 31 UTC days. */
    assert_int_equal(tool_rpc_usage_reply(&first)->n_daily, 31);

    it_mock_usage(mock, NULL, &second);
    size_t len1, len2;
    uint8_t *bytes1 = it_mock_pack_reply(&first, &len1);
    uint8_t *bytes2 = it_mock_pack_reply(&second, &len2);
    assert_int_equal(len1, len2);
    assert_memory_equal(bytes1, bytes2, len1);
    free(bytes1);
    free(bytes2);
    tool_rpc_result_release(&first);
    tool_rpc_result_release(&second);
}

/* The 0/0 window is the 7 whole UTC days before today, resolved as the service does. */
static void test_default_window(void **state)
{
    tool_proc *mock = *state;
    tool_rpc_result r;
    int64_t start, end;
    /* A call straddling midnight UTC may have used either day; the retry cannot straddle it too. */
    for (;;) {
        int64_t end_after;
        assert_true(mock_window_resolve(0, 0, fo_unix_now(), &start, &end));
        tool_rpc_usage(tool_proc_field(mock, "address"), IT_CUSTOMER, 0, 0, IT_CALL_DEADLINE_MS, NULL, &r);
        mock_window_resolve(0, 0, fo_unix_now(), &start, &end_after);
        if (end_after == end)
            break;
        tool_rpc_result_release(&r);
    }
    assert_int_equal(end - start, MOCK_DEFAULT_WINDOW_DAYS * DAY);
    it_mock_assert_report(&r, "listings", IT_CUSTOMER, start, end);
    assert_int_equal(tool_rpc_usage_reply(&r)->n_daily, MOCK_DEFAULT_WINDOW_DAYS);
    tool_rpc_result_release(&r);
}

/* Calls GetUsage and asserts INVALID_ARGUMENT with a message holding each of the words. */
static void expect_invalid(const tool_proc *mock, const char *customer, int64_t start, int64_t end, const char *word1,
                           const char *word2)
{
    tool_rpc_result r;
    tool_rpc_usage(tool_proc_field(mock, "address"), customer, start, end, IT_CALL_DEADLINE_MS, NULL, &r);
    assert_int_equal(r.status, FO_STATUS_INVALID_ARGUMENT);
    assert_null(r.reply);
    if (strstr(r.message, word1) == NULL || strstr(r.message, word2) == NULL)
        fail_msg("message \"%s\" should name \"%s\" and \"%s\"", r.message, word1, word2);
    tool_rpc_result_release(&r);
}

static void test_bad_requests_name_the_field(void **state)
{
    tool_proc *mock = *state;
    expect_invalid(mock, "", IT_WINDOW_START, IT_WINDOW_END, "customer_id", "empty");
    expect_invalid(mock, IT_CUSTOMER, IT_WINDOW_END, IT_WINDOW_START, "window_end_unix", "window_start_unix");
    expect_invalid(mock, IT_CUSTOMER, IT_WINDOW_END - 366 * DAY - 1, IT_WINDOW_END, "window_start_unix", "366 days");

    /* Exactly 366 days is still allowed: the check is on the limit, not near it. */
    tool_rpc_result r;
    tool_rpc_usage(tool_proc_field(mock, "address"), IT_CUSTOMER, IT_WINDOW_END - 366 * DAY, IT_WINDOW_END,
                   IT_CALL_DEADLINE_MS, NULL, &r);
    it_mock_assert_report(&r, "listings", IT_CUSTOMER, IT_WINDOW_END - 366 * DAY, IT_WINDOW_END);
    tool_rpc_result_release(&r);
}

static void test_unknown_method_is_unimplemented(void **state)
{
    tool_proc *mock = *state;
    Fanout__Feature__V1__UsageRequest req = FANOUT__FEATURE__V1__USAGE_REQUEST__INIT;
    req.customer_id = IT_CUSTOMER;
    tool_rpc_result r;
    tool_rpc_call(tool_proc_field(mock, "address"), "/fanout.feature.v1.FeatureService/Nope", &req.base,
                  &fanout__feature__v1__usage_report__descriptor, IT_CALL_DEADLINE_MS, NULL, &r);
    assert_int_equal(r.status, FO_STATUS_UNIMPLEMENTED);
    assert_null(r.reply);
    tool_rpc_result_release(&r);
}

/* --- profiles --------------------------------------------------------------- */

#define PROFILE_CALLS 5

static int start_always_aborted(void **state)
{
    *state = testproc_mock("listings", "{\"error_rate\":1,\"error_code\":\"ABORTED\"}");
    return *state == NULL ? -1 : 0;
}

static int start_fixed_latency(void **state)
{
    *state = testproc_mock("listings", "{\"latency_ms\":80}");
    return *state == NULL ? -1 : 0;
}

static void test_profile_error_rate_one(void **state)
{
    tool_proc *mock = *state;
    for (int i = 0; i < PROFILE_CALLS; i++) {
        tool_rpc_result r;
        it_mock_usage(mock, NULL, &r);
        assert_int_equal(r.status, FO_STATUS_ABORTED);
        assert_non_null(strstr(r.message, "injected ABORTED"));
        tool_rpc_result_release(&r);
    }
}

static void test_profile_fixed_latency(void **state)
{
    tool_proc *mock = *state;
    for (int i = 0; i < PROFILE_CALLS; i++) {
        tool_rpc_result r;
        it_mock_usage(mock, NULL, &r);
        it_mock_assert_report(&r, "listings", IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END);
        if (r.elapsed_ms < 80)
            fail_msg("call %d took %lld ms, less than the profile's 80 ms", i, (long long)r.elapsed_ms);
        assert_true(r.elapsed_ms < IT_SLOW_MS);
        tool_rpc_result_release(&r);
    }
}

/* A bad --profile stops the service before it listens: exit 2 and the reason on stderr. */
static void expect_bad_profile(const char *profile, const char *word)
{
    char *argv[] = {MOCK_SERVICES_BIN, "--feature", "listings",      "--listen",
                    "127.0.0.1:0",     "--profile", (char *)profile, NULL};
    char *err = NULL;
    int status = tool_proc_run(argv, IT_EXIT_WAIT_MS, &err);
    assert_true(status != -1 && WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    if (strstr(err, "--profile") == NULL || strstr(err, word) == NULL)
        fail_msg("stderr \"%s\" should name --profile and \"%s\"", err, word);
    free(err);
}

static void test_bad_profile_exits_2(void **state)
{
    (void)state;
    expect_bad_profile("{\"error_rate\":2}", "error_rate");
    expect_bad_profile("{\"latency_ms\":", "--profile");
    expect_bad_profile("{\"error_code\":\"OK\"}", "error_code");
}

/* --- shutdown --------------------------------------------------------------- */

typedef struct term_timer {
    fo_timer timer;
    pid_t pid;
} term_timer;

static void send_sigterm(fo_timer *t) { kill(fo_container_of(t, term_timer, timer)->pid, SIGTERM); }

static void call_done(fo_client_call *cc, void *ud)
{
    (void)cc;
    *(bool *)ud = true;
}

/* A warm-up call makes sure the channel is connected before the timed call starts. */
static void warm_up(fo_channel *ch, const fo_payload *request)
{
    fo_call_spec spec = {.channel = ch,
                         .path = TOOL_RPC_GET_USAGE_PATH,
                         .deadline_ns = fo_deadline_in_ms(IT_CALL_DEADLINE_MS),
                         .request = request};
    fo_client_call *cc = NULL;
    fo_error *err = fo_client_call_blocking(&spec, &cc);
    assert_null(err);
    assert_int_equal(fo_client_call_status(cc), FO_STATUS_OK);
    fo_client_call_free(cc);
}

/*
 * SIGTERM while a delay:1s call is in flight: the server drains (its grace
 * is longer than the delay), the call ends, and the process exits 0.
 */
static void test_sigterm_with_call_in_flight(void **state)
{
    tool_proc *mock = *state;
    Fanout__Feature__V1__UsageRequest req = FANOUT__FEATURE__V1__USAGE_REQUEST__INIT;
    req.customer_id = IT_CUSTOMER;
    req.window_start_unix = IT_WINDOW_START;
    req.window_end_unix = IT_WINDOW_END;
    fo_payload *request = fo_payload_pack(&req.base);
    fo_channel *ch = NULL;
    assert_null(fo_channel_create(tool_proc_field(mock, "address"), NULL, &ch));
    warm_up(ch, request);

    fo_loop *loop = fo_loop_create();
    static const char fault[] = "listings=delay:1s";
    fo_md md = {.key = "x-mock-fault", .value = fault, .value_len = strlen(fault)};
    /* The deadline only keeps a broken shutdown from hanging the test. */
    fo_call_spec spec = {.channel = ch,
                         .path = TOOL_RPC_GET_USAGE_PATH,
                         .loop = loop,
                         .deadline_ns = fo_deadline_in_ms(IT_CALL_DEADLINE_MS),
                         .md = &md,
                         .nmd = 1,
                         .request = request};
    bool done = false;
    fo_error *err = NULL;
    int64_t t0 = fo_now_ns();
    fo_client_call *cc = fo_client_call_start(&spec, call_done, &done, &err);
    assert_non_null(cc);
    term_timer term = {.pid = mock->pid};
    fo_timer_init(&term.timer, send_sigterm);
    fo_timer_start(loop, &term.timer, t0 + 300 * FO_NS_PER_MS);
    fo_loop_run(loop, &done);
    int64_t elapsed_ms = (fo_now_ns() - t0) / FO_NS_PER_MS;
    /* The call must not have ended before the signal was sent. */
    assert_false(fo_timer_armed(&term.timer));

    fo_status status = fo_client_call_status(cc);
    if (status == FO_STATUS_OK) {
        ProtobufCMessage *reply = fo_client_call_unpack(cc, &fanout__feature__v1__usage_report__descriptor);
        assert_non_null(reply);
        protobuf_c_message_free_unpacked(reply, NULL);
        assert_true(elapsed_ms >= 1000);
    } else if (status != FO_STATUS_CANCELLED && status != FO_STATUS_UNAVAILABLE) {
        fail_msg("in-flight call ended with %s: %s", fo_status_name(status), fo_client_call_message(cc));
    }
    assert_true(elapsed_ms < 5000);
    fo_client_call_free(cc);
    fo_loop_destroy(loop);
    fo_channel_destroy(ch);
    fo_payload_free(request);

    assert_true(it_mock_wait_exit(mock, IT_EXIT_WAIT_MS));
    assert_true(WIFEXITED(mock->status));
    assert_int_equal(WEXITSTATUS(mock->status), 0);
    json_t *stopped = it_mock_wait_event(mock, "stopped", "listings", 0);
    assert_non_null(stopped);
    assert_int_equal(json_integer_value(json_object_get(stopped, "signal")), SIGTERM);
    json_decref(stopped);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_is_the_generated_report, it_mock_start_listings, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_default_window, it_mock_start_listings, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_bad_requests_name_the_field, it_mock_start_listings, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_unknown_method_is_unimplemented, it_mock_start_listings, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_profile_error_rate_one, start_always_aborted, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_profile_fixed_latency, start_fixed_latency, it_mock_stop),
        cmocka_unit_test(test_bad_profile_exits_2),
        cmocka_unit_test_setup_teardown(test_sigterm_with_call_in_flight, it_mock_start_listings, it_mock_stop),
    };
    return cmocka_run_group_tests(tests, it_mock_rpc_init, it_mock_rpc_shutdown);
}
