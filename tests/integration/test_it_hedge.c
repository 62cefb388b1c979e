/*
 * Hedged feature calls and retries through the aggregator, with real
 * processes (fleet: listings, searches, tours, offers):
 *  - a first attempt delayed 300 ms (x-mock-fault @attempt=0) is beaten by
 *    the hedge: usage, attempts 2, answered by attempt 2, in well under
 *    300 ms, on the unary call, the stream and under FAIL_FAST (where the
 *    first attempt's own failure does not fail the call while the hedge may
 *    still answer); the losers are cancelled at the mock, which saw each
 *    hedge with grpc-previous-rpc-attempts 1;
 *  - an attempt refused with UNAVAILABLE is retried (answered by attempt 2);
 *    an application error is not;
 *  - a feature slow on every call gets no more extra attempts than the
 *    budget allows (5% of the first attempts, no floor), counted both in
 *    the replies and at the mock;
 *  - a hedge the budget refuses asks again after another delay, and goes
 *    out once the budget's window has room;
 *  - adaptive hedges that never win (every call of the feature equally
 *    slow) are held back after AGG_HEDGE_WINS_MIN_SENT of them, but for one
 *    in AGG_HEDGE_PROBE_EVERY;
 *  - a hedge whose timer fires late, because the aggregator was held up
 *    (stopped here with SIGSTOP), waits as long again, and the first
 *    attempt's answer, coming meanwhile, wins without it;
 *  - a feature down for good (connection refused) is retried within the
 *    budget only, and still reported UNAVAILABLE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agg_hedge.h"
#include "fo_rpc.h"
#include "test_it_reliability.h"
#include "tool_rpc.h"
#include "tool_stream.h"

#define HEDGE_TRIES 5
#define DELAY_FAULT "tours=delay:300ms@attempt=0"

/* The stats line's per-attempt list `key` of feature, entry `attempt`. */
static json_int_t by_attempt(const tool_proc *fleet, const char *feature, const char *key, size_t attempt)
{
    json_t *lines = testproc_events(fleet, "stats");
    json_int_t n = 0;
    size_t i;
    json_t *line;
    json_array_foreach(lines, i, line)
    {
        if (strcmp(json_string_value(json_object_get(line, "feature")), feature) == 0)
            n += json_integer_value(json_array_get(json_object_get(line, key), attempt));
    }
    json_decref(lines);
    return n;
}

