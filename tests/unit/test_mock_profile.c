/* Unit tests for mock_services/mock_profile: profile JSON, text round trip and sampling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_profile.h"

#define DRAWS 20000
#define WHERE "fleet.json: features[2].profile"
#define WHERE_ORIGIN "fleet.json"
#define WHERE_PATH "features[2].profile"

static mock_profile parse_ok(const char *text)
{
    mock_profile p;
    fo_error *err = mock_profile_parse_text(text, &p);
    if (err != NULL)
        fail_msg("unexpected error for %s: %s", text, err->message);
    return p;
}

/* Asserts that the profile object in text is rejected, naming WHERE and both fragments. */
static void expect_bad(const char *text, const char *fragment1, const char *fragment2)
{
    json_error_t jerr;
    json_t *obj = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (obj == NULL)
        fail_msg("test JSON does not parse: %s: %s", text, jerr.text);
    mock_profile p;
    mock_profile_init(&p);
    p.crash_rate = 0.5; /* a marker: a failed parse must leave out alone */
    fo_json_at at = fo_json_top(WHERE_ORIGIN, WHERE_PATH);
    fo_error *err = mock_profile_from_json(obj, &at, &p);
    json_decref(obj);
    if (err == NULL)
        fail_msg("expected an error for %s", text);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    if (strstr(err->message, WHERE) == NULL || strstr(err->message, fragment1) == NULL ||
        strstr(err->message, fragment2) == NULL)
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", err->message, fragment1, fragment2);
    assert_true(p.crash_rate == 0.5);
    fo_error_free(err);
}

static void defaults(void **state)
{
    (void)state;
    mock_profile p = parse_ok("{}");
    assert_true(p.latency_p50_ms == 0 && p.latency_p99_ms == 0);
    assert_true(p.error_rate == 0 && p.hang_rate == 0 && p.malformed_rate == 0 && p.crash_rate == 0);
    assert_int_equal(p.error_code, FO_STATUS_UNAVAILABLE);
}

static void good_profiles(void **state)
{
    (void)state;
    mock_profile p = parse_ok("{\"latency_ms\": {\"p50\": 2, \"p99\": 40}, \"error_rate\": 0.01,"
                              " \"error_code\": \"INTERNAL\", \"hang_rate\": 0.02,"
                              " \"malformed_rate\": 0.03, \"crash_rate\": 0.04}");
    assert_true(p.latency_p50_ms == 2 && p.latency_p99_ms == 40);
    assert_true(p.error_rate == 0.01 && p.hang_rate == 0.02 && p.malformed_rate == 0.03 && p.crash_rate == 0.04);
    assert_int_equal(p.error_code, FO_STATUS_INTERNAL);
    p = parse_ok("{\"latency_ms\": 7.5}");
    assert_true(p.latency_p50_ms == 7.5 && p.latency_p99_ms == 7.5);
    p = parse_ok("{\"error_code\": \"deadline_exceeded\", \"error_rate\": 1}");
    assert_int_equal(p.error_code, FO_STATUS_DEADLINE_EXCEEDED);
    /* Rates that add up to 1 on paper but not quite in binary. */
    p = parse_ok("{\"error_rate\": 0.1, \"hang_rate\": 0.2, \"crash_rate\": 0.7}");
    assert_true(p.crash_rate == 0.7);
}

static void bad_profiles(void **state)
{
    (void)state;
    expect_bad("[]", "must be an object", "[]");
    expect_bad("{\"latency\": 3}", "unknown key", ".latency:");
    expect_bad("{\"error_rate\": \"high\"}", ".error_rate", "\"high\"");
    expect_bad("{\"error_rate\": 1.5}", ".error_rate", "1.5");
    expect_bad("{\"hang_rate\": -0.1}", ".hang_rate", "-0.1");
    expect_bad("{\"crash_rate\": true}", ".crash_rate", "true");
    expect_bad("{\"error_rate\": 0.6, \"malformed_rate\": 0.5}", "more than 1", "1.1");
    expect_bad("{\"latency_ms\": -1}", ".latency_ms", "-1");
    expect_bad("{\"latency_ms\": 1e9}", ".latency_ms", "1000000000");
    expect_bad("{\"latency_ms\": \"2ms\"}", ".latency_ms", "\"2ms\"");
    expect_bad("{\"latency_ms\": {\"p50\": 40, \"p99\": 2}}", "p99 (2) is less than p50 (40)", ".latency_ms");
    expect_bad("{\"latency_ms\": {\"p50\": 4}}", ".latency_ms", "\"p99\"");
    expect_bad("{\"latency_ms\": {\"p50\": 1, \"p99\": 2, \"p75\": 1}}", ".latency_ms.p75", "unknown key");
    expect_bad("{\"latency_ms\": {\"p50\": -1, \"p99\": 2}}", ".latency_ms.p50", "-1");
    expect_bad("{\"latency_ms\": {\"p50\": 1, \"p99\": null}}", ".latency_ms.p99", "null");
    expect_bad("{\"error_code\": \"SOMETIMES\"}", ".error_code", "\"SOMETIMES\"");
    expect_bad("{\"error_code\": 14}", ".error_code", "14");
    expect_bad("{\"error_code\": \"OK\"}", ".error_code", "\"OK\" is not an error");
}

