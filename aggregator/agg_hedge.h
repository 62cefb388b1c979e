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
 * An adaptive hedge also learns whether hedging the feature pays at all:
 * how often its hedges win. Where calls are slow each on its own account (a
 * heavy tail: a cache miss, a pause), a hedge races a call that is likely
 * to take long still, and mostly wins. Where every call is slow for the same
 * reason (the feature or this machine saturated, every call queued), the
 * call a hedge races is about to be answered, the hedge queues behind it and
 * never wins: it is load that cannot help, added when there is none to
 * spare. So while fewer than one hedge in AGG_HEDGE_MIN_WIN_RATIO wins, the
 * hedges are held back, all but one in AGG_HEDGE_PROBE_EVERY, which goes to
 * find out whether they win again. A fixed after_ms is always sent.
 *
 * Each worker keeps its own histogram and win count per feature (no
 * atomics, no sharing: a request and its feature calls live on one worker);
 * the extra-attempt budget (agg_budget.h), shared by the workers, is what
 * bounds the load.
 */
#ifndef AGG_HEDGE_H
#define AGG_HEDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "agg_hedge_config.h"

#define AGG_LATENCY_BUCKETS 64
#define AGG_LATENCY_DECAY_AT 2048
#define AGG_LATENCY_MIN_SAMPLES 32

typedef struct agg_latency {
    uint32_t counts[AGG_LATENCY_BUCKETS];
    uint32_t total;
} agg_latency;

/* How a worker's recent hedges of a feature fared: sent, and of those, how many answered first. */
#define AGG_HEDGE_WINS_DECAY_AT 64 /* both halve when sent reaches this */
#define AGG_HEDGE_WINS_MIN_SENT 16 /* judged only from this many hedges on */
#define AGG_HEDGE_MIN_WIN_RATIO 10 /* held back while fewer than 1 in this many win */
#define AGG_HEDGE_PROBE_EVERY 8    /* while held back, 1 in this many goes all the same */

typedef struct agg_hedge_wins {
    uint32_t sent, won;
    uint32_t held; /* hedges held back since the last one that went */
} agg_hedge_wins;

/* One call's latency (or, for a call cancelled because another answered, how long it had run). */
void agg_latency_record(agg_latency *h, int64_t us);
/* The q-quantile in µs (interpolated in its bucket), or -1 below AGG_LATENCY_MIN_SAMPLES samples. */
int64_t agg_latency_quantile_us(const agg_latency *h, double q);

/* The hedge delay in µs under cfg, from h for an adaptive policy; -1 when hedging is off. */
int64_t agg_hedge_delay_us(const agg_hedge_cfg *cfg, const agg_latency *h);

/* A hedge went out; its result was answered by a hedge. */
void agg_hedge_sent(agg_hedge_wins *w);
void agg_hedge_won(agg_hedge_wins *w);
/* Whether a hedge whose delay is over may go under cfg, as hedges fare (see the top); counts it if held back. */
bool agg_hedge_pays(const agg_hedge_cfg *cfg, agg_hedge_wins *w);

#endif
