/* Unit tests for aggregator/agg_reduce and agg_wire: results, errors, totals, and wire round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "agg_reduce.h"
#include "agg_wire.h"

#define DAY INT64_C(86400)
#define MAX_DAYS 4

/* A usage report and the storage its daily list points into. */
typedef struct report {
    Fanout__Feature__V1__UsageReport msg;
    Fanout__Feature__V1__DailyCount days[MAX_DAYS];
    Fanout__Feature__V1__DailyCount *day_ptrs[MAX_DAYS];
} report;

/* days: {day number, events} pairs. */
static void make_report(report *r, const char *feature, int64_t users, int64_t last, const int64_t days[][2],
                        size_t n_days)
{
    fanout__feature__v1__usage_report__init(&r->msg);
    r->msg.feature = (char *)feature;
    r->msg.customer_id = "cust-1";
    r->msg.active_users = users;
    r->msg.last_used_unix = last;
    for (size_t i = 0; i < n_days; i++) {
        fanout__feature__v1__daily_count__init(&r->days[i]);
        r->days[i].day_unix = days[i][0] * DAY;
        r->days[i].events = days[i][1];
        r->day_ptrs[i] = &r->days[i];
        r->msg.events += days[i][1];
    }
    r->msg.n_daily = n_days;
    r->msg.daily = n_days > 0 ? r->day_ptrs : NULL;
}

static agg_outcome succeeded(const char *feature, int32_t index, report *r)
{
    return (agg_outcome){
        .feature = feature, .index = index, .usage = &r->msg, .latency_us = 100 + index, .attempts = 1};
}

static agg_outcome failed(const char *feature, int32_t index, fo_status code, const char *message,
                          Fanout__V1__ErrorKind kind)
{
    return (agg_outcome){.feature = feature,
                         .index = index,
                         .code = code,
                         .message = message,
                         .kind = kind,
                         .latency_us = 200 + index,
                         .attempts = 2};
}

/* Packs and unpacks msg: proof that the borrowed structure is a well-formed message. */
static Fanout__V1__AnalyticsResponse *round_trip(const Fanout__V1__AnalyticsResponse *msg)
{
    assert_true(protobuf_c_message_check(&msg->base));
    size_t size = fanout__v1__analytics_response__get_packed_size(msg);
    uint8_t *buf = malloc(size + 1);
    assert_non_null(buf);
    assert_int_equal(fanout__v1__analytics_response__pack(msg, buf), size);
    Fanout__V1__AnalyticsResponse *back = fanout__v1__analytics_response__unpack(NULL, size, buf);
    free(buf);
    assert_non_null(back);
    return back;
}

static void assert_error(const Fanout__V1__FeatureError *e, int32_t index, const char *feature, fo_status code,
                         const char *message, Fanout__V1__ErrorKind kind)
{
    assert_int_equal(e->index, index);
    assert_string_equal(e->feature, feature);
    assert_int_equal(e->code, code);
    assert_string_equal(e->message, message);
    assert_int_equal(e->kind, kind);
}

static void assert_day(const Fanout__Feature__V1__DailyCount *d, int64_t day, int64_t events)
{
    assert_int_equal(d->day_unix, day * DAY);
    assert_int_equal(d->events, events);
}

static void totals_sum_maxima_and_merged_days(void **state)
{
    (void)state;
    report a, b, c;
    make_report(&a, "listings", 3, 500, (const int64_t[][2]){{10, 4}, {11, 6}}, 2);
    make_report(&b, "searches", 9, 300, (const int64_t[][2]){{11, 5}, {12, 1}, {14, 2}}, 3);
    make_report(&c, "tours", 2, 700, (const int64_t[][2]){{8, 3}, {14, 1}}, 2);
    agg_outcome o[] = {succeeded("listings", 0, &a), succeeded("searches", 1, &b), succeeded("tours", 2, &c)};
    agg_response r;
    agg_reduce(o, 3, "cust-1", 1234, &r);
    const Fanout__V1__Totals *t = r.msg.totals;
    assert_ptr_equal(t, &r.totals);
    assert_int_equal(t->events, 10 + 8 + 4);
    assert_int_equal(t->active_users, 9);
    assert_int_equal(t->last_used_unix, 700);
    assert_string_equal(t->top_feature, "listings");
    assert_int_equal(t->n_daily, 5);
    assert_day(t->daily[0], 8, 3);
    assert_day(t->daily[1], 10, 4);
    assert_day(t->daily[2], 11, 11);
    assert_day(t->daily[3], 12, 1);
    assert_day(t->daily[4], 14, 3);
    /* The reports themselves are untouched. */
    assert_int_equal(a.days[1].events, 6);
    assert_int_equal(b.msg.n_daily, 3);

    Fanout__V1__AnalyticsResponse *back = round_trip(&r.msg);
    assert_int_equal(back->totals->events, 22);
    assert_int_equal(back->totals->n_daily, 5);
    assert_day(back->totals->daily[2], 11, 11);
    assert_string_equal(back->totals->top_feature, "listings");
    fanout__v1__analytics_response__free_unpacked(back, NULL);
    agg_response_release(&r);
    assert_null(r.storage);
}

