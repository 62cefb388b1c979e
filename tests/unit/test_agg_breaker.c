/* Unit tests for aggregator/agg_breaker and agg_breaker_config: the state machine on a fake clock, and its config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg_breaker.h"
#include "agg_config.h"
#include "testconfig.h"

#define F_OK_ FANOUT__V1__ERROR_KIND__ERROR_KIND_UNSPECIFIED

static agg_breaker_cfg test_cfg(void)
{
    agg_breaker_cfg c = agg_breaker_cfg_default();
    c.min_calls = 10;
    c.failure_ratio = 0.5;
    c.window_ms = 1000;
    c.consecutive_failures = 4;
    c.open_ms = 1000;
    c.max_open_ms = 5000;
    c.half_open_calls = 2;
    return c;
}

/* One call through the breaker at time now: admitted or not, then its verdict. */
static agg_breaker_pass call(agg_breaker *b, int64_t now, agg_breaker_verdict v)
{
    agg_breaker_ticket t = agg_breaker_admit(b, now);
    if (t.pass != AGG_BREAKER_REFUSED)
        agg_breaker_record(b, t, v, now);
    return t.pass;
}

/* Calls with alternating verdicts until the breaker opens; returns when it did. */
static void open_it(agg_breaker *b, int64_t now)
{
    for (int i = 0; i < 4; i++)
        assert_int_equal(call(b, now, AGG_BREAKER_FAILURE), AGG_BREAKER_PASS);
    assert_int_equal(agg_breaker_state_now(b), AGG_BREAKER_OPEN);
}

static void no_breaker_always_passes(void **state)
{
    (void)state;
    agg_breaker_ticket t = agg_breaker_admit(NULL, 0);
    assert_int_equal(t.pass, AGG_BREAKER_NONE);
    agg_breaker_record(NULL, t, AGG_BREAKER_FAILURE, 0);
}

static void consecutive_failures_open_it(void **state)
{
    (void)state;
    agg_breaker_cfg c = test_cfg();
    agg_breaker b;
    agg_breaker_init(&b, "t", &c);
    for (int i = 0; i < 3; i++)
        call(&b, 10000, AGG_BREAKER_FAILURE);
    call(&b, 10000, AGG_BREAKER_SUCCESS); /* a success resets the run */
    for (int i = 0; i < 3; i++)
        call(&b, 10000, AGG_BREAKER_FAILURE);
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_CLOSED);
    call(&b, 10000, AGG_BREAKER_FAILURE);
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_OPEN);
    assert_int_equal(call(&b, 10001, AGG_BREAKER_SUCCESS), AGG_BREAKER_REFUSED);
}

static void ratio_needs_min_calls(void **state)
{
    (void)state;
    agg_breaker_cfg c = test_cfg();
    c.consecutive_failures = 0; /* the ratio alone */
    agg_breaker b;
    agg_breaker_init(&b, "t", &c);
    /* 4 failures in 8 calls: half, but under min_calls (10). */
    for (int i = 0; i < 4; i++) {
        call(&b, 10000, AGG_BREAKER_FAILURE);
        call(&b, 10000, AGG_BREAKER_SUCCESS);
    }
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_CLOSED);
    call(&b, 10000, AGG_BREAKER_SUCCESS); /* 9 calls, 4 failures */
    call(&b, 10000, AGG_BREAKER_FAILURE); /* 10 calls, 5 failures: 0.5 */
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_OPEN);
}

static void ratio_below_threshold_stays_closed(void **state)
{
    (void)state;
    agg_breaker_cfg c = test_cfg();
    c.consecutive_failures = 0;
    agg_breaker b;
    agg_breaker_init(&b, "t", &c);
    for (int i = 0; i < 100; i++)
        call(&b, 10000, i % 3 == 0 ? AGG_BREAKER_FAILURE : AGG_BREAKER_SUCCESS);
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_CLOSED);
}

