/* Unit tests for mock_services/mock_data: windows, request checks and generated reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "mock_data.h"

/* 2023-11-14 22:13:20 UTC, and midnight of that day. */
#define NOW INT64_C(1700000000)
#define MIDNIGHT INT64_C(1699920000)
#define DAY MOCK_DAY_S

static const char *const features[] = {
    "listings",    "searches",  "saved_searches", "tours",      "offers", "messages", "documents",
    "collections", "campaigns", "open_houses",    "valuations", "leads",  "widgets",
};

/* Packs r->msg into a fresh buffer; the caller frees it. */
static uint8_t *pack(const mock_report *r, size_t *len)
{
    *len = fanout__feature__v1__usage_report__get_packed_size(&r->msg);
    uint8_t *buf = malloc(*len > 0 ? *len : 1);
    assert_int_equal(fanout__feature__v1__usage_report__pack(&r->msg, buf), *len);
    return buf;
}

/* Asserts every documented invariant of a report for [start, end). */
static void check_report(const mock_report *r, const char *feature, const char *customer, int64_t start, int64_t end)
{
    const Fanout__Feature__V1__UsageReport *m = &r->msg;
    assert_string_equal(m->feature, feature);
    assert_string_equal(m->customer_id, customer);
    int64_t sum = 0;
    int64_t last_day_with_events = -1;
    for (size_t i = 0; i < m->n_daily; i++) {
        int64_t day = m->daily[i]->day_unix;
        assert_int_equal(day % DAY, 0);
        if (i == 0)
            assert_true(day <= start && start < day + DAY);
        else
            assert_int_equal(day, m->daily[i - 1]->day_unix + DAY);
        assert_in_range(m->daily[i]->events, 0, 500);
        if (m->daily[i]->events > 0)
            last_day_with_events = day;
        sum += m->daily[i]->events;
    }
    if (m->n_daily > 0)
        assert_true(m->daily[m->n_daily - 1]->day_unix < end);
    assert_int_equal(sum, m->events);
    assert_true(m->active_users <= m->events);
    assert_true((m->active_users == 0) == (m->events == 0));
    if (m->events == 0) {
        assert_int_equal(m->last_used_unix, 0);
    } else {
        assert_true(m->last_used_unix >= start && m->last_used_unix < end);
        assert_int_equal(m->last_used_unix - m->last_used_unix % DAY, last_day_with_events);
    }
    assert_in_range(m->n_metrics, 2, 3);
    for (size_t i = 0; i < m->n_metrics; i++)
        assert_true(strlen(m->metrics[i]->key) > 0);
}

static size_t days_of(int64_t start, int64_t end)
{
    mock_report r;
    mock_report_generate(&r, "tours", "acme", start, end);
    check_report(&r, "tours", "acme", start, end);
    size_t n = r.msg.n_daily;
    mock_report_release(&r);
    return n;
}

static void window_resolution(void **state)
{
    (void)state;
    int64_t s;
    int64_t e;
    assert_true(mock_window_resolve(0, 0, NOW, &s, &e));
    assert_int_equal(e, MIDNIGHT);
    assert_int_equal(s, MIDNIGHT - 7 * DAY);
    assert_true(mock_window_resolve(0, 0, MIDNIGHT, &s, &e));
    assert_int_equal(e, MIDNIGHT);
    assert_false(mock_window_resolve(5, 10, NOW, &s, &e));
    assert_int_equal(s, 5);
    assert_int_equal(e, 10);
    assert_false(mock_window_resolve(0, 10, NOW, &s, &e));
    assert_int_equal(s, 0);
    assert_int_equal(e, 10);
}

/* Asserts that req is rejected with a message containing both fragments. */
static void expect_invalid(const char *customer, int64_t start, int64_t end, const char *fragment1,
                           const char *fragment2)
{
    Fanout__Feature__V1__UsageRequest req = FANOUT__FEATURE__V1__USAGE_REQUEST__INIT;
    req.customer_id = (char *)customer;
    req.window_start_unix = start;
    req.window_end_unix = end;
    fo_error *err = mock_request_validate(&req);
    if (err == NULL)
        fail_msg("expected an error for (%s, %lld, %lld)", customer, (long long)start, (long long)end);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    if (strstr(err->message, fragment1) == NULL || strstr(err->message, fragment2) == NULL)
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", err->message, fragment1, fragment2);
    fo_error_free(err);
}

