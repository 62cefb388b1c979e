/*
 * Integration test of client-side load balancing: one feature served by
 * three mock replicas on loopback, and an aggregator whose target for it is
 * the address list ipv4:127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3.
 *
 * With "lb": "round_robin" (the service config the aggregator gives the
 * channel) every replica gets calls; with "pick_first" all calls go to one.
 * The replicas' own counts come from the stats line each mock prints when
 * stopped with SIGTERM ({"event":"stats",...,"ok":N,...}). Replicas that end
 * their connections every half second (--max-connection-age, so that clients
 * re-resolve and find new replicas) lose no call to the reconnections, one
 * call at a time or many.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testload.h"
#include "testproc.h"
#include "tool_rpc.h"

#define FEATURE "listings"
#define N_REPLICAS 3
#define N_CALLS 30
/* With --max-connection-age: calls over several connection lifetimes. */
#define N_CALLS_AGED 60
#define AGE "500ms"
/* Under load: LOAD_CONCURRENCY calls in flight as connections end every AGE_UNDER_LOAD. */
#define N_CALLS_LOADED 6000
#define LOAD_CONCURRENCY 16
#define AGE_UNDER_LOAD "50ms"
#define CALL_DEADLINE_MS 10000
/* Between calls, so that every replica's connection is up early in the run. */
#define PACE_MS 20

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* "ipv4:127.0.0.1:P1,127.0.0.1:P2,..." from the replicas' listening addresses. */
static void address_list(tool_proc *const *replicas, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "ipv4:");
    for (size_t i = 0; i < N_REPLICAS; i++) {
        used +=
            (size_t)snprintf(buf + used, cap - used, "%s%s", i > 0 ? "," : "", tool_proc_field(replicas[i], "address"));
        assert_true(used < cap);
    }
}

/* An aggregator config of one feature at target with that lb; returns the malloc'd path. */
static char *write_config(const char *target, const char *lb)
{
    json_t *cfg = json_pack("{s:s, s:[{s:s, s:s, s:i, s:s}]}", "listen", "127.0.0.1:0", "features", "name", FEATURE,
                            "target", target, "timeout_ms", 2000, "lb", lb);
    assert_non_null(cfg);
    char *path = strdup("/tmp/fanout-test-lb-XXXXXX.json");
    assert_non_null(path);
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(json_dump_file(cfg, path, JSON_INDENT(2)), 0);
    json_decref(cfg);
    return path;
}

/* The "ok" count of the stats line a replica printed when stopped. */
static long long stopped_ok_count(tool_proc *p)
{
    int status = tool_proc_stop(p, SIGTERM, 10000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char *out = tool_proc_output(p);
    assert_non_null(out);
    long long ok = -1;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_t *ev = json_loads(line, 0, NULL);
        const char *event = json_string_value(json_object_get(ev, "event"));
        if (event != NULL && strcmp(event, "stats") == 0)
            ok = json_integer_value(json_object_get(ev, "ok"));
        json_decref(ev);
    }
    free(out);
    if (ok < 0)
        fail_msg("replica %s printed no stats line", tool_proc_field(p, "address"));
    return ok;
}

/* A replica; with age, one that ends each connection after about that long. */
static tool_proc *start_replica(const char *age)
{
    if (age == NULL)
        return testproc_mock(FEATURE, NULL);
    char *argv[] = {MOCK_SERVICES_BIN,      "--feature", FEATURE, "--listen", "127.0.0.1:0",
                    "--max-connection-age", (char *)age, NULL};
    return tool_proc_start(argv, 15000);
}

/* Three replicas and an aggregator whose one feature is all of them. */
typedef struct lb_stack {
    tool_proc *replicas[N_REPLICAS];
    tool_proc *agg;
} lb_stack;

/* Starts the replicas (age as in start_replica) and an aggregator with lb. */
static void stack_start(lb_stack *st, const char *lb, const char *age)
{
    for (size_t i = 0; i < N_REPLICAS; i++) {
        st->replicas[i] = start_replica(age);
        assert_non_null(st->replicas[i]);
    }
    char target[256];
    address_list(st->replicas, target, sizeof target);
    char *path = write_config(target, lb);
    st->agg = testproc_aggregator(path);
    unlink(path);
    free(path);
    assert_non_null(st->agg);
}

/* Stops everything and fills counts[] with each replica's answered calls; returns their sum. */
static long long stack_stop(lb_stack *st, long long counts[N_REPLICAS])
{
    /* The aggregator first, so that no call is in flight when the replicas count. */
    assert_int_equal(tool_proc_stop(st->agg, SIGTERM, 10000), 0);
    tool_proc_free(st->agg);
    long long total = 0;
    for (size_t i = 0; i < N_REPLICAS; i++) {
        counts[i] = stopped_ok_count(st->replicas[i]);
        total += counts[i];
        tool_proc_free(st->replicas[i]);
    }
    return total;
}

/*
 * Makes n_calls calls, one at a time, that must all succeed, on a stack
 * with lb and age; fills counts[] with each replica's answered calls.
 */
