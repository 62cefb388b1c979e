/* mock_profile: fault profiles, their JSON form, and the draw of each call's fault. */
#include "mock_profile.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The standard normal's 0.99 quantile: sigma = ln(p99 / p50) / Z99. */
#define Z99 2.3263478740408408
/* Slack for decimal rates that add up to exactly 1 on paper, e.g. 0.1 + 0.2 + 0.7. */
#define RATE_SUM_SLACK 1e-9

void mock_rng_seed(mock_rng *rng, uint64_t seed) { rng->state = seed; }

uint64_t mock_rng_next(mock_rng *rng)
{
    rng->state += UINT64_C(0x9e3779b97f4a7c15);
    uint64_t z = rng->state;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

double mock_rng_uniform(mock_rng *rng) { return (double)(mock_rng_next(rng) >> 11) * 0x1.0p-53; }

void mock_profile_init(mock_profile *p)
{
    *p = (mock_profile){
        .error_code = FO_STATUS_UNAVAILABLE, .huge_bytes = MOCK_HUGE_DEFAULT_BYTES, .slow_ms = MOCK_SLOW_DEFAULT_MS};
}

static fo_error *read_ms(const fo_json_at *at, const json_t *v, double *out)
{
    return fo_json_number(at, v, 0, MOCK_LATENCY_MAX_MS, out);
}

/* latency_ms: a fixed number, or {"p50": ms, "p99": ms} with p99 >= p50. */
static fo_error *read_latency(const fo_json_at *at, const json_t *v, mock_profile *p)
{
    static const char *const quantile_keys[] = {"p50", "p99", NULL};
    if (json_is_number(v)) {
        fo_error *err = read_ms(at, v, &p->latency_p50_ms);
        p->latency_p99_ms = p->latency_p50_ms;
        return err;
    }
    if (!json_is_object(v))
        return fo_json_invalid(at, v, "must be milliseconds or {\"p50\": ms, \"p99\": ms}");
    fo_error *err = fo_json_object(at, v, quantile_keys);
    if (err != NULL)
        return err;
    const json_t *p50 = json_object_get(v, "p50");
    const json_t *p99 = json_object_get(v, "p99");
    if (p50 == NULL || p99 == NULL)
        return fo_json_error(at, "needs both \"p50\" and \"p99\"");
    fo_json_at p50_at = fo_json_key(at, "p50"), p99_at = fo_json_key(at, "p99");
    err = read_ms(&p50_at, p50, &p->latency_p50_ms);
    if (err == NULL)
        err = read_ms(&p99_at, p99, &p->latency_p99_ms);
    if (err == NULL && p->latency_p99_ms < p->latency_p50_ms)
        err = fo_json_error(at, "p99 (%g) is less than p50 (%g)", p->latency_p99_ms, p->latency_p50_ms);
    return err;
}

static fo_error *read_code(const fo_json_at *at, const json_t *v, fo_status *out)
{
    const char *name = NULL;
    fo_status code;
    /* fo_json_string refuses a name followed by an embedded NUL (json_stringn can make one). */
    fo_error *err = fo_json_string(at, v, &name);
    if (err != NULL || !fo_status_parse(name, &code)) {
        fo_error_free(err);
        return fo_json_invalid(at, v, "must be a status name such as \"UNAVAILABLE\"");
    }
    if (code == FO_STATUS_OK)
        return fo_json_error(at, "\"%s\" is not an error", name);
    *out = code;
    return NULL;
}

/* Reads the rates, then checks that at most one fault can fire per call. */
static fo_error *read_rates(const fo_json_at *at, const json_t *obj, mock_profile *p)
{
    const struct {
        const char *key;
        double *field;
    } rates[] = {
        {"error_rate", &p->error_rate}, {"hang_rate", &p->hang_rate}, {"malformed_rate", &p->malformed_rate},
        {"crash_rate", &p->crash_rate}, {"huge_rate", &p->huge_rate}, {"slow_rate", &p->slow_rate},
    };
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        fo_json_at rate = fo_json_key(at, rates[i].key);
        fo_error *err = fo_json_number(&rate, json_object_get(obj, rates[i].key), 0, 1, rates[i].field);
        if (err != NULL)
            return err;
    }
    double sum = p->error_rate + p->hang_rate + p->malformed_rate + p->crash_rate + p->huge_rate + p->slow_rate;
    if (sum > 1 + RATE_SUM_SLACK)
        return fo_json_error(
            at, "error_rate + hang_rate + malformed_rate + crash_rate + huge_rate + slow_rate is %g, more than 1", sum);
    return NULL;
}