static void window_forgets_old_calls(void **state)
{
    (void)state;
    agg_breaker_cfg c = test_cfg();
    c.consecutive_failures = 0;
    agg_breaker b;
    agg_breaker_init(&b, "t", &c);
    /* 9 failures now (one short of min_calls), then one more a whole window later. */
    for (int i = 0; i < 9; i++)
        call(&b, 10000, AGG_BREAKER_FAILURE);
    call(&b, 11000, AGG_BREAKER_FAILURE);
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_CLOSED);
    /* Within the window they add up: 9 more at 11500 make 10 in the last second. */
    for (int i = 0; i < 9; i++)
        call(&b, 11500, AGG_BREAKER_FAILURE);
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_OPEN);
}

static void no_verdict_counts_nothing(void **state)
{
    (void)state;
    agg_breaker_cfg c = test_cfg();
    agg_breaker b;
    agg_breaker_init(&b, "t", &c);
    for (int i = 0; i < 50; i++)
        call(&b, 10000, AGG_BREAKER_NO_VERDICT);
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_CLOSED);
}

static void half_open_probes_then_close(void **state)
{
    (void)state;
    agg_breaker_cfg c = test_cfg();
    agg_breaker b;
    agg_breaker_init(&b, "t", &c);
    open_it(&b, 10000);
    int64_t until = agg_breaker_open_until_ms(&b);
    assert_true(until > 10000 && until <= 11000);
    assert_int_equal(agg_breaker_admit(&b, until - 1).pass, AGG_BREAKER_REFUSED);
    /* Two probes, then refusals while they are out. */
    agg_breaker_ticket p1 = agg_breaker_admit(&b, until);
    agg_breaker_ticket p2 = agg_breaker_admit(&b, until);
    assert_int_equal(p1.pass, AGG_BREAKER_PROBE);
    assert_int_equal(p2.pass, AGG_BREAKER_PROBE);
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_HALF_OPEN);
    assert_int_equal(agg_breaker_admit(&b, until).pass, AGG_BREAKER_REFUSED);
    /* A probe without a verdict (cancelled) gives its slot back. */
    agg_breaker_record(&b, p2, AGG_BREAKER_NO_VERDICT, until);
    p2 = agg_breaker_admit(&b, until);
    assert_int_equal(p2.pass, AGG_BREAKER_PROBE);
    agg_breaker_record(&b, p1, AGG_BREAKER_SUCCESS, until + 1);
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_HALF_OPEN);
    agg_breaker_record(&b, p2, AGG_BREAKER_SUCCESS, until + 1);
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_CLOSED);
    /* Closed afresh: the failures before the trip are forgotten. */
    for (int i = 0; i < 3; i++)
        call(&b, until + 2, AGG_BREAKER_FAILURE);
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_CLOSED);
    /* And the backoff starts over: the next period is open_ms again. */
    call(&b, until + 2, AGG_BREAKER_FAILURE);
    assert_true(agg_breaker_open_until_ms(&b) <= until + 2 + 1000);
}

static void failed_probe_reopens_with_backoff(void **state)
{
    (void)state;
    agg_breaker_cfg c = test_cfg();
    agg_breaker b;
    agg_breaker_init(&b, "t", &c);
    open_it(&b, 10000);
    int64_t now = 10000;
    int64_t expect_max[] = {2000, 4000, 5000, 5000};
    for (int round = 0; round < 4; round++) {
        now = agg_breaker_open_until_ms(&b);
        agg_breaker_ticket p = agg_breaker_admit(&b, now);
        assert_int_equal(p.pass, AGG_BREAKER_PROBE);
        agg_breaker_record(&b, p, AGG_BREAKER_FAILURE, now);
        assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_OPEN);
        int64_t period = agg_breaker_open_until_ms(&b) - now;
        assert_true(period <= expect_max[round]);
        assert_true(period >= expect_max[round] - expect_max[round] / 5);
    }
}

static void late_probe_verdict_is_ignored(void **state)
{
    (void)state;
    agg_breaker_cfg c = test_cfg();
    agg_breaker b;
    agg_breaker_init(&b, "t", &c);
    open_it(&b, 10000);
    int64_t now = agg_breaker_open_until_ms(&b);
    agg_breaker_ticket old = agg_breaker_admit(&b, now);
    agg_breaker_ticket failing = agg_breaker_admit(&b, now);
    agg_breaker_record(&b, failing, AGG_BREAKER_FAILURE, now); /* reopens */
    now = agg_breaker_open_until_ms(&b);
    agg_breaker_ticket fresh = agg_breaker_admit(&b, now);
    assert_int_equal(fresh.pass, AGG_BREAKER_PROBE);
    /* Two successes are needed; the one from the earlier round does not count. */
    agg_breaker_record(&b, old, AGG_BREAKER_SUCCESS, now);
    agg_breaker_record(&b, fresh, AGG_BREAKER_SUCCESS, now);
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_HALF_OPEN);
    agg_breaker_record(&b, agg_breaker_admit(&b, now), AGG_BREAKER_SUCCESS, now);
    assert_int_equal(agg_breaker_state_now(&b), AGG_BREAKER_CLOSED);
}

