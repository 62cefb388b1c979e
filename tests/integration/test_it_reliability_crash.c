/*
 * Feature processes killed (SIGKILL) under load: 3,000 aggregate requests,
 * 64 in flight, against a fleet that restarts its children on the same
 * address; one feature is killed after 500 answers, two more together after
 * 1,500. No request may be lost: each is answered OK (ALLOW_PARTIAL) with a
 * result for every feature, and every failed result is one of the killed
 * features, as UNAVAILABLE: the call's own failure, or, once the feature's
 * circuit breaker has opened, CIRCUIT_OPEN (code UNAVAILABLE, no attempt),
 * which must happen under this load. After the restarts the breakers close
 * and every feature answers again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "fo_rpc.h"
#include "test_it_reliability.h"
#include "testload.h"

#define REQUESTS 3000
#define CONCURRENCY 64
/* Far above the queueing of 64 requests under ASan, so only the kills fail a feature. */
#define FEATURE_TIMEOUT_MS 3000
/* A restarted child under ASan, then the channel's reconnection backoff (1 s, 1.6 s, ...). */
#define BACK_MS 20000

#define N_FEATURES REL_N_FEATURES

/* When to kill whom: after `after` answers, each feature of `victims`. */
static const struct {
    uint64_t after;
    const char *victims[2];
} kills[] = {
    {500, {"tours", NULL}},
    {1500, {"offers", "listings"}},
};
#define N_KILLS (sizeof kills / sizeof *kills)

typedef struct crash_run {
    const rel_fixture *f;
    uint64_t answers;
    size_t next_kill;
    uint64_t failed[N_FEATURES]; /* UNAVAILABLE results per feature */
    uint64_t circuit_open;       /* of which refused by an open breaker */
    uint64_t wrong;              /* replies that break the promise */
    char first_wrong[256];
} crash_run;

static int feature_index(const char *name)
{
    for (size_t i = 0; i < N_FEATURES; i++) {
        if (strcmp(rel_features[i], name) == 0)
            return (int)i;
    }
    return -1;
}

/* A killed feature: one named in a kill that has happened. */
static bool was_killed(const crash_run *run, const char *name)
{
    for (size_t k = 0; k < run->next_kill; k++) {
        for (size_t v = 0; v < 2 && kills[k].victims[v] != NULL; v++) {
            if (strcmp(kills[k].victims[v], name) == 0)
                return true;
        }
    }
    return false;
}

static void note_wrong(crash_run *run, const char *fmt, const char *detail)
{
    if (run->wrong++ == 0)
        snprintf(run->first_wrong, sizeof run->first_wrong, fmt, detail);
}

static void check_reply(crash_run *run, fo_status status, const Fanout__V1__AnalyticsResponse *resp)
{
    if (status != FO_STATUS_OK || resp == NULL) {
        note_wrong(run, "a request failed: %s", fo_status_name(status));
        return;
    }
    if (resp->n_results != N_FEATURES) {
        note_wrong(run, "%s", "a reply without a result for every feature");
        return;
    }
    for (size_t i = 0; i < resp->n_results; i++) {
        const Fanout__V1__FeatureResult *r = resp->results[i];
        if (r->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE)
            continue;
        bool open = r->error->kind == FANOUT__V1__ERROR_KIND__CIRCUIT_OPEN && r->attempts == 0;
        if (!was_killed(run, r->feature) || r->error->code != FO_STATUS_UNAVAILABLE ||
            (r->error->kind != FANOUT__V1__ERROR_KIND__UNAVAILABLE && !open))
            note_wrong(run, "an unexpected failure of %s", r->feature);
        else
            run->failed[feature_index(r->feature)]++;
        run->circuit_open += open;
    }
}

static void on_reply(fo_status status, const Fanout__V1__AnalyticsResponse *resp, void *ud)
{
    crash_run *run = ud;
    run->answers++;
    check_reply(run, status, resp);
    if (run->next_kill == N_KILLS || run->answers < kills[run->next_kill].after)
        return;
    for (size_t v = 0; v < 2 && kills[run->next_kill].victims[v] != NULL; v++) {
        pid_t pid = testproc_fleet_pid(run->f->fleet, kills[run->next_kill].victims[v]);
        assert_true(pid > 0);
        assert_int_equal(kill(pid, SIGKILL), 0);
    }
    run->next_kill++;
}

static void test_killed_features_under_load(void **state)
{
    const rel_fixture *f = *state;
    crash_run run = {.f = f};
    testload o = {
        .target = rel_address(f),
        .requests = REQUESTS,
        .concurrency = CONCURRENCY,
        .deadline_ms = REL_CALL_DEADLINE_MS,
        .on_reply = on_reply,
        .ud = &run,
    };
    testload_tally t = {0};
    testload_run(&o, &t);
    print_message("crash: %llu replies (OK %llu); UNAVAILABLE results: listings %llu, tours %llu, offers %llu "
                  "(%llu of them CIRCUIT_OPEN)\n",
                  (unsigned long long)t.replies, (unsigned long long)t.by_status[FO_STATUS_OK],
                  (unsigned long long)run.failed[0], (unsigned long long)run.failed[2],
                  (unsigned long long)run.failed[3], (unsigned long long)run.circuit_open);
    if (run.wrong > 0)
        fail_msg("%llu replies broke the promise; the first: %s", (unsigned long long)run.wrong, run.first_wrong);
    assert_int_equal(run.next_kill, N_KILLS);
    assert_int_equal(t.by_status[FO_STATUS_OK], REQUESTS);
    /* Each killed feature was seen down, the one never killed never was. */
    assert_true(run.failed[0] > 0 && run.failed[2] > 0 && run.failed[3] > 0);
    assert_int_equal(run.failed[1], 0);
    /* A dead feature stops being called: its breaker opened. */
    assert_true(run.circuit_open > 0);

    for (size_t k = 0; k < N_KILLS; k++) {
        for (size_t v = 0; v < 2 && kills[k].victims[v] != NULL; v++) {
            char needle[96];
            snprintf(needle, sizeof needle, "\"event\":\"restarted\",\"feature\":\"%s\"", kills[k].victims[v]);
            assert_true(tool_proc_wait_output(f->fleet, needle, BACK_MS));
        }
    }
    assert_true(rel_wait_serving(f, BACK_MS));
}

static int setup(void **state)
{
    /* Short open periods, so that the breakers close again well within BACK_MS of the restarts. */
    *state = rel_start_fleet("{\"restart\": true}", FEATURE_TIMEOUT_MS,
                             "{\"log_level\": \"warn\", \"breaker\": {\"open_ms\": 500, \"max_open_ms\": 2000}}");
    return *state == NULL ? -1 : 0;
}

static int teardown(void **state) { return rel_stop(*state); }

int main(void)
{
    fo_rpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_killed_features_under_load, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    fo_rpc_shutdown();
    return failed;
}
