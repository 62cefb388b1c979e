/* bench_hist: log-bucket latency histogram (see bench_hist.h). */
#include "bench_hist.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

void bench_hist_init(bench_hist *h) { memset(h, 0, sizeof *h); }

size_t bench_hist_bucket(int64_t ns)
{
    if (ns < 0)
        ns = 0;
    if (ns > BENCH_HIST_MAX_NS)
        ns = BENCH_HIST_MAX_NS;
    uint64_t v = (uint64_t)ns;
    if (v < BENCH_HIST_SUB)
        return (size_t)v;
    /* The top SUB_BITS+1 bits pick the sub-bucket; the position of the
     * highest bit picks the power of two. */
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - BENCH_HIST_SUB_BITS;
    return (size_t)(shift + 1) * BENCH_HIST_SUB + (size_t)((v >> shift) - BENCH_HIST_SUB);
}

void bench_hist_bucket_bounds(size_t bucket, int64_t *lo, int64_t *hi)
{
    if (bucket < BENCH_HIST_SUB) {
        *lo = *hi = (int64_t)bucket;
        return;
    }
    int shift = (int)(bucket / BENCH_HIST_SUB) - 1;
    int64_t top = BENCH_HIST_SUB + (int64_t)(bucket % BENCH_HIST_SUB);
    *lo = top << shift;
    *hi = ((top + 1) << shift) - 1;
}

void bench_hist_record(bench_hist *h, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    h->counts[bench_hist_bucket(ns)]++;
    if (h->total == 0 || ns < h->min_ns)
        h->min_ns = ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
    h->total++;
    h->sum_ns += (double)ns;
}

int64_t bench_hist_quantile(const bench_hist *h, double q)
{
    if (h->total == 0)
        return 0;
    if (q <= 0)
        return h->min_ns;
    if (q >= 1)
        return h->max_ns;
    /* The epsilon keeps 0.99 * 100 from rounding up to rank 100. */
    uint64_t rank = (uint64_t)ceil(q * (double)h->total - 1e-9);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t lo, hi;
            bench_hist_bucket_bounds(i, &lo, &hi);
            /* The last bucket also holds the clamped values: only max bounds them. */
            bool holds_clamped = i == bench_hist_bucket(BENCH_HIST_MAX_NS);
            return hi < h->max_ns && !holds_clamped ? hi : h->max_ns;
        }
    }
    return h->max_ns;
}

double bench_hist_mean(const bench_hist *h) { return h->total ? h->sum_ns / (double)h->total : 0.0; }
