/* Unit tests for aggregator/agg_deadline: when an ALLOW_PARTIAL request answers ahead of the caller's deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agg_deadline.h"
#include "fo_time.h"

#define MS FO_NS_PER_MS
#define NOW (INT64_C(1000000) * MS)

static void reserve_ahead_of_the_deadline(void **state)
{
    (void)state;
    /* 50 ms budget, 5 ms reserve, a feature that may take 1 s: answer at 45 ms. */
    assert_int_equal(agg_deadline_cut_ns(NOW, NOW + 50 * MS, 5, 1000), NOW + 45 * MS);
    assert_int_equal(agg_deadline_cut_ns(NOW, NOW + 100 * MS, 5, 1000), NOW + 95 * MS);
}

static void reserve_at_most_a_quarter(void **state)
{
    (void)state;
    /* 8 ms budget: a 5 ms reserve would leave 3; a quarter (2 ms) is kept instead. */
    assert_int_equal(agg_deadline_cut_ns(NOW, NOW + 8 * MS, 5, 1000), NOW + 6 * MS);
    assert_int_equal(agg_deadline_cut_ns(NOW, NOW + 40 * MS, 60000, 1000), NOW + 30 * MS);
}

static void no_cut(void **state)
{
    (void)state;
    assert_int_equal(agg_deadline_cut_ns(NOW, FO_DEADLINE_NONE, 5, 1000), FO_DEADLINE_NONE); /* no deadline */
    assert_int_equal(agg_deadline_cut_ns(NOW, NOW + 50 * MS, 0, 1000), FO_DEADLINE_NONE);    /* turned off */
    assert_int_equal(agg_deadline_cut_ns(NOW, NOW - MS, 5, 1000), FO_DEADLINE_NONE);         /* passed */
    assert_int_equal(agg_deadline_cut_ns(NOW, NOW + 1 * MS, 5, 1000), FO_DEADLINE_NONE);     /* too short */
    /* Every feature's timeout (300 ms) ends well before the cut at 995 ms: no timer. */
    assert_int_equal(agg_deadline_cut_ns(NOW, NOW + 1000 * MS, 5, 300), FO_DEADLINE_NONE);
    /* The shortest budget that still gets a cut. */
    assert_int_equal(agg_deadline_cut_ns(NOW, NOW + AGG_DEADLINE_MIN_BUDGET_MS * MS, 5, 1000),
                     NOW + AGG_DEADLINE_MIN_BUDGET_MS * MS - AGG_DEADLINE_MIN_BUDGET_MS * MS / 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reserve_ahead_of_the_deadline),
        cmocka_unit_test(reserve_at_most_a_quarter),
        cmocka_unit_test(no_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
