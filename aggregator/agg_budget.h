/*
 * agg_budget: one feature's budget for extra attempts (hedges and retries),
 * shared by every worker, like Finagle's retry budget or gRPC's retry
 * throttling: over a sliding window (window_ms, in AGG_BUDGET_BUCKETS
 * buckets) the extra attempts may reach `percent` of the first attempts
 * plus per_second for each second of the window (the floor that lets a quiet
 * service hedge at all). Whatever the hedge delay says, a
 * feature that is slow for every call gets no more than that: hedging never
 * doubles the load on a struggling service.
 *
 * Lock-free: each bucket is one 64-bit word (its period, its first attempts,
 * its extra attempts) changed by compare-and-swap, so a first attempt costs
 * one CAS on a word that rarely has contention. Workers deciding at the same
 * instant may overshoot by one attempt each. The clock is passed in
 * (milliseconds, monotonic), which keeps it testable.
 */
#ifndef AGG_BUDGET_H
#define AGG_BUDGET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "agg_hedge_config.h"

#define AGG_BUDGET_BUCKETS 10

typedef struct agg_budget {
    agg_budget_cfg cfg;
    int64_t bucket_ms;
    _Atomic uint64_t buckets[AGG_BUDGET_BUCKETS];
} agg_budget;

void agg_budget_init(agg_budget *b, const agg_budget_cfg *cfg);
/* A first attempt was made. */
void agg_budget_first(agg_budget *b, int64_t now_ms);
/* An extra attempt may be made: true counts it, false refuses it. */
bool agg_budget_try_extra(agg_budget *b, int64_t now_ms);

/* The window's counts, for tests and logs. */
typedef struct agg_budget_counts {
    uint64_t firsts, extras;
} agg_budget_counts;
agg_budget_counts agg_budget_window(agg_budget *b, int64_t now_ms);

#endif
