/* Unit tests for harness/hs_scenario: reading scenario files, their defaults and their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hs_scenario.h"

#define FLEET                                                                                                          \
    "\"fleet\": {\"features\": [{\"name\": \"listings\"}, {\"name\": \"tours\", \"profile\": {\"error_rate\": 1}}]}"

/* Writes text to a temporary file and loads it; *path_out is that file (caller unlinks and frees). */
static fo_error *load(const char *text, hs_scenario **out, char **path_out)
{
    char *path = strdup("/tmp/hs-scenario-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    fo_error *err = hs_scenario_load(path, out);
    *path_out = path;
    return err;
}

static hs_scenario *load_ok(const char *text)
{
    hs_scenario *sc = NULL;
    char *path;
    fo_error *err = load(text, &sc, &path);
    unlink(path);
    free(path);
    if (err != NULL)
        fail_msg("%s", err->message);
    return sc;
}

/* The load fails with a message that starts "<file>: <want>" (fo_pbjson's own words may follow). */
static void assert_error(const char *text, const char *want)
{
    hs_scenario *sc = NULL;
    char *path;
    fo_error *err = load(text, &sc, &path);
    assert_non_null(err);
    assert_null(sc);
    char full[512];
    snprintf(full, sizeof full, "%s: %s", path, want);
    if (strncmp(err->message, full, strlen(full)) != 0)
        fail_msg("got \"%s\", want it to start with \"%s\"", err->message, full);
    fo_error_free(err);
    unlink(path);
    free(path);
}

static void test_defaults(void **state)
{
    (void)state;
    hs_scenario *sc = load_ok("{" FLEET ", \"steps\": [{\"call\": \"GetCustomerAnalytics\"}, {\"wait_ms\": 5}]}");
    assert_non_null(strstr(sc->name, "hs-scenario-test-"));
    assert_true(sc->warmup);
    assert_null(sc->aggregator);
    assert_int_equal(sc->n_features, 2);
    assert_string_equal(sc->features[0].listen, "127.0.0.1:0");
    assert_null(sc->features[0].profile_json);
    assert_string_equal(sc->features[1].profile_json, "{\"error_rate\":1}");
    assert_int_equal(sc->n_steps, 2);
    const hs_call *call = &sc->steps[0].call;
    assert_int_equal(sc->steps[0].kind, HS_STEP_CALL);
    assert_string_equal(sc->steps[0].name, "GetCustomerAnalytics");
    assert_int_equal(call->method, HS_METHOD_UNARY);
    assert_string_equal(call->request->customer_id, "cust-harness");
    assert_int_equal(call->deadline_ms, 10000);
    assert_int_equal(call->cancel_after_ms, HS_MS_UNSET);
    assert_null(call->mock_fault);
    assert_int_equal(call->expect.status, FO_STATUS_OK);
    assert_int_equal(call->expect.min_ms, HS_MS_UNSET);
    assert_null(call->expect.reply);
    assert_int_equal(sc->steps[1].kind, HS_STEP_WAIT);
    assert_string_equal(sc->steps[1].name, "wait 5 ms");
    hs_scenario_free(sc);
}

static void test_full_call(void **state)
{
    (void)state;
    hs_scenario *sc =
        load_ok("{\"name\": \"n\", " FLEET ", \"warmup\": false, \"aggregator\": {\"workers\": 1},"
                " \"steps\": [{\"name\": \"s\", \"call\": \"StreamCustomerAnalytics\","
                " \"request\": {\"customer_id\": \"c\", \"features\": [\"tours\"], \"failurePolicy\": \"FAIL_FAST\"},"
                " \"deadline_ms\": 300, \"x-mock-fault\": \"tours=hang\", \"retry_for_ms\": 50,"
                " \"expect\": {\"status\": \"DEADLINE_EXCEEDED\", \"message_prefix\": \"feature tours: \","
                " \"failed_feature\": \"tours\", \"results\": [], \"results_order\": \"index\","
                " \"elapsed_ms\": {\"min\": 300, \"max\": 900}}},"
                " {\"kill\": \"tours\"}, {\"restart\": \"tours\"}, {\"await_exit\": \"tours\", \"timeout_ms\": 7}]}");
    assert_string_equal(sc->name, "n");
    assert_false(sc->warmup);
    assert_non_null(sc->aggregator);
    const hs_call *call = &sc->steps[0].call;
    assert_string_equal(sc->steps[0].name, "s");
    assert_int_equal(call->method, HS_METHOD_STREAM);
    assert_string_equal(call->request->customer_id, "c");
    assert_int_equal(call->request->n_features, 1);
    assert_int_equal(call->request->failure_policy, FANOUT__V1__FAILURE_POLICY__FAIL_FAST);
    assert_int_equal(call->deadline_ms, 300);
    assert_string_equal(call->mock_fault, "tours=hang");
    assert_int_equal(call->retry_for_ms, 50);
    assert_int_equal(call->expect.status, FO_STATUS_DEADLINE_EXCEEDED);
    assert_string_equal(call->expect.message_prefix, "feature tours: ");
    assert_string_equal(call->expect.failed_feature, "tours");
    assert_int_equal(call->expect.results_order, HS_ORDER_INDEX);
    assert_int_equal(call->expect.min_ms, 300);
    assert_int_equal(call->expect.max_ms, 900);
    assert_int_equal(sc->steps[1].kind, HS_STEP_KILL);
    assert_string_equal(sc->steps[1].name, "kill tours");
    assert_int_equal(sc->steps[2].kind, HS_STEP_RESTART);
    assert_int_equal(sc->steps[3].kind, HS_STEP_AWAIT_EXIT);
    assert_int_equal(sc->steps[3].ms, 7);
    assert_ptr_equal(hs_scenario_feature(sc, "tours"), &sc->features[1]);
    assert_null(hs_scenario_feature(sc, "offers"));
    hs_scenario_free(sc);
}

static void test_errors_name_the_key(void **state)
{
    (void)state;
    assert_error("{" FLEET ", \"steps\": [], \"extra\": 1}", "extra: unknown key");
    assert_error("{\"steps\": [{\"wait_ms\": 1}]}", "fleet: required");
    assert_error("{" FLEET ", \"steps\": []}", "steps: must be a non-empty array, got []");
    assert_error("{\"fleet\": {\"features\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}, \"steps\": [{\"wait_ms\": 1}]}",
                 "fleet.features[1]: a feature of that name is already in the fleet");
    assert_error("{" FLEET ", \"steps\": [{\"kill\": \"offers\"}]}", "steps[0].kill: not a feature of the fleet");
    assert_error("{" FLEET ", \"steps\": [{\"kill\": \"tours\", \"wait_ms\": 3}]}",
                 "steps[0]: expected exactly one of \"call\", \"kill\", \"restart\", \"await_exit\", \"wait_ms\"");
    assert_error("{" FLEET ", \"steps\": [{\"call\": \"Get\"}]}",
                 "steps[0].call: must be one of GetCustomerAnalytics, StreamCustomerAnalytics, got \"Get\"");
    assert_error("{" FLEET ", \"steps\": [{\"call\": \"GetCustomerAnalytics\", \"expect\": {\"status\": \"NOPE\"}}]}",
                 "steps[0].expect.status: must be a gRPC status code name such as \"UNAVAILABLE\", got \"NOPE\"");
    assert_error("{" FLEET ", \"steps\": [{\"call\": \"StreamCustomerAnalytics\", \"expect\": {\"reply\": {}}}]}",
                 "steps[0].expect.reply: a stream has no reply object: expect \"results\" instead");
    assert_error("{" FLEET ", \"steps\": [{\"call\": \"GetCustomerAnalytics\", \"request\": {\"bogus\": 1}}]}",
                 "steps[0].request: bogus: unknown field");
    assert_error(
        "{" FLEET ", \"steps\": [{\"call\": \"GetCustomerAnalytics\", \"expect\": {\"elapsed_ms\": {\"max\": -1}}}]}",
        "steps[0].expect.elapsed_ms.max: must be milliseconds or a duration such as \"2s\", at least 0 ms, got -1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_call),
        cmocka_unit_test(test_errors_name_the_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
