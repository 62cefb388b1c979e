/* Unit tests for common/fo_pbjson: the proto3 JSON mapping of protobuf-c messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fanout/v1/aggregator.pb-c.h"
#include "fo_pbjson.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"

/* The compact text of msg's JSON, keys in field order. */
static char *json_text(const ProtobufCMessage *msg)
{
    json_t *j = fo_pbjson_from_message(msg);
    char *text = fo_pbjson_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    assert_non_null(text);
    return text;
}

static void assert_json(const ProtobufCMessage *msg, const char *want)
{
    char *text = json_text(msg);
    assert_string_equal(text, want);
    free(text);
}

/* Parses text as a desc message; fails the test on error. */
static ProtobufCMessage *parse(const char *text, const ProtobufCMessageDescriptor *desc)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    assert_non_null(j);
    ProtobufCMessage *msg = NULL;
    fo_error *err = fo_pbjson_to_message(j, desc, &msg);
    if (err != NULL)
        fail_msg("%s", err->message);
    json_decref(j);
    return msg;
}

static void assert_parse_error(const char *text, const ProtobufCMessageDescriptor *desc, const char *want)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    assert_non_null(j);
    ProtobufCMessage sentinel;
    ProtobufCMessage *msg = &sentinel; /* must come back NULL */
    fo_error *err = fo_pbjson_to_message(j, desc, &msg);
    json_decref(j);
    assert_non_null(err);
    assert_null(msg);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    assert_string_equal(err->message, want);
    fo_error_free(err);
}

/* --- a full AnalyticsResponse --------------------------------------------- */

typedef struct sample {
    Fanout__Feature__V1__DailyCount day1, day2;
    Fanout__Feature__V1__DailyCount *daily[2];
    Fanout__Feature__V1__UsageReport__MetricsEntry m1, m2;
    Fanout__Feature__V1__UsageReport__MetricsEntry *metrics[2];
    Fanout__Feature__V1__UsageReport usage;
    Fanout__V1__FeatureError error;
    Fanout__V1__FeatureError *errors[1];
    Fanout__V1__FeatureResult ok, failed;
    Fanout__V1__FeatureResult *results[2];
    Fanout__V1__Totals totals;
    Fanout__V1__AnalyticsResponse resp;
} sample;

/* One feature that answered and one that timed out, on the stack. */
static void sample_init(sample *s)
{
    fanout__feature__v1__daily_count__init(&s->day1);
    s->day1.day_unix = 1700006400;
    s->day1.events = 12;
    fanout__feature__v1__daily_count__init(&s->day2);
    s->day2.day_unix = 1700092800;
    s->daily[0] = &s->day1;
    s->daily[1] = &s->day2;

    fanout__feature__v1__usage_report__metrics_entry__init(&s->m1);
    s->m1.key = "avg_session_s";
    s->m1.value = 12.34;
    fanout__feature__v1__usage_report__metrics_entry__init(&s->m2);
    s->m2.key = "conversion";
    s->metrics[0] = &s->m1;
    s->metrics[1] = &s->m2;

    fanout__feature__v1__usage_report__init(&s->usage);
    s->usage.feature = "listings";
    s->usage.customer_id = "c-42";
    s->usage.events = 12;
    s->usage.active_users = 3;
    s->usage.last_used_unix = 1700050000;
    s->usage.n_daily = 2;
    s->usage.daily = s->daily;
    s->usage.n_metrics = 2;
    s->usage.metrics = s->metrics;

    fanout__v1__feature_result__init(&s->ok);
    s->ok.feature = "listings";
    s->ok.outcome_case = FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE;
    s->ok.usage = &s->usage;
    s->ok.latency_us = 1500;
    s->ok.attempts = 1;

    fanout__v1__feature_error__init(&s->error);
    s->error.index = 1;
    s->error.feature = "tours";
    s->error.code = 4;
    s->error.message = "deadline exceeded";
    s->error.kind = FANOUT__V1__ERROR_KIND__DEADLINE;
    s->errors[0] = &s->error;

    fanout__v1__feature_result__init(&s->failed);
    s->failed.index = 1;
    s->failed.feature = "tours";
    s->failed.outcome_case = FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR;
    s->failed.error = &s->error;
    s->failed.latency_us = 1000000;
    s->failed.attempts = 2;
    s->results[0] = &s->ok;
    s->results[1] = &s->failed;

    fanout__v1__totals__init(&s->totals);
    s->totals.events = 12;
    s->totals.active_users = 3;
    s->totals.last_used_unix = 1700050000;
    s->totals.n_daily = 2;
    s->totals.daily = s->daily;
    s->totals.top_feature = "listings";

    fanout__v1__analytics_response__init(&s->resp);
    s->resp.customer_id = "c-42";
    s->resp.n_results = 2;
    s->resp.results = s->results;
    s->resp.totals = &s->totals;
    s->resp.partial = 1;
    s->resp.succeeded = 1;
    s->resp.failed = 1;
    s->resp.n_errors = 1;
    s->resp.errors = s->errors;
    s->resp.elapsed_us = 1000250;
}

