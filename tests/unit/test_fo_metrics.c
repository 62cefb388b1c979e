/*
 * Unit tests of fo_metrics and fo_admin: the text exposition (HELP/TYPE,
 * label escaping, cumulative histogram buckets with +Inf, _sum and _count,
 * the unit scale), increments from many threads summed across shards (and
 * the shared last shard), series reserved and named later, collectors, the
 * process metrics, and the admin
 * listener's endpoints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fo_admin.h"
#include "fo_metrics.h"
#include "fo_metrics_process.h"
#include "testraw.h"

static const char *const label_a_b[] = {"a", "b", NULL};
static const char *const label_f[] = {"feature", NULL};

static char *render(fo_metrics *m)
{
    size_t len;
    char *text = fo_metrics_render(m, &len);
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_counter_and_escaping(void **state)
{
    (void)state;
    fo_metrics *m = fo_metrics_create();
    fo_metric_family *c = fo_metrics_counter(m, "x_total", "Help with \\ and\nnewline.", label_a_b);
    fo_metric_series plain = fo_metrics_series(c, (const char *const[]){"one", "two"});
    fo_metric_series odd = fo_metrics_series(c, (const char *const[]){"q\"uote", "back\\slash\nnl"});
    fo_metrics_seal(m, 2);
    fo_metrics_add(m, plain, 3);
    fo_metrics_add(m, odd, 1);
    fo_metrics_add(m, plain, 2);
    char *text = render(m);
    assert_string_equal(text, "# HELP x_total Help with \\\\ and\\nnewline.\n"
                              "# TYPE x_total counter\n"
                              "x_total{a=\"one\",b=\"two\"} 5\n"
                              "x_total{a=\"q\\\"uote\",b=\"back\\\\slash\\nnl\"} 1\n");
    free(text);
    fo_metrics_destroy(m);
}

static void test_histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    fo_metrics *m = fo_metrics_create();
    static const uint64_t bounds[] = {1000, 5000, 100000};
    fo_metric_family *h = fo_metrics_histogram(m, "lat_seconds", "Latency.", label_f, bounds, 3, 1e-6);
    fo_metric_series s = fo_metrics_series(h, (const char *const[]){"tours"});
    fo_metrics_seal(m, 1);
    /* 1000 is in le=0.001 (bounds are inclusive), 1001 is not; 200000 only in +Inf. */
    const uint64_t values[] = {10, 1000, 1001, 5000, 200000};
    for (size_t i = 0; i < 5; i++)
        fo_metrics_observe(m, h, s, values[i]);
    char *text = render(m);
    assert_string_equal(text, "# HELP lat_seconds Latency.\n"
                              "# TYPE lat_seconds histogram\n"
                              "lat_seconds_bucket{feature=\"tours\",le=\"0.001\"} 2\n"
                              "lat_seconds_bucket{feature=\"tours\",le=\"0.005\"} 4\n"
                              "lat_seconds_bucket{feature=\"tours\",le=\"0.1\"} 4\n"
                              "lat_seconds_bucket{feature=\"tours\",le=\"+Inf\"} 5\n"
                              "lat_seconds_sum{feature=\"tours\"} 0.207011\n"
                              "lat_seconds_count{feature=\"tours\"} 5\n");
    free(text);
    fo_metrics_destroy(m);
}

/* A reserved series counts from the start but shows only once named; naming it twice fails. */
static void test_reserved_series_named_later(void **state)
{
    (void)state;
    fo_metrics *m = fo_metrics_create();
    fo_metric_family *c = fo_metrics_counter(m, "y_total", "Y.", label_f);
    fo_metric_series known = fo_metrics_series(c, (const char *const[]){"tours"});
    fo_metric_series spare = fo_metrics_series_reserve(c);
    fo_metric_family *bare = fo_metrics_counter(m, "z_total", "Z.", NULL);
    fo_metric_series z = fo_metrics_series(bare, NULL);
    fo_metrics_seal(m, 1);
    fo_metrics_add(m, known, 1);
    fo_metrics_add(m, spare, 4);
    fo_metrics_add(m, z, 2);
    char *text = render(m);
    assert_string_equal(text, "# HELP y_total Y.\n# TYPE y_total counter\ny_total{feature=\"tours\"} 1\n"
                              "# HELP z_total Z.\n# TYPE z_total counter\nz_total 2\n");
    free(text);
    assert_true(fo_metrics_series_name(c, spare, (const char *const[]){"leads"}));
    assert_false(fo_metrics_series_name(c, spare, (const char *const[]){"other"}));
    assert_false(fo_metrics_series_name(c, known, (const char *const[]){"other"}));
    fo_metrics_add(m, spare, 1);
    text = render(m);
    assert_string_equal(text, "# HELP y_total Y.\n# TYPE y_total counter\ny_total{feature=\"tours\"} 1\n"
                              "y_total{feature=\"leads\"} 5\n"
                              "# HELP z_total Z.\n# TYPE z_total counter\nz_total 2\n");
    free(text);
    fo_metrics_destroy(m);
}

typedef struct adder {
    fo_metrics *m;
    fo_metric_series s;
} adder;

