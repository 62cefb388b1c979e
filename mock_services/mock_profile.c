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
/* Room for a value quoted in a message. */
#define DESCRIBE_MAX 64

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

void mock_json_describe(const json_t *v, char *buf, size_t cap)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    int n = snprintf(buf, cap, "%s", text != NULL ? text : "?");
    if (n >= 0 && (size_t)n >= cap && cap >= 4)
        memcpy(buf + cap - 4, "...", 4);
    free(text);
}

static bool is_listed(const char *key, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(key, *list) == 0)
            return true;
    }
    return false;
}

const char *mock_json_unknown_key(const json_t *obj, const char *const *allowed)
{
    /* jansson's iterators take a non-const object but only read it. */
    json_t *o = (json_t *)obj;
    for (void *it = json_object_iter(o); it != NULL; it = json_object_iter_next(o, it)) {
        if (!is_listed(json_object_iter_key(it), allowed))
            return json_object_iter_key(it);
    }
    return NULL;
}

/* Reads a number in [lo, hi] into *out; key names it and expected says what it should be, in messages. */
static fo_error *read_number(const json_t *v, const char *where, const char *key, const char *expected, double lo,
                             double hi, double *out)
{
    char got[DESCRIBE_MAX];
    if (!json_is_number(v)) {
        mock_json_describe(v, got, sizeof got);
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s.%s: expected %s, got %s", where, key, expected, got);
    }
    double x = json_number_value(v);
    if (x < lo || x > hi)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s.%s: %g is not in [%g, %g]", where, key, x, lo, hi);
    *out = x;
    return NULL;
}

static fo_error *read_ms(const json_t *v, const char *where, const char *key, double *out)
{
    return read_number(v, where, key, "milliseconds", 0, MOCK_LATENCY_MAX_MS, out);
}

/* latency_ms: a fixed number, or {"p50": ms, "p99": ms} with p99 >= p50. */
static fo_error *read_latency(const json_t *v, const char *where, mock_profile *p)
{
    static const char *const quantile_keys[] = {"p50", "p99", NULL};
    char got[DESCRIBE_MAX];
    if (json_is_number(v)) {
        fo_error *err = read_ms(v, where, "latency_ms", &p->latency_p50_ms);
        p->latency_p99_ms = p->latency_p50_ms;
        return err;
    }
    if (!json_is_object(v)) {
        mock_json_describe(v, got, sizeof got);
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                        "%s.latency_ms: expected milliseconds or {\"p50\": ms, \"p99\": ms}, got %s", where, got);
    }
    const char *unknown = mock_json_unknown_key(v, quantile_keys);
    if (unknown != NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s.latency_ms: unknown key \"%s\"", where, unknown);
    const json_t *p50 = json_object_get(v, "p50");
    const json_t *p99 = json_object_get(v, "p99");
    if (p50 == NULL || p99 == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s.latency_ms: needs both \"p50\" and \"p99\"", where);
    fo_error *err = read_ms(p50, where, "latency_ms.p50", &p->latency_p50_ms);
    if (err == NULL)
        err = read_ms(p99, where, "latency_ms.p99", &p->latency_p99_ms);
    if (err == NULL && p->latency_p99_ms < p->latency_p50_ms)
        err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s.latency_ms: p99 (%g) is less than p50 (%g)", where,
                       p->latency_p99_ms, p->latency_p50_ms);
    return err;
}

static fo_error *read_rate(const json_t *v, const char *where, const char *key, double *out)
{
    return read_number(v, where, key, "a number in [0, 1]", 0, 1, out);
}

static fo_error *read_code(const json_t *v, const char *where, fo_status *out)
{
    char got[DESCRIBE_MAX];
    fo_status code;
    /* The length check refuses a name followed by an embedded NUL (json_stringn can make one). */
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
        !fo_status_parse(json_string_value(v), &code)) {
        mock_json_describe(v, got, sizeof got);
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                        "%s.error_code: expected a status name such as \"UNAVAILABLE\", got %s", where, got);
    }
    if (code == FO_STATUS_OK)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s.error_code: \"%s\" is not an error", where,
                        json_string_value(v));
    *out = code;
    return NULL;
}

static fo_error *read_bytes(const json_t *v, const char *where, size_t *out)
{
    char got[DESCRIBE_MAX];
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
    if (n < 1 || (uint64_t)n > MOCK_HUGE_MAX_BYTES) {
        mock_json_describe(v, got, sizeof got);
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s.huge_bytes: expected an integer from 1 to %zu, got %s", where,
                        MOCK_HUGE_MAX_BYTES, got);
    }
    *out = (size_t)n;
    return NULL;
}

/* Reads the rates, then checks that at most one fault can fire per call. */
static fo_error *read_rates(const json_t *obj, const char *where, mock_profile *p)
{
    const struct {
        const char *key;
        double *field;
    } rates[] = {
        {"error_rate", &p->error_rate}, {"hang_rate", &p->hang_rate}, {"malformed_rate", &p->malformed_rate},
        {"crash_rate", &p->crash_rate}, {"huge_rate", &p->huge_rate}, {"slow_rate", &p->slow_rate},
    };
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        const json_t *v = json_object_get(obj, rates[i].key);
        fo_error *err = v != NULL ? read_rate(v, where, rates[i].key, rates[i].field) : NULL;
        if (err != NULL)
            return err;
    }
    double sum = p->error_rate + p->hang_rate + p->malformed_rate + p->crash_rate + p->huge_rate + p->slow_rate;
    if (sum > 1 + RATE_SUM_SLACK)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                        "%s: error_rate + hang_rate + malformed_rate + crash_rate + huge_rate + slow_rate is %g, "
                        "more than 1",
                        where, sum);
    return NULL;
}

fo_error *mock_profile_from_json(const json_t *obj, const char *where, mock_profile *out)
{
    static const char *const keys[] = {"latency_ms", "error_rate", "hang_rate", "malformed_rate",
                                       "crash_rate", "error_code", "huge_rate", "huge_bytes",
                                       "slow_rate",  "slow_ms",    NULL};
    char got[DESCRIBE_MAX];
    if (!json_is_object(obj)) {
        mock_json_describe(obj, got, sizeof got);
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: expected an object, got %s", where, got);
    }
    const char *unknown = mock_json_unknown_key(obj, keys);
    if (unknown != NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: unknown key \"%s\"", where, unknown);
    /* Work on a copy so that out is untouched on error. */
    mock_profile p;
    mock_profile_init(&p);
    const json_t *latency = json_object_get(obj, "latency_ms");
    fo_error *err = latency != NULL ? read_latency(latency, where, &p) : NULL;
    if (err == NULL)
        err = read_rates(obj, where, &p);
    const json_t *code = json_object_get(obj, "error_code");
    if (err == NULL && code != NULL)
        err = read_code(code, where, &p.error_code);
    const json_t *huge_bytes = json_object_get(obj, "huge_bytes");
    if (err == NULL && huge_bytes != NULL)
        err = read_bytes(huge_bytes, where, &p.huge_bytes);
    const json_t *slow_ms = json_object_get(obj, "slow_ms");
    if (err == NULL && slow_ms != NULL)
        err = read_ms(slow_ms, where, "slow_ms", &p.slow_ms);
    if (err == NULL)
        *out = p;
    return err;
}

fo_error *mock_profile_parse_text(const char *json_text, mock_profile *out)
{
    json_error_t jerr;
    json_t *root = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "--profile: %d:%d: %s", jerr.line, jerr.column, jerr.text);
    fo_error *err = mock_profile_from_json(root, "--profile", out);
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