static const char sample_json[] =
    "{\"customerId\":\"c-42\","
    "\"results\":["
    "{\"feature\":\"listings\","
    "\"usage\":{\"feature\":\"listings\",\"customerId\":\"c-42\",\"events\":\"12\",\"activeUsers\":\"3\","
    "\"lastUsedUnix\":\"1700050000\","
    "\"daily\":[{\"dayUnix\":\"1700006400\",\"events\":\"12\"},{\"dayUnix\":\"1700092800\"}],"
    "\"metrics\":{\"avg_session_s\":12.34,\"conversion\":0.0}},"
    "\"latencyUs\":\"1500\",\"attempts\":1},"
    "{\"index\":1,\"feature\":\"tours\","
    "\"error\":{\"index\":1,\"feature\":\"tours\",\"code\":4,\"message\":\"deadline exceeded\",\"kind\":\"DEADLINE\"},"
    "\"latencyUs\":\"1000000\",\"attempts\":2}],"
    "\"totals\":{\"events\":\"12\",\"activeUsers\":\"3\",\"lastUsedUnix\":\"1700050000\","
    "\"daily\":[{\"dayUnix\":\"1700006400\",\"events\":\"12\"},{\"dayUnix\":\"1700092800\"}],"
    "\"topFeature\":\"listings\"},"
    "\"partial\":true,\"succeeded\":1,\"failed\":1,"
    "\"errors\":[{\"index\":1,\"feature\":\"tours\",\"code\":4,\"message\":\"deadline "
    "exceeded\",\"kind\":\"DEADLINE\"}],"
    "\"elapsedUs\":\"1000250\"}";

static void response_maps_to_canonical_json(void **state)
{
    (void)state;
    sample s;
    sample_init(&s);
    assert_json(&s.resp.base, sample_json);
}

static void pretty_output_indents_by_two(void **state)
{
    (void)state;
    Fanout__V1__Totals t = FANOUT__V1__TOTALS__INIT;
    t.events = 5;
    t.top_feature = "tours";
    json_t *j = fo_pbjson_from_message(&t.base);
    char *text = fo_pbjson_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    assert_string_equal(text, "{\n  \"events\": \"5\",\n  \"topFeature\": \"tours\"\n}");
    free(text);
    json_decref(j);
}

static void defaults_are_omitted(void **state)
{
    (void)state;
    Fanout__V1__AnalyticsResponse resp = FANOUT__V1__ANALYTICS_RESPONSE__INIT;
    assert_json(&resp.base, "{}");

    /* A set but empty message is there; a zero result inside it is not. */
    Fanout__V1__Totals totals = FANOUT__V1__TOTALS__INIT;
    Fanout__V1__FeatureResult r = FANOUT__V1__FEATURE_RESULT__INIT;
    Fanout__V1__FeatureResult *results[] = {&r};
    resp.totals = &totals;
    resp.customer_id = "";
    resp.n_results = 1;
    resp.results = results;
    assert_json(&resp.base, "{\"results\":[{}],\"totals\":{}}");
}

static void oneof_member_shows_even_at_default(void **state)
{
    (void)state;
    Fanout__V1__FeatureError e = FANOUT__V1__FEATURE_ERROR__INIT;
    Fanout__V1__FeatureResult r = FANOUT__V1__FEATURE_RESULT__INIT;
    r.outcome_case = FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR;
    r.error = &e;
    assert_json(&r.base, "{\"error\":{}}");
    /* Selected but with no message behind it: still the empty message. */
    r.error = NULL;
    assert_json(&r.base, "{\"error\":{}}");
}

