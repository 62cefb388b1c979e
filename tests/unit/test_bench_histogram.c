/* Unit tests for bench/bench_hist: bucket layout, relative error, quantiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "bench_hist.h"

/* The widest a bucket may be, relative to the values it holds. */
#define MAX_RELATIVE_WIDTH (1.0 / BENCH_HIST_SUB)

static bench_hist *new_hist(void)
{
    bench_hist *h = malloc(sizeof *h);
    assert_non_null(h);
    bench_hist_init(h);
    return h;
}

static void buckets_are_contiguous_and_narrow(void **state)
{
    (void)state;
    int64_t expected_lo = 0;
    size_t last = bench_hist_bucket(BENCH_HIST_MAX_NS);
    assert_true(last < BENCH_HIST_BUCKETS);
    for (size_t b = 0; b <= last; b++) {
        int64_t lo, hi;
        bench_hist_bucket_bounds(b, &lo, &hi);
        assert_int_equal(lo, expected_lo);
        assert_true(hi >= lo);
        assert_int_equal(bench_hist_bucket(lo), b);
        assert_int_equal(bench_hist_bucket(hi), b);
        if (lo >= 1000)
            assert_true((double)(hi - lo + 1) / (double)lo <= MAX_RELATIVE_WIDTH);
        expected_lo = hi + 1;
    }
}

static void out_of_range_values_are_clamped(void **state)
{
    (void)state;
    assert_int_equal(bench_hist_bucket(-5), 0);
    assert_int_equal(bench_hist_bucket(INT64_MAX), bench_hist_bucket(BENCH_HIST_MAX_NS));
    bench_hist *h = new_hist();
    bench_hist_record(h, INT64_C(500) * 1000000000); /* 500 s: over the range */
    assert_int_equal(h->max_ns, INT64_C(500) * 1000000000);
    assert_int_equal(bench_hist_quantile(h, 0.5), INT64_C(500) * 1000000000);
    free(h);
}

static void empty_histogram_reads_zero(void **state)
{
    (void)state;
    bench_hist *h = new_hist();
    assert_int_equal(bench_hist_quantile(h, 0.99), 0);
    assert_true(bench_hist_mean(h) == 0.0);
    free(h);
}

/* 1..100000 µs once each: every quantile is known exactly. */
static void quantiles_are_within_one_bucket(void **state)
{
    (void)state;
    bench_hist *h = new_hist();
    const int64_t n = 100000;
    for (int64_t i = n; i >= 1; i--)
        bench_hist_record(h, i * 1000);
    assert_int_equal(h->total, (uint64_t)n);
    assert_int_equal(h->min_ns, 1000);
    assert_int_equal(h->max_ns, n * 1000);
    const double qs[] = {0.5, 0.9, 0.99, 0.999};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        int64_t exact = (int64_t)(qs[i] * (double)n + 0.5) * 1000;
        int64_t got = bench_hist_quantile(h, qs[i]);
        assert_true(got >= exact);
        assert_true((double)(got - exact) / (double)exact <= MAX_RELATIVE_WIDTH);
    }
    assert_int_equal(bench_hist_quantile(h, 1.0), n * 1000);
    assert_int_equal(bench_hist_quantile(h, 0.0), 1000);
    assert_true(bench_hist_mean(h) == (double)(n + 1) / 2 * 1000);
    free(h);
}

/* 99 fast calls and one slow one: p99 is fast, p99.9 and max are slow. */
static void a_single_outlier_shows_in_the_tail_only(void **state)
{
    (void)state;
    bench_hist *h = new_hist();
    for (int i = 0; i < 99; i++)
        bench_hist_record(h, 400000);
    bench_hist_record(h, 20000000);
    int64_t p99 = bench_hist_quantile(h, 0.99);
    assert_true(p99 >= 400000 && p99 <= 400000 * (1 + MAX_RELATIVE_WIDTH));
    assert_int_equal(bench_hist_quantile(h, 0.999), 20000000);
    assert_int_equal(bench_hist_quantile(h, 1.0), 20000000);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buckets_are_contiguous_and_narrow),
        cmocka_unit_test(out_of_range_values_are_clamped),
        cmocka_unit_test(empty_histogram_reads_zero),
        cmocka_unit_test(quantiles_are_within_one_bucket),
        cmocka_unit_test(a_single_outlier_shows_in_the_tail_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
