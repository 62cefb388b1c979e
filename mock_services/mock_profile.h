/*
 * mock_profile: how a mock feature service misbehaves on its own, as the
 * fleet file says: a latency distribution and the rates of each fault.
 *
 *     "profile": { "latency_ms": {"p50": 2, "p99": 40}, "error_rate": 0.01,
 *                  "error_code": "UNAVAILABLE", "hang_rate": 0,
 *                  "malformed_rate": 0, "crash_rate": 0, "huge_rate": 0,
 *                  "huge_bytes": 8388608, "slow_rate": 0, "slow_ms": 1000 }
 *
 * Every key is optional; latency_ms may be a plain number, a fixed delay.
 * A huge call answers a valid report padded to huge_bytes; a slow call
 * answers normally after slow_ms instead of a latency draw, so a test can
 * place it far past a caller's deadline while ordinary calls stay far before.
 * The fleet hands a child its profile as JSON text (--profile '{...}'); the
 * child draws each call's fault from it with a seeded generator, so a run is
 * reproducible.
 *
 * Also here: mock_rng, the small generator every mock uses, and two JSON
 * helpers shared with fleet_config.
 */
#ifndef MOCK_PROFILE_H
#define MOCK_PROFILE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_error.h"
#include "fo_json.h"
#include "mock_fault.h"

/* Ten minutes: a longer delay is a mistake, and sampled delays are capped here. */
#define MOCK_LATENCY_MAX_MS 600000.0
#define MOCK_HUGE_DEFAULT_BYTES ((size_t)8 << 20)
#define MOCK_SLOW_DEFAULT_MS 1000.0

typedef struct mock_profile {
    /* Delay quantiles, ms. p50 == p99 is a fixed delay; p50 == 0 is no delay. */
    double latency_p50_ms;
    double latency_p99_ms;
    /* Chance per call of each terminal fault; they add up to at most 1. */
    double error_rate;
    double hang_rate;
    double malformed_rate;
    double crash_rate;
    double huge_rate;
    double slow_rate;
    double slow_ms;       /* 0..MOCK_LATENCY_MAX_MS */
    size_t huge_bytes;    /* 1..MOCK_HUGE_MAX_BYTES */
    fo_status error_code; /* the status of injected errors; never OK */
} mock_profile;

/* splitmix64: tiny, fast, and good enough for test data and fault draws. */
typedef struct mock_rng {
    uint64_t state;
} mock_rng;

void mock_rng_seed(mock_rng *rng, uint64_t seed);
uint64_t mock_rng_next(mock_rng *rng);
/* Uniform in [0, 1), 53 bits. */
double mock_rng_uniform(mock_rng *rng);

/* The defaults: no delay, no faults, errors are UNAVAILABLE, huge and slow at their defaults. */
void mock_profile_init(mock_profile *p);

/*
 * Reads a profile object; at names it in messages, e.g. "fleet.json:
 * features[2].profile" (fo_json's rules and wording). Rejects unknown keys, wrong types,
 * rates outside [0, 1] or adding up to more than 1, negative latencies or
 * above MOCK_LATENCY_MAX_MS, p99 < p50, error codes that are not a status
 * or are OK, and huge_bytes that is not an integer in 1..MOCK_HUGE_MAX_BYTES. On error (FO_STATUS_INVALID_ARGUMENT) out is left untouched.
 */
fo_error *mock_profile_from_json(const json_t *obj, const fo_json_at *at, mock_profile *out);

/* The same from JSON text, as passed on a child's command line; messages start "--profile". */
fo_error *mock_profile_parse_text(const char *json_text, mock_profile *out);

/*
 * Compact JSON text that mock_profile_parse_text reads back to exactly *p.
 * The caller frees it; NULL only when out of memory.
 */
char *mock_profile_to_json_text(const mock_profile *p);

/*
 * Draws one call's fault: a delay (fixed, or lognormal through p50 and p99),
 * then at most one terminal fault or slow answer by the rates.
 */
void mock_profile_sample(const mock_profile *p, mock_rng *rng, mock_fault *out);

#endif
