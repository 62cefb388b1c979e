/* Unit tests for aggregator/agg_validate: every rejected request, and the plans of good ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_validate.h"

#define DAY 86400

static agg_feature_config configured[] = {
    {.name = "listings"},
    {.name = "searches"},
    {.name = "tours"},
};

static agg_config config(Fanout__V1__FailurePolicy policy, int max_features)
{
    return (agg_config){
        .default_policy = policy,
        .max_features_per_request = max_features,
        .features = configured,
        .n_features = sizeof configured / sizeof configured[0],
    };
}

static Fanout__V1__AnalyticsRequest request(char **features, size_t n)
{
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = "cust-1";
    req.features = features;
    req.n_features = n;
    return req;
}

static void expect_invalid(const Fanout__V1__AnalyticsRequest *req, const agg_config *cfg, const char *message)
{
    agg_plan plan;
    fo_error *err = agg_validate_request(req, cfg, &plan);
    assert_non_null(err);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    assert_string_equal(err->message, message);
    assert_null(plan.features);
    assert_int_equal(plan.n_features, 0);
    fo_error_free(err);
}

static void named_features_keep_request_order(void **state)
{
    (void)state;
    agg_config cfg = config(FANOUT__V1__FAILURE_POLICY__FAIL_FAST, 64);
    char *names[] = {"tours", "bogus", "listings"};
    Fanout__V1__AnalyticsRequest req = request(names, 3);
    agg_plan plan;
    assert_null(agg_validate_request(&req, &cfg, &plan));
    assert_int_equal(plan.n_features, 3);
    assert_ptr_equal(plan.features[0].name, names[0]);
    assert_int_equal(plan.features[0].config_index, 2);
    assert_string_equal(plan.features[1].name, "bogus");
    assert_int_equal(plan.features[1].config_index, -1);
    assert_string_equal(plan.features[2].name, "listings");
    assert_int_equal(plan.features[2].config_index, 0);
    /* UNSPECIFIED takes the configured default. */
    assert_int_equal(plan.policy, FANOUT__V1__FAILURE_POLICY__FAIL_FAST);
    agg_plan_release(&plan);

    req.failure_policy = FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL;
    assert_null(agg_validate_request(&req, &cfg, &plan));
    assert_int_equal(plan.policy, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    agg_plan_release(&plan);
    assert_null(plan.features);
}

static void no_features_means_every_configured_one(void **state)
{
    (void)state;
    agg_config cfg = config(FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, 2);
    Fanout__V1__AnalyticsRequest req = request(NULL, 0);
    agg_plan plan;
    /* The per-request limit (2) applies to lists clients send, not to the expansion. */
    assert_null(agg_validate_request(&req, &cfg, &plan));
    assert_int_equal(plan.n_features, 3);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(plan.features[i].name, configured[i].name);
        assert_int_equal(plan.features[i].config_index, i);
    }
    assert_int_equal(plan.policy, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    agg_plan_release(&plan);
}

static void customer_id_is_checked(void **state)
{
    (void)state;
    agg_config cfg = config(FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, 64);
    Fanout__V1__AnalyticsRequest req = request(NULL, 0);
    req.customer_id = "";
    expect_invalid(&req, &cfg, "customer_id: must not be empty");
    req.customer_id = NULL;
    expect_invalid(&req, &cfg, "customer_id: must not be empty");

    char id[258];
    memset(id, 'c', 257);
    id[257] = '\0';
    req.customer_id = id;
    expect_invalid(&req, &cfg, "customer_id: must be at most 256 bytes, got 257");
    id[256] = '\0';
    agg_plan plan;
    assert_null(agg_validate_request(&req, &cfg, &plan));
    agg_plan_release(&plan);
}

static void feature_names_are_checked(void **state)
{
    (void)state;
    agg_config cfg = config(FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, 4);
    char *empty[] = {"tours", "a", "b", ""};
    Fanout__V1__AnalyticsRequest req = request(empty, 4);
    expect_invalid(&req, &cfg, "features[3]: must not be empty");

    char *many[] = {"a", "b", "c", "d", "e"};
    req = request(many, 5);
    expect_invalid(&req, &cfg, "features: 5 requested, at most 4 allowed");
}

