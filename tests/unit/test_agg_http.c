/* Unit tests for the HTTP face's parts without a listener: agg_http_request, agg_http_status, agg_http_config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg_config.h"
#include "agg_http_config.h"
#include "agg_http_request.h"
#include "agg_http_status.h"
#include "testconfig.h"

static void statuses_follow_google_api_design(void **state)
{
    (void)state;
    assert_int_equal(agg_http_status_of(FO_STATUS_OK), 200);
    assert_int_equal(agg_http_status_of(FO_STATUS_INVALID_ARGUMENT), 400);
    assert_int_equal(agg_http_status_of(FO_STATUS_UNAUTHENTICATED), 401);
    assert_int_equal(agg_http_status_of(FO_STATUS_PERMISSION_DENIED), 403);
    assert_int_equal(agg_http_status_of(FO_STATUS_NOT_FOUND), 404);
    assert_int_equal(agg_http_status_of(FO_STATUS_ABORTED), 409);
    assert_int_equal(agg_http_status_of(FO_STATUS_RESOURCE_EXHAUSTED), 429);
    assert_int_equal(agg_http_status_of(FO_STATUS_CANCELLED), 499);
    assert_int_equal(agg_http_status_of(FO_STATUS_INTERNAL), 500);
    assert_int_equal(agg_http_status_of(FO_STATUS_UNIMPLEMENTED), 501);
    assert_int_equal(agg_http_status_of(FO_STATUS_UNAVAILABLE), 503);
    assert_int_equal(agg_http_status_of(FO_STATUS_DEADLINE_EXCEEDED), 504);
    assert_int_equal(agg_http_status_of((fo_status)99), 500);
}

static void error_body_is_a_google_rpc_status(void **state)
{
    (void)state;
    char *json = agg_http_error_json(FO_STATUS_UNAVAILABLE, "feature tours: down \"now\"\xff");
    assert_string_equal(json,
                        "{\"code\":14,\"message\":\"feature tours: down \\\"now\\\"\xef\xbf\xbd\",\"details\":[]}");
    free(json);
}

static void query_builds_the_request(void **state)
{
    (void)state;
    agg_http_param params[] = {{"features", "listings,tours"}, {"policy", "FAIL_FAST"}, {"window_start", "100"},
                               {"window_end", "200"},          {"timeout_ms", "250"},   {"features", "offers"}};
    Fanout__V1__AnalyticsRequest *msg;
    int64_t timeout;
    assert_null(agg_http_request_from_query("c-42", params, 6, &msg, &timeout));
    assert_string_equal(msg->customer_id, "c-42");
    assert_int_equal(msg->n_features, 3);
    assert_string_equal(msg->features[2], "offers");
    assert_int_equal(msg->failure_policy, FANOUT__V1__FAILURE_POLICY__FAIL_FAST);
    assert_int_equal(msg->window_start_unix, 100);
    assert_int_equal(msg->window_end_unix, 200);
    assert_int_equal(timeout, 250);
    fanout__v1__analytics_request__free_unpacked(msg, NULL);
}

static void expect_query_error(agg_http_param p, const char *want)
{
    Fanout__V1__AnalyticsRequest *msg;
    int64_t timeout;
    fo_error *err = agg_http_request_from_query("c", &p, 1, &msg, &timeout);
    assert_non_null(err);
    assert_null(msg);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    if (strstr(err->message, want) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", err->message, want);
    fo_error_free(err);
}

static void bad_query_parameters_are_named(void **state)
{
    (void)state;
    expect_query_error((agg_http_param){"colour", "red"}, "query parameter colour: unknown");
    expect_query_error((agg_http_param){"policy", "SOMETIMES"}, "query parameter policy:");
    expect_query_error((agg_http_param){"window_start", "soon"}, "query parameter window_start:");
    expect_query_error((agg_http_param){"timeout_ms", "0"}, "query parameter timeout_ms: must be");
    expect_query_error((agg_http_param){"features", NULL}, "query parameter features:");
}

static void body_takes_both_spellings_and_refuses_unknown_fields(void **state)
{
    (void)state;
    const char *camel = "{\"customerId\": \"c\", \"failurePolicy\": \"ALLOW_PARTIAL\", \"windowEndUnix\": \"5\"}";
    const char *proto = "{\"customer_id\": \"c\", \"failure_policy\": 1, \"window_end_unix\": 5}";
    Fanout__V1__AnalyticsRequest *a, *b;
    assert_null(agg_http_request_from_body(camel, strlen(camel), &a));
    assert_null(agg_http_request_from_body(proto, strlen(proto), &b));
    assert_string_equal(a->customer_id, b->customer_id);
    assert_int_equal(a->failure_policy, b->failure_policy);
    assert_int_equal(a->window_end_unix, 5);
    assert_int_equal(b->window_end_unix, 5);
    fanout__v1__analytics_request__free_unpacked(a, NULL);
    fanout__v1__analytics_request__free_unpacked(b, NULL);

    const char *unknown = "{\"customerId\": \"c\", \"colour\": 1}";
    fo_error *err = agg_http_request_from_body(unknown, strlen(unknown), &a);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "colour"));
    fo_error_free(err);
    err = agg_http_request_from_body("{\"a\"\0}", 6, &a);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "NUL"));
    fo_error_free(err);
}

static void timeout_headers(void **state)
{
    (void)state;
    int64_t ms;
    assert_null(agg_http_timeout_header("grpc-timeout", "250m", &ms));
    assert_int_equal(ms, 250);
    assert_null(agg_http_timeout_header("grpc-timeout", "2S", &ms));
    assert_int_equal(ms, 2000);
    assert_null(agg_http_timeout_header("grpc-timeout", "1500u", &ms));
    assert_int_equal(ms, 2); /* rounded up */
    assert_null(agg_http_timeout_header("x-timeout-ms", "40", &ms));
    assert_int_equal(ms, 40);
    const char *bad[][2] = {{"grpc-timeout", "250"}, {"grpc-timeout", "123456789m"}, {"grpc-timeout", "0m"},
                            {"grpc-timeout", "5x"},  {"x-timeout-ms", "1s"},         {"x-timeout-ms", "0"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fo_error *err = agg_http_timeout_header(bad[i][0], bad[i][1], &ms);
        assert_non_null(err);
        assert_non_null(strstr(err->message, bad[i][0]));
        fo_error_free(err);
    }
}

