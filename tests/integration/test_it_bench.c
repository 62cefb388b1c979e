/*
 * Integration tests of fanout-bench, the load generator, against a real mock
 * fleet and aggregator: the JSON line carries every figure the benchmark
 * promises and they agree with each other (calls, statuses, feature calls,
 * percentiles, windows, the CPU and RSS of the processes it watches); its
 * customers come from the pool, in the order the seed gives, over as many
 * TCP connections as asked; failed calls are counted by status, not treated
 * as a failed run; the table is readable; a bad command line exits 2 naming
 * the option.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "testcli.h"
#include "testproc.h"

static const char *const features[] = {"listings", "tours", "offers"};
static tool_proc *fleet;
static tool_proc *agg;

static int setup(void **state)
{
    (void)state;
    char *path = testproc_write_fleet(features, 3, NULL);
    fleet = testproc_fleet(path);
    unlink(path);
    free(path);
    if (fleet == NULL)
        return -1;
    agg = testproc_aggregator_for(fleet, 5000, NULL);
    return agg != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tool_proc_free(agg);
    tool_proc_free(fleet);
    return 0;
}

/* Runs fanout-bench with args; its exit status in *rc, its stderr in *err (may be NULL). */
static char *bench(const char *args, int *rc, char **err)
{
    char cmd[PATH_MAX + 1024];
    snprintf(cmd, sizeof cmd, "timeout 60 '%s' %s", FANOUT_BENCH_BIN, args);
    char *out;
    *rc = testcli_run(cmd, &out, err);
    return out;
}