/* Reports should list their days in order, once each; those that do not are summed all the same. */
static void days_out_of_order_or_repeated_are_summed_too(void **state)
{
    (void)state;
    report a, b, c;
    make_report(&a, "listings", 1, 1, (const int64_t[][2]){{12, 1}, {10, 2}}, 2);
    make_report(&b, "searches", 1, 1, (const int64_t[][2]){{11, 4}, {11, 8}}, 2);
    make_report(&c, "tours", 1, 1, (const int64_t[][2]){{9, 16}, {12, 32}}, 2);
    agg_outcome o[] = {succeeded("listings", 0, &a), succeeded("searches", 1, &b), succeeded("tours", 2, &c)};
    agg_response r;
    agg_reduce(o, 3, "cust-1", 1, &r);
    const Fanout__V1__Totals *t = r.msg.totals;
    assert_int_equal(t->n_daily, 4);
    assert_day(t->daily[0], 9, 16);
    assert_day(t->daily[1], 10, 2);
    assert_day(t->daily[2], 11, 12);
    assert_day(t->daily[3], 12, 33);
    agg_response_release(&r);
}

/* In-order reports merge: before, between and after the days so far, with failures and empty reports between. */
static void ordered_days_merge_around_each_other(void **state)
{
    (void)state;
    report a, b, c, d;
    make_report(&a, "listings", 1, 1, (const int64_t[][2]){{5, 1}, {7, 2}}, 2);
    make_report(&b, "offers", 1, 1, NULL, 0);
    make_report(&c, "searches", 1, 1, (const int64_t[][2]){{1, 4}, {6, 8}, {7, 16}, {9, 32}}, 4);
    make_report(&d, "tours", 1, 1, (const int64_t[][2]){{2, 64}, {9, 128}, {10, 256}}, 3);
    agg_outcome o[] = {succeeded("listings", 0, &a), succeeded("offers", 1, &b),
                       failed("reviews", 2, FO_STATUS_UNAVAILABLE, "down", FANOUT__V1__ERROR_KIND__UNAVAILABLE),
                       succeeded("searches", 3, &c), succeeded("tours", 4, &d)};
    agg_response r;
    agg_reduce(o, 5, "cust-1", 1, &r);
    const Fanout__V1__Totals *t = r.msg.totals;
    const int64_t want[][2] = {{1, 4}, {2, 64}, {5, 1}, {6, 8}, {7, 18}, {9, 160}, {10, 256}};
    assert_int_equal(t->n_daily, 7);
    for (size_t i = 0; i < 7; i++)
        assert_day(t->daily[i], want[i][0], want[i][1]);
    agg_response_release(&r);
}
static void sums_saturate(void **state)
{
    (void)state;
    report a, b;
    make_report(&a, "a", 1, 1, (const int64_t[][2]){{1, INT64_MAX}}, 1);
    make_report(&b, "b", 1, 1, (const int64_t[][2]){{1, 1}}, 1);
    agg_outcome o[] = {succeeded("a", 0, &a), succeeded("b", 1, &b)};
    agg_response r;
    agg_reduce(o, 2, "cust-1", 0, &r);
    assert_int_equal(r.totals.events, INT64_MAX);
    assert_int_equal(r.totals.n_daily, 1);
    assert_int_equal(r.totals.daily[0]->events, INT64_MAX);
    agg_response_release(&r);
}

