/*
 * agg_hedge_config: the settings behind extra feature calls (hedges and
 * retries), read from the aggregator's config:
 *
 *   "hedge": {"quantile": 0.95, "min_ms": 2, "max_ms": 500, "max_attempts": 2}
 *   "hedge": {"after_ms": 20, "max_attempts": 3}
 *   "extra_attempts_budget": {"percent": 5, "per_second": 10, "window_ms": 10000}
 *   "retry_on": ["UNAVAILABLE"]
 *
 * The top-level "hedge" is every feature's default; a feature's own "hedge"
 * replaces it whole (keys it leaves out take the built-in defaults), and
 * false turns it off there; true means the built-in defaults. No hedge: one
 * call per feature result, no hedges and no retries. after_ms (a fixed delay)
 * and quantile (adaptive: that quantile of the feature's recent latency,
 * clamped to [min_ms, max_ms]) exclude each other; neither means quantile
 * 0.95. max_attempts (2..AGG_HEDGE_MAX_ATTEMPTS) bounds hedges and retries
 * of one result together. The budget and retry_on are top-level only. Errors
 * are agg_config's: path, rule, value.
 */
#ifndef AGG_HEDGE_CONFIG_H
#define AGG_HEDGE_CONFIG_H

#include <jansson.h>
#include <stdint.h>

#include "fo_json.h"

/* gRFC A6 caps attempts at 5 too. */
#define AGG_HEDGE_MAX_ATTEMPTS 5

typedef enum agg_hedge_mode {
    AGG_HEDGE_OFF,      /* one attempt */
    AGG_HEDGE_FIXED,    /* after_ms */
    AGG_HEDGE_ADAPTIVE, /* quantile of recent latency, in [min_ms, max_ms] */
} agg_hedge_mode;

typedef struct agg_hedge_cfg {
    agg_hedge_mode mode;
    int64_t after_ms;
    double quantile;
    int64_t min_ms, max_ms;
    int max_attempts; /* 1 when off */
} agg_hedge_cfg;

typedef struct agg_budget_cfg {
    double percent;    /* extra attempts per 100 first attempts, over the window */
    double per_second; /* the floor: this many a second of the window, added to the share */
    int64_t window_ms; /* the sliding window */
} agg_budget_cfg;

/* A set of status codes, bit n for code n. */
typedef uint32_t agg_code_set;

agg_hedge_cfg agg_hedge_cfg_off(void);
/* Reads a "hedge" value v (NULL: absent, *out = *defaults) at `at`. */
fo_error *agg_hedge_config_read(const fo_json_at *at, const json_t *v, const agg_hedge_cfg *defaults,
                                agg_hedge_cfg *out);
/* Reads "extra_attempts_budget" (absent: 5%, 10 per second, 10 s). */
fo_error *agg_budget_config_read(const fo_json_at *at, const json_t *v, agg_budget_cfg *out);
/* Reads "retry_on" (absent: UNAVAILABLE): status names or numbers, not OK, CANCELLED or DEADLINE_EXCEEDED. */
fo_error *agg_retry_config_read(const fo_json_at *at, const json_t *v, agg_code_set *out);

#endif