/* A run that must succeed, with the arguments printf formats from fmt: its JSON line, parsed. */
__attribute__((format(printf, 1, 2))) static json_t *bench_json(const char *fmt, ...)
{
    char args[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int rc;
    char *err;
    char *out = bench(args, &rc, &err);
    if (rc != 0)
        fail_msg("fanout-bench %s: exit %d: %s", args, rc, err);
    json_error_t jerr;
    json_t *line = json_loadb(out, strcspn(out, "\n"), 0, &jerr);
    if (!json_is_object(line))
        fail_msg("fanout-bench %s: first line is not a JSON object (%s): %s", args, jerr.text, out);
    free(out);
    free(err);
    return line;
}

static json_int_t int_at(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

static double num_at(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        fail_msg("\"%s\" is not a number", key);
    return json_number_value(v);
}

/* Every percentile present, positive and in order: min <= p50 <= ... <= max. */
static void expect_latency_in_order(const json_t *run)
{
    const json_t *lat = json_object_get(run, "latency_us");
    static const char *const order[] = {"min", "p50", "p90", "p99", "p99.9", "max"};
    double prev = 0;
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        double v = num_at(lat, order[i]);
        if (v <= 0 || v < prev)
            fail_msg("latency %s = %g after %g", order[i], v, prev);
        prev = v;
    }
    double mean = num_at(lat, "mean");
    assert_true(mean >= num_at(lat, "min") && mean <= num_at(lat, "max"));
}

/* The figures of one watched process group. */
static const json_t *procs_group(const json_t *run, const char *name, pid_t pid)
{
    const json_t *g = json_object_get(json_object_get(run, "procs"), name);
    assert_non_null(g);
    assert_true(json_is_true(json_object_get(g, "ok")));
    assert_int_equal(json_integer_value(json_array_get(json_object_get(g, "pids"), 0)), pid);
    assert_true(int_at(g, "rss_kb") > 1024);
    assert_true(int_at(g, "hwm_kb") >= int_at(g, "rss_kb"));
    return g;
}

static void direct_run_reports_every_figure(void **state)
{
    (void)state;
    pid_t mocks = testproc_fleet_pid(fleet, "listings");
    json_t *run =
        bench_json("--mode direct --target %s -c 4 --warmup-requests 20 --warmup 30s --requests 3000 --duration 30s "
                   "--pid mocks=%d --label direct-check --format json",
                   testproc_fleet_address(fleet, "listings"), (int)mocks);

    assert_string_equal(json_string_value(json_object_get(run, "label")), "direct-check");
    assert_string_equal(json_string_value(json_object_get(run, "mode")), "direct");
    assert_int_equal(int_at(run, "concurrency"), 4);
    assert_int_equal(int_at(run, "warmup_calls"), 20);
    /* The warm-up ended at its 20th call, long before its 30 s. */
    assert_true(num_at(run, "warmup_s") > 0 && num_at(run, "warmup_s") < 20);
    assert_int_equal(int_at(run, "requests"), 3000);
    assert_int_equal(int_at(run, "ok"), 3000);
    assert_int_equal(json_object_size(json_object_get(run, "errors")), 0);
    assert_int_equal(int_at(run, "feature_calls"), 3000);
    double window = num_at(run, "window_s");
    assert_true(window > 0 && window < 20);
    double rps = num_at(run, "rps");
    if (rps < 0.99 * 3000 / window || rps > 1.01 * 3000 / window)
        fail_msg("rps %g for 3000 calls in %g s", rps, window);
    expect_latency_in_order(run);
    /* 3,000 calls cost the mock well over one 10 ms clock tick of CPU. */
    const json_t *g = procs_group(run, "mocks", mocks);
    assert_true(num_at(g, "cpu_s") > 0);
    assert_true(num_at(g, "cpu_us_per_req") > 0);
    assert_true(num_at(run, "bench_cpu_us_per_req") > 0);
    /* Its own resident set: gRPC and its channel take megabytes, not kilobytes or gigabytes. */
    json_int_t rss_kb = int_at(run, "bench_rss_kb");
    if (rss_kb < 1024 || rss_kb > 1024 * 1024)
        fail_msg("bench_rss_kb %lld", (long long)rss_kb);
    json_decref(run);
}

static void aggregate_run_counts_feature_calls(void **state)
{
    (void)state;
    pid_t pid = agg->pid;
    json_t *run = bench_json("--target %s -c 8 --connections 2 --warmup 200ms --requests 400 --duration 30s "
                             "--customers 50 --seed 7 --pid aggregator=%d --format json",
                             tool_proc_field(agg, "address"), (int)pid);

    assert_string_equal(json_string_value(json_object_get(run, "mode")), "aggregate");
    assert_int_equal(int_at(run, "connections"), 2);
    assert_int_equal(int_at(run, "requests"), 400);
    assert_int_equal(int_at(run, "ok"), 400);
    assert_int_equal(int_at(run, "partial"), 0);
    assert_int_equal(int_at(run, "failed_features"), 0);
    /* Every aggregate called the three configured features. */
    assert_int_equal(int_at(run, "feature_calls"), 3 * 400);
    assert_true(num_at(run, "warmup_s") >= 0.2 && num_at(run, "warmup_s") < 5);
    expect_latency_in_order(run);
    const json_t *g = procs_group(run, "aggregator", pid);
    assert_true(num_at(g, "cpu_s") > 0);
    json_decref(run);
}

static void feature_subset_is_what_is_asked(void **state)
{
    (void)state;
    json_t *run = bench_json("--target %s -c 2 --warmup 0s --requests 50 --features tours,offers --format json",
                             tool_proc_field(agg, "address"));
    assert_int_equal(int_at(run, "ok"), 50);
    assert_int_equal(int_at(run, "feature_calls"), 2 * 50);
    json_decref(run);
}

static void window_ends_at_its_duration(void **state)
{
    (void)state;
    json_t *run = bench_json("--mode direct --target %s -c 2 --warmup 200ms --duration 500ms --format json",
                             testproc_fleet_address(fleet, "tours"));
    double window = num_at(run, "window_s");
    double warmup = num_at(run, "warmup_s");
    if (window < 0.5 || window > 1.5 || warmup < 0.2 || warmup > 1.2)
        fail_msg("window %g s (want 0.5), warm-up %g s (want 0.2)", window, warmup);
    assert_true(int_at(run, "requests") > 0);
    assert_int_equal(int_at(run, "ok"), int_at(run, "requests"));
    json_decref(run);
}

/* ESTABLISHED TCP connections to remote port `port` listed in table (/proc/net/tcp or tcp6). */
static int established_in(const char *table, int port)
{
    FILE *f = fopen(table, "r");
    if (f == NULL)
        return 0;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned rem_port, state;
        if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%*x %*[0-9A-Fa-f]:%x %x", &rem_port, &state) == 2 &&
            (int)rem_port == port && state == 1)
            n++;
    }
    fclose(f);
    return n;
}

/* Connections to the server on port: gRPC's sockets are IPv6 with IPv4-mapped addresses, so both tables. */
static int established_to(int port)
{
    return established_in("/proc/net/tcp", port) + established_in("/proc/net/tcp6", port);
}

static int port_of(const char *address) { return atoi(strrchr(address, ':') + 1); }

