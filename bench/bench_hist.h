/*
 * bench_hist: a latency histogram of fixed size, laid out like HdrHistogram.
 *
 * Values are nanoseconds. Below 128 ns every value has its own bucket; above,
 * each power of two is split into 128 equal sub-buckets, so a bucket is never
 * wider than 1/128 (0.8 %) of the values it holds, over 1 µs .. 100 s and
 * beyond. Values over BENCH_HIST_MAX_NS count in the last bucket (the exact
 * maximum is kept aside). Recording is a few instructions and memory is
 * 31 KB whatever the number of samples: no sorted array of samples.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_HIST_SUB_BITS 7
#define BENCH_HIST_SUB (1 << BENCH_HIST_SUB_BITS)
/* Values are kept below 2^37 ns (137 s), which holds BENCH_HIST_MAX_NS. */
#define BENCH_HIST_TOP_BITS 37
#define BENCH_HIST_BUCKETS ((BENCH_HIST_TOP_BITS - BENCH_HIST_SUB_BITS + 1) * BENCH_HIST_SUB)
#define BENCH_HIST_MAX_NS (INT64_C(100) * 1000000000)

typedef struct bench_hist {
    uint64_t counts[BENCH_HIST_BUCKETS];
    uint64_t total;
    int64_t min_ns, max_ns; /* exact, unclamped */
    double sum_ns;
} bench_hist;

void bench_hist_init(bench_hist *h);
/* Counts one value; negative values count as 0. */
void bench_hist_record(bench_hist *h, int64_t ns);

/* The bucket that holds ns, and the bounds [lo, hi] of a bucket. */
size_t bench_hist_bucket(int64_t ns);
void bench_hist_bucket_bounds(size_t bucket, int64_t *lo, int64_t *hi);

/*
 * The value at quantile q (0..1): the top of the bucket that holds the
 * ceil(q * total)-th smallest value, capped at the exact maximum, so it is
 * never below the true value and at most 0.8 % above it. 0 when empty.
 */
int64_t bench_hist_quantile(const bench_hist *h, double q);
double bench_hist_mean(const bench_hist *h);

#endif
