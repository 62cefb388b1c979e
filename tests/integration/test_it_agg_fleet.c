/*
 * Integration tests of the aggregator while the mock fleet changes under it:
 * a feature process killed for good, and one that crashes mid-call and is
 * restarted by the fleet on the same address. Each test starts its own fleet
 * and aggregator, since it breaks them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fo_time.h"
#include "testproc.h"
#include "tool_rpc.h"

#define FLEET_FAST FANOUT_SOURCE_DIR "/mock_services/fleet-fast.json"
#define CUSTOMER "cust-3"
#define N_FEATURES 12
#define TOURS 3 /* tours' position in fleet-fast.json */
/* Generous: nothing in these tests should take this long. */
#define CALL_DEADLINE_MS 10000
/* The channel reconnects with backoff (1 s, then 1.6 s, ...), so a restarted feature takes a while to be used again. */
#define RECONNECT_MS 8000

typedef struct fixture {
    tool_proc *fleet;
    tool_proc *agg;
    char *fleet_path; /* a temporary fleet file, or NULL */
} fixture;

static void analytics(const fixture *f, const char *mock_fault, tool_rpc_result *out)
{
    tool_rpc_analytics(tool_proc_field(f->agg, "address"), CUSTOMER, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL,
                       CALL_DEADLINE_MS, mock_fault, out);
}

static Fanout__V1__AnalyticsResponse *ok_reply(const tool_rpc_result *r)
{
    assert_int_equal(r->status, FO_STATUS_OK);
    assert_non_null(r->reply);
    return tool_rpc_analytics_reply(r);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Every result but results[failed] has a usage of its own feature. */
static void assert_others_ok(const Fanout__V1__AnalyticsResponse *resp, size_t failed)
{
    for (size_t i = 0; i < resp->n_results; i++) {
        if (i == failed)
            continue;
        assert_int_equal(resp->results[i]->index, (int)i);
        assert_int_equal(resp->results[i]->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
        assert_string_equal(resp->results[i]->usage->feature, resp->results[i]->feature);
    }
}

/* results[i] is feature's UNAVAILABLE failure, the only one, repeated in errors[]. */
static void assert_only_unavailable(const Fanout__V1__AnalyticsResponse *resp, size_t i, const char *feature)
{
    const Fanout__V1__FeatureResult *res = resp->results[i];
    assert_string_equal(res->feature, feature);
    assert_int_equal(res->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR);
    assert_int_equal(res->error->kind, FANOUT__V1__ERROR_KIND__UNAVAILABLE);
    assert_int_equal(res->error->code, FO_STATUS_UNAVAILABLE);
    assert_true(resp->partial);
    assert_int_equal(resp->failed, 1);
    assert_int_equal(resp->succeeded, (int)resp->n_results - 1);
    assert_int_equal(resp->n_errors, 1);
    assert_int_equal(resp->errors[0]->index, (int)i);
    assert_string_equal(resp->errors[0]->feature, feature);
    assert_int_equal(resp->errors[0]->kind, FANOUT__V1__ERROR_KIND__UNAVAILABLE);
    assert_int_equal(resp->errors[0]->code, FO_STATUS_UNAVAILABLE);
}

/* --- a feature killed for good ----------------------------------------------------- */

static void test_feature_down(void **state)
{
    const fixture *f = *state;
    tool_rpc_result r;
    /* First all healthy, so the aggregator's channel to tours was connected when it dies. */
    analytics(f, NULL, &r);
    assert_int_equal(ok_reply(&r)->succeeded, N_FEATURES);
    tool_rpc_result_release(&r);

    pid_t tours = testproc_fleet_pid(f->fleet, "tours");
    assert_true(tours > 0);
    assert_int_equal(kill(tours, SIGKILL), 0);
    assert_true(testproc_pid_gone(tours, 5000));

    analytics(f, NULL, &r);
    Fanout__V1__AnalyticsResponse *resp = ok_reply(&r);
    assert_int_equal(resp->n_results, N_FEATURES);
    assert_others_ok(resp, TOURS);
    assert_only_unavailable(resp, TOURS, "tours");
    tool_rpc_result_release(&r);
}

/* --- a feature that crashes and is restarted ---------------------------------------- */

/* True once a request gives tours (results[1]) a usage again; retried for RECONNECT_MS. */
static bool tours_answers_again(const fixture *f)
{
    int64_t until = fo_now_ns() + RECONNECT_MS * FO_NS_PER_MS;
    bool answered = false;
    while (!answered && fo_now_ns() < until) {
        tool_rpc_result r;
        analytics(f, NULL, &r);
        const Fanout__V1__AnalyticsResponse *resp = r.status == FO_STATUS_OK ? tool_rpc_analytics_reply(&r) : NULL;
        answered = resp != NULL && resp->n_results == 2 &&
                   resp->results[1]->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE &&
                   strcmp(resp->results[1]->usage->feature, "tours") == 0;
        tool_rpc_result_release(&r);
        if (!answered)
            sleep_ms(200);
    }
    return answered;
}

static void test_crashed_feature_is_reachable_after_restart(void **state)
{
    const fixture *f = *state;
    pid_t first = testproc_fleet_pid(f->fleet, "tours");
    tool_rpc_result r;
    analytics(f, "tours=crash", &r);
    Fanout__V1__AnalyticsResponse *resp = ok_reply(&r);
    assert_int_equal(resp->n_results, 2);
    assert_others_ok(resp, 1);
    assert_only_unavailable(resp, 1, "tours");
    tool_rpc_result_release(&r);

    assert_true(tool_proc_wait_output(f->fleet, "\"event\":\"restarted\",\"feature\":\"tours\"", 10000));
    assert_true(testproc_pid_gone(first, 5000));
    assert_true(tours_answers_again(f));
}

/* --- fixtures ------------------------------------------------------------------------- */

static int teardown(void **state)
{
    fixture *f = *state;
    tool_proc_free(f->agg);
    tool_proc_free(f->fleet);
    if (f->fleet_path != NULL) {
        unlink(f->fleet_path);
        free(f->fleet_path);
    }
    free(f);
    return 0;
}

/* Starts the fleet in path and an aggregator for it, with 2 s feature timeouts. */
static int start(void **state, const char *path, char *owned_path)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->fleet_path = owned_path;
    *state = f;
    f->fleet = testproc_fleet(path);
    if (f->fleet != NULL)
        f->agg = testproc_aggregator_for(f->fleet, 2000, NULL);
    if (f->agg == NULL) {
        teardown(state);
        return -1;
    }
    return 0;
}

static int setup_fast_fleet(void **state) { return start(state, FLEET_FAST, NULL); }

/* listings, and tours with "restart": true. */
static int setup_restarting_fleet(void **state)
{
    static const char *const features[] = {"listings", "tours"};
    char *path = testproc_write_fleet(features, 2, NULL);
    json_t *fleet = json_load_file(path, 0, NULL);
    json_t *tours = json_array_get(json_object_get(fleet, "features"), 1);
    int rc = json_object_set_new(tours, "restart", json_true());
    if (rc == 0)
        rc = json_dump_file(fleet, path, JSON_PRESERVE_ORDER);
    json_decref(fleet);
    if (rc != 0) {
        unlink(path);
        free(path);
        return -1;
    }
    return start(state, path, path);
}

int main(void)
{
    fo_rpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_feature_down, setup_fast_fleet, teardown),
        cmocka_unit_test_setup_teardown(test_crashed_feature_is_reachable_after_restart, setup_restarting_fleet,
                                        teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    fo_rpc_shutdown();
    return failed;
}
