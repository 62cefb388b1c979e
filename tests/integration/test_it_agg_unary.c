/*
 * Integration tests of GetCustomerAnalytics against a real mock fleet (the
 * dozen features of mock_services/fleet-fast.json) and real aggregators:
 * healthy answers compared byte for byte with direct calls to the features,
 * request order, per-feature failures (timeout, malformed reply, unknown
 * feature), request validation, FAIL_FAST, concurrency, the client's
 * deadline and the x-request-id header that comes back. One fleet and two
 * aggregators serve every test of the file.
 *
 * Timing checks prove behaviour with their lower bounds; the upper bounds are
 * generous so that a loaded machine does not fail them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fo_time.h"
#include "testproc.h"
#include "tool_rpc.h"

#define FLEET_FAST FANOUT_SOURCE_DIR "/mock_services/fleet-fast.json"
#define AGG_PATH "/fanout.v1.Aggregator/GetCustomerAnalytics"
#define CUSTOMER "cust-42"
/* 2024-01-01T00:00Z and seven days later: a fixed window, so direct calls see the same days. */
#define WINDOW_START INT64_C(1704067200)
#define WINDOW_END (WINDOW_START + 7 * INT64_C(86400))
#define N_FEATURES 12
/* Generous: nothing in these tests should take this long. */
#define CALL_DEADLINE_MS 10000

/* The features of fleet-fast.json, in its (and so the configuration's) order. */
static const char *const all_features[N_FEATURES + 1] = {
    "listings",    "searches",  "saved_searches", "tours",      "offers", "messages", "documents",
    "collections", "campaigns", "open_houses",    "valuations", "leads",  NULL,
};

typedef struct fixture {
    tool_proc *fleet;
    tool_proc *agg;       /* feature timeouts 2 s, at most 12 features per request */
    tool_proc *agg_short; /* feature timeouts 300 ms */
} fixture;

static fixture fx;

/* --- requests and calls -------------------------------------------------------- */

static size_t count(const char *const *features)
{
    size_t n = 0;
    while (features != NULL && features[n] != NULL)
        n++;
    return n;
}

/* A request over the fixed window; it points at its arguments. */
static Fanout__V1__AnalyticsRequest request(const char *customer, const char *const *features,
                                            Fanout__V1__FailurePolicy policy)
{
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = (char *)customer;
    req.n_features = count(features);
    req.features = (char **)features;
    req.failure_policy = policy;
    req.window_start_unix = WINDOW_START;
    req.window_end_unix = WINDOW_END;
    return req;
}

static void call(const tool_proc *agg, const Fanout__V1__AnalyticsRequest *req, int64_t deadline_ms,
                 const char *mock_fault, tool_rpc_result *out)
{
    tool_rpc_call(tool_proc_field(agg, "address"), AGG_PATH, &req->base, &fanout__v1__analytics_response__descriptor,
                  deadline_ms, mock_fault, out);
}

static void analytics(const tool_proc *agg, const char *const *features, Fanout__V1__FailurePolicy policy,
                      const char *mock_fault, tool_rpc_result *out)
{
    Fanout__V1__AnalyticsRequest req = request(CUSTOMER, features, policy);
    call(agg, &req, CALL_DEADLINE_MS, mock_fault, out);
}

/* "NAME=item" for every feature but except, comma-separated, after prefix (which may be ""). */
static void fault_for_all(char *buf, size_t cap, const char *prefix, const char *item, const char *except)
{
    size_t len = (size_t)snprintf(buf, cap, "%s", prefix);
    for (size_t i = 0; i < N_FEATURES; i++) {
        if (except != NULL && strcmp(all_features[i], except) == 0)
            continue;
        len += (size_t)snprintf(buf + len, cap - len, "%s%s=%s", len > 0 ? "," : "", all_features[i], item);
        assert_true(len < cap);
    }
}

/* --- checks -------------------------------------------------------------------- */

static Fanout__V1__AnalyticsResponse *ok_reply(const tool_rpc_result *r)
{
    assert_int_equal(r->status, FO_STATUS_OK);
    assert_non_null(r->reply);
    return tool_rpc_analytics_reply(r);
}