static void *add_many(void *arg)
{
    adder *a = arg;
    for (int i = 0; i < 100000; i++)
        fo_metrics_add(a->m, a->s, 1);
    return NULL;
}

/* Six threads on three shards: the last shard is shared by four of them, and nothing is lost. */
static void test_threads_sum_across_shards(void **state)
{
    (void)state;
    fo_metrics *m = fo_metrics_create();
    fo_metric_family *c = fo_metrics_counter(m, "n_total", "N.", NULL);
    adder a = {m, fo_metrics_series(c, NULL)};
    fo_metrics_seal(m, 3);
    pthread_t t[6];
    for (int i = 0; i < 6; i++)
        assert_int_equal(pthread_create(&t[i], NULL, add_many, &a), 0);
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    char *text = render(m);
    assert_non_null(strstr(text, "\nn_total 600000\n"));
    free(text);
    fo_metrics_destroy(m);
}

static void gauge_collector(fo_metrics_out *out, void *ctx)
{
    fo_metrics_out_family(out, "g", "A gauge.", "gauge");
    fo_metrics_out_sample(out, "g", label_f, (const char *const[]){ctx}, 2.5);
}

/* A registry made after another was freed is counted apart, though the thread counted into both. */
static void test_collectors_and_fresh_registries(void **state)
{
    (void)state;
    for (int round = 0; round < 2; round++) {
        fo_metrics *m = fo_metrics_create();
        fo_metric_family *c = fo_metrics_counter(m, "r_total", "R.", NULL);
        fo_metric_series s = fo_metrics_series(c, NULL);
        fo_metrics_add_collector(m, gauge_collector, "x");
        fo_metrics_process_register(m);
        fo_metrics_seal(m, 1);
        fo_metrics_add(m, s, 7);
        char *text = render(m);
        assert_non_null(strstr(text, "\nr_total 7\n# HELP g A gauge.\n# TYPE g gauge\ng{feature=\"x\"} 2.5\n"));
        assert_non_null(strstr(text, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total "));
        assert_non_null(strstr(text, "\nprocess_resident_memory_bytes "));
        assert_non_null(strstr(text, "\nprocess_open_fds "));
        assert_non_null(strstr(text, "\nprocess_start_time_seconds 1"));
        free(text);
        fo_metrics_destroy(m);
    }
}

static void assert_status(const char *answer, const char *status)
{
    assert_non_null(strstr(answer, status));
    assert_true(strstr(answer, status) < strstr(answer, "\r\n"));
}

static void test_admin_endpoints(void **state)
{
    (void)state;
    fo_metrics *m = fo_metrics_create();
    fo_metric_family *c = fo_metrics_counter(m, "hits_total", "Hits.", NULL);
    fo_metric_series s = fo_metrics_series(c, NULL);
    fo_metrics_seal(m, 1);
    fo_metrics_add(m, s, 42);
    fo_admin *a = NULL;
    assert_null(fo_admin_start("127.0.0.1:0", m, &a));
    int port = fo_admin_port(a);
    assert_true(port > 0);
    char answer[4096];
    assert_true(testraw_http10(port, "GET", "/metrics", answer, sizeof answer));
    assert_status(answer, " 200 ");
    assert_non_null(strstr(answer, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
    assert_non_null(strstr(answer, "\r\n\r\n# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total 42\n"));
    assert_true(testraw_http10(port, "GET", "/healthz", answer, sizeof answer));
    assert_status(answer, " 200 ");
    assert_true(testraw_http10(port, "GET", "/readyz", answer, sizeof answer));
    assert_status(answer, " 503 ");
    fo_admin_set_ready(a, true);
    assert_true(testraw_http10(port, "GET", "/readyz", answer, sizeof answer));
    assert_status(answer, " 200 ");
    fo_admin_set_ready(a, false);
    assert_true(testraw_http10(port, "GET", "/readyz", answer, sizeof answer));
    assert_status(answer, " 503 ");
    assert_true(testraw_http10(port, "GET", "/other", answer, sizeof answer));
    assert_status(answer, " 404 ");
    assert_true(testraw_http10(port, "DELETE", "/metrics", answer, sizeof answer));
    assert_status(answer, " 405 ");
    assert_true(testraw_http10(port, "HEAD", "/metrics", answer, sizeof answer));
    assert_status(answer, " 200 ");
    assert_null(strstr(answer, "hits_total 42"));
    fo_admin_stop(a);
    fo_metrics_destroy(m);
}

static void test_admin_bad_address(void **state)
{
    (void)state;
    fo_metrics *m = fo_metrics_create();
    fo_metrics_seal(m, 1);
    fo_admin *a = NULL;
    fo_error *err = fo_admin_start("127.0.0.1:99999", m, &a);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "127.0.0.1:99999"));
    fo_error_free(err);
    fo_metrics_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_escaping),
        cmocka_unit_test(test_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_threads_sum_across_shards),
        cmocka_unit_test(test_collectors_and_fresh_registries),
        cmocka_unit_test(test_admin_endpoints),
        cmocka_unit_test(test_admin_bad_address),
        cmocka_unit_test(test_reserved_series_named_later),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
