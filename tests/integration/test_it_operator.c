/*
 * Integration tests of what operators rely on: a call in flight when SIGTERM
 * arrives still completes and the process exits 0; fanout-cli's JSON is the
 * canonical proto3 mapping of the very reply a protobuf client decodes; its
 * exit codes and messages; its health probe; aggregator --check-config.
 */
#include <jansson.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fo_loop.h"
#include "fo_rpc.h"
#include "fo_time.h"
#include "testcli.h"
#include "testproc.h"
#include "tool_rpc.h"

#define CUSTOMER "c-operator-7"
#define ANALYTICS_PATH "/fanout.v1.Aggregator/GetCustomerAnalytics"

static const char *const features[] = {"listings", "tours", "offers"};
static tool_proc *fleet;

static int setup(void **state)
{
    (void)state;
    fo_rpc_init();
    char *path = testproc_write_fleet(features, 3, NULL);
    fleet = testproc_fleet(path);
    unlink(path);
    free(path);
    return fleet != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tool_proc_free(fleet);
    fo_rpc_shutdown();
    return 0;
}

static void wait_exit_zero(tool_proc *p, int64_t timeout_ms)
{
    int64_t until = fo_now_ns() + timeout_ms * FO_NS_PER_MS;
    while (!tool_proc_exited(p) && fo_now_ns() < until)
        usleep(20000);
    assert_true(tool_proc_exited(p));
    assert_true(WIFEXITED(p->status));
    assert_int_equal(WEXITSTATUS(p->status), 0);
}

/* --- a call in flight during the drain --------------------------------------- */

typedef struct drain_test {
    fo_loop *loop;
    tool_proc *agg;
    fo_timer sigterm, late_call;
    Fanout__V1__AnalyticsRequest req;
    tool_rpc_pending in_flight, after;
    bool after_started;
} drain_test;

static void send_sigterm(fo_timer *t)
{
    drain_test *d = fo_container_of(t, drain_test, sigterm);
    assert_int_equal(kill(d->agg->pid, SIGTERM), 0);
    fo_timer_start(d->loop, &d->late_call, fo_deadline_in_ms(200));
}

/* A new call once the drain has begun: refused, while the first one goes on. */
static void start_late_call(fo_timer *t)
{
    drain_test *d = fo_container_of(t, drain_test, late_call);
    tool_rpc_start(&d->after, d->loop, tool_proc_field(d->agg, "address"), ANALYTICS_PATH, &d->req.base,
                   &fanout__v1__analytics_response__descriptor, 2000, NULL);
    d->after_started = true;
}

static void in_flight_call_completes_during_drain(void **state)
{
    (void)state;
    drain_test d = {.loop = fo_loop_create()};
    d.agg = testproc_aggregator_for(fleet, 5000, "{\"shutdown_grace_ms\": 5000}");
    assert_non_null(d.agg);
    fo_timer_init(&d.sigterm, send_sigterm);
    fo_timer_init(&d.late_call, start_late_call);
    d.req = (Fanout__V1__AnalyticsRequest)FANOUT__V1__ANALYTICS_REQUEST__INIT;
    d.req.customer_id = CUSTOMER;

    /* Every feature answers after 800 ms; SIGTERM comes 200 ms into the call. */
    tool_rpc_start(&d.in_flight, d.loop, tool_proc_field(d.agg, "address"), ANALYTICS_PATH, &d.req.base,
                   &fanout__v1__analytics_response__descriptor, 5000,
                   "listings=delay:800ms,tours=delay:800ms,offers=delay:800ms");
    fo_timer_start(d.loop, &d.sigterm, fo_deadline_in_ms(200));
    tool_rpc_wait(&d.in_flight);
    assert_true(d.after_started);
    tool_rpc_wait(&d.after);

    assert_int_equal(d.in_flight.result.status, FO_STATUS_OK);
    Fanout__V1__AnalyticsResponse *resp = tool_rpc_analytics_reply(&d.in_flight.result);
    assert_non_null(resp);
    assert_int_equal(resp->succeeded, 3);
    assert_int_equal(resp->failed, 0);
    assert_true(d.in_flight.result.elapsed_ms >= 800);
    if (d.after.result.status == FO_STATUS_OK)
        fail_msg("a call started during the drain was answered");

    wait_exit_zero(d.agg, 5000);
    tool_rpc_pending_release(&d.in_flight);
    tool_rpc_pending_release(&d.after);
    fo_loop_destroy(d.loop);
    tool_proc_free(d.agg);
}

