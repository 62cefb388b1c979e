/*
 * Integration tests of the x-mock-fault header on a real mock feature
 * service: each fault kind, items for other features, and bad headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/wait.h>

#include "test_it_mock.h"

static void expect_normal_reply(const tool_proc *mock, const char *mock_fault)
{
    tool_rpc_result r;
    it_mock_usage(mock, mock_fault, &r);
    it_mock_assert_report(&r, "listings", IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END);
    tool_rpc_result_release(&r);
}

static void test_delay(void **state)
{
    tool_rpc_result r;
    it_mock_usage(*state, "listings=delay:300ms", &r);
    it_mock_assert_report(&r, "listings", IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END);
    if (r.elapsed_ms < 300 || r.elapsed_ms >= IT_SLOW_MS)
        fail_msg("delay:300ms took %lld ms", (long long)r.elapsed_ms);
    tool_rpc_result_release(&r);
}

/* The error fault fails with exactly that code, and says it was injected (not a transport failure). */
static void expect_injected_error(const tool_proc *mock, const char *mock_fault, fo_status code)
{
    tool_rpc_result r;
    it_mock_usage(mock, mock_fault, &r);
    assert_int_equal(r.status, code);
    assert_null(r.reply);
    assert_non_null(strstr(r.message, "injected"));
    assert_non_null(strstr(r.message, "listings"));
    tool_rpc_result_release(&r);
}

static void test_errors(void **state)
{
    expect_injected_error(*state, "listings=error:UNAVAILABLE", FO_STATUS_UNAVAILABLE);
    expect_injected_error(*state, "listings=error:INTERNAL", FO_STATUS_INTERNAL);
    /* A number names the code too. */
    expect_injected_error(*state, "listings=error:9", FO_STATUS_FAILED_PRECONDITION);
}

/* A delay and a terminal fault together: the delay comes first. */
static void test_delay_then_error(void **state)
{
    tool_rpc_result r;
    it_mock_usage(*state, "listings=delay:200ms, listings=error:INTERNAL", &r);
    assert_int_equal(r.status, FO_STATUS_INTERNAL);
    if (r.elapsed_ms < 200 || r.elapsed_ms >= IT_SLOW_MS)
        fail_msg("delay:200ms before the error took %lld ms", (long long)r.elapsed_ms);
    tool_rpc_result_release(&r);
}

static void test_hang_until_deadline(void **state)
{
    tool_rpc_result r;
    tool_rpc_usage(tool_proc_field(*state, "address"), IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END, 500,
                   "listings=hang", &r);
    assert_int_equal(r.status, FO_STATUS_DEADLINE_EXCEEDED);
    if (r.elapsed_ms < 500 || r.elapsed_ms >= IT_SLOW_MS)
        fail_msg("hang with a 500 ms deadline took %lld ms", (long long)r.elapsed_ms);
    tool_rpc_result_release(&r);
    /* The hung call was cleaned up on the server, which still answers. */
    expect_normal_reply(*state, NULL);
}

/* OK on the wire, but the bytes are no UsageReport: the raw call succeeded and only the unpack failed. */
static void test_malformed(void **state)
{
    tool_rpc_result r;
    it_mock_usage(*state, "listings=malformed", &r);
    assert_int_equal(r.status, FO_STATUS_OK);
    assert_string_equal(r.message, "");
    assert_null(r.reply);
    tool_rpc_result_release(&r);
}

static void test_crash(void **state)
{
    tool_proc *mock = *state;
    tool_rpc_result r;
    it_mock_usage(mock, "listings=crash", &r);
    assert_int_equal(r.status, FO_STATUS_UNAVAILABLE);
    assert_null(r.reply);
    tool_rpc_result_release(&r);
    assert_true(it_mock_wait_exit(mock, 1000));
    /* Not a clean exit: waitpid's status 0 is exit code 0. */
    assert_int_not_equal(mock->status, 0);
    json_t *ev = it_mock_wait_event(mock, "crash", "listings", 0);
    assert_non_null(ev);
    json_decref(ev);
}

/* Items for other features are ignored, whatever they ask, and the reply is the normal one. */
static void test_other_features_ignored(void **state)
{
    expect_normal_reply(*state, "tours=hang");
    expect_normal_reply(*state, "tours=crash, offers=error:INTERNAL, leads=delay:5s");
    expect_normal_reply(*state, "");
}

/* A bad header is INVALID_ARGUMENT quoting the bad item; then the service answers as usual. */
static void expect_bad_header(const tool_proc *mock, const char *mock_fault, const char *quoted)
{
    tool_rpc_result r;
    it_mock_usage(mock, mock_fault, &r);
    assert_int_equal(r.status, FO_STATUS_INVALID_ARGUMENT);
    assert_null(r.reply);
    if (strstr(r.message, quoted) == NULL)
        fail_msg("message \"%s\" should quote %s", r.message, quoted);
    tool_rpc_result_release(&r);
}

static void test_bad_headers(void **state)
{
    expect_bad_header(*state, "listings=explode", "\"listings=explode\"");
    expect_bad_header(*state, "listings", "\"listings\"");
    expect_bad_header(*state, "=hang", "\"=hang\"");
    /* Every service checks the whole header, not only its own items. */
    expect_bad_header(*state, "tours=explode", "\"tours=explode\"");
    expect_bad_header(*state, "listings=delay:soon", "\"listings=delay:soon\"");
    expect_normal_reply(*state, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delay, it_mock_start_listings, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_errors, it_mock_start_listings, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_delay_then_error, it_mock_start_listings, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_hang_until_deadline, it_mock_start_listings, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_malformed, it_mock_start_listings, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_crash, it_mock_start_listings, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_other_features_ignored, it_mock_start_listings, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_bad_headers, it_mock_start_listings, it_mock_stop),
    };
    return cmocka_run_group_tests(tests, it_mock_rpc_init, it_mock_rpc_shutdown);
}
