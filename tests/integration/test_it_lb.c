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
 * re-resolve and find new replicas) lose no call to the reconnections.
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

#include "testproc.h"
#include "tool_rpc.h"

#define FEATURE "listings"
#define N_REPLICAS 3
#define N_CALLS 30
/* With --max-connection-age: calls over several connection lifetimes. */
#define N_CALLS_AGED 60
#define AGE "500ms"
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

/*
 * Starts the replicas (age as in start_replica) and an aggregator with lb,
 * makes n_calls calls that must all succeed, stops everything and fills
 * counts[] with each replica's answered calls.
 */
static void run_calls(const char *lb, const char *age, int n_calls, long long counts[N_REPLICAS])
{
    tool_proc *replicas[N_REPLICAS];
    for (size_t i = 0; i < N_REPLICAS; i++) {
        replicas[i] = start_replica(age);
        assert_non_null(replicas[i]);
    }
    char target[256];
    address_list(replicas, target, sizeof target);
    char *path = write_config(target, lb);
    tool_proc *agg = testproc_aggregator(path);
    unlink(path);
    free(path);
    assert_non_null(agg);

    const char *const features[] = {FEATURE, NULL};
    for (int n = 0; n < n_calls; n++) {
        tool_rpc_result r;
        tool_rpc_analytics(tool_proc_field(agg, "address"), "cust-lb", features,
                           FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, CALL_DEADLINE_MS, NULL, &r);
        assert_int_equal(r.status, FO_STATUS_OK);
        Fanout__V1__AnalyticsResponse *resp = tool_rpc_analytics_reply(&r);
        assert_non_null(resp);
        assert_int_equal(resp->n_results, 1);
        assert_int_equal(resp->results[0]->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
        tool_rpc_result_release(&r);
        sleep_ms(PACE_MS);
    }

    /* The aggregator first, so that no call is in flight when the replicas count. */
    assert_int_equal(tool_proc_stop(agg, SIGTERM, 10000), 0);
    tool_proc_free(agg);
    for (size_t i = 0; i < N_REPLICAS; i++) {
        counts[i] = stopped_ok_count(replicas[i]);
        tool_proc_free(replicas[i]);
    }
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

int main(void)
{
    fo_rpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin_spreads_over_every_replica),
        cmocka_unit_test(test_pick_first_uses_one_replica),
        cmocka_unit_test(test_max_connection_age_loses_no_call),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tool_proc_stop_all();
    fo_rpc_shutdown();
    return rc;
}