static void connections_are_separate(void **state)
{
    (void)state;
    const char *target = testproc_fleet_address(fleet, "offers");
    char cmd[PATH_MAX + 512];
    snprintf(cmd, sizeof cmd,
             "timeout 30 '%s' --mode direct --target %s -c 6 --connections 3 --warmup 0s --duration 1500ms "
             "--format json",
             FANOUT_BENCH_BIN, target);
    int before = established_to(port_of(target)); /* the aggregator's own connection */
    FILE *run = popen(cmd, "r");
    assert_non_null(run);
    usleep(700000);
    int during = established_to(port_of(target));
    char line[4096] = "";
    if (fgets(line, sizeof line, run) == NULL)
        line[0] = '\0';
    assert_int_equal(pclose(run), 0);
    if (during - before != 3)
        fail_msg("%d connections to %s during a run with --connections 3, %d before", during, target, before);
    json_t *result = json_loads(line, 0, NULL);
    assert_non_null(result);
    assert_int_equal(int_at(result, "connections"), 3);
    assert_true(int_at(result, "ok") > 0);
    json_decref(result);
}

/* The customers of the aggregator's request log lines from the first'th on, waiting up to 5 s for n of them. */
static json_t *logged_customers(size_t first, size_t n)
{
    json_t *all = NULL;
    for (int tries = 0; tries < 100; tries++) {
        json_decref(all);
        all = testproc_events(agg, "request");
        if (json_array_size(all) >= first + n)
            break;
        usleep(50000);
    }
    assert_true(json_array_size(all) >= first + n);
    json_t *customers = json_array();
    for (size_t i = first; i < first + n; i++)
        json_array_append(customers, json_object_get(json_array_get(all, i), "customer"));
    json_decref(all);
    return customers;
}

/* Runs n aggregates at -c 1 for a pool of `customers` drawn with seed; returns their customers in order. */
static json_t *customers_of_run(int customers, int seed, size_t n)
{
    json_t *before = testproc_events(agg, "request");
    size_t first = json_array_size(before);
    json_decref(before);
    json_decref(bench_json("--target %s -c 1 --warmup 0s --requests %zu --customers %d --seed %d --format json",
                           tool_proc_field(agg, "address"), n, customers, seed));
    return logged_customers(first, n);
}

static size_t distinct(const json_t *strings)
{
    json_t *seen = json_object();
    size_t i;
    const json_t *v;
    json_array_foreach(strings, i, v) json_object_set(seen, json_string_value(v), json_true());
    size_t n = json_object_size(seen);
    json_decref(seen);
    return n;
}

static void customers_come_from_the_pool_in_seed_order(void **state)
{
    (void)state;
    json_t *a = customers_of_run(3, 11, 60);
    json_t *again = customers_of_run(3, 11, 60);
    json_t *other_seed = customers_of_run(3, 12, 60);
    json_t *one = customers_of_run(1, 11, 10);
    /* 60 draws from 3 miss one of them with a probability of 3 (2/3)^60, about 1e-10. */
    assert_int_equal(distinct(a), 3);
    assert_true(json_equal(a, again));
    assert_false(json_equal(a, other_seed));
    assert_int_equal(distinct(one), 1);
    json_decref(a);
    json_decref(again);
    json_decref(other_seed);
    json_decref(one);
}

/* --- failures are figures ---------------------------------------------------- */

static void backend_errors_are_counted_by_status(void **state)
{
    (void)state;
    json_t *run = bench_json("--mode direct --target %s -c 4 --warmup 0s --requests 60 "
                             "--metadata x-mock-fault=listings=error:UNAVAILABLE --format json",
                             testproc_fleet_address(fleet, "listings"));
    assert_int_equal(int_at(run, "requests"), 60);
    assert_int_equal(int_at(run, "ok"), 0);
    const json_t *errors = json_object_get(run, "errors");
    assert_int_equal(json_object_size(errors), 1);
    assert_int_equal(int_at(errors, "UNAVAILABLE"), 60);
    json_decref(run);
}

static void timeouts_are_deadline_exceeded(void **state)
{
    (void)state;
    json_t *run = bench_json("--mode direct --target %s -c 4 --warmup 0s --requests 12 --timeout 50ms "
                             "--metadata x-mock-fault=listings=delay:2s --format json",
                             testproc_fleet_address(fleet, "listings"));
    assert_int_equal(int_at(json_object_get(run, "errors"), "DEADLINE_EXCEEDED"), 12);
    assert_true(num_at(json_object_get(run, "latency_us"), "p50") >= 50000);
    json_decref(run);
}