static void embedded_nul_in_code(void **state)
{
    (void)state;
    /* Text parsing refuses NULs, but a caller's own json_t may hold one. */
    json_t *obj = json_pack("{s:s%}", "error_code", "UNAVAILABLE\0x", (size_t)13);
    mock_profile p;
    fo_json_at at = fo_json_top(WHERE_ORIGIN, WHERE_PATH);
    fo_error *err = mock_profile_from_json(obj, &at, &p);
    json_decref(obj);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "\"UNAVAILABLE\\u0000x\""));
    fo_error_free(err);
}

static void bad_text(void **state)
{
    (void)state;
    mock_profile p;
    fo_error *err = mock_profile_parse_text("{\"error_rate\": }", &p);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "--profile:1:"));
    fo_error_free(err);
    err = mock_profile_parse_text("{\"error_rate\": 0, \"error_rate\": 1}", &p);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "duplicate"));
    fo_error_free(err);
    err = mock_profile_parse_text("{\"error_rate\": 2}", &p);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "--profile: error_rate: must be a number from 0 to 1, got 2"));
    fo_error_free(err);
}

static void round_trip(mock_profile in)
{
    char *text = mock_profile_to_json_text(&in);
    assert_non_null(text);
    mock_profile out = parse_ok(text);
    free(text);
    assert_memory_equal(&in, &out, sizeof in);
}