static void sixty_four_bit_integers_are_strings(void **state)
{
    (void)state;
    Fanout__V1__Totals t = FANOUT__V1__TOTALS__INIT;
    t.events = INT64_MAX;
    t.active_users = INT64_MIN;
    t.last_used_unix = -1;
    assert_json(&t.base, "{\"events\":\"9223372036854775807\",\"activeUsers\":\"-9223372036854775808\","
                         "\"lastUsedUnix\":\"-1\"}");
}

static void enums_are_names_unless_unknown(void **state)
{
    (void)state;
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.failure_policy = FANOUT__V1__FAILURE_POLICY__FAIL_FAST;
    assert_json(&req.base, "{\"failurePolicy\":\"FAIL_FAST\"}");
    req.failure_policy = (Fanout__V1__FailurePolicy)42;
    assert_json(&req.base, "{\"failurePolicy\":42}");
}

static void doubles_print_short_and_special_values_as_strings(void **state)
{
    (void)state;
    Fanout__Feature__V1__UsageReport__MetricsEntry e[4];
    Fanout__Feature__V1__UsageReport__MetricsEntry *m[4];
    const char *keys[] = {"a", "b", "c", "d"};
    const double values[] = {NAN, INFINITY, -INFINITY, 0.5};
    for (int i = 0; i < 4; i++) {
        fanout__feature__v1__usage_report__metrics_entry__init(&e[i]);
        e[i].key = (char *)keys[i];
        e[i].value = values[i];
        m[i] = &e[i];
    }
    Fanout__Feature__V1__UsageReport u = FANOUT__FEATURE__V1__USAGE_REPORT__INIT;
    u.n_metrics = 4;
    u.metrics = m;
    assert_json(&u.base, "{\"metrics\":{\"a\":\"NaN\",\"b\":\"Infinity\",\"c\":\"-Infinity\",\"d\":0.5}}");

    /* Every real keeps the digits it needs to read back exactly. */
    e[0].value = 0.1 + 0.2;
    u.n_metrics = 1;
    assert_json(&u.base, "{\"metrics\":{\"a\":0.30000000000000004}}");
}

static void invalid_utf8_is_replaced(void **state)
{
    (void)state;
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = "ab\xff"
                      "c";
    assert_json(&req.base, "{\"customerId\":\"ab\xEF\xBF\xBD"
                           "c\"}");
}

static void repeated_scalars_are_arrays(void **state)
{
    (void)state;
    Grpc__Reflection__V1alpha__ExtensionNumberResponse r = GRPC__REFLECTION__V1ALPHA__EXTENSION_NUMBER_RESPONSE__INIT;
    int32_t numbers[] = {1, -2, INT32_MAX};
    r.base_type_name = "x.Y";
    r.n_extension_number = 3;
    r.extension_number = numbers;
    assert_json(&r.base, "{\"baseTypeName\":\"x.Y\",\"extensionNumber\":[1,-2,2147483647]}");
}

/* --- bytes ------------------------------------------------------------------ */