static void jitter_stays_in_bounds(void **state)
{
    (void)state;
    agg_breaker_cfg c = test_cfg();
    int64_t lo = INT64_MAX, hi = 0;
    for (uint64_t r = 0; r < 5000; r++) {
        int64_t p = agg_breaker_open_period_ms(&c, 0, r * 2654435761u);
        lo = p < lo ? p : lo;
        hi = p > hi ? p : hi;
    }
    assert_true(lo >= 800 && hi <= 1000);
    assert_true(hi - lo > 100); /* it does vary */
    assert_int_equal(agg_breaker_open_period_ms(&c, 63, 0), 5000);
    assert_int_equal(agg_breaker_open_period_ms(&c, 1, 0), 2000);
    /* Trips of one breaker get different periods. */
    agg_breaker b;
    agg_breaker_init(&b, "t", &c);
    int64_t first = 0;
    bool differ = false;
    for (int i = 0; i < 20 && !differ; i++) {
        agg_breaker_init(&b, "t", &c);
        atomic_store(&b.rng, (uint64_t)i * 977);
        open_it(&b, 10000);
        int64_t p = agg_breaker_open_until_ms(&b) - 10000;
        assert_true(p >= 800 && p <= 1000);
        differ = i > 0 && p != first;
        first = i == 0 ? p : first;
    }
    assert_true(differ);
}

static void verdicts_by_kind(void **state)
{
    (void)state;
    agg_breaker_cfg c = test_cfg();
    assert_int_equal(agg_breaker_verdict_of(&c, F_OK_), AGG_BREAKER_SUCCESS);
    assert_int_equal(agg_breaker_verdict_of(&c, FANOUT__V1__ERROR_KIND__DEADLINE), AGG_BREAKER_FAILURE);
    assert_int_equal(agg_breaker_verdict_of(&c, FANOUT__V1__ERROR_KIND__UNAVAILABLE), AGG_BREAKER_FAILURE);
    assert_int_equal(agg_breaker_verdict_of(&c, FANOUT__V1__ERROR_KIND__MALFORMED_RESPONSE), AGG_BREAKER_FAILURE);
    assert_int_equal(agg_breaker_verdict_of(&c, FANOUT__V1__ERROR_KIND__BACKEND_ERROR), AGG_BREAKER_SUCCESS);
    assert_int_equal(agg_breaker_verdict_of(&c, FANOUT__V1__ERROR_KIND__CANCELLED), AGG_BREAKER_NO_VERDICT);
    c.count_app_errors = true;
    assert_int_equal(agg_breaker_verdict_of(&c, FANOUT__V1__ERROR_KIND__BACKEND_ERROR), AGG_BREAKER_FAILURE);
}

/* --- config ------------------------------------------------------------------- */

