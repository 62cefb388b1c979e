/*
 * Unit tests for the extra feature calls' logic: the decaying latency
 * histogram and the hedge delay (agg_hedge), the extra-attempt budget on a
 * fake clock (agg_budget), the retry rules and backoff (agg_retry), and
 * their config (agg_hedge_config, through agg_config_load).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg_budget.h"
#include "agg_config.h"
#include "agg_hedge.h"
#include "agg_retry.h"
#include "testconfig.h"

/* --- the histogram and the delay ------------------------------------------------ */

static void test_quantile_needs_samples(void **state)
{
    (void)state;
    agg_latency h = {0};
    for (int i = 0; i < AGG_LATENCY_MIN_SAMPLES - 1; i++)
        agg_latency_record(&h, 1000);
    assert_int_equal(agg_latency_quantile_us(&h, 0.95), -1);
    agg_latency_record(&h, 1000);
    int64_t q = agg_latency_quantile_us(&h, 0.95);
    /* Within its bucket: a fifth of the truth either way. */
    assert_in_range(q, 840, 1200);
}

static void test_quantile_of_a_tail(void **state)
{
    (void)state;
    agg_latency h = {0};
    /* 94% at 2 ms, 6% at 40 ms: p50 is 2 ms, p95 and p99 40 ms. */
    for (int i = 0; i < 1000; i++)
        agg_latency_record(&h, i % 100 < 94 ? 2000 : 40000);
    assert_in_range(agg_latency_quantile_us(&h, 0.5), 1680, 2400);
    assert_in_range(agg_latency_quantile_us(&h, 0.95), 33600, 48000);
    assert_in_range(agg_latency_quantile_us(&h, 0.9), 1680, 2400);
    /* Anything below the first edge and far past the last is still counted. */
    agg_latency e = {0};
    for (int i = 0; i < 100; i++)
        agg_latency_record(&e, i < 50 ? 0 : INT64_C(100000000));
    assert_true(agg_latency_quantile_us(&e, 0.25) <= 60);
    assert_true(agg_latency_quantile_us(&e, 0.99) >= 2500000);
}

static void test_histogram_decays(void **state)
{
    (void)state;
    agg_latency h = {0};
    for (int i = 0; i < 1500; i++)
        agg_latency_record(&h, 50000);
    assert_in_range(agg_latency_quantile_us(&h, 0.5), 42000, 60000);
    /* The feature gets fast: after a few thousand calls the old latency is forgotten. */
    for (int i = 0; i < 6 * AGG_LATENCY_DECAY_AT; i++)
        agg_latency_record(&h, 1000);
    assert_true(h.total < AGG_LATENCY_DECAY_AT);
    assert_in_range(agg_latency_quantile_us(&h, 0.95), 840, 1200);
}

static void test_delay_policy(void **state)
{
    (void)state;
    agg_latency h = {0};
    agg_hedge_cfg off = agg_hedge_cfg_off();
    assert_int_equal(agg_hedge_delay_us(&off, &h), -1);
    agg_hedge_cfg fixed = {.mode = AGG_HEDGE_FIXED, .after_ms = 20, .max_attempts = 3};
    assert_int_equal(agg_hedge_delay_us(&fixed, &h), 20000);
    agg_hedge_cfg adaptive = {.mode = AGG_HEDGE_ADAPTIVE, .quantile = 0.95, .min_ms = 2, .max_ms = 30};
    /* No data yet: max_ms, no hedge on a guess. */
    assert_int_equal(agg_hedge_delay_us(&adaptive, &h), 30000);
    for (int i = 0; i < 100; i++)
        agg_latency_record(&h, 10000);
    assert_in_range(agg_hedge_delay_us(&adaptive, &h), 8400, 12000);
    /* Clamped to [min_ms, max_ms]. */
    agg_latency fast = {0}, slow = {0};
    for (int i = 0; i < 100; i++) {
        agg_latency_record(&fast, 100);
        agg_latency_record(&slow, 500000);
    }
    assert_int_equal(agg_hedge_delay_us(&adaptive, &fast), 2000);
    assert_int_equal(agg_hedge_delay_us(&adaptive, &slow), 30000);
}

