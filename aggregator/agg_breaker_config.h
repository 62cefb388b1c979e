/*
 * agg_breaker_config: the "breaker" setting of the aggregator's config, at
 * the top level (the default of every feature) and in a feature (overriding
 * the keys it names). It is an object of the keys below or `false` (off);
 * `true` keeps the defaults:
 *
 *   {"failure_ratio": 0.5, "min_calls": 20, "window_ms": 10000,
 *    "consecutive_failures": 5, "open_ms": 5000, "max_open_ms": 60000,
 *    "half_open_calls": 3, "count_app_errors": false}
 *
 * Durations take integers or duration texts ("5s"); consecutive_failures 0
 * turns that rule off. Errors are agg_config's: path, rule, value.
 */
#ifndef AGG_BREAKER_CONFIG_H
#define AGG_BREAKER_CONFIG_H

#include <jansson.h>

#include "agg_breaker.h"
#include "fo_json.h"

/* Reads v (NULL: absent, *out = *defaults) at `at` over *defaults into *out. */
fo_error *agg_breaker_config_read(const fo_json_at *at, const json_t *v, const agg_breaker_cfg *defaults,
                                  agg_breaker_cfg *out);

#endif