static void run_calls(const char *lb, const char *age, int n_calls, long long counts[N_REPLICAS])
{
    lb_stack st;
    stack_start(&st, lb, age);
    const char *const features[] = {FEATURE, NULL};
    for (int n = 0; n < n_calls; n++) {
        tool_rpc_result r;
        tool_rpc_analytics(tool_proc_field(st.agg, "address"), "cust-lb", features,
                           FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, CALL_DEADLINE_MS, NULL, &r);
        assert_int_equal(r.status, FO_STATUS_OK);
        Fanout__V1__AnalyticsResponse *resp = tool_rpc_analytics_reply(&r);
        assert_non_null(resp);
        assert_int_equal(resp->n_results, 1);
        if (resp->results[0]->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR)
            printf("call %d: feature error %d: %s\n", n, resp->results[0]->error->code,
                   resp->results[0]->error->message);
        assert_int_equal(resp->results[0]->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
        tool_rpc_result_release(&r);
        sleep_ms(PACE_MS);
    }
    stack_stop(&st, counts);
    printf("lb %s%s%s: replica calls %lld %lld %lld\n", lb, age ? ", max connection age " : "", age ? age : "",
           counts[0], counts[1], counts[2]);
}

static void test_round_robin_spreads_over_every_replica(void **state)
{
    (void)state;
    long long counts[N_REPLICAS];
    run_calls("round_robin", NULL, N_CALLS, counts);
    long long total = 0;
    for (size_t i = 0; i < N_REPLICAS; i++) {
        assert_true(counts[i] >= 1);
        total += counts[i];
    }
    assert_int_equal(total, N_CALLS);
}

/* The control: the same address list without round_robin uses one replica only. */
static void test_pick_first_uses_one_replica(void **state)
{
    (void)state;
    long long counts[N_REPLICAS];
    run_calls("pick_first", NULL, N_CALLS, counts);
    size_t used = 0;
    long long total = 0;
    for (size_t i = 0; i < N_REPLICAS; i++) {
        used += counts[i] > 0;
        total += counts[i];
    }
    assert_int_equal(used, 1);
    assert_int_equal(total, N_CALLS);
}

/* Connections ended every AGE: every call still succeeds, on every replica. */
static void test_max_connection_age_loses_no_call(void **state)
{
    (void)state;
    long long counts[N_REPLICAS];
    run_calls("round_robin", AGE, N_CALLS_AGED, counts);
    long long total = 0;
    for (size_t i = 0; i < N_REPLICAS; i++) {
        assert_true(counts[i] >= 1);
        total += counts[i];
    }
    assert_int_equal(total, N_CALLS_AGED);
}

/*
 * The same under load, with connections ended ten times as often: calls
 * started just as a replica ends a connection are refused by its GOAWAY
 * before the server sees them, and gRPC's transparent retry sends them again
 * on another connection. Without it (retries off on the feature channels)
 * some of these calls failed UNAVAILABLE. Each replica answers each call once:
 * the replicas' counts add up to the calls exactly.
 */
/* testload's on_reply: prints the first few feature errors, to say what failed. */
static void print_feature_errors(fo_status status, const Fanout__V1__AnalyticsResponse *resp, void *ud)
{
    int *printed = ud;
    if (status != FO_STATUS_OK || resp == NULL)
        return;
    for (size_t i = 0; i < resp->n_results && *printed < 5; i++) {
        const Fanout__V1__FeatureResult *r = resp->results[i];
        if (r->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR) {
            printf("feature error %d: %s\n", r->error->code, r->error->message);
            (*printed)++;
        }
    }
}

static void test_max_connection_age_under_load_loses_no_call(void **state)
{
    (void)state;
    lb_stack st;
    stack_start(&st, "round_robin", AGE_UNDER_LOAD);
    int printed = 0;
    testload o = {.target = tool_proc_field(st.agg, "address"),
                  .requests = N_CALLS_LOADED,
                  .concurrency = LOAD_CONCURRENCY,
                  .deadline_ms = CALL_DEADLINE_MS,
                  .on_reply = print_feature_errors,
                  .ud = &printed};
    testload_tally t = {0};
    testload_run(&o, &t);
    long long counts[N_REPLICAS];
    long long total = stack_stop(&st, counts);
    printf("lb round_robin under load, max connection age %s: replica calls %lld %lld %lld, partial %llu\n",
           AGE_UNDER_LOAD, counts[0], counts[1], counts[2], (unsigned long long)t.partial);
    assert_int_equal(t.replies, N_CALLS_LOADED);
    assert_int_equal(t.by_status[FO_STATUS_OK], N_CALLS_LOADED);
    assert_int_equal(t.partial, 0);
    assert_int_equal(t.succeeded, N_CALLS_LOADED);
    assert_int_equal(t.attempts, N_CALLS_LOADED);
    assert_int_equal(total, N_CALLS_LOADED);
}

int main(void)
{
    fo_rpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin_spreads_over_every_replica),
        cmocka_unit_test(test_pick_first_uses_one_replica),
        cmocka_unit_test(test_max_connection_age_loses_no_call),
        cmocka_unit_test(test_max_connection_age_under_load_loses_no_call),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tool_proc_stop_all();
    fo_rpc_shutdown();
    return rc;
}