static void mixed_outcomes_keep_request_order(void **state)
{
    (void)state;
    report a, b;
    make_report(&a, "listings", 1, 10, (const int64_t[][2]){{1, 2}}, 1);
    make_report(&b, "searches", 1, 20, (const int64_t[][2]){{2, 3}}, 1);
    agg_outcome o[] = {
        succeeded("listings", 0, &a),
        failed("tours", 1, FO_STATUS_DEADLINE_EXCEEDED, "deadline exceeded", FANOUT__V1__ERROR_KIND__DEADLINE),
        succeeded("searches", 2, &b),
        failed("bogus", 3, FO_STATUS_NOT_FOUND, "feature bogus is not configured",
               FANOUT__V1__ERROR_KIND__UNKNOWN_FEATURE),
    };
    agg_response r;
    agg_reduce(o, 4, "cust-1", 5000, &r);
    const Fanout__V1__AnalyticsResponse *m = &r.msg;
    assert_string_equal(m->customer_id, "cust-1");
    assert_int_equal(m->n_results, 4);
    assert_true(m->partial);
    assert_int_equal(m->succeeded, 2);
    assert_int_equal(m->failed, 2);
    assert_int_equal(m->elapsed_us, 5000);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(m->results[i]->index, i);
        assert_string_equal(m->results[i]->feature, o[i].feature);
        assert_int_equal(m->results[i]->latency_us, o[i].latency_us);
        assert_int_equal(m->results[i]->attempts, o[i].attempts);
    }
    assert_int_equal(m->results[0]->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
    assert_ptr_equal(m->results[0]->usage, &a.msg);
    assert_ptr_equal(m->results[2]->usage, &b.msg);
    assert_int_equal(m->results[1]->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR);
    assert_error(m->results[1]->error, 1, "tours", FO_STATUS_DEADLINE_EXCEEDED, "deadline exceeded",
                 FANOUT__V1__ERROR_KIND__DEADLINE);
    assert_int_equal(m->n_errors, 2);
    assert_ptr_equal(m->errors[0], m->results[1]->error);
    assert_ptr_equal(m->errors[1], m->results[3]->error);
    assert_error(m->errors[1], 3, "bogus", FO_STATUS_NOT_FOUND, "feature bogus is not configured",
                 FANOUT__V1__ERROR_KIND__UNKNOWN_FEATURE);
    assert_string_equal(m->totals->top_feature, "searches");

    Fanout__V1__AnalyticsResponse *back = round_trip(m);
    assert_int_equal(back->n_results, 4);
    assert_int_equal(back->results[0]->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
    assert_string_equal(back->results[0]->usage->feature, "listings");
    assert_int_equal(back->results[0]->usage->events, 2);
    assert_int_equal(back->results[3]->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR);
    assert_error(back->results[3]->error, 3, "bogus", FO_STATUS_NOT_FOUND, "feature bogus is not configured",
                 FANOUT__V1__ERROR_KIND__UNKNOWN_FEATURE);
    assert_int_equal(back->n_errors, 2);
    assert_error(back->errors[0], 1, "tours", FO_STATUS_DEADLINE_EXCEEDED, "deadline exceeded",
                 FANOUT__V1__ERROR_KIND__DEADLINE);
    assert_true(back->partial);
    assert_int_equal(back->succeeded, 2);
    assert_int_equal(back->failed, 2);
    assert_int_equal(back->elapsed_us, 5000);
    assert_int_equal(back->results[1]->attempts, 2);
    assert_int_equal(back->results[1]->latency_us, 201);
    fanout__v1__analytics_response__free_unpacked(back, NULL);
    agg_response_release(&r);
}

static void top_feature_ties_go_to_the_first(void **state)
{
    (void)state;
    report a, b, c;
    make_report(&a, "a", 1, 1, (const int64_t[][2]){{1, 5}}, 1);
    make_report(&b, "b", 1, 1, (const int64_t[][2]){{1, 7}}, 1);
    make_report(&c, "c", 1, 1, (const int64_t[][2]){{2, 7}}, 1);
    agg_outcome o[] = {failed("z", 0, FO_STATUS_INTERNAL, "boom", FANOUT__V1__ERROR_KIND__BACKEND_ERROR),
                       succeeded("a", 1, &a), succeeded("b", 2, &b), succeeded("c", 3, &c)};
    agg_response r;
    agg_reduce(o, 4, "cust-1", 0, &r);
    assert_string_equal(r.totals.top_feature, "b");
    agg_response_release(&r);

    /* With no events at all, the first success still tops. */
    report e;
    make_report(&e, "e", 0, 0, NULL, 0);
    agg_outcome quiet[] = {o[0], succeeded("e", 1, &e)};
    agg_reduce(quiet, 2, "cust-1", 0, &r);
    assert_string_equal(r.totals.top_feature, "e");
    assert_int_equal(r.totals.n_daily, 0);
    assert_null(r.totals.daily);
    agg_response_release(&r);
}

static void no_outcomes_give_an_empty_response(void **state)
{
    (void)state;
    agg_response r;
    agg_reduce(NULL, 0, "cust-1", 7, &r);
    assert_null(r.storage);
    assert_int_equal(r.msg.n_results, 0);
    assert_int_equal(r.msg.n_errors, 0);
    assert_false(r.msg.partial);
    assert_non_null(r.msg.totals);
    assert_int_equal(r.msg.totals->events, 0);
    assert_string_equal(r.msg.totals->top_feature, "");
    Fanout__V1__AnalyticsResponse *back = round_trip(&r.msg);
    assert_string_equal(back->customer_id, "cust-1");
    assert_non_null(back->totals);
    assert_int_equal(back->elapsed_us, 7);
    fanout__v1__analytics_response__free_unpacked(back, NULL);
    agg_response_release(&r);
}

static void all_failed_gives_zero_totals(void **state)
{
    (void)state;
    agg_outcome o[] = {
        failed("a", 0, FO_STATUS_UNAVAILABLE, "down", FANOUT__V1__ERROR_KIND__UNAVAILABLE),
        failed("b", 1, FO_STATUS_CANCELLED, NULL, FANOUT__V1__ERROR_KIND__CANCELLED),
    };
    agg_response r;
    agg_reduce(o, 2, "cust-1", 0, &r);
    assert_true(r.msg.partial);
    assert_int_equal(r.msg.succeeded, 0);
    assert_int_equal(r.msg.failed, 2);
    assert_int_equal(r.msg.n_errors, 2);
    assert_string_equal(r.msg.errors[1]->message, "");
    const Fanout__V1__Totals *t = r.msg.totals;
    assert_int_equal(t->events, 0);
    assert_int_equal(t->active_users, 0);
    assert_int_equal(t->last_used_unix, 0);
    assert_int_equal(t->n_daily, 0);
    assert_string_equal(t->top_feature, "");
    Fanout__V1__AnalyticsResponse *back = round_trip(&r.msg);
    assert_int_equal(back->n_errors, 2);
    assert_error(back->errors[0], 0, "a", FO_STATUS_UNAVAILABLE, "down", FANOUT__V1__ERROR_KIND__UNAVAILABLE);
    assert_non_null(back->totals);
    fanout__v1__analytics_response__free_unpacked(back, NULL);
    agg_response_release(&r);
}

static void one_result_is_filled_without_allocating(void **state)
{
    (void)state;
    report a;
    make_report(&a, "a", 1, 1, (const int64_t[][2]){{1, 5}}, 1);
    agg_outcome ok = succeeded("a", 4, &a);
    Fanout__V1__FeatureResult res;
    Fanout__V1__FeatureError err;
    agg_result_fill(&ok, &res, NULL);
    assert_int_equal(res.outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
    assert_ptr_equal(res.usage, &a.msg);
    assert_int_equal(res.index, 4);
    assert_true(protobuf_c_message_check(&res.base));

    agg_outcome bad = failed("b", 2, FO_STATUS_DATA_LOSS, "bad reply", FANOUT__V1__ERROR_KIND__MALFORMED_RESPONSE);
    agg_result_fill(&bad, &res, &err);
    assert_int_equal(res.outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR);
    assert_ptr_equal(res.error, &err);
    assert_error(&err, 2, "b", FO_STATUS_DATA_LOSS, "bad reply", FANOUT__V1__ERROR_KIND__MALFORMED_RESPONSE);
    uint8_t buf[256];
    size_t size = fanout__v1__feature_result__pack(&res, buf);
    Fanout__V1__FeatureResult *back = fanout__v1__feature_result__unpack(NULL, size, buf);
    assert_non_null(back);
    assert_string_equal(back->error->message, "bad reply");
    assert_int_equal(back->latency_us, 202);
    fanout__v1__feature_result__free_unpacked(back, NULL);
}

static void statuses_map_to_kinds(void **state)
{
    (void)state;
    assert_int_equal(agg_error_kind_for_status(FO_STATUS_DEADLINE_EXCEEDED), FANOUT__V1__ERROR_KIND__DEADLINE);
    assert_int_equal(agg_error_kind_for_status(FO_STATUS_UNAVAILABLE), FANOUT__V1__ERROR_KIND__UNAVAILABLE);
    assert_int_equal(agg_error_kind_for_status(FO_STATUS_CANCELLED), FANOUT__V1__ERROR_KIND__CANCELLED);
    assert_int_equal(agg_error_kind_for_status(FO_STATUS_NOT_FOUND), FANOUT__V1__ERROR_KIND__BACKEND_ERROR);
    assert_int_equal(agg_error_kind_for_status(FO_STATUS_INTERNAL), FANOUT__V1__ERROR_KIND__BACKEND_ERROR);
    assert_int_equal(agg_error_kind_for_status(FO_STATUS_RESOURCE_EXHAUSTED), FANOUT__V1__ERROR_KIND__BACKEND_ERROR);
}

/* Packs msg with protobuf-c into a new buffer; *len gets its size. */
static uint8_t *pack_plain(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(msg, buf), *len);
    return buf;
}

/* spliced must read back as the message that packs to plain[0..plain_len). */
static void expect_same_message(const ProtobufCMessageDescriptor *desc, const uint8_t *spliced, size_t len,
                                const uint8_t *plain, size_t plain_len)
{
    ProtobufCMessage *back = protobuf_c_message_unpack(desc, NULL, len, spliced);
    assert_non_null(back);
    size_t repacked_len;
    uint8_t *repacked = pack_plain(back, &repacked_len);
    assert_int_equal(repacked_len, plain_len);
    assert_memory_equal(repacked, plain, plain_len);
    free(repacked);
    protobuf_c_message_free_unpacked(back, NULL);
}

/* Reports spliced in as their features sent them read back as the response protobuf-c packs. */
static void spliced_reports_read_back_as_the_packed_response(void **state)
{
    (void)state;
    report a, b;
    const int64_t days_a[][2] = {{1, 3}, {2, 4}};
    const int64_t days_b[][2] = {{2, 10}};
    make_report(&a, "tours", 5, 2 * DAY, days_a, 2);
    make_report(&b, "offers", 7, 3 * DAY, days_b, 1);
    Fanout__Feature__V1__UsageReport__MetricsEntry metric = FANOUT__FEATURE__V1__USAGE_REPORT__METRICS_ENTRY__INIT;
    metric.key = "conversion";
    metric.value = 0.25;
    Fanout__Feature__V1__UsageReport__MetricsEntry *metrics[] = {&metric};
    a.msg.n_metrics = 1;
    a.msg.metrics = metrics;

    agg_outcome o[3] = {succeeded("tours", 0, &a),
                        failed("leads", 1, FO_STATUS_UNAVAILABLE, "down", FANOUT__V1__ERROR_KIND__UNAVAILABLE),
                        succeeded("offers", 2, &b)};
    size_t wire_a_len, wire_b_len;
    uint8_t *wire_a = pack_plain(&a.msg.base, &wire_a_len), *wire_b = pack_plain(&b.msg.base, &wire_b_len);
    o[0].usage_wire = wire_a;
    o[0].usage_wire_len = wire_a_len;
    o[2].usage_wire = wire_b;
    o[2].usage_wire_len = wire_b_len;

    agg_response resp;
    agg_reduce(o, 3, "cust-1", 1234, &resp);
    size_t len = agg_wire_pack_response(&resp, o, NULL);
    uint8_t *spliced = malloc(len);
    assert_non_null(spliced);
    assert_int_equal(agg_wire_pack_response(&resp, o, spliced), len);
    size_t plain_len;
    uint8_t *plain = pack_plain(&resp.msg.base, &plain_len);
    assert_int_equal(len, plain_len);
    expect_same_message(&fanout__v1__analytics_response__descriptor, spliced, len, plain, plain_len);
    free(spliced);
    free(plain);

    /* One streamed result each way: spliced (a report) and packed (an error). */
    for (size_t i = 0; i < 2; i++) {
        Fanout__V1__FeatureResult res;
        Fanout__V1__FeatureError err;
        agg_result_fill(&o[i], &res, &err);
        len = agg_wire_pack_result(&res, &o[i], NULL);
        spliced = malloc(len);
        assert_non_null(spliced);
        assert_int_equal(agg_wire_pack_result(&res, &o[i], spliced), len);
        plain = pack_plain(&res.base, &plain_len);
        expect_same_message(&fanout__v1__feature_result__descriptor, spliced, len, plain, plain_len);
        free(spliced);
        free(plain);
    }
    agg_response_release(&resp);
    free(wire_a);
    free(wire_b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(totals_sum_maxima_and_merged_days),
        cmocka_unit_test(days_out_of_order_or_repeated_are_summed_too),
        cmocka_unit_test(ordered_days_merge_around_each_other),
        cmocka_unit_test(sums_saturate),
        cmocka_unit_test(mixed_outcomes_keep_request_order),
        cmocka_unit_test(top_feature_ties_go_to_the_first),
        cmocka_unit_test(no_outcomes_give_an_empty_response),
        cmocka_unit_test(all_failed_gives_zero_totals),
        cmocka_unit_test(one_result_is_filled_without_allocating),
        cmocka_unit_test(statuses_map_to_kinds),
        cmocka_unit_test(spliced_reports_read_back_as_the_packed_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