/* --- fanout-cli ----------------------------------------------------------------- */

static char *cli(const tool_proc *agg, const char *args, int *rc, char **err)
{
    char cmd[PATH_MAX + 512];
    snprintf(cmd, sizeof cmd, "timeout 30 '%s' %s --addr %s", FANOUT_CLI_BIN, args, tool_proc_field(agg, "address"));
    char *out;
    *rc = testcli_run(cmd, &out, err);
    return out;
}

static void expect_int64_string(const json_t *obj, const char *key, int64_t want)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)want);
    const json_t *got = json_object_get(obj, key);
    if (want == 0) {
        assert_null(got); /* proto3 JSON omits defaults */
        return;
    }
    if (!json_is_string(got) || strcmp(json_string_value(got), text) != 0)
        fail_msg("%s: want \"%s\" (a string), got %s", key, text, got ? json_dumps(got, JSON_ENCODE_ANY) : "nothing");
}

static void expect_usage(const json_t *u, const Fanout__Feature__V1__UsageReport *want)
{
    assert_string_equal(json_string_value(json_object_get(u, "feature")), want->feature);
    assert_string_equal(json_string_value(json_object_get(u, "customerId")), want->customer_id);
    expect_int64_string(u, "events", want->events);
    expect_int64_string(u, "activeUsers", want->active_users);
    expect_int64_string(u, "lastUsedUnix", want->last_used_unix);
    const json_t *daily = json_object_get(u, "daily");
    assert_int_equal(json_array_size(daily), want->n_daily);
    for (size_t i = 0; i < want->n_daily; i++) {
        expect_int64_string(json_array_get(daily, i), "dayUnix", want->daily[i]->day_unix);
        expect_int64_string(json_array_get(daily, i), "events", want->daily[i]->events);
    }
    const json_t *metrics = json_object_get(u, "metrics");
    assert_int_equal(json_object_size(metrics), want->n_metrics);
    for (size_t i = 0; i < want->n_metrics; i++) {
        const json_t *v = json_object_get(metrics, want->metrics[i]->key);
        assert_non_null(v);
        assert_true(json_is_number(v));
        assert_true(json_number_value(v) == want->metrics[i]->value);
    }
}

/* The CLI's JSON, parsed back, carries exactly what a protobuf client decodes. */
static void cli_json_is_the_protobuf_reply(void **state)
{
    (void)state;
    tool_proc *agg = testproc_aggregator_for(fleet, 2000, NULL);
    assert_non_null(agg);
    int rc;
    char *out = cli(agg, "query --customer " CUSTOMER " --features tours,listings,nope --format json", &rc, NULL);
    assert_int_equal(rc, 0);
    json_error_t jerr;
    json_t *got = json_loads(out, 0, &jerr);
    if (got == NULL)
        fail_msg("fanout-cli output is not JSON (%s):\n%s", jerr.text, out);

    const char *const asked[] = {"tours", "listings", "nope", NULL};
    tool_rpc_result r;
    tool_rpc_analytics(tool_proc_field(agg, "address"), CUSTOMER, asked, 0, 5000, NULL, &r);
    assert_int_equal(r.status, FO_STATUS_OK);
    Fanout__V1__AnalyticsResponse *want = tool_rpc_analytics_reply(&r);

    assert_string_equal(json_string_value(json_object_get(got, "customerId")), CUSTOMER);
    assert_int_equal(json_integer_value(json_object_get(got, "succeeded")), want->succeeded);
    assert_int_equal(json_integer_value(json_object_get(got, "failed")), want->failed);
    assert_true(json_is_true(json_object_get(got, "partial")));
    const json_t *results = json_object_get(got, "results");
    assert_int_equal(json_array_size(results), want->n_results);
    for (size_t i = 0; i < want->n_results; i++) {
        const json_t *res = json_array_get(results, i);
        const Fanout__V1__FeatureResult *w = want->results[i];
        assert_string_equal(json_string_value(json_object_get(res, "feature")), w->feature);
        if (w->index == 0)
            assert_null(json_object_get(res, "index"));
        else
            assert_int_equal(json_integer_value(json_object_get(res, "index")), w->index);
        if (w->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE) {
            expect_usage(json_object_get(res, "usage"), w->usage);
        } else {
            const json_t *e = json_object_get(res, "error");
            assert_string_equal(json_string_value(json_object_get(e, "kind")), "UNKNOWN_FEATURE");
            assert_int_equal(json_integer_value(json_object_get(e, "code")), w->error->code);
        }
    }
    const json_t *totals = json_object_get(got, "totals");
    expect_int64_string(totals, "events", want->totals->events);
    expect_int64_string(totals, "activeUsers", want->totals->active_users);
    assert_string_equal(json_string_value(json_object_get(totals, "topFeature")), want->totals->top_feature);
    assert_true(json_is_string(json_object_get(got, "elapsedUs")));

    json_decref(got);
    free(out);
    tool_rpc_result_release(&r);
    tool_proc_free(agg);
}