/* Asks n hedges of w under cfg; how many may go. */
static int hedges_that_go(const agg_hedge_cfg *cfg, agg_hedge_wins *w, int n)
{
    int go = 0;
    for (int i = 0; i < n; i++)
        go += agg_hedge_pays(cfg, w);
    return go;
}

static void test_hedges_held_back_while_they_lose(void **state)
{
    (void)state;
    agg_hedge_cfg adaptive = {.mode = AGG_HEDGE_ADAPTIVE, .quantile = 0.93, .min_ms = 10, .max_ms = 500};
    agg_hedge_cfg fixed = {.mode = AGG_HEDGE_FIXED, .after_ms = 10, .max_attempts = 2};
    agg_hedge_wins w = {0};
    /* Until AGG_HEDGE_WINS_MIN_SENT hedges have gone, every one goes, winning or not. */
    for (int i = 0; i < AGG_HEDGE_WINS_MIN_SENT - 1; i++)
        agg_hedge_sent(&w);
    assert_int_equal(hedges_that_go(&adaptive, &w, 10), 10);
    agg_hedge_sent(&w);
    /* None of them won: held back, but for one in AGG_HEDGE_PROBE_EVERY. */
    assert_int_equal(hedges_that_go(&adaptive, &w, 10 * AGG_HEDGE_PROBE_EVERY), 10);
    /* A fixed delay is the operator's: it always goes. */
    assert_int_equal(hedges_that_go(&fixed, &w, 10), 10);
    /* Two more went, one won: 1 in 18 is too few; 2 in 18, one in ten, and every hedge goes again. */
    agg_hedge_sent(&w);
    agg_hedge_sent(&w);
    agg_hedge_won(&w);
    assert_int_equal(w.sent, AGG_HEDGE_WINS_MIN_SENT + 2);
    assert_int_equal(hedges_that_go(&adaptive, &w, AGG_HEDGE_PROBE_EVERY), 1);
    agg_hedge_won(&w);
    assert_int_equal(hedges_that_go(&adaptive, &w, 10), 10);
}

static void test_hedge_wins_decay(void **state)
{
    (void)state;
    agg_hedge_cfg adaptive = {.mode = AGG_HEDGE_ADAPTIVE, .quantile = 0.93, .min_ms = 10, .max_ms = 500};
    agg_hedge_wins w = {0};
    /* Hedges that always won... */
    for (int i = 0; i < 1000; i++) {
        agg_hedge_sent(&w);
        agg_hedge_won(&w);
    }
    assert_true(w.sent < AGG_HEDGE_WINS_DECAY_AT);
    assert_true(w.won <= w.sent);
    /* ... then never: within a couple of hundred losing hedges they are held back. */
    int lost = 0;
    while (agg_hedge_pays(&adaptive, &w) && lost < 1000) {
        agg_hedge_sent(&w);
        lost++;
    }
    assert_in_range(lost, AGG_HEDGE_WINS_DECAY_AT, 4 * AGG_HEDGE_WINS_DECAY_AT);
    /* A won hedge is never counted beyond those sent. */
    agg_hedge_wins z = {0};
    agg_hedge_won(&z);
    assert_int_equal(z.won, 0);
}

/* --- the budget ----------------------------------------------------------------------- */

static agg_budget_cfg budget_cfg(double percent, double per_second)
{
    return (agg_budget_cfg){.percent = percent, .per_second = per_second, .window_ms = 10000};
}

static int extras_allowed(agg_budget *b, int64_t now_ms, int tries)
{
    int n = 0;
    for (int i = 0; i < tries; i++)
        n += agg_budget_try_extra(b, now_ms);
    return n;
}