static void assert_usage_at(const Fanout__V1__AnalyticsResponse *resp, size_t i, const char *feature)
{
    const Fanout__V1__FeatureResult *res = resp->results[i];
    assert_int_equal(res->index, (int)i);
    assert_string_equal(res->feature, feature);
    assert_int_equal(res->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
    assert_string_equal(res->usage->feature, feature);
    assert_string_equal(res->usage->customer_id, CUSTOMER);
    assert_int_equal(res->attempts, 1);
}

/* results[i] failed as said, and errors[] holds just that failure. */
static void assert_only_failure(const Fanout__V1__AnalyticsResponse *resp, size_t i, const char *feature,
                                Fanout__V1__ErrorKind kind, fo_status code)
{
    const Fanout__V1__FeatureResult *res = resp->results[i];
    assert_int_equal(res->index, (int)i);
    assert_string_equal(res->feature, feature);
    assert_int_equal(res->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR);
    assert_int_equal(res->error->kind, kind);
    assert_int_equal(res->error->code, code);
    assert_int_equal(res->error->index, (int)i);
    assert_string_equal(res->error->feature, feature);
    assert_true(res->error->message[0] != '\0');
    assert_true(resp->partial);
    assert_int_equal(resp->failed, 1);
    assert_int_equal(resp->succeeded, (int)resp->n_results - 1);
    assert_int_equal(resp->n_errors, 1);
    assert_int_equal(resp->errors[0]->index, (int)i);
    assert_int_equal(resp->errors[0]->kind, kind);
    assert_int_equal(resp->errors[0]->code, code);
    assert_string_equal(resp->errors[0]->feature, feature);
    assert_string_equal(resp->errors[0]->message, res->error->message);
}

/* Every result but the failed one at index `failed` carries its feature's usage. */
static void assert_others_ok(const Fanout__V1__AnalyticsResponse *resp, const char *const *features, size_t failed)
{
    assert_int_equal(resp->n_results, count(features));
    for (size_t i = 0; i < resp->n_results; i++) {
        if (i != failed)
            assert_usage_at(resp, i, features[i]);
    }
}

static void assert_same_report(const Fanout__Feature__V1__UsageReport *a, const Fanout__Feature__V1__UsageReport *b)
{
    size_t na = protobuf_c_message_get_packed_size(&a->base);
    size_t nb = protobuf_c_message_get_packed_size(&b->base);
    assert_int_equal(na, nb);
    uint8_t *pa = malloc(na + 1), *pb = malloc(nb + 1);
    assert_true(pa != NULL && pb != NULL);
    protobuf_c_message_pack(&a->base, pa);
    protobuf_c_message_pack(&b->base, pb);
    assert_memory_equal(pa, pb, na);
    free(pa);
    free(pb);
}

/* The usage reported for results[i] is what the feature itself answers. */
static void assert_matches_direct_call(const Fanout__V1__AnalyticsResponse *resp, size_t i)
{
    const char *feature = resp->results[i]->feature;
    tool_rpc_result direct;
    tool_rpc_usage(testproc_fleet_address(fx.fleet, feature), CUSTOMER, WINDOW_START, WINDOW_END, CALL_DEADLINE_MS,
                   NULL, &direct);
    assert_int_equal(direct.status, FO_STATUS_OK);
    assert_non_null(direct.reply);
    assert_same_report(resp->results[i]->usage, tool_rpc_usage_reply(&direct));
    tool_rpc_result_release(&direct);
}

/* Adds n daily counts into sums (kept sorted by day, *nsums long). */
static void add_daily(Fanout__Feature__V1__DailyCount *const *daily, size_t n, Fanout__Feature__V1__DailyCount *sums,
                      size_t *nsums)
{
    for (size_t d = 0; d < n; d++) {
        size_t at = 0;
        while (at < *nsums && sums[at].day_unix < daily[d]->day_unix)
            at++;
        if (at == *nsums || sums[at].day_unix != daily[d]->day_unix) {
            memmove(&sums[at + 1], &sums[at], (*nsums - at) * sizeof *sums);
            sums[at] = (Fanout__Feature__V1__DailyCount){.day_unix = daily[d]->day_unix};
            (*nsums)++;
        }
        sums[at].events += daily[d]->events;
    }
}

static void assert_daily_totals(const Fanout__V1__AnalyticsResponse *resp)
{
    size_t cap = 0;
    for (size_t i = 0; i < resp->n_results; i++)
        cap += resp->results[i]->usage->n_daily;
    Fanout__Feature__V1__DailyCount *sums = calloc(cap + 1, sizeof *sums);
    assert_non_null(sums);
    size_t nsums = 0;
    for (size_t i = 0; i < resp->n_results; i++)
        add_daily(resp->results[i]->usage->daily, resp->results[i]->usage->n_daily, sums, &nsums);
    assert_int_equal(nsums, 7); /* one per day of the window */
    assert_int_equal(resp->totals->n_daily, nsums);
    for (size_t d = 0; d < nsums; d++) {
        assert_int_equal(resp->totals->daily[d]->day_unix, sums[d].day_unix);
        assert_int_equal(resp->totals->daily[d]->events, sums[d].events);
    }
    free(sums);
}

/* Totals over a response in which every feature succeeded. */
static void assert_totals(const Fanout__V1__AnalyticsResponse *resp)
{
    int64_t events = 0, active = 0, last = 0, top_events = -1;
    const char *top = NULL;
    for (size_t i = 0; i < resp->n_results; i++) {
        const Fanout__Feature__V1__UsageReport *u = resp->results[i]->usage;
        events += u->events;
        active = u->active_users > active ? u->active_users : active;
        last = u->last_used_unix > last ? u->last_used_unix : last;
        if (u->events > top_events) { /* strictly more: ties stay with the first */
            top_events = u->events;
            top = u->feature;
        }
    }
    assert_true(events > 0);
    assert_int_equal(resp->totals->events, events);
    assert_int_equal(resp->totals->active_users, active);
    assert_int_equal(resp->totals->last_used_unix, last);
    assert_string_equal(resp->totals->top_feature, top);
    assert_daily_totals(resp);
}

/* --- healthy fleet ---------------------------------------------------------------- */

static void test_all_features_healthy(void **state)
{
    (void)state;
    tool_rpc_result r;
    analytics(fx.agg, NULL, FANOUT__V1__FAILURE_POLICY__FAILURE_POLICY_UNSPECIFIED, NULL, &r);
    Fanout__V1__AnalyticsResponse *resp = ok_reply(&r);
    assert_string_equal(resp->customer_id, CUSTOMER);
    assert_int_equal(resp->n_results, N_FEATURES);
    for (size_t i = 0; i < N_FEATURES; i++) {
        assert_usage_at(resp, i, all_features[i]);
        assert_matches_direct_call(resp, i);
    }
    assert_int_equal(resp->succeeded, N_FEATURES);
    assert_int_equal(resp->failed, 0);
    assert_false(resp->partial);
    assert_int_equal(resp->n_errors, 0);
    assert_true(resp->elapsed_us > 0);
    assert_totals(resp);
    tool_rpc_result_release(&r);
}

static void test_subset_in_request_order(void **state)
{
    (void)state;
    static const char *const subset[] = {"offers", "listings", "leads", "saved_searches", NULL};
    tool_rpc_result r;
    analytics(fx.agg, subset, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, NULL, &r);
    Fanout__V1__AnalyticsResponse *resp = ok_reply(&r);
    assert_int_equal(resp->n_results, 4);
    for (size_t i = 0; i < 4; i++)
        assert_usage_at(resp, i, subset[i]);
    assert_int_equal(resp->succeeded, 4);
    assert_false(resp->partial);
    assert_totals(resp);
    tool_rpc_result_release(&r);
}

/* Twelve 100 ms features take about 100 ms together, not 1.2 s: they run at once. */
static void test_features_run_concurrently(void **state)
{
    (void)state;
    char fault[512];
    fault_for_all(fault, sizeof fault, "", "delay:100ms", NULL);
    tool_rpc_result r;
    analytics(fx.agg, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, fault, &r);
    Fanout__V1__AnalyticsResponse *resp = ok_reply(&r);
    assert_int_equal(resp->succeeded, N_FEATURES);
    assert_in_range(r.elapsed_ms, 100, 599);
    assert_in_range(resp->elapsed_us, 100000, 599999);
    for (size_t i = 0; i < N_FEATURES; i++)
        assert_true(resp->results[i]->latency_us >= 100000);
    tool_rpc_result_release(&r);
}

/* --- one feature failing ---------------------------------------------------------- */

static void test_slow_feature_hits_its_timeout(void **state)
{
    (void)state;
    tool_rpc_result r;
    analytics(fx.agg_short, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, "tours=delay:2s", &r);
    Fanout__V1__AnalyticsResponse *resp = ok_reply(&r);
    assert_others_ok(resp, all_features, 3);
    assert_only_failure(resp, 3, "tours", FANOUT__V1__ERROR_KIND__DEADLINE, FO_STATUS_DEADLINE_EXCEEDED);
    assert_true(resp->results[3]->latency_us >= 300000);
    /* The 300 ms timeout, not the 2 s delay, decides how long the call takes. */
    assert_in_range(r.elapsed_ms, 300, 1499);
    assert_in_range(resp->elapsed_us, 300000, 1499999);
    tool_rpc_result_release(&r);
}

static void test_malformed_reply(void **state)
{
    (void)state;
    tool_rpc_result r;
    analytics(fx.agg, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, "offers=malformed", &r);
    Fanout__V1__AnalyticsResponse *resp = ok_reply(&r);
    assert_others_ok(resp, all_features, 4);
    assert_only_failure(resp, 4, "offers", FANOUT__V1__ERROR_KIND__MALFORMED_RESPONSE, FO_STATUS_INTERNAL);
    tool_rpc_result_release(&r);
}

static void test_unknown_feature(void **state)
{
    (void)state;
    static const char *const features[] = {"listings", "no_such_feature", "tours", NULL};
    tool_rpc_result r;
    analytics(fx.agg, features, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, NULL, &r);
    Fanout__V1__AnalyticsResponse *resp = ok_reply(&r);
    assert_others_ok(resp, features, 1);
    assert_only_failure(resp, 1, "no_such_feature", FANOUT__V1__ERROR_KIND__UNKNOWN_FEATURE, FO_STATUS_NOT_FOUND);
    assert_int_equal(resp->results[1]->attempts, 0);
    tool_rpc_result_release(&r);
}

/* --- request validation ------------------------------------------------------------ */

static void assert_invalid(const Fanout__V1__AnalyticsRequest *req, const char *field)
{
    tool_rpc_result r;
    call(fx.agg, req, CALL_DEADLINE_MS, NULL, &r);
    assert_int_equal(r.status, FO_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(r.message, field));
    tool_rpc_result_release(&r);
}

static void test_invalid_requests(void **state)
{
    (void)state;
    static const char *const duplicates[] = {"listings", "tours", "listings", NULL};
    Fanout__V1__AnalyticsRequest req = request(CUSTOMER, duplicates, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    assert_invalid(&req, "features[2]: duplicate feature \"listings\"");

    req = request("", NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    assert_invalid(&req, "customer_id");

    req = request(CUSTOMER, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    req.window_start_unix = WINDOW_END;
    req.window_end_unix = WINDOW_START;
    assert_invalid(&req, "window_end_unix");

    /* agg allows 12 per request: the dozen and one more name is too many. */
    const char *too_many[N_FEATURES + 2];
    memcpy(too_many, all_features, N_FEATURES * sizeof *too_many);
    too_many[N_FEATURES] = "one_more";
    too_many[N_FEATURES + 1] = NULL;
    req = request(CUSTOMER, too_many, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    assert_invalid(&req, "features: 13 requested, at most 12 allowed");
}

/* --- x-request-id ---------------------------------------------------------------- */

static void assert_generated_id(const char *id)
{
    assert_non_null(id);
    assert_int_equal(strlen(id), 32);
    assert_int_equal(strspn(id, "0123456789abcdef"), 32);
}

/* One GetCustomerAnalytics with the client's own x-request-id; returns the header that came back (freed by the caller). */
static char *call_with_request_id(const char *id, fo_status *status)
{
    Fanout__V1__AnalyticsRequest req = request(CUSTOMER, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    fo_payload *payload = fo_payload_pack(&req.base);
    fo_channel *ch = NULL;
    assert_null(fo_channel_create(tool_proc_field(fx.agg, "address"), NULL, &ch));
    fo_md md = {.key = "x-request-id", .value = id, .value_len = strlen(id)};
    fo_call_spec spec = {.channel = ch,
                         .path = AGG_PATH,
                         .deadline_ns = fo_deadline_in_ms(CALL_DEADLINE_MS),
                         .md = &md,
                         .nmd = 1,
                         .request = payload};
    fo_client_call *cc = NULL;
    assert_null(fo_client_call_blocking(&spec, &cc));
    *status = fo_client_call_status(cc);
    size_t len;
    const char *echoed = fo_client_call_header(cc, "x-request-id", &len);
    char *out = tool_rpc_strdup_md(echoed, len);
    fo_client_call_free(cc);
    fo_channel_destroy(ch);
    fo_payload_free(payload);
    return out;
}

static void test_request_id_comes_back(void **state)
{
    (void)state;
    /* None sent: a new one, in the headers of an answer and of a refusal alike. */
    tool_rpc_result ok, refused;
    analytics(fx.agg, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, NULL, &ok);
    ok_reply(&ok);
    assert_generated_id(ok.request_id);
    Fanout__V1__AnalyticsRequest req = request("", NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    call(fx.agg, &req, CALL_DEADLINE_MS, NULL, &refused);
    assert_int_equal(refused.status, FO_STATUS_INVALID_ARGUMENT);
    assert_generated_id(refused.request_id);
    assert_string_not_equal(ok.request_id, refused.request_id);
    tool_rpc_result_release(&ok);
    tool_rpc_result_release(&refused);

    /* The client's own, a UUID as most send, comes back as it was. */
    fo_status status;
    char *echoed = call_with_request_id("3f2b6c1e-0d4a-4c5e-9b7a-2e1f0a9d8c7b", &status);
    assert_int_equal(status, FO_STATUS_OK);
    assert_string_equal(echoed, "3f2b6c1e-0d4a-4c5e-9b7a-2e1f0a9d8c7b");
    free(echoed);

    /* One of 128 bytes, the most kept, comes back too; one over 128 bytes is replaced. */
    char longest_id[129];
    memset(longest_id, 'b', sizeof longest_id - 1);
    longest_id[sizeof longest_id - 1] = '\0';
    echoed = call_with_request_id(longest_id, &status);
    assert_int_equal(status, FO_STATUS_OK);
    assert_string_equal(echoed, longest_id);
    free(echoed);

    char long_id[130];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    echoed = call_with_request_id(long_id, &status);
    assert_int_equal(status, FO_STATUS_OK);
    assert_generated_id(echoed);
    free(echoed);
}

/* --- FAIL_FAST ------------------------------------------------------------------- */

static void test_fail_fast_stops_at_first_failure(void **state)
{
    (void)state;
    char fault[512];
    fault_for_all(fault, sizeof fault, "tours=error:UNAVAILABLE", "delay:1s", "tours");
    tool_rpc_result r;
    analytics(fx.agg, NULL, FANOUT__V1__FAILURE_POLICY__FAIL_FAST, fault, &r);
    assert_int_equal(r.status, FO_STATUS_UNAVAILABLE);
    assert_true(strncmp(r.message, "feature tours: ", strlen("feature tours: ")) == 0);
    assert_non_null(strstr(r.message, "injected UNAVAILABLE"));
    assert_non_null(r.failed_feature);
    assert_string_equal(r.failed_feature, "tours");
    assert_null(r.reply);
    /* The eleven 1 s features were not waited for. */
    assert_true(r.elapsed_ms < 700);
    tool_rpc_result_release(&r);
}

static void test_fail_fast_all_succeed(void **state)
{
    (void)state;
    tool_rpc_result r;
    analytics(fx.agg, NULL, FANOUT__V1__FAILURE_POLICY__FAIL_FAST, NULL, &r);
    Fanout__V1__AnalyticsResponse *resp = ok_reply(&r);
    assert_int_equal(resp->n_results, N_FEATURES);
    for (size_t i = 0; i < N_FEATURES; i++)
        assert_usage_at(resp, i, all_features[i]);
    assert_int_equal(resp->succeeded, N_FEATURES);
    assert_false(resp->partial);
    assert_null(r.failed_feature);
    assert_totals(resp);
    tool_rpc_result_release(&r);
}

/* --- the client's deadline --------------------------------------------------------- */

/*
 * Feature timeouts are 2 s; the client's 400 ms ends the call, not them:
 * ALLOW_PARTIAL answers OK a reserve (5 ms) ahead of it with the hanging
 * feature as DEADLINE, FAIL_FAST fails with DEADLINE_EXCEEDED at it.
 */
static void test_client_deadline_wins(void **state)
{
    (void)state;
    Fanout__V1__AnalyticsRequest req = request(CUSTOMER, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    /* Timed here, before the deadline is set, so the lower bound is exact. */
    int64_t t0 = fo_now_ns();
    tool_rpc_result r;
    call(fx.agg, &req, 400, "listings=hang", &r);
    int64_t elapsed_ms = (fo_now_ns() - t0) / FO_NS_PER_MS;
    Fanout__V1__AnalyticsResponse *resp = ok_reply(&r);
    assert_true(resp->partial);
    assert_int_equal(resp->succeeded, N_FEATURES - 1);
    assert_int_equal(resp->results[0]->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR);
    assert_int_equal(resp->results[0]->error->kind, FANOUT__V1__ERROR_KIND__DEADLINE);
    assert_string_equal(resp->results[0]->error->message, "cut to answer before the caller's deadline");
    /* OK itself says it came before the deadline: a later answer is DEADLINE_EXCEEDED at the client. */
    assert_in_range(elapsed_ms, 350, 1499);
    tool_rpc_result_release(&r);

    req = request(CUSTOMER, NULL, FANOUT__V1__FAILURE_POLICY__FAIL_FAST);
    t0 = fo_now_ns();
    call(fx.agg, &req, 400, "listings=hang", &r);
    elapsed_ms = (fo_now_ns() - t0) / FO_NS_PER_MS;
    assert_int_equal(r.status, FO_STATUS_DEADLINE_EXCEEDED);
    assert_in_range(elapsed_ms, 400, 1499);
    tool_rpc_result_release(&r);

    /* The aggregator is none the worse for it. */
    analytics(fx.agg, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, NULL, &r);
    assert_int_equal(ok_reply(&r)->succeeded, N_FEATURES);
    tool_rpc_result_release(&r);
}

/* --- fixture ------------------------------------------------------------------------ */

static int group_teardown(void **state)
{
    (void)state;
    tool_proc_free(fx.agg_short);
    tool_proc_free(fx.agg);
    tool_proc_free(fx.fleet);
    fo_rpc_shutdown();
    return 0;
}

static int group_setup(void **state)
{
    fo_rpc_init();
    fx.fleet = testproc_fleet(FLEET_FAST);
    if (fx.fleet != NULL) {
        fx.agg = testproc_aggregator_for(fx.fleet, 2000, "{\"max_features_per_request\": 12}");
        fx.agg_short = testproc_aggregator_for(fx.fleet, 300, NULL);
    }
    if (fx.agg == NULL || fx.agg_short == NULL) {
        group_teardown(state);
        return -1;
    }
    /* Connect agg_short's channels now, so its 300 ms timeouts measure calls, not connection set-up. */
    tool_rpc_result r;
    analytics(fx.agg_short, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, NULL, &r);
    tool_rpc_result_release(&r);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_features_healthy),      cmocka_unit_test(test_subset_in_request_order),
        cmocka_unit_test(test_features_run_concurrently), cmocka_unit_test(test_slow_feature_hits_its_timeout),
        cmocka_unit_test(test_malformed_reply),           cmocka_unit_test(test_unknown_feature),
        cmocka_unit_test(test_invalid_requests),          cmocka_unit_test(test_fail_fast_stops_at_first_failure),
        cmocka_unit_test(test_fail_fast_all_succeed),     cmocka_unit_test(test_client_deadline_wins),
        cmocka_unit_test(test_request_id_comes_back),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