static void validation(void **state)
{
    (void)state;
    Fanout__Feature__V1__UsageRequest req = FANOUT__FEATURE__V1__USAGE_REQUEST__INIT;
    req.customer_id = "acme";
    assert_null(mock_request_validate(&req));
    req.window_start_unix = MIDNIGHT;
    req.window_end_unix = MIDNIGHT + MOCK_WINDOW_MAX_S;
    assert_null(mock_request_validate(&req));
    req.window_end_unix = MIDNIGHT;
    assert_null(mock_request_validate(&req));

    expect_invalid("", 0, 0, "customer_id", "empty");
    expect_invalid("acme", 200, 100, "window_end_unix (100)", "window_start_unix (200)");
    expect_invalid("acme", -5, 100, "window_start_unix", "-5");
    expect_invalid("acme", 0, -1, "window_end_unix", "-1");
    expect_invalid("acme", MIDNIGHT, MIDNIGHT + MOCK_WINDOW_MAX_S + 1, "window_start_unix", "366 days");
}

static void same_input_same_bytes(void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof features / sizeof features[0]; f++) {
        mock_report a;
        mock_report b;
        mock_report_generate(&a, features[f], "acme", MIDNIGHT - 30 * DAY + 123, MIDNIGHT);
        mock_report_generate(&b, features[f], "acme", MIDNIGHT - 30 * DAY + 123, MIDNIGHT);
        size_t na;
        size_t nb;
        uint8_t *pa = pack(&a, &na);
        uint8_t *pb = pack(&b, &nb);
        assert_int_equal(na, nb);
        assert_memory_equal(pa, pb, na);
        /* The bytes are a valid UsageReport. */
        Fanout__Feature__V1__UsageReport *u = fanout__feature__v1__usage_report__unpack(NULL, na, pa);
        assert_non_null(u);
        assert_int_equal(u->events, a.msg.events);
        fanout__feature__v1__usage_report__free_unpacked(u, NULL);
        free(pa);
        free(pb);
        mock_report_release(&a);
        mock_report_release(&b);
    }
}

static void customers_differ(void **state)
{
    (void)state;
    mock_report a;
    mock_report b;
    mock_report_generate(&a, "listings", "acme", MIDNIGHT - 30 * DAY, MIDNIGHT);
    mock_report_generate(&b, "listings", "globex", MIDNIGHT - 30 * DAY, MIDNIGHT);
    assert_int_equal(a.msg.n_daily, b.msg.n_daily);
    assert_true(a.msg.events > 0 && b.msg.events > 0);
    size_t differing = 0;
    for (size_t i = 0; i < a.msg.n_daily; i++)
        differing += a.msg.daily[i]->events != b.msg.daily[i]->events;
    assert_true(differing > a.msg.n_daily / 2);
    mock_report_release(&a);
    mock_report_release(&b);
}

static void invariants_hold(void **state)
{
    (void)state;
    const char *customers[] = {"acme", "globex", "initech", "c-42", "x"};
    const int64_t windows[][2] = {
        {MIDNIGHT - 7 * DAY, MIDNIGHT},
        {MIDNIGHT - 90 * DAY + 3600, MIDNIGHT - 5},
        {MIDNIGHT + 100, MIDNIGHT + 101},
        {0, 3 * DAY},
    };
    for (size_t f = 0; f < sizeof features / sizeof features[0]; f++) {
        for (size_t c = 0; c < sizeof customers / sizeof customers[0]; c++) {
            for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
                mock_report r;
                mock_report_generate(&r, features[f], customers[c], windows[w][0], windows[w][1]);
                check_report(&r, features[f], customers[c], windows[w][0], windows[w][1]);
                mock_report_release(&r);
            }
        }
    }
}