static void test_budget_share(void **state)
{
    (void)state;
    agg_budget b;
    agg_budget_cfg c = budget_cfg(5, 0);
    agg_budget_init(&b, &c);
    /* No first attempt, no floor: nothing. */
    assert_false(agg_budget_try_extra(&b, 1000));
    for (int i = 0; i < 1000; i++)
        agg_budget_first(&b, 1000 + i);
    /* 5% of 1,000: 50, then exhausted. */
    assert_int_equal(extras_allowed(&b, 2000, 80), 50);
    assert_false(agg_budget_try_extra(&b, 2000));
    agg_budget_counts w = agg_budget_window(&b, 2000);
    assert_int_equal(w.firsts, 1000);
    assert_int_equal(w.extras, 50);
    /* More first attempts earn more: 100 more, 5 more. */
    for (int i = 0; i < 100; i++)
        agg_budget_first(&b, 3000);
    assert_int_equal(extras_allowed(&b, 3000, 20), 5);
}

static void test_budget_window_slides(void **state)
{
    (void)state;
    agg_budget b;
    agg_budget_cfg c = budget_cfg(10, 0);
    agg_budget_init(&b, &c);
    for (int i = 0; i < 100; i++)
        agg_budget_first(&b, 500);
    assert_int_equal(extras_allowed(&b, 600, 20), 10);
    /* Within the window the spent extras still count; 10 s later both have gone. */
    assert_false(agg_budget_try_extra(&b, 9000));
    assert_false(agg_budget_try_extra(&b, 10600));
    agg_budget_counts w = agg_budget_window(&b, 10600);
    assert_int_equal(w.firsts, 0);
    assert_int_equal(w.extras, 0);
    for (int i = 0; i < 100; i++)
        agg_budget_first(&b, 11000);
    assert_int_equal(extras_allowed(&b, 11000, 20), 10);
    /* A long silence (a day) leaves nothing behind. */
    assert_int_equal(agg_budget_window(&b, 86400000).firsts, 0);
}

static void test_budget_floor(void **state)
{
    (void)state;
    agg_budget b;
    agg_budget_cfg c = budget_cfg(5, 2);
    agg_budget_init(&b, &c);
    /* A quiet feature: 10 calls, 5% is half a call; the floor adds 2 a second of the 10 s window. */
    for (int i = 0; i < 10; i++)
        agg_budget_first(&b, 100);
    assert_int_equal(extras_allowed(&b, 100, 50), 20);
    assert_int_equal(extras_allowed(&b, 9900, 50), 0);
    /* The window has moved past them: the floor again, the share of no calls nothing. */
    assert_int_equal(extras_allowed(&b, 10100, 50), 20);
    /* A busy one: the floor adds to the share (50 of 1,000), it does not replace it. */
    agg_budget busy;
    agg_budget_init(&busy, &c);
    for (int i = 0; i < 1000; i++)
        agg_budget_first(&busy, 100);
    assert_int_equal(extras_allowed(&busy, 100, 100), 70);
    assert_int_equal(extras_allowed(&busy, 1100, 100), 0);
}

static void test_budget_zero(void **state)
{
    (void)state;
    agg_budget b;
    agg_budget_cfg c = budget_cfg(0, 0);
    agg_budget_init(&b, &c);
    for (int i = 0; i < 1000; i++)
        agg_budget_first(&b, 100);
    assert_false(agg_budget_try_extra(&b, 100));
}

/* --- retries -------------------------------------------------------------------------- */

static void test_retry_rules(void **state)
{
    (void)state;
    agg_code_set unavailable = (agg_code_set)1 << FO_STATUS_UNAVAILABLE;
    assert_true(agg_retry_wanted(unavailable, FO_STATUS_UNAVAILABLE, false));
    /* Once a reply came, the feature was reached: no retry. */
    assert_false(agg_retry_wanted(unavailable, FO_STATUS_UNAVAILABLE, true));
    assert_false(agg_retry_wanted(unavailable, FO_STATUS_INTERNAL, false));
    assert_false(agg_retry_wanted(unavailable, FO_STATUS_DEADLINE_EXCEEDED, false));
    assert_false(agg_retry_wanted(unavailable, FO_STATUS_OK, false));
    assert_false(agg_retry_wanted(0, FO_STATUS_UNAVAILABLE, false));
    agg_code_set two = unavailable | (agg_code_set)1 << FO_STATUS_RESOURCE_EXHAUSTED;
    assert_true(agg_retry_wanted(two, FO_STATUS_RESOURCE_EXHAUSTED, false));
    /* Never these, whatever the set says. */
    assert_false(agg_retry_wanted(~(agg_code_set)0, FO_STATUS_CANCELLED, false));
    assert_false(agg_retry_wanted(~(agg_code_set)0, FO_STATUS_DEADLINE_EXCEEDED, false));
}