fo_error *mock_profile_from_json(const json_t *obj, const fo_json_at *at, mock_profile *out)
{
    static const char *const keys[] = {"latency_ms", "error_rate", "hang_rate", "malformed_rate",
                                       "crash_rate", "error_code", "huge_rate", "huge_bytes",
                                       "slow_rate",  "slow_ms",    NULL};
    fo_error *err = fo_json_object(at, obj, keys);
    if (err == NULL && obj == NULL)
        err = fo_json_required(at, obj);
    if (err != NULL)
        return err;
    /* Work on a copy so that out is untouched on error. */
    mock_profile p;
    mock_profile_init(&p);
    fo_json_at latency = fo_json_key(at, "latency_ms"), code = fo_json_key(at, "error_code");
    fo_json_at huge_bytes = fo_json_key(at, "huge_bytes"), slow_ms = fo_json_key(at, "slow_ms");
    const json_t *v = json_object_get(obj, "latency_ms");
    err = v != NULL ? read_latency(&latency, v, &p) : NULL;
    if (err == NULL)
        err = read_rates(at, obj, &p);
    v = json_object_get(obj, "error_code");
    if (err == NULL && v != NULL)
        err = read_code(&code, v, &p.error_code);
    int64_t bytes = (int64_t)p.huge_bytes;
    if (err == NULL)
        err = fo_json_int(&huge_bytes, json_object_get(obj, "huge_bytes"), 1, MOCK_HUGE_MAX_BYTES, &bytes);
    p.huge_bytes = (size_t)bytes;
    if (err == NULL)
        err = read_ms(&slow_ms, json_object_get(obj, "slow_ms"), &p.slow_ms);
    if (err == NULL)
        *out = p;
    return err;
}

fo_error *mock_profile_parse_text(const char *json_text, mock_profile *out)
{
    json_t *root = NULL;
    fo_error *err = fo_json_load_text("--profile", json_text, &root);
    fo_json_at top = fo_json_top("--profile", NULL);
    if (err == NULL)
        err = mock_profile_from_json(root, &top, out);
    json_decref(root);
    return err;
}

char *mock_profile_to_json_text(const mock_profile *p)
{
    json_t *latency = p->latency_p50_ms == p->latency_p99_ms
                          ? json_real(p->latency_p50_ms)
                          : json_pack("{s:f, s:f}", "p50", p->latency_p50_ms, "p99", p->latency_p99_ms);
    /* "o" hands latency to the new object, or drops it if packing fails. */
    json_t *obj = json_pack("{s:o, s:f, s:s, s:f, s:f, s:f, s:f, s:I, s:f, s:f}", "latency_ms", latency, "error_rate",
                            p->error_rate, "error_code", fo_status_name(p->error_code), "hang_rate", p->hang_rate,
                            "malformed_rate", p->malformed_rate, "crash_rate", p->crash_rate, "huge_rate", p->huge_rate,
                            "huge_bytes", (json_int_t)p->huge_bytes, "slow_rate", p->slow_rate, "slow_ms", p->slow_ms);
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return text;
}

/* One delay, µs: fixed, or lognormal with median p50 and 99th percentile p99. */
static int64_t sample_delay_us(const mock_profile *p, mock_rng *rng)
{
    double ms = p->latency_p50_ms;
    if (ms > 0 && p->latency_p99_ms > ms) {
        double sigma = log(p->latency_p99_ms / ms) / Z99;
        /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
        double u1 = 1.0 - mock_rng_uniform(rng);
        double u2 = mock_rng_uniform(rng);
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
        /* The tail is heavy: cap it so a wild draw stays a plausible delay. */
        ms = fmin(ms * exp(sigma * z), MOCK_LATENCY_MAX_MS);
    }
    return llround(ms * 1000.0);
}

void mock_profile_sample(const mock_profile *p, mock_rng *rng, mock_fault *out)
{
    const struct {
        double rate;
        mock_fault_kind kind;
        bool slow; /* an ordinary answer, after slow_ms instead of the latency draw */
    } faults[] = {
        {p->error_rate, MOCK_FAULT_ERROR, false},         {p->hang_rate, MOCK_FAULT_HANG, false},
        {p->malformed_rate, MOCK_FAULT_MALFORMED, false}, {p->crash_rate, MOCK_FAULT_CRASH, false},
        {p->huge_rate, MOCK_FAULT_HUGE, false},           {p->slow_rate, MOCK_FAULT_NONE, true},
    };
    *out = (mock_fault){.delay_us = sample_delay_us(p, rng)};
    /* One draw picks at most one fault: each owns a slice of [0, 1) as wide as its rate. */
    double u = mock_rng_uniform(rng);
    double edge = 0;
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        edge += faults[i].rate;
        if (u < edge) {
            out->kind = faults[i].kind;
            if (faults[i].slow)
                out->delay_us = llround(p->slow_ms * 1000.0);
            break;
        }
    }
    if (out->kind == MOCK_FAULT_ERROR)
        out->error_code = p->error_code;
    if (out->kind == MOCK_FAULT_HUGE)
        out->huge_bytes = p->huge_bytes;
}