static void day_counts(void **state)
{
    (void)state;
    assert_int_equal(days_of(MIDNIGHT, MIDNIGHT + DAY), 1);
    assert_int_equal(days_of(MIDNIGHT, MIDNIGHT + 1), 1);
    assert_int_equal(days_of(MIDNIGHT - 7 * DAY, MIDNIGHT), 7);
    assert_int_equal(days_of(MIDNIGHT + DAY / 2, MIDNIGHT + DAY / 2 + DAY), 2);
    assert_int_equal(days_of(MIDNIGHT + DAY / 2, MIDNIGHT + DAY), 1);
    assert_int_equal(days_of(MIDNIGHT - 1, MIDNIGHT + 1), 2);
    assert_int_equal(days_of(MIDNIGHT - 366 * DAY, MIDNIGHT), 366);
    assert_int_equal(days_of(MIDNIGHT - 366 * DAY + 1, MIDNIGHT + 1), 367);
}

static void empty_window(void **state)
{
    (void)state;
    mock_report r;
    mock_report_generate(&r, "offers", "acme", MIDNIGHT + 5, MIDNIGHT + 5);
    assert_int_equal(r.msg.n_daily, 0);
    assert_int_equal(r.msg.events, 0);
    assert_int_equal(r.msg.active_users, 0);
    assert_int_equal(r.msg.last_used_unix, 0);
    size_t n;
    uint8_t *buf = pack(&r, &n);
    free(buf);
    mock_report_release(&r);
    mock_report_release(&r); /* harmless */
}

static void long_windows_have_quiet_days(void **state)
{
    (void)state;
    mock_report r;
    mock_report_generate(&r, "leads", "acme", MIDNIGHT - 366 * DAY, MIDNIGHT);
    size_t quiet = 0;
    for (size_t i = 0; i < r.msg.n_daily; i++)
        quiet += r.msg.daily[i]->events == 0;
    assert_true(quiet > 0 && quiet < r.msg.n_daily);
    mock_report_release(&r);
}

static void overlapping_windows_agree(void **state)
{
    (void)state;
    mock_report a;
    mock_report b;
    mock_report_generate(&a, "tours", "acme", MIDNIGHT - 10 * DAY, MIDNIGHT);
    mock_report_generate(&b, "tours", "acme", MIDNIGHT - 5 * DAY, MIDNIGHT + 3 * DAY);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(a.msg.daily[5 + i]->events, b.msg.daily[i]->events);
    mock_report_release(&a);
    mock_report_release(&b);
}

/* Asserts that feature reports exactly the named metrics, in order. */
static void expect_metrics(const char *feature, const char *m1, const char *m2, const char *m3)
{
    mock_report r;
    mock_report_generate(&r, feature, "acme", MIDNIGHT - 7 * DAY, MIDNIGHT);
    assert_int_equal(r.msg.n_metrics, m3 != NULL ? 3 : 2);
    assert_string_equal(r.msg.metrics[0]->key, m1);
    assert_string_equal(r.msg.metrics[1]->key, m2);
    if (m3 != NULL)
        assert_string_equal(r.msg.metrics[2]->key, m3);
    mock_report_release(&r);
}

static void metrics_depend_on_feature(void **state)
{
    (void)state;
    expect_metrics("listings", "views_per_listing", "avg_session_s", NULL);
    expect_metrics("tours", "completion_rate", "avg_duration_min", "reschedule_rate");
    expect_metrics("widgets", "events_per_user", "avg_session_s", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_resolution),
        cmocka_unit_test(validation),
        cmocka_unit_test(same_input_same_bytes),
        cmocka_unit_test(customers_differ),
        cmocka_unit_test(invariants_hold),
        cmocka_unit_test(day_counts),
        cmocka_unit_test(empty_window),
        cmocka_unit_test(long_windows_have_quiet_days),
        cmocka_unit_test(overlapping_windows_agree),
        cmocka_unit_test(metrics_depend_on_feature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
