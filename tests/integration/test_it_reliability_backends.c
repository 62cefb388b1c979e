/*
 * Hostile feature services, through the aggregator: one answers bytes that
 * are not a UsageReport, one a valid report padded past the aggregator's
 * max_message_bytes (the mock's huge:SIZE fault), one far too slowly. The
 * aggregator must mark that feature failed, never OK, answer the others, and
 * answer on time (within the feature timeout plus slack); it must still
 * answer normally afterwards. One fleet and aggregator serve the whole file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "fo_rpc.h"
#include "test_it_reliability.h"
#include "tool_rpc.h"

#define FEATURE_TIMEOUT_MS 500
/* The aggregator's limit on every message, also its feature replies. */
#define MAX_MESSAGE_BYTES 1048576
/* On time: the feature timeout plus room for a loaded machine, far below the call deadline. */
#define ON_TIME_MS 3000

static rel_fixture *fx;

/* One request for every feature with the x-mock-fault header; asserts it is OK, on time, with all results. */
static const Fanout__V1__AnalyticsResponse *ask(const char *mock_fault, tool_rpc_result *r)
{
    tool_rpc_analytics(rel_address(fx), REL_CUSTOMER, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL,
                       REL_CALL_DEADLINE_MS, mock_fault, r);
    assert_int_equal(r->status, FO_STATUS_OK);
    const Fanout__V1__AnalyticsResponse *resp = tool_rpc_analytics_reply(r);
    assert_non_null(resp);
    assert_int_equal(resp->n_results, fx->n_features);
    assert_true(r->elapsed_ms < ON_TIME_MS);
    return resp;
}

/* Asserts that feature failed with kind and code in resp. */
static void assert_failed(const Fanout__V1__AnalyticsResponse *resp, const char *feature, Fanout__V1__ErrorKind kind,
                          fo_status code)
{
    const Fanout__V1__FeatureResult *res = rel_result_of(resp, feature);
    assert_non_null(res);
    assert_int_equal(res->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR);
    assert_int_equal(res->error->kind, kind);
    assert_int_equal(res->error->code, code);
    assert_true(resp->partial);
}

static void test_malformed_reply(void **state)
{
    (void)state;
    tool_rpc_result r;
    const Fanout__V1__AnalyticsResponse *resp = ask("tours=malformed", &r);
    assert_failed(resp, "tours", FANOUT__V1__ERROR_KIND__MALFORMED_RESPONSE, FO_STATUS_INTERNAL);
    assert_int_equal(resp->succeeded, (int)fx->n_features - 1);
    tool_rpc_result_release(&r);
    rel_assert_serves(fx);
}

static void test_huge_reply(void **state)
{
    (void)state;
    tool_rpc_result r;
    const Fanout__V1__AnalyticsResponse *resp = ask("tours=huge:8MiB", &r);
    assert_failed(resp, "tours", FANOUT__V1__ERROR_KIND__BACKEND_ERROR, FO_STATUS_RESOURCE_EXHAUSTED);
    assert_int_equal(resp->succeeded, (int)fx->n_features - 1);
    tool_rpc_result_release(&r);
    rel_assert_serves(fx);
}

/* Below the limit the padded reply is an ordinary, valid report: the padding is what makes it big, nothing else. */
static void test_large_reply_within_limit(void **state)
{
    (void)state;
    tool_rpc_result r;
    const Fanout__V1__AnalyticsResponse *resp = ask("tours=huge:512KiB", &r);
    const Fanout__V1__FeatureResult *tours = rel_result_of(resp, "tours");
    assert_int_equal(tours->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
    assert_string_equal(tours->usage->feature, "tours");
    assert_int_equal(resp->succeeded, (int)fx->n_features);
    tool_rpc_result_release(&r);
}

static void test_slow_reply(void **state)
{
    (void)state;
    tool_rpc_result r;
    const Fanout__V1__AnalyticsResponse *resp = ask("tours=delay:30s", &r);
    assert_failed(resp, "tours", FANOUT__V1__ERROR_KIND__DEADLINE, FO_STATUS_DEADLINE_EXCEEDED);
    assert_true(r.elapsed_ms >= FEATURE_TIMEOUT_MS - 50);
    tool_rpc_result_release(&r);
    rel_assert_serves(fx);
}

static void test_all_at_once(void **state)
{
    (void)state;
    tool_rpc_result r;
    const Fanout__V1__AnalyticsResponse *resp = ask("listings=malformed,searches=huge:8MiB,tours=delay:30s", &r);
    assert_failed(resp, "listings", FANOUT__V1__ERROR_KIND__MALFORMED_RESPONSE, FO_STATUS_INTERNAL);
    assert_failed(resp, "searches", FANOUT__V1__ERROR_KIND__BACKEND_ERROR, FO_STATUS_RESOURCE_EXHAUSTED);
    assert_failed(resp, "tours", FANOUT__V1__ERROR_KIND__DEADLINE, FO_STATUS_DEADLINE_EXCEEDED);
    assert_int_equal(resp->failed, 3);
    assert_int_equal(rel_result_of(resp, "offers")->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
    tool_rpc_result_release(&r);
    rel_assert_serves(fx);
}

static int setup(void **state)
{
    (void)state;
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
        cmocka_unit_test(test_malformed_reply),
        cmocka_unit_test(test_huge_reply),
        cmocka_unit_test(test_large_reply_within_limit),
        cmocka_unit_test(test_slow_reply),
        cmocka_unit_test(test_all_at_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
