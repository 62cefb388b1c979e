/*
 * agg_breaker: one feature's circuit breaker, shared by every worker.
 *
 *   CLOSED ──(too many failures)──▶ OPEN ──(open period over)──▶ HALF_OPEN
 *     ▲                              ▲                              │
 *     └──────(half_open_calls probes succeeded)─────────────────────┤
 *                                    └──────(a probe failed)────────┘
 *
 * CLOSED lets every call through and counts outcomes over a rolling window
 * of window_ms (ten buckets): it opens when the failures reach failure_ratio
 * of at least min_calls calls, or after consecutive_failures failures in a
 * row. OPEN refuses every call until its period is over: open_ms doubled for
 * each reopening since the breaker last closed, capped at max_open_ms, less
 * a random jitter of up to a fifth so that aggregators started together do
 * not probe together. HALF_OPEN lets half_open_calls probes through; when
 * they all succeed the breaker closes, when one fails it reopens.
 *
 * Lock-free: the state, the open period's end, the probes handed out and
 * succeeded and the backoff level are one 64-bit word changed by
 * compare-and-swap, so every transition happens once (the thread that wins
 * it logs it); each window bucket is one word too. A probe's ticket carries
 * the open period it follows, so a late verdict from an earlier half-open
 * round is ignored. The clock is passed in (milliseconds, monotonic), which
 * keeps the state machine testable.
 */
#ifndef AGG_BREAKER_H
#define AGG_BREAKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fanout/v1/aggregator.pb-c.h"

typedef struct agg_breaker_cfg {
    bool enabled;
    double failure_ratio;         /* (0, 1] */
    int64_t min_calls;            /* calls in the window before the ratio counts */
    int64_t window_ms;            /* the rolling window */
    int64_t consecutive_failures; /* 0: no such rule */
    int64_t open_ms;              /* the first open period */
    int64_t max_open_ms;          /* the cap of the backoff, >= open_ms */
    int64_t half_open_calls;      /* probes, 1..AGG_BREAKER_MAX_PROBES */
    bool count_app_errors;        /* BACKEND_ERROR counts as a failure too */
} agg_breaker_cfg;

#define AGG_BREAKER_MAX_PROBES 32
#define AGG_BREAKER_BUCKETS 10

/* The built-in defaults: on, and conservative. */
agg_breaker_cfg agg_breaker_cfg_default(void);

typedef enum agg_breaker_state {
    AGG_BREAKER_CLOSED,
    AGG_BREAKER_OPEN,
    AGG_BREAKER_HALF_OPEN,
} agg_breaker_state;

typedef struct agg_breaker {
    const char *name; /* borrowed, for log lines */
    agg_breaker_cfg cfg;
    _Atomic uint64_t word; /* state, probes, successes, level, open-until */
    _Atomic uint64_t buckets[AGG_BREAKER_BUCKETS];
    atomic_uint consecutive;
    _Atomic uint64_t rng;
} agg_breaker;

/* What admission said, kept by the call until its verdict. */
typedef enum agg_breaker_pass {
    AGG_BREAKER_NONE,    /* no breaker: nothing to report */
    AGG_BREAKER_PASS,    /* closed: a normal call */
    AGG_BREAKER_PROBE,   /* half-open: one of the probes */
    AGG_BREAKER_REFUSED, /* open: do not call */
} agg_breaker_pass;

typedef struct agg_breaker_ticket {
    agg_breaker_pass pass;
    uint64_t round; /* PROBE: the open period it follows */
} agg_breaker_ticket;

/* What a call's outcome says about the feature. */
typedef enum agg_breaker_verdict {
    AGG_BREAKER_SUCCESS,
    AGG_BREAKER_FAILURE,
    AGG_BREAKER_NO_VERDICT, /* cancelled by us or cut by the caller: says nothing of the feature */
} agg_breaker_verdict;

void agg_breaker_init(agg_breaker *b, const char *name, const agg_breaker_cfg *cfg);
/* May the call go? b NULL (no breaker) always passes, with AGG_BREAKER_NONE. */
agg_breaker_ticket agg_breaker_admit(agg_breaker *b, int64_t now_ms);
/* The verdict of a call admitted with t; a refused ticket and a NULL b are no-ops. */
void agg_breaker_record(agg_breaker *b, agg_breaker_ticket t, agg_breaker_verdict v, int64_t now_ms);
/* A call's kind as a verdict: ERROR_KIND_UNSPECIFIED is success. */
agg_breaker_verdict agg_breaker_verdict_of(const agg_breaker_cfg *cfg, Fanout__V1__ErrorKind kind);

agg_breaker_state agg_breaker_state_now(const agg_breaker *b);
/* OPEN: when the open period ends (ms); else 0. */
int64_t agg_breaker_open_until_ms(const agg_breaker *b);
/* The open period after `level` reopenings, for a random draw rnd: open_ms·2^level, capped, less jitter. */
int64_t agg_breaker_open_period_ms(const agg_breaker_cfg *cfg, unsigned level, uint64_t rnd);

#endif