static void test_retry_backoff(void **state)
{
    (void)state;
    for (uint64_t rnd = 0; rnd < 2000; rnd += 7) {
        assert_in_range(agg_retry_backoff_us(0, rnd), 5000, 10000);
        assert_in_range(agg_retry_backoff_us(1, rnd), 10000, 20000);
        assert_in_range(agg_retry_backoff_us(10, rnd), 100000, 200000);
    }
    int64_t a = agg_retry_backoff_us(0, agg_retry_random()), b = a;
    for (int i = 0; i < 20 && b == a; i++)
        b = agg_retry_backoff_us(0, agg_retry_random());
    assert_true(a != b); /* jittered */
}

/* --- the config ----------------------------------------------------------------------- */

#define FEATURES "\"features\": [{\"name\": \"a\", \"target\": \"x:1\"}, {\"name\": \"b\", \"target\": \"x:2\", "

static void test_config_defaults_and_override(void **state)
{
    (void)state;
    agg_config c;
    /* No top-level hedge: no hedging, one attempt; the budget and retry_on at their defaults. */
    assert_null(testconfig_load("{" FEATURES "\"timeout_ms\": 5}]}", NULL, &c));
    assert_int_equal(c.features[0].hedge.mode, AGG_HEDGE_OFF);
    assert_int_equal(c.features[0].hedge.max_attempts, 1);
    assert_true(c.extra_attempts_budget.percent == 5 && c.extra_attempts_budget.per_second == 10);
    assert_int_equal(c.extra_attempts_budget.window_ms, 10000);
    assert_int_equal(c.retry_on, (agg_code_set)1 << FO_STATUS_UNAVAILABLE);
    agg_config_release(&c);

    assert_null(
        testconfig_load("{\"hedge\": {\"quantile\": 0.9, \"min_ms\": 3, \"max_ms\": 400, \"max_attempts\": 3},"
                        "\"extra_attempts_budget\": {\"percent\": 2.5, \"per_second\": 1},"
                        "\"retry_on\": [\"UNAVAILABLE\", \"RESOURCE_EXHAUSTED\"]," FEATURES
                        "\"hedge\": {\"after_ms\": 20}}, {\"name\": \"c\", \"target\": \"x:3\", \"hedge\": false}]}",
                        NULL, &c));
    /* a: the top-level default. */
    assert_int_equal(c.features[0].hedge.mode, AGG_HEDGE_ADAPTIVE);
    assert_true(c.features[0].hedge.quantile == 0.9);
    assert_int_equal(c.features[0].hedge.min_ms, 3);
    assert_int_equal(c.features[0].hedge.max_ms, 400);
    assert_int_equal(c.features[0].hedge.max_attempts, 3);
    /* b: its own replaces it whole (max_attempts back to the built-in 2). */
    assert_int_equal(c.features[1].hedge.mode, AGG_HEDGE_FIXED);
    assert_int_equal(c.features[1].hedge.after_ms, 20);
    assert_int_equal(c.features[1].hedge.max_attempts, 2);
    /* c: off. */
    assert_int_equal(c.features[2].hedge.mode, AGG_HEDGE_OFF);
    assert_int_equal(c.features[2].hedge.max_attempts, 1);
    assert_true(c.extra_attempts_budget.percent == 2.5 && c.extra_attempts_budget.per_second == 1);
    assert_int_equal(c.retry_on, (1u << FO_STATUS_UNAVAILABLE) | (1u << FO_STATUS_RESOURCE_EXHAUSTED));
    agg_config_release(&c);

    /* true: the built-in defaults. */
    assert_null(testconfig_load("{\"hedge\": true, \"retry_on\": []," FEATURES "\"hedge\": true}]}", NULL, &c));
    assert_int_equal(c.features[0].hedge.mode, AGG_HEDGE_ADAPTIVE);
    assert_true(c.features[0].hedge.quantile == 0.95);
    assert_int_equal(c.features[0].hedge.min_ms, 2);
    assert_int_equal(c.features[0].hedge.max_ms, 500);
    assert_int_equal(c.features[0].hedge.max_attempts, 2);
    assert_int_equal(c.retry_on, 0);
    agg_config_release(&c);
}