static void failed_features_make_partial_aggregates(void **state)
{
    (void)state;
    json_t *run = bench_json(
        "--target %s -c 4 --warmup 0s --requests 40 --metadata x-mock-fault=tours=error:INTERNAL --format json",
        tool_proc_field(agg, "address"));
    /* Allow-partial: the aggregate is OK, with one failed feature in each. */
    assert_int_equal(int_at(run, "ok"), 40);
    assert_int_equal(int_at(run, "partial"), 40);
    assert_int_equal(int_at(run, "failed_features"), 40);
    json_decref(run);
}

/* A port nobody listens on: bound, then closed. */
static int unused_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void unreachable_target_is_unavailable(void **state)
{
    (void)state;
    json_t *run =
        bench_json("--mode direct --target 127.0.0.1:%d -c 2 --warmup 0s --requests 20 --format json", unused_port());
    assert_int_equal(int_at(run, "ok"), 0);
    assert_int_equal(int_at(json_object_get(run, "errors"), "UNAVAILABLE"), 20);
    json_decref(run);
}

static void gone_process_is_marked_not_ok(void **state)
{
    (void)state;
    json_t *run = bench_json("--mode direct --target %s --warmup 0s --requests 10 --pid gone=%d --format json",
                             testproc_fleet_address(fleet, "tours"), INT_MAX - 1);
    const json_t *g = json_object_get(json_object_get(run, "procs"), "gone");
    assert_non_null(g);
    assert_true(json_is_false(json_object_get(g, "ok")));
    json_decref(run);
}

/* --- output formats and the command line ----------------------------------------- */

static void table_is_readable(void **state)
{
    (void)state;
    char args[512];
    snprintf(args, sizeof args, "--target %s -c 2 --warmup 0s --requests 30 --pid aggregator=%d --format table",
             tool_proc_field(agg, "address"), (int)agg->pid);
    int rc;
    char *out = bench(args, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_true(strncmp(out, "fanout-bench aggregate ", 23) == 0);
    static const char *const want[] = {"requests", "30 ok",      "req/s",  "p50",  "p99.9",
                                       "max",      "aggregator", "us/req", "bench"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        if (strstr(out, want[i]) == NULL)
            fail_msg("the table has no \"%s\":\n%s", want[i], out);
    }
    free(out);

    /* Both: the JSON line first, then the table. */
    snprintf(args, sizeof args, "--target %s -c 2 --warmup 0s --requests 10", tool_proc_field(agg, "address"));
    out = bench(args, &rc, NULL);
    assert_int_equal(rc, 0);
    assert_true(out[0] == '{');
    assert_non_null(strstr(out, "\nfanout-bench aggregate "));
    free(out);
}

static void expect_usage_error(const char *args, const char *named)
{
    int rc;
    char *err;
    char *out = bench(args, &rc, &err);
    if (rc != 2 || strstr(err, named) == NULL)
        fail_msg("fanout-bench %s: exit %d (want 2), stderr without \"%s\": %s", args, rc, named, err);
    assert_string_equal(out, "");
    free(out);
    free(err);
}

static void bad_command_lines_exit_2(void **state)
{
    (void)state;
    expect_usage_error("-c 1", "--target");
    expect_usage_error("--target 127.0.0.1:1 -c 0", "-c");
    expect_usage_error("--target 127.0.0.1:1 --duration soon", "--duration");
    expect_usage_error("--target 127.0.0.1:1 --mode both", "--mode");
    expect_usage_error("--target 127.0.0.1:1 --pid mocks", "--pid");
    expect_usage_error("--target 127.0.0.1:1 --metadata novalue", "--metadata");
    expect_usage_error("--target 127.0.0.1:1 --format xml", "--format");
    expect_usage_error("--target 127.0.0.1:1 --frobnicate", "usage");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(direct_run_reports_every_figure),
        cmocka_unit_test(aggregate_run_counts_feature_calls),
        cmocka_unit_test(feature_subset_is_what_is_asked),
        cmocka_unit_test(window_ends_at_its_duration),
        cmocka_unit_test(customers_come_from_the_pool_in_seed_order),
        cmocka_unit_test(connections_are_separate),
        cmocka_unit_test(backend_errors_are_counted_by_status),
        cmocka_unit_test(timeouts_are_deadline_exceeded),
        cmocka_unit_test(failed_features_make_partial_aggregates),
        cmocka_unit_test(unreachable_target_is_unavailable),
        cmocka_unit_test(gone_process_is_marked_not_ok),
        cmocka_unit_test(table_is_readable),
        cmocka_unit_test(bad_command_lines_exit_2),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