static void cli_failure_sets_exit_code_and_names_the_status(void **state)
{
    (void)state;
    tool_proc *agg = testproc_aggregator_for(fleet, 2000, NULL);
    assert_non_null(agg);
    int rc;
    char *err;
    char *out = cli(agg, "query --customer " CUSTOMER " --fail-fast --metadata x-mock-fault=tours=error:UNAVAILABLE",
                    &rc, &err);
    assert_int_equal(rc, 1);
    if (strstr(err, "UNAVAILABLE") == NULL || strstr(err, "feature tours") == NULL)
        fail_msg("stderr does not name the status and the feature:\n%s", err);
    free(out);
    free(err);

    out = cli(agg, "query --customer " CUSTOMER " --window-start 200000 --window-end 100000", &rc, &err);
    assert_int_equal(rc, 1);
    if (strstr(err, "INVALID_ARGUMENT") == NULL || strstr(err, "window_end_unix") == NULL)
        fail_msg("stderr does not name INVALID_ARGUMENT and the field:\n%s", err);
    free(out);
    free(err);
    tool_proc_free(agg);
}

static void cli_summary_lists_every_feature(void **state)
{
    (void)state;
    tool_proc *agg = testproc_aggregator_for(fleet, 2000, NULL);
    assert_non_null(agg);
    int rc;
    char *out = cli(agg, "query --customer " CUSTOMER " --format summary --metadata x-mock-fault=offers=error:INTERNAL",
                    &rc, NULL);
    assert_int_equal(rc, 0);
    for (size_t i = 0; i < 3; i++) {
        if (strstr(out, features[i]) == NULL)
            fail_msg("summary without %s:\n%s", features[i], out);
    }
    if (strstr(out, "BACKEND_ERROR") == NULL)
        fail_msg("summary does not show the failed feature's error kind:\n%s", out);
    free(out);
    tool_proc_free(agg);
}

static void cli_health_is_a_probe(void **state)
{
    (void)state;
    tool_proc *agg = testproc_aggregator_for(fleet, 2000, NULL);
    assert_non_null(agg);
    int rc;
    char *out = cli(agg, "health", &rc, NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "SERVING"));
    free(out);
    out = cli(agg, "health --service no.such.Service", &rc, NULL);
    assert_int_not_equal(rc, 0);
    free(out);
    tool_proc_stop(agg, SIGTERM, 5000);
    /* Nothing listens any more: not SERVING, so the probe fails. */
    out = cli(agg, "health --timeout 1s", &rc, NULL);
    assert_int_not_equal(rc, 0);
    free(out);
    tool_proc_free(agg);
}

/* --- aggregator --check-config ------------------------------------------------- */

static void check_config_validates_and_exits(void **state)
{
    (void)state;
    char *good = testproc_write_agg_config(fleet, 1000, NULL);
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "'%s' --check-config --config '%s'", AGGREGATOR_BIN, good);
    char *out;
    assert_int_equal(testcli_run(cmd, &out, NULL), 0);
    free(out);

    char *bad = testproc_write_agg_config(fleet, 1000, "{\"workers\": \"many\"}");
    snprintf(cmd, sizeof cmd, "'%s' --check-config --config '%s'", AGGREGATOR_BIN, bad);
    char *err;
    assert_int_not_equal(testcli_run(cmd, &out, &err), 0);
    if (strstr(err, bad) == NULL || strstr(err, "workers") == NULL)
        fail_msg("the error names neither the file nor the key:\n%s", err);
    free(out);
    free(err);
    unlink(good);
    unlink(bad);
    free(good);
    free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_flight_call_completes_during_drain),
        cmocka_unit_test(cli_json_is_the_protobuf_reply),
        cmocka_unit_test(cli_failure_sets_exit_code_and_names_the_status),
        cmocka_unit_test(cli_summary_lists_every_feature),
        cmocka_unit_test(cli_health_is_a_probe),
        cmocka_unit_test(check_config_validates_and_exits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
