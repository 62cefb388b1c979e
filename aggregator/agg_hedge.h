/*
 * agg_hedge: when a feature call that has not answered gets a second one.
 *
 * A fixed policy waits after_ms. An adaptive one waits a quantile of the
 * feature's own recent latency, clamped to [min_ms, max_ms], read from a
 * decaying histogram: log-spaced buckets (four per doubling, from 50 µs to
 * 2.75 s, so a quantile is within a fifth of the truth), halved whenever
 * it holds AGG_LATENCY_DECAY_AT samples, so that it follows the last one or
 * two thousand calls and forgets older ones. Until it holds
 * AGG_LATENCY_MIN_SAMPLES the delay is max_ms: no hedge on a guess.
 *
 * Each worker keeps its own histogram per feature (no atomics, no sharing:
 * a request and its feature calls live on one worker); the extra-attempt
 * budget (agg_budget.h), shared by the workers, is what bounds the load.
 */
#ifndef AGG_HEDGE_H
#define AGG_HEDGE_H

#include <stdint.h>

#include "agg_hedge_config.h"

#define AGG_LATENCY_BUCKETS 64
#define AGG_LATENCY_DECAY_AT 2048
#define AGG_LATENCY_MIN_SAMPLES 32

typedef struct agg_latency {
    uint32_t counts[AGG_LATENCY_BUCKETS];
    uint32_t total;
} agg_latency;

/* One call's latency (or, for a call cancelled because another answered, how long it had run). */
void agg_latency_record(agg_latency *h, int64_t us);
/* The q-quantile in µs (interpolated in its bucket), or -1 below AGG_LATENCY_MIN_SAMPLES samples. */
int64_t agg_latency_quantile_us(const agg_latency *h, double q);

/* The hedge delay in µs under cfg, from h for an adaptive policy; -1 when hedging is off. */
int64_t agg_hedge_delay_us(const agg_hedge_cfg *cfg, const agg_latency *h);

#endif