static void text_round_trips(void **state)
{
    (void)state;
    mock_profile p;
    mock_profile_init(&p);
    round_trip(p);
    p.latency_p50_ms = 2.5;
    p.latency_p99_ms = 41.125;
    p.error_rate = 0.01;
    p.hang_rate = 1.0 / 3.0;
    p.malformed_rate = 0.1;
    p.crash_rate = 0.2;
    p.error_code = FO_STATUS_RESOURCE_EXHAUSTED;
    round_trip(p);
    p.huge_rate = 0.05;
    p.huge_bytes = 12345;
    p.slow_rate = 0.15;
    p.slow_ms = 750.5;
    round_trip(p);
    p.latency_p99_ms = p.latency_p50_ms;
    round_trip(p);
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void lognormal_quantiles(void **state)
{
    (void)state;
    mock_profile p = parse_ok("{\"latency_ms\": {\"p50\": 2, \"p99\": 40}, \"error_rate\": 0.1}");
    mock_rng rng;
    mock_rng_seed(&rng, 42);
    int64_t *delays = malloc(DRAWS * sizeof *delays);
    int errors = 0;
    for (int i = 0; i < DRAWS; i++) {
        mock_fault f;
        mock_profile_sample(&p, &rng, &f);
        delays[i] = f.delay_us;
        if (f.kind == MOCK_FAULT_ERROR) {
            assert_int_equal(f.error_code, FO_STATUS_UNAVAILABLE);
            errors++;
        } else {
            assert_int_equal(f.kind, MOCK_FAULT_NONE);
        }
    }
    qsort(delays, DRAWS, sizeof *delays, compare_i64);
    double p50 = (double)delays[DRAWS / 2] / 1000.0;
    double p99 = (double)delays[DRAWS * 99 / 100] / 1000.0;
    free(delays);
    if (fabs(p50 - 2) > 0.2 || fabs(p99 - 40) > 10)
        fail_msg("observed p50 %g ms, p99 %g ms; want 2 and 40", p50, p99);
    double error_fraction = (double)errors / DRAWS;
    if (fabs(error_fraction - 0.1) > 0.01)
        fail_msg("observed error fraction %g; want 0.1", error_fraction);
}

static void fixed_latency_is_exact(void **state)
{
    (void)state;
    mock_profile p = parse_ok("{\"latency_ms\": 40}");
    mock_rng rng;
    mock_rng_seed(&rng, 1);
    for (int i = 0; i < 1000; i++) {
        mock_fault f;
        mock_profile_sample(&p, &rng, &f);
        assert_int_equal(f.delay_us, 40000);
        assert_int_equal(f.kind, MOCK_FAULT_NONE);
    }
    mock_profile none = parse_ok("{\"latency_ms\": {\"p50\": 0, \"p99\": 30}}");
    mock_fault f;
    mock_profile_sample(&none, &rng, &f);
    assert_int_equal(f.delay_us, 0);
}

/* Asserts that a profile with only `key` at rate 1 always gives kind, and at rate 0 never. */
static void check_certain_rate(const char *key, mock_fault_kind kind)
{
    char text[64];
    snprintf(text, sizeof text, "{\"%s\": 1}", key);
    mock_profile always = parse_ok(text);
    snprintf(text, sizeof text, "{\"%s\": 0}", key);
    mock_profile never = parse_ok(text);
    mock_rng rng;
    mock_rng_seed(&rng, 7);
    for (int i = 0; i < DRAWS; i++) {
        mock_fault f;
        mock_profile_sample(&always, &rng, &f);
        assert_int_equal(f.kind, kind);
        mock_profile_sample(&never, &rng, &f);
        assert_int_equal(f.kind, MOCK_FAULT_NONE);
    }
}

static void certain_rates(void **state)
{
    (void)state;
    check_certain_rate("error_rate", MOCK_FAULT_ERROR);
    check_certain_rate("hang_rate", MOCK_FAULT_HANG);
    check_certain_rate("malformed_rate", MOCK_FAULT_MALFORMED);
    check_certain_rate("crash_rate", MOCK_FAULT_CRASH);
    check_certain_rate("huge_rate", MOCK_FAULT_HUGE);
    check_certain_rate("slow_rate", MOCK_FAULT_NONE);
}

/* A huge call carries the profile's size; a slow one replaces the latency draw by slow_ms. */
static void huge_and_slow(void **state)
{
    (void)state;
    mock_rng rng;
    mock_rng_seed(&rng, 11);
    mock_fault f;
    mock_profile p = parse_ok("{\"huge_rate\": 1}");
    mock_profile_sample(&p, &rng, &f);
    assert_int_equal(f.huge_bytes, MOCK_HUGE_DEFAULT_BYTES);
    p = parse_ok("{\"huge_rate\": 1, \"huge_bytes\": 5000}");
    mock_profile_sample(&p, &rng, &f);
    assert_int_equal(f.kind, MOCK_FAULT_HUGE);
    assert_int_equal(f.huge_bytes, 5000);
    p = parse_ok("{\"latency_ms\": 3, \"slow_rate\": 1, \"slow_ms\": 450}");
    mock_profile_sample(&p, &rng, &f);
    assert_int_equal(f.kind, MOCK_FAULT_NONE);
    assert_int_equal(f.delay_us, 450000);
    p = parse_ok("{\"latency_ms\": 3, \"slow_rate\": 0}");
    mock_profile_sample(&p, &rng, &f);
    assert_int_equal(f.delay_us, 3000);
    expect_bad("{\"huge_bytes\": 0}", ".huge_bytes", "got 0");
    expect_bad("{\"huge_bytes\": 1.5}", ".huge_bytes", "1.5");
    expect_bad("{\"huge_bytes\": 67108865}", ".huge_bytes", "67108865");
    expect_bad("{\"slow_ms\": -1}", ".slow_ms", "-1");
    expect_bad("{\"slow_rate\": 0.6, \"huge_rate\": 0.5}", "more than 1", "1.1");
}

static void seeds_repeat(void **state)
{
    (void)state;
    mock_profile p = parse_ok("{\"latency_ms\": {\"p50\": 2, \"p99\": 40}, \"hang_rate\": 0.5}");
    mock_rng a;
    mock_rng b;
    mock_rng_seed(&a, 99);
    mock_rng_seed(&b, 99);
    for (int i = 0; i < 100; i++) {
        mock_fault fa;
        mock_fault fb;
        mock_profile_sample(&p, &a, &fa);
        mock_profile_sample(&p, &b, &fb);
        assert_memory_equal(&fa, &fb, sizeof fa);
    }
    for (int i = 0; i < 1000; i++) {
        double u = mock_rng_uniform(&a);
        assert_true(u >= 0 && u < 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(good_profiles),
        cmocka_unit_test(bad_profiles),
        cmocka_unit_test(embedded_nul_in_code),
        cmocka_unit_test(bad_text),
        cmocka_unit_test(text_round_trips),
        cmocka_unit_test(lognormal_quantiles),
        cmocka_unit_test(fixed_latency_is_exact),
        cmocka_unit_test(certain_rates),
        cmocka_unit_test(huge_and_slow),
        cmocka_unit_test(seeds_repeat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