static void assert_won_by_hedge(const Fanout__V1__FeatureResult *tours)
{
    assert_non_null(tours);
    assert_int_equal(tours->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
    assert_int_equal(tours->attempts, 2);
    assert_int_equal(tours->answered_by_attempt, 2);
    assert_true(tours->latency_us < 250000);
}

/* One unary call; tours' result is checked, the others must be usages answered by their first attempt. */
static void hedged_unary(const rel_fixture *f, Fanout__V1__FailurePolicy policy, const char *fault)
{
    tool_rpc_result r;
    tool_rpc_analytics(rel_address(f), REL_CUSTOMER, NULL, policy, REL_CALL_DEADLINE_MS, fault, &r);
    if (r.status != FO_STATUS_OK)
        fail_msg("expected OK, got %s: %s", fo_status_name(r.status), r.message);
    const Fanout__V1__AnalyticsResponse *resp = tool_rpc_analytics_reply(&r);
    assert_int_equal(resp->succeeded, REL_N_FEATURES);
    assert_won_by_hedge(rel_result_of(resp, "tours"));
    assert_true(r.elapsed_ms < 250);
    tool_rpc_result_release(&r);
}

static void test_hedge_beats_a_slow_first_attempt(void **state)
{
    (void)state;
    /*
     * A fixed delay of 100 ms, so that no other call of the test is hedged
     * and the mock's counts are exact (the adaptive delay is unit-tested):
     * the hedge goes out long before the first attempt's 300 ms.
     */
    rel_fixture *f = rel_start_fleet(NULL, 5000, "{\"hedge\": {\"after_ms\": 100}}");
    assert_non_null(f);
    rel_assert_serves(f);
    for (int i = 0; i < HEDGE_TRIES; i++)
        hedged_unary(f, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, DELAY_FAULT);

    /* The stream sends tours when its hedge answers. */
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = REL_CUSTOMER;
    tool_stream_result s;
    tool_stream_analytics(rel_address(f), &req, REL_CALL_DEADLINE_MS, DELAY_FAULT, &s);
    assert_int_equal(s.status, FO_STATUS_OK);
    assert_int_equal(s.n, REL_N_FEATURES);
    for (size_t i = 0; i < s.n; i++) {
        if (strcmp(s.results[i]->feature, "tours") == 0)
            assert_won_by_hedge(s.results[i]);
        else
            assert_int_equal(s.results[i]->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
    }
    assert_true(s.elapsed_ms < 250);
    tool_stream_result_release(&s);

    /* FAIL_FAST: the first attempt fails (after 120 ms) while the hedge is out; the hedge's answer decides. */
    hedged_unary(f, FANOUT__V1__FAILURE_POLICY__FAIL_FAST, DELAY_FAULT);
    hedged_unary(f, FANOUT__V1__FAILURE_POLICY__FAIL_FAST,
                 "tours=delay:120ms@attempt=0,tours=error:INTERNAL@attempt=0,tours=delay:50ms@attempt=1");
    /* ... but when every attempt fails, so does the call, with the last attempt's status. */
    tool_rpc_result r;
    tool_rpc_analytics(rel_address(f), REL_CUSTOMER, NULL, FANOUT__V1__FAILURE_POLICY__FAIL_FAST, REL_CALL_DEADLINE_MS,
                       "tours=delay:200ms@attempt=0,tours=error:INTERNAL@attempt=0,tours=error:NOT_FOUND@attempt=1",
                       &r);
    assert_int_equal(r.status, FO_STATUS_INTERNAL);
    assert_non_null(strstr(r.message, "feature tours: "));
    tool_rpc_result_release(&r);

    assert_true(rel_stop_fleet(f));
    /*
     * Each first attempt delayed 300 ms was cancelled at the mock when its
     * hedge won (unary, stream, FAIL_FAST); the failing ones ended by
     * themselves. Every one of the HEDGE_TRIES + 4 calls had one hedge.
     */
    assert_int_equal(by_attempt(f->fleet, "tours", "cancelled_by_attempt", 0), HEDGE_TRIES + 2);
    assert_int_equal(by_attempt(f->fleet, "tours", "calls_by_attempt", 1), HEDGE_TRIES + 4);
    assert_int_equal(by_attempt(f->fleet, "tours", "cancelled_by_attempt", 1), 0);
    assert_int_equal(rel_stop(f), 0);
}

static void test_retries(void **state)
{
    (void)state;
    rel_fixture *f = rel_start_fleet(NULL, 5000, "{\"hedge\": {\"after_ms\": 1000}, \"breaker\": false}");
    assert_non_null(f);
    rel_assert_serves(f);
    const char *tours_only[] = {"tours", NULL};
    tool_rpc_result r;
    /* UNAVAILABLE without a reply (what a refused connection gives): retried after a short backoff. */
    tool_rpc_analytics(rel_address(f), REL_CUSTOMER, tours_only, FANOUT__V1__FAILURE_POLICY__FAIL_FAST,
                       REL_CALL_DEADLINE_MS, "tours=error:UNAVAILABLE@attempt=0", &r);
    assert_int_equal(r.status, FO_STATUS_OK);
    const Fanout__V1__FeatureResult *tours = rel_result_of(tool_rpc_analytics_reply(&r), "tours");
    assert_int_equal(tours->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
    assert_int_equal(tours->attempts, 2);
    assert_int_equal(tours->answered_by_attempt, 2);
    assert_true(r.elapsed_ms < 900); /* the retry's backoff, not the hedge's second */
    tool_rpc_result_release(&r);
    /* An application error is not retried. */
    tool_rpc_analytics(rel_address(f), REL_CUSTOMER, tours_only, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL,
                       REL_CALL_DEADLINE_MS, "tours=error:INTERNAL@attempt=0", &r);
    assert_int_equal(r.status, FO_STATUS_OK);
    tours = rel_result_of(tool_rpc_analytics_reply(&r), "tours");
    assert_int_equal(tours->error->kind, FANOUT__V1__ERROR_KIND__BACKEND_ERROR);
    assert_int_equal(tours->attempts, 1);
    assert_int_equal(tours->answered_by_attempt, 1);
    tool_rpc_result_release(&r);
    /* The log line counts the retry. */
    assert_true(tool_proc_wait_output(f->agg, "\"hedges\":0,\"retries\":1", 2000));
    assert_int_equal(rel_stop(f), 0);
}

#define SLOW_REQUESTS 100

/* calls calls asking for tours alone, each with fault; the extra attempts their results counted. */
static int extra_attempts_for_tours(const rel_fixture *f, int calls, const char *fault)
{
    const char *tours_only[] = {"tours", NULL};
    int extra = 0;
    for (int i = 0; i < calls; i++) {
        tool_rpc_result r;
        tool_rpc_analytics(rel_address(f), REL_CUSTOMER, tours_only, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL,
                           REL_CALL_DEADLINE_MS, fault, &r);
        assert_int_equal(r.status, FO_STATUS_OK);
        const Fanout__V1__FeatureResult *tours = rel_result_of(tool_rpc_analytics_reply(&r), "tours");
        assert_int_equal(tours->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
        extra += tours->attempts - 1;
        tool_rpc_result_release(&r);
    }
    return extra;
}

static void test_budget_bounds_a_slow_feature(void **state)
{
    (void)state;
    /* tours takes 50 ms on every call and hedges after 5 ms: only the budget (5%, no floor) bounds the hedges. */
    rel_fixture *f = rel_start_fleet(NULL, 5000,
                                     "{\"hedge\": {\"after_ms\": 5}, \"extra_attempts_budget\": {\"percent\": 5, "
                                     "\"per_second\": 0}}");
    assert_non_null(f);
    int extra = extra_attempts_for_tours(f, SLOW_REQUESTS, "tours=delay:50ms");
    print_message("slow feature: %d extra attempts for %d first attempts\n", extra, SLOW_REQUESTS);
    assert_in_range(extra, 1, SLOW_REQUESTS * 5 / 100);
    assert_true(rel_stop_fleet(f));
    assert_int_equal(by_attempt(f->fleet, "tours", "calls_by_attempt", 0), SLOW_REQUESTS);
    assert_int_equal(by_attempt(f->fleet, "tours", "calls_by_attempt", 1), extra);
    assert_int_equal(rel_stop(f), 0);
}

/* tours alone, its first attempt delayed REFUSED_DELAY_MS: how long the call took and which attempt answered. */
#define REFUSED_FAULT "tours=delay:4000ms@attempt=0"
#define REFUSED_DELAY_MS 4000

static int64_t slow_first_attempt(const rel_fixture *f, int *answered_by)
{
    const char *tours_only[] = {"tours", NULL};
    tool_rpc_result r;
    tool_rpc_analytics(rel_address(f), REL_CUSTOMER, tours_only, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL,
                       REL_CALL_DEADLINE_MS, REFUSED_FAULT, &r);
    assert_int_equal(r.status, FO_STATUS_OK);
    const Fanout__V1__FeatureResult *tours = rel_result_of(tool_rpc_analytics_reply(&r), "tours");
    assert_int_equal(tours->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
    *answered_by = (int)tours->answered_by_attempt;
    int64_t elapsed = r.elapsed_ms;
    tool_rpc_result_release(&r);
    return elapsed;
}

static void test_refused_hedge_asks_again(void **state)
{
    (void)state;
    /*
     * A budget of one extra attempt a second (1 s window, no share): the
     * first call's hedge takes it; the second call's hedge, refused, asks
     * again every 200 ms and goes out once the window has let the first one
     * go, about a second later, long before the first attempt's 4 s.
     */
    rel_fixture *f = rel_start_fleet(NULL, 5000,
                                     "{\"hedge\": {\"after_ms\": 200}, \"extra_attempts_budget\": {\"percent\": 0, "
                                     "\"per_second\": 1, \"window_ms\": 1000}}");
    assert_non_null(f);
    int answered_by = 0;
    assert_true(slow_first_attempt(f, &answered_by) < REFUSED_DELAY_MS);
    assert_int_equal(answered_by, 2);
    int64_t elapsed = slow_first_attempt(f, &answered_by);
    print_message("refused hedge: answered by attempt %d after %lld ms\n", answered_by, (long long)elapsed);
    assert_int_equal(answered_by, 2);
    assert_in_range(elapsed, 900, REFUSED_DELAY_MS - 1000);
    assert_int_equal(rel_stop(f), 0);
}

#define LOSING_CALLS 100

static void test_losing_hedges_held_back(void **state)
{
    (void)state;
    /*
     * tours takes 20 ms on every call, its hedge too; the adaptive delay is
     * clamped to 5 ms, so every call's hedge goes out and loses to the first
     * attempt. The budget (5% + 10 a second over 10 s) would allow all 100.
     * One worker: each learns on its own.
     */
    rel_fixture *f = rel_start_fleet(NULL, 5000,
                                     "{\"workers\": 1, \"hedge\": {\"quantile\": 0.5, \"min_ms\": 1, \"max_ms\": 5, "
                                     "\"max_attempts\": 2}}");
    assert_non_null(f);
    int hedges = extra_attempts_for_tours(f, LOSING_CALLS, "tours=delay:20ms");
    print_message("losing hedges: %d for %d calls\n", hedges, LOSING_CALLS);
    /* 16 to learn that they lose, then one in 8 of the other 84 calls: 26, give or take a late timer. */
    int expected = AGG_HEDGE_WINS_MIN_SENT + (LOSING_CALLS - AGG_HEDGE_WINS_MIN_SENT) / AGG_HEDGE_PROBE_EVERY;
    assert_in_range(hedges, AGG_HEDGE_WINS_MIN_SENT, expected + 4);
    assert_true(rel_stop_fleet(f));
    assert_int_equal(by_attempt(f->fleet, "tours", "calls_by_attempt", 1), hedges);
    assert_int_equal(rel_stop(f), 0);
}

/* Holds the aggregator up: stopped from HOLD_FROM_MS after the call starts, for HOLD_FOR_MS. */
#define HOLD_FROM_MS 100
#define HOLD_FOR_MS 1000

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void *hold_up(void *arg)
{
    pid_t pid = *(const pid_t *)arg;
    sleep_ms(HOLD_FROM_MS);
    kill(pid, SIGSTOP);
    sleep_ms(HOLD_FOR_MS);
    kill(pid, SIGCONT);
    return NULL;
}

static void test_late_hedge_waits_for_the_loop(void **state)
{
    (void)state;
    /*
     * tours answers after 1,500 ms, hedged after 300 ms; the aggregator is
     * stopped from 100 to 1,100 ms. Its hedge timer fires 800 ms late and
     * waits as long again (to about 1,900 ms), so the first attempt's answer
     * at 1,500 ms wins alone. Firing at once, the hedge would have gone out.
     * Each step has 100 ms or more to spare on a slow machine.
     */
    rel_fixture *f = rel_start_fleet(NULL, 5000, "{\"hedge\": {\"after_ms\": 300}}");
    assert_non_null(f);
    rel_assert_serves(f);
    pthread_t holder;
    assert_int_equal(pthread_create(&holder, NULL, hold_up, &f->agg->pid), 0);
    const char *tours_only[] = {"tours", NULL};
    tool_rpc_result r;
    tool_rpc_analytics(rel_address(f), REL_CUSTOMER, tours_only, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL,
                       REL_CALL_DEADLINE_MS, "tours=delay:1500ms", &r);
    pthread_join(holder, NULL);
    assert_int_equal(r.status, FO_STATUS_OK);
    const Fanout__V1__FeatureResult *tours = rel_result_of(tool_rpc_analytics_reply(&r), "tours");
    print_message("held-up hedge: %d attempts, answered by %d after %lld ms\n", (int)tours->attempts,
                  (int)tours->answered_by_attempt, (long long)r.elapsed_ms);
    assert_int_equal(tours->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
    assert_int_equal(tours->attempts, 1);
    assert_int_equal(tours->answered_by_attempt, 1);
    tool_rpc_result_release(&r);
    assert_true(rel_stop_fleet(f));
    assert_int_equal(by_attempt(f->fleet, "tours", "calls_by_attempt", 1), 0);
    assert_int_equal(rel_stop(f), 0);
}

/* A loopback port nothing listens on (bound, then closed). */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

#define DOWN_REQUESTS 200

static void test_feature_down_for_good(void **state)
{
    (void)state;
    const char *others[] = {"listings"};
    char *fleet_path = testproc_write_fleet(others, 1, NULL);
    tool_proc *fleet = testproc_fleet(fleet_path);
    assert_non_null(fleet);
    char extra[512];
    snprintf(extra, sizeof extra,
             "{\"breaker\": false, \"hedge\": {\"after_ms\": 1000}, \"extra_attempts_budget\": {\"percent\": 5, "
             "\"per_second\": 0}, \"features\": [{\"name\": \"listings\", \"target\": \"%s\"}, {\"name\": \"tours\", "
             "\"target\": \"127.0.0.1:%d\"}]}",
             testproc_fleet_address(fleet, "listings"), dead_port());
    tool_proc *agg = testproc_aggregator_for(fleet, 1000, extra);
    assert_non_null(agg);
    int attempts = 0;
    for (int i = 0; i < DOWN_REQUESTS; i++) {
        tool_rpc_result r;
        tool_rpc_analytics(tool_proc_field(agg, "address"), REL_CUSTOMER, NULL,
                           FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, REL_CALL_DEADLINE_MS, NULL, &r);
        assert_int_equal(r.status, FO_STATUS_OK);
        const Fanout__V1__AnalyticsResponse *resp = tool_rpc_analytics_reply(&r);
        const Fanout__V1__FeatureResult *tours = rel_result_of(resp, "tours");
        assert_int_equal(tours->error->kind, FANOUT__V1__ERROR_KIND__UNAVAILABLE);
        assert_int_equal(rel_result_of(resp, "listings")->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE);
        attempts += tours->attempts;
        tool_rpc_result_release(&r);
    }
    print_message("feature down: %d attempts for %d results\n", attempts, DOWN_REQUESTS);
    assert_in_range(attempts, DOWN_REQUESTS + 1, DOWN_REQUESTS + DOWN_REQUESTS * 5 / 100);
    assert_int_equal(tool_proc_stop(agg, SIGTERM, REL_STOP_WAIT_MS), 0);
    assert_int_equal(tool_proc_stop(fleet, SIGTERM, REL_STOP_WAIT_MS), 0);
    tool_proc_free(agg);
    tool_proc_free(fleet);
    unlink(fleet_path);
    free(fleet_path);
}

int main(void)
{
    fo_rpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hedge_beats_a_slow_first_attempt),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_budget_bounds_a_slow_feature),
        cmocka_unit_test(test_refused_hedge_asks_again),
        cmocka_unit_test(test_losing_hedges_held_back),
        cmocka_unit_test(test_late_hedge_waits_for_the_loop),
        cmocka_unit_test(test_feature_down_for_good),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fo_rpc_shutdown();
    return rc;
}
