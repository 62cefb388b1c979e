/* hs_run: the step loop and its report lines. */
#include "hs_run.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fo_pbjson.h"
#include "fo_time.h"
#include "hs_call.h"
#include "hs_expect.h"
#include "hs_fleet.h"
#include "tool_rpc.h"

#define WARMUP_DEADLINE_MS 5000
#define RETRY_PAUSE_MS 200
/* How often a sleeping step looks at the interrupt flag. */
#define SLEEP_SLICE_MS 20

static atomic_bool interrupted;

void hs_run_interrupt(void) { atomic_store(&interrupted, true); }

/* Sleeps ms, or less when interrupted. */
static void sleep_ms(int64_t ms)
{
    int64_t until = fo_now_ns() + ms * FO_NS_PER_MS;
    while (!atomic_load(&interrupted) && fo_now_ns() < until) {
        int64_t left_ms = (until - fo_now_ns()) / FO_NS_PER_MS;
        int64_t slice = left_ms < SLEEP_SLICE_MS ? left_ms : SLEEP_SLICE_MS;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(slice > 0 ? slice : 1) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* One request over every configured feature, so that the channels are connected before the timed steps. */
static void warm_up(const char *target)
{
    tool_rpc_result r;
    tool_rpc_analytics(target, "cust-harness", NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, WARMUP_DEADLINE_MS,
                       NULL, &r);
    tool_rpc_result_release(&r);
}

static void print_outcome(const hs_outcome *o)
{
    printf("      actual: status %s, message \"%s\"", fo_status_name((int)o->status), o->message);
    if (o->failed_feature != NULL)
        printf(", failed_feature \"%s\"", o->failed_feature);
    char *json = fo_pbjson_dumps(o->actual, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    printf(", %lld ms\n      %s: %s\n", (long long)o->elapsed_ms, json_is_array(o->actual) ? "results" : "reply",
           json != NULL ? json : "?");
    free(json);
}

/* A call, repeated every RETRY_PAUSE_MS while it fails and retry_for_ms has not run out. */
static bool run_call(const hs_call *call, const char *label, hs_fleet *fl)
{
    int64_t until = fo_now_ns() + call->retry_for_ms * FO_NS_PER_MS;
    int attempts = 0;
    hs_outcome o;
    char *diff;
    for (;;) {
        attempts++;
        hs_call_run(call, hs_fleet_aggregator_address(fl), &o);
        diff = hs_expect_check(&call->expect, &o);
        if (diff == NULL || fo_now_ns() >= until || atomic_load(&interrupted))
            break;
        free(diff);
        hs_outcome_release(&o);
        sleep_ms(RETRY_PAUSE_MS);
    }
    if (atomic_load(&interrupted)) {
        /* The signal watcher killed the processes: what the call saw says nothing about the scenario. */
        printf("FAIL  %s: interrupted\n", label);
    } else if (diff == NULL) {
        printf("PASS  %s (%s, %lld ms", label, fo_status_name((int)o.status), (long long)o.elapsed_ms);
        if (attempts > 1)
            printf(", attempt %d", attempts);
        printf(")\n");
    } else {
        printf("FAIL  %s%s\n      %s\n", label, attempts > 1 ? " (every attempt until retry_for_ms)" : "", diff);
        print_outcome(&o);
    }
    bool passed = diff == NULL && !atomic_load(&interrupted);
    free(diff);
    hs_outcome_release(&o);
    return passed;
}

static fo_error *run_action(const hs_step *step, hs_fleet *fl)
{
    switch (step->kind) {
    case HS_STEP_KILL:
        return hs_fleet_kill(fl, step->feature);
    case HS_STEP_RESTART:
        return hs_fleet_restart(fl, step->feature);
    case HS_STEP_AWAIT_EXIT:
        return hs_fleet_await_exit(fl, step->feature, step->ms);
    case HS_STEP_WAIT:
        sleep_ms(step->ms);
        return NULL;
    case HS_STEP_CALL:
        break;
    }
    abort(); /* calls go to run_call */
}

/* Prints the step's line; false when it failed. */
static bool run_step(const hs_step *step, const char *label, hs_fleet *fl)
{
    if (step->kind == HS_STEP_CALL)
        return run_call(&step->call, label, fl);
    fo_error *err = run_action(step, fl);
    if (atomic_load(&interrupted)) {
        fo_error_free(err);
        printf("FAIL  %s: interrupted\n", label);
        return false;
    }
    if (err == NULL) {
        printf("PASS  %s\n", label);
        return true;
    }
    printf("FAIL  %s\n      %s\n", label, err->message);
    fo_error_free(err);
    return false;
}

/* The steps; returns how many failed. Stops early when the aggregator is gone or the run is interrupted. */
static size_t run_steps(const hs_scenario *sc, hs_fleet *fl)
{
    size_t failed = 0;
    for (size_t i = 0; i < sc->n_steps; i++) {
        char label[160];
        snprintf(label, sizeof label, "%zu/%zu %s", i + 1, sc->n_steps, sc->steps[i].name);
        if (atomic_load(&interrupted)) {
            printf("FAIL  %s: interrupted\n", label);
            return failed + 1;
        }
        if (!run_step(&sc->steps[i], label, fl))
            failed++;
        fflush(stdout);
        if (atomic_load(&interrupted))
            return failed;
        fo_error *err = hs_fleet_check_aggregator(fl);
        if (err != NULL) {
            printf("FAIL  %s: %s; the remaining steps are not run\n", label, err->message);
            fo_error_free(err);
            return failed + 1;
        }
    }
    return failed;
}

bool hs_run(const hs_scenario *sc, const hs_binaries *bins)
{
    printf("scenario %s: %zu features, %zu steps\n", sc->name, sc->n_features, sc->n_steps);
    fflush(stdout);
    hs_fleet *fl = NULL;
    fo_error *err = hs_fleet_start(sc, bins, &fl);
    if (err != NULL) {
        printf("FAIL  start: %s\n", err->message);
        fo_error_free(err);
        return false;
    }
    if (sc->warmup)
        warm_up(hs_fleet_aggregator_address(fl));
    size_t failed = run_steps(sc, fl);
    err = hs_fleet_stop(fl);
    if (atomic_load(&interrupted)) {
        /* The processes were killed on purpose; how they ended is no finding. */
        fo_error_free(err);
        printf("FAIL  %s: interrupted by a signal, every process stopped\n", sc->name);
        fflush(stdout);
        return false;
    }
    if (err != NULL) {
        printf("FAIL  stop: %s\n", err->message);
        fo_error_free(err);
        failed++;
    } else {
        printf("PASS  stop: the aggregator exited cleanly on SIGTERM\n");
    }
    if (failed == 0)
        printf("PASS  %s\n", sc->name);
    else
        printf("FAIL  %s: %zu failure%s\n", sc->name, failed, failed == 1 ? "" : "s");
    fflush(stdout);
    return failed == 0;
}