static void bytes_are_base64(void **state)
{
    (void)state;
    Grpc__Reflection__V1alpha__FileDescriptorResponse r = GRPC__REFLECTION__V1ALPHA__FILE_DESCRIPTOR_RESPONSE__INIT;
    uint8_t raw[] = {0x00, 0xFF, 0x10};
    ProtobufCBinaryData files[] = {{sizeof raw, raw}, {2, (uint8_t *)"hi"}, {0, NULL}};
    r.n_file_descriptor_proto = 3;
    r.file_descriptor_proto = files;
    assert_json(&r.base, "{\"fileDescriptorProto\":[\"AP8Q\",\"aGk=\",\"\"]}");

    /* Padded, unpadded and URL-safe input all decode. */
    ProtobufCMessage *m = parse("{\"file_descriptor_proto\":[\"AP8Q\",\"aGk\",\"-_8\",\"+/8=\",\"\"]}",
                                &grpc__reflection__v1alpha__file_descriptor_response__descriptor);
    Grpc__Reflection__V1alpha__FileDescriptorResponse *got = (void *)m;
    assert_int_equal(got->n_file_descriptor_proto, 5);
    assert_int_equal(got->file_descriptor_proto[0].len, 3);
    assert_memory_equal(got->file_descriptor_proto[0].data, raw, 3);
    assert_int_equal(got->file_descriptor_proto[1].len, 2);
    assert_memory_equal(got->file_descriptor_proto[1].data, "hi", 2);
    assert_int_equal(got->file_descriptor_proto[2].len, 2);
    assert_memory_equal(got->file_descriptor_proto[2].data, "\xFB\xFF", 2);
    assert_memory_equal(got->file_descriptor_proto[3].data, "\xFB\xFF", 2);
    assert_int_equal(got->file_descriptor_proto[4].len, 0);
    protobuf_c_message_free_unpacked(m, NULL);

    const ProtobufCMessageDescriptor *d = &grpc__reflection__v1alpha__file_descriptor_response__descriptor;
    assert_parse_error("{\"fileDescriptorProto\":[\"AP8Q\",\"a*b=\"]}", d,
                       "fileDescriptorProto[1]: expected base64, got \"a*b=\"");
    assert_parse_error("{\"fileDescriptorProto\":[\"A\"]}", d, "fileDescriptorProto[0]: expected base64, got \"A\"");
    assert_parse_error("{\"fileDescriptorProto\":[7]}", d, "fileDescriptorProto[0]: expected a base64 string");
}

/* --- JSON to message -------------------------------------------------------- */