static void duplicates_name_both_positions(void **state)
{
    (void)state;
    agg_config cfg = config(FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, 64);
    char *twice[] = {"listings", "tours", "a", "b", "tours"};
    Fanout__V1__AnalyticsRequest req = request(twice, 5);
    expect_invalid(&req, &cfg, "features[4]: duplicate feature \"tours\" (also features[1])");

    /* The repeat reported is the first a left-to-right reading meets. */
    char *crossed[] = {"x", "y", "y", "x"};
    req = request(crossed, 4);
    expect_invalid(&req, &cfg, "features[2]: duplicate feature \"y\" (also features[1])");
    char *thrice[] = {"b", "a", "c", "a", "a", "b"};
    req = request(thrice, 6);
    expect_invalid(&req, &cfg, "features[3]: duplicate feature \"a\" (also features[1])");
}

static void many_features_are_checked_quickly(void **state)
{
    (void)state;
    agg_config cfg = config(FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, 4096);
    enum { N = 4096 };
    char(*storage)[8] = malloc(N * sizeof *storage);
    char **names = malloc(N * sizeof *names);
    assert_non_null(storage);
    assert_non_null(names);
    for (int i = 0; i < N; i++) {
        /* Descending, so the sort has work to do. */
        snprintf(storage[i], sizeof storage[i], "f%04d", N - 1 - i);
        names[i] = storage[i];
    }
    Fanout__V1__AnalyticsRequest req = request(names, N);
    agg_plan plan;
    assert_null(agg_validate_request(&req, &cfg, &plan));
    assert_int_equal(plan.n_features, N);
    assert_int_equal(plan.features[N - 1].config_index, -1);
    agg_plan_release(&plan);

    names[N - 1] = storage[17];
    expect_invalid(&req, &cfg, "features[4095]: duplicate feature \"f4078\" (also features[17])");
    free(names);
    free(storage);
}

static void windows_are_checked(void **state)
{
    (void)state;
    agg_config cfg = config(FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, 64);
    Fanout__V1__AnalyticsRequest req = request(NULL, 0);
    req.window_start_unix = 9;
    req.window_end_unix = 5;
    expect_invalid(&req, &cfg, "window_end_unix (5) is before window_start_unix (9)");
    req.window_start_unix = -1;
    req.window_end_unix = 5;
    expect_invalid(&req, &cfg, "window_start_unix: must not be negative, got -1");
    req.window_start_unix = 0;
    req.window_end_unix = -7;
    expect_invalid(&req, &cfg, "window_end_unix: must not be negative, got -7");
    req.window_start_unix = 1000;
    req.window_end_unix = 1000 + 366 * DAY + 1;
    expect_invalid(&req, &cfg, "window_end_unix (31623401) is more than 366 days after window_start_unix (1000)");

    agg_plan plan;
    req.window_end_unix = 1000 + 366 * DAY;
    assert_null(agg_validate_request(&req, &cfg, &plan));
    agg_plan_release(&plan);
    req.window_start_unix = 0;
    req.window_end_unix = 0;
    assert_null(agg_validate_request(&req, &cfg, &plan));
    agg_plan_release(&plan);
}

static void unknown_policies_are_rejected(void **state)
{
    (void)state;
    agg_config cfg = config(FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, 64);
    Fanout__V1__AnalyticsRequest req = request(NULL, 0);
    req.failure_policy = (Fanout__V1__FailurePolicy)7;
    expect_invalid(&req, &cfg, "failure_policy: unknown value 7");
    req.failure_policy = (Fanout__V1__FailurePolicy)-1;
    expect_invalid(&req, &cfg, "failure_policy: unknown value -1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(named_features_keep_request_order),
        cmocka_unit_test(no_features_means_every_configured_one),
        cmocka_unit_test(customer_id_is_checked),
        cmocka_unit_test(feature_names_are_checked),
        cmocka_unit_test(duplicates_name_both_positions),
        cmocka_unit_test(many_features_are_checked_quickly),
        cmocka_unit_test(windows_are_checked),
        cmocka_unit_test(unknown_policies_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