static const char *fake_env_value;
static const char *fake_getenv(const char *name)
{
    return strcmp(name, "FANOUT_HTTP_LISTEN") == 0 ? fake_env_value : NULL;
}

static fo_error *load(const char *text, const char *env, agg_config *c)
{
    fake_env_value = env;
    return testconfig_load(text, fake_getenv, c);
}

#define FEATURES "\"features\": [{\"name\": \"a\", \"target\": \"x:1\"}]"

static void config_keys_and_environment(void **state)
{
    (void)state;
    agg_config c;
    assert_null(load("{" FEATURES "}", NULL, &c));
    assert_null(c.http.listen);
    assert_null(agg_http_config_cors(&c.http, "https://a.example"));
    agg_config_release(&c);

    assert_null(
        load("{\"http_listen\": \"0.0.0.0:8080\", \"cors_origins\": [\"https://a.example\"], " FEATURES "}", NULL, &c));
    assert_string_equal(c.http.listen, "0.0.0.0:8080");
    assert_string_equal(agg_http_config_cors(&c.http, "https://a.example"), "https://a.example");
    assert_null(agg_http_config_cors(&c.http, "https://b.example"));
    agg_config_release(&c);

    assert_null(
        load("{\"http_listen\": \"0.0.0.0:8080\", \"cors_origins\": [\"*\"], " FEATURES "}", "127.0.0.1:0", &c));
    assert_string_equal(c.http.listen, "127.0.0.1:0");
    assert_string_equal(agg_http_config_cors(&c.http, "https://b.example"), "*");
    agg_config_release(&c);

    fo_error *err = load("{\"http_listen\": \"8080\", " FEATURES "}", NULL, &c);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "http_listen: must be host:port"));
    fo_error_free(err);
    err = load("{\"cors_origins\": \"*\", " FEATURES "}", NULL, &c);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "cors_origins"));
    fo_error_free(err);
    /* A bad variable is named after the file, as every config error is. */
    err = load("{" FEATURES "}", "localhost:http", &c);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "FANOUT_HTTP_LISTEN"));
    assert_int_equal(strncmp(err->message, TESTCONFIG_PREFIX, strlen(TESTCONFIG_PREFIX)), 0);
    assert_null(c.features);
    fo_error_free(err);
    /* The admin listener's address follows the same rule. */
    err = load("{\"admin_listen\": \"9464\", " FEATURES "}", NULL, &c);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "admin_listen: must be host:port"));
    fo_error_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(statuses_follow_google_api_design),
        cmocka_unit_test(error_body_is_a_google_rpc_status),
        cmocka_unit_test(query_builds_the_request),
        cmocka_unit_test(bad_query_parameters_are_named),
        cmocka_unit_test(body_takes_both_spellings_and_refuses_unknown_fields),
        cmocka_unit_test(timeout_headers),
        cmocka_unit_test(config_keys_and_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