static void round_trip_keeps_everything(void **state)
{
    (void)state;
    sample s;
    sample_init(&s);
    ProtobufCMessage *m = parse(sample_json, &fanout__v1__analytics_response__descriptor);
    assert_json(m, sample_json);

    /* The same message, byte for byte. */
    size_t want_len = protobuf_c_message_get_packed_size(&s.resp.base);
    assert_int_equal(protobuf_c_message_get_packed_size(m), want_len);
    uint8_t *want = malloc(want_len), *got = malloc(want_len);
    protobuf_c_message_pack(&s.resp.base, want);
    protobuf_c_message_pack(m, got);
    assert_memory_equal(got, want, want_len);
    free(want);
    free(got);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void input_accepts_proto_names_numbers_and_null(void **state)
{
    (void)state;
    ProtobufCMessage *m = parse("{\"customer_id\":\"c-1\",\"features\":[\"a\",\"b\"],\"failurePolicy\":2,"
                                "\"window_start_unix\":1700000000,\"windowEndUnix\":\"1700086400\"}",
                                &fanout__v1__analytics_request__descriptor);
    Fanout__V1__AnalyticsRequest *req = (void *)m;
    assert_string_equal(req->customer_id, "c-1");
    assert_int_equal(req->n_features, 2);
    assert_string_equal(req->features[1], "b");
    assert_int_equal(req->failure_policy, FANOUT__V1__FAILURE_POLICY__FAIL_FAST);
    assert_int_equal(req->window_start_unix, 1700000000);
    assert_int_equal(req->window_end_unix, 1700086400);
    protobuf_c_message_free_unpacked(m, NULL);

    m = parse("{\"failurePolicy\":\"ALLOW_PARTIAL\",\"customerId\":null,\"features\":null}",
              &fanout__v1__analytics_request__descriptor);
    req = (void *)m;
    assert_int_equal(req->failure_policy, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    assert_string_equal(req->customer_id, "");
    assert_int_equal(req->n_features, 0);
    protobuf_c_message_free_unpacked(m, NULL);

    m = parse("{\"code\":\"14\",\"index\":3.0,\"kind\":99}", &fanout__v1__feature_error__descriptor);
    Fanout__V1__FeatureError *e = (void *)m;
    assert_int_equal(e->code, 14);
    assert_int_equal(e->index, 3);
    assert_int_equal(e->kind, 99);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void input_reads_extremes_and_special_doubles(void **state)
{
    (void)state;
    ProtobufCMessage *m = parse("{\"events\":\"9223372036854775807\",\"activeUsers\":-9223372036854775808}",
                                &fanout__v1__totals__descriptor);
    Fanout__V1__Totals *t = (void *)m;
    assert_true(t->events == INT64_MAX);
    assert_true(t->active_users == INT64_MIN);
    protobuf_c_message_free_unpacked(m, NULL);

    m = parse("{\"metrics\":{\"n\":\"NaN\",\"i\":\"-Infinity\",\"s\":\"2.5\",\"z\":0}}",
              &fanout__feature__v1__usage_report__descriptor);
    Fanout__Feature__V1__UsageReport *u = (void *)m;
    assert_int_equal(u->n_metrics, 4);
    assert_true(isnan(u->metrics[0]->value));
    assert_true(isinf(u->metrics[1]->value) && u->metrics[1]->value < 0);
    assert_true(u->metrics[2]->value == 2.5);
    assert_string_equal(u->metrics[3]->key, "z");
    assert_true(u->metrics[3]->value == 0);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void errors_name_the_json_path(void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *req = &fanout__v1__analytics_request__descriptor;
    const ProtobufCMessageDescriptor *resp = &fanout__v1__analytics_response__descriptor;
    assert_parse_error("{\"features\":[\"a\",\"b\",3]}", req, "features[2]: expected a string");
    assert_parse_error("{\"customerId\":\"x\",\"bogus\":1}", req, "bogus: unknown field of fanout.v1.AnalyticsRequest");
    assert_parse_error("{\"results\":[{},{\"usage\":{\"bogus\":1}}]}", resp,
                       "results[1].usage.bogus: unknown field of fanout.feature.v1.UsageReport");
    assert_parse_error("{\"results\":[{\"usage\":{\"daily\":[{\"dayUnix\":\"x1\"}]}}]}", resp,
                       "results[0].usage.daily[0].dayUnix: expected an integer, got \"x1\"");
    assert_parse_error("{\"results\":[{\"usage\":{\"metrics\":{\"a\":\"fast\"}}}]}", resp,
                       "results[0].usage.metrics[\"a\"]: expected a number, got \"fast\"");
    assert_parse_error("{\"failurePolicy\":\"SOMETIMES\"}", req,
                       "failurePolicy: unknown value \"SOMETIMES\" of enum fanout.v1.FailurePolicy");
    assert_parse_error("{\"failurePolicy\":true}", req,
                       "failurePolicy: expected a fanout.v1.FailurePolicy name or number");
    assert_parse_error("{\"succeeded\":4294967296}", resp, "succeeded: 4294967296 is out of range");
    assert_parse_error("{\"elapsedUs\":\"9223372036854775808\"}", resp,
                       "elapsedUs: 9223372036854775808 is out of range");
    assert_parse_error("{\"elapsedUs\":1.5}", resp, "elapsedUs: expected an integer, got 1.5");
    assert_parse_error("{\"results\":[{\"usage\":{},\"error\":{}}]}", resp,
                       "results[0].error: another field of the same oneof is already set");
    assert_parse_error("{\"customerId\":\"a\",\"customer_id\":\"b\"}", req,
                       "customer_id: field customer_id is given twice");
    assert_parse_error("{\"partial\":\"yes\"}", resp, "partial: expected true or false");
    assert_parse_error("{\"results\":{}}", resp, "results: expected an array");
    assert_parse_error("{\"totals\":[]}", resp, "totals: expected an object (fanout.v1.Totals)");
    assert_parse_error("[]", req, "expected an object (fanout.v1.AnalyticsRequest)");
    assert_parse_error("{\"customerId\":\"a\\u0000b\"}", req, "customerId: a string must not contain U+0000");
    assert_parse_error("{\"results\":[{\"usage\":{\"metrics\":[]}}]}", resp,
                       "results[0].usage.metrics: expected an object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(response_maps_to_canonical_json),
        cmocka_unit_test(pretty_output_indents_by_two),
        cmocka_unit_test(defaults_are_omitted),
        cmocka_unit_test(oneof_member_shows_even_at_default),
        cmocka_unit_test(sixty_four_bit_integers_are_strings),
        cmocka_unit_test(enums_are_names_unless_unknown),
        cmocka_unit_test(doubles_print_short_and_special_values_as_strings),
        cmocka_unit_test(invalid_utf8_is_replaced),
        cmocka_unit_test(repeated_scalars_are_arrays),
        cmocka_unit_test(bytes_are_base64),
        cmocka_unit_test(round_trip_keeps_everything),
        cmocka_unit_test(input_accepts_proto_names_numbers_and_null),
        cmocka_unit_test(input_reads_extremes_and_special_doubles),
        cmocka_unit_test(errors_name_the_json_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