static void expect_bad(const char *text, const char *fragment)
{
    agg_config c;
    fo_error *err = testconfig_load(text, NULL, &c);
    if (err == NULL)
        fail_msg("expected an error containing \"%s\" for %s", fragment, text);
    if (strstr(err->message, fragment) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err->message, fragment);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    fo_error_free(err);
    agg_config_release(&c);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_bad("{\"hedge\": {\"after_ms\": 20, \"quantile\": 0.9}," FEATURES "\"timeout_ms\": 5}]}",
               "hedge.quantile: not with after_ms");
    expect_bad("{" FEATURES "\"hedge\": {\"after_ms\": 5, \"max_ms\": 9}}]}",
               "features[1].hedge.max_ms: not with after_ms");
    expect_bad("{\"hedge\": {\"max_attempts\": 6}," FEATURES "\"timeout_ms\": 5}]}", "hedge.max_attempts: must be");
    expect_bad("{\"hedge\": {\"max_attempts\": 1}," FEATURES "\"timeout_ms\": 5}]}", "hedge.max_attempts: must be");
    expect_bad("{\"hedge\": {\"quantile\": 1.5}," FEATURES "\"timeout_ms\": 5}]}", "hedge.quantile: must be");
    expect_bad("{\"hedge\": {\"min_ms\": 50, \"max_ms\": 10}," FEATURES "\"timeout_ms\": 5}]}",
               "hedge.max_ms: must be at least min_ms (50), got 10");
    expect_bad("{\"hedge\": {\"delay\": 5}," FEATURES "\"timeout_ms\": 5}]}", "hedge.delay: unknown key");
    expect_bad("{\"hedge\": 5," FEATURES "\"timeout_ms\": 5}]}", "hedge: must be an object of hedge settings");
    expect_bad("{\"extra_attempts_budget\": {\"percent\": 101}," FEATURES "\"timeout_ms\": 5}]}",
               "extra_attempts_budget.percent: must be");
    expect_bad("{\"extra_attempts_budget\": {\"burst\": 1}," FEATURES "\"timeout_ms\": 5}]}",
               "extra_attempts_budget.burst: unknown key");
    expect_bad("{\"retry_on\": [\"NOPE\"]," FEATURES "\"timeout_ms\": 5}]}", "retry_on[0]: must be a gRPC status");
    expect_bad("{\"retry_on\": [\"UNAVAILABLE\", \"DEADLINE_EXCEEDED\"]," FEATURES "\"timeout_ms\": 5}]}",
               "retry_on[1]: cannot be retried");
    expect_bad("{\"retry_on\": \"UNAVAILABLE\"," FEATURES "\"timeout_ms\": 5}]}", "retry_on: must be");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantile_needs_samples),
        cmocka_unit_test(test_quantile_of_a_tail),
        cmocka_unit_test(test_histogram_decays),
        cmocka_unit_test(test_delay_policy),
        cmocka_unit_test(test_hedges_held_back_while_they_lose),
        cmocka_unit_test(test_hedge_wins_decay),
        cmocka_unit_test(test_budget_share),
        cmocka_unit_test(test_budget_window_slides),
        cmocka_unit_test(test_budget_floor),
        cmocka_unit_test(test_budget_zero),
        cmocka_unit_test(test_retry_rules),
        cmocka_unit_test(test_retry_backoff),
        cmocka_unit_test(test_config_defaults_and_override),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