static void config_defaults_and_overrides(void **state)
{
    (void)state;
    agg_config c;
    assert_null(testconfig_load("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\"}]}", NULL, &c));
    assert_int_equal(c.deadline_reserve_ms, 5);
    assert_true(c.features[0].breaker.enabled);
    assert_int_equal(c.features[0].breaker.min_calls, 20);
    assert_int_equal(c.features[0].breaker.consecutive_failures, 5);
    assert_int_equal(c.features[0].breaker.open_ms, 5000);
    assert_int_equal(c.features[0].breaker.max_open_ms, 60000);
    assert_int_equal(c.features[0].breaker.half_open_calls, 3);
    agg_config_release(&c);

    assert_null(testconfig_load(
        "{\"deadline_reserve_ms\": 0, \"breaker\": {\"failure_ratio\": 0.25, \"min_calls\": 7,"
        " \"window_ms\": \"2s\", \"consecutive_failures\": 0, \"open_ms\": 100, \"max_open_ms\": 800,"
        " \"half_open_calls\": 1, \"count_app_errors\": true},"
        " \"features\": [{\"name\": \"a\", \"target\": \"x:1\", \"breaker\": {\"open_ms\": 200}},"
        " {\"name\": \"b\", \"target\": \"x:2\", \"breaker\": false}, {\"name\": \"c\", \"target\": \"x:3\"}]}",
        NULL, &c));
    assert_int_equal(c.deadline_reserve_ms, 0);
    const agg_breaker_cfg *a = &c.features[0].breaker;
    assert_true(a->enabled);
    assert_int_equal(a->open_ms, 200);
    assert_int_equal(a->min_calls, 7);
    assert_int_equal(a->window_ms, 2000);
    assert_int_equal(a->max_open_ms, 800);
    assert_int_equal(a->half_open_calls, 1);
    assert_true(a->count_app_errors);
    assert_true(a->failure_ratio == 0.25);
    assert_false(c.features[1].breaker.enabled);
    assert_int_equal(c.features[2].breaker.open_ms, 100);
    agg_config_release(&c);

    /* Off at the top, on again for one feature. */
    assert_null(testconfig_load("{\"breaker\": false, \"features\": [{\"name\": \"a\", \"target\": \"x:1\"},"
                                " {\"name\": \"b\", \"target\": \"x:1\", \"breaker\": {\"min_calls\": 3}}]}",
                                NULL, &c));
    assert_false(c.features[0].breaker.enabled);
    assert_true(c.features[1].breaker.enabled);
    assert_int_equal(c.features[1].breaker.min_calls, 3);
    agg_config_release(&c);
}

static void expect_bad(const char *text, const char *suffix)
{
    agg_config c;
    fo_error *err = testconfig_load(text, NULL, &c);
    assert_non_null(err);
    const char *m = strstr(err->message, ": ");
    assert_non_null(m);
    if (strcmp(m + 2, suffix) != 0)
        fail_msg("got \"%s\", expected \"%s\"", m + 2, suffix);
    fo_error_free(err);
    agg_config_release(&c);
}

static void config_errors_name_the_key(void **state)
{
    (void)state;
    expect_bad("{\"breaker\": {\"min_call\": 3}, \"features\": [{\"name\": \"a\", \"target\": \"x:1\"}]}",
               "breaker.min_call: unknown key");
    expect_bad("{\"breaker\": {\"failure_ratio\": 1.5}, \"features\": [{\"name\": \"a\", \"target\": \"x:1\"}]}",
               "breaker.failure_ratio: must be a number from 0.01 to 1, got 1.5");
    expect_bad("{\"breaker\": 3, \"features\": [{\"name\": \"a\", \"target\": \"x:1\"}]}",
               "breaker: must be an object of breaker settings, true or false, got 3");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\", \"breaker\": {\"max_open_ms\": 10}}]}",
               "features[0].breaker.max_open_ms: must be at least open_ms (5000), got 10");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\", \"breaker\": {\"half_open_calls\": 0}}]}",
               "features[0].breaker.half_open_calls: must be an integer from 1 to 32, got 0");
    expect_bad("{\"deadline_reserve_ms\": -1, \"features\": [{\"name\": \"a\", \"target\": \"x:1\"}]}",
               "deadline_reserve_ms: must be an integer from 0 to 60000, got -1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_breaker_always_passes),
        cmocka_unit_test(consecutive_failures_open_it),
        cmocka_unit_test(ratio_needs_min_calls),
        cmocka_unit_test(ratio_below_threshold_stays_closed),
        cmocka_unit_test(window_forgets_old_calls),
        cmocka_unit_test(no_verdict_counts_nothing),
        cmocka_unit_test(half_open_probes_then_close),
        cmocka_unit_test(failed_probe_reopens_with_backoff),
        cmocka_unit_test(late_probe_verdict_is_ignored),
        cmocka_unit_test(jitter_stays_in_bounds),
        cmocka_unit_test(verdicts_by_kind),
        cmocka_unit_test(config_defaults_and_overrides),
        cmocka_unit_test(config_errors_name_the_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
