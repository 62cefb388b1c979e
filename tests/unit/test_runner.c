/*
 * Unit tests for aggregator/runner: both policies with fake tasks that
 * complete in every order, the limit, the deadline, external cancellation,
 * misuse detection and runs driven to their end on a real loop. No network:
 * fake tasks report by hand, or from timers on a real loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fo_rpc.h"
#include "fo_time.h"
#include "runner.h"

#define MAX_TASKS 1000

typedef struct fake {
    int started[MAX_TASKS];
    int cancelled[MAX_TASKS];
    size_t running, peak_running;
    int finish_calls, idle_calls;
    fo_error *finish_err; /* copy of what on_finish got */
    size_t finish_failed; /* the task on_finish named */
    size_t done_order[MAX_TASKS];
    size_t ndone;
    bool report_on_start;  /* tasks succeed inside start() */
    bool report_on_cancel; /* cancelled tasks report CANCELLED inside cancel() */
    runner *r;
} fake;

static fake F;
static runner_task tasks[MAX_TASKS];
static size_t misuse_seen;
static char misuse_what[128];

static void fake_start(runner *r, size_t i, void *ctx)
{
    (void)ctx;
    F.started[i]++;
    F.running++;
    if (F.running > F.peak_running)
        F.peak_running = F.running;
    if (F.report_on_start) {
        F.running--;
        runner_task_done(r, i, NULL);
    }
}

static void fake_cancel(runner *r, size_t i, void *ctx)
{
    (void)ctx;
    F.cancelled[i]++;
    if (F.report_on_cancel) {
        F.running--;
        runner_task_done(r, i, FO_ERROR(FO_STATUS_CANCELLED, "task %zu cancelled", i));
    }
}

static void on_task_done(runner *r, size_t i, const fo_error *err, void *ud)
{
    (void)r;
    (void)err;
    (void)ud;
    F.done_order[F.ndone++] = i;
}

static void on_finish(runner *r, const fo_error *err, size_t failed, void *ud)
{
    (void)r;
    (void)ud;
    F.finish_calls++;
    F.finish_err = err ? fo_error_copy(err) : NULL;
    F.finish_failed = failed;
}

static void on_idle(runner *r, void *ud)
{
    (void)r;
    (void)ud;
    F.idle_calls++;
}

static void count_misuse(const runner *r, size_t index, const char *what)
{
    (void)r;
    (void)index;
    misuse_seen++;
    strncpy(misuse_what, what, sizeof misuse_what - 1);
}

static int setup(void **state)
{
    (void)state;
    fo_error_free(F.finish_err);
    memset(&F, 0, sizeof F);
    for (size_t i = 0; i < MAX_TASKS; i++)
        tasks[i] = (runner_task){.start = fake_start, .cancel = fake_cancel, .ctx = NULL};
    misuse_seen = 0;
    misuse_what[0] = '\0';
    runner_set_misuse_handler(count_misuse);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fo_error_free(F.finish_err);
    F.finish_err = NULL;
    return 0;
}

static runner *make(size_t n, runner_policy policy, size_t limit)
{
    runner_opts o = {
        .policy = policy,
        .limit = limit,
        .deadline_ns = FO_DEADLINE_NONE,
        .on_task_done = on_task_done,
        .on_finish = on_finish,
        .on_idle = on_idle,
    };
    F.r = runner_create(tasks, n, &o);
    return F.r;
}

static void report(runner *r, size_t i, fo_error *err)
{
    F.running--;
    runner_task_done(r, i, err);
}

/* Every permutation of 4 tasks, tasks 1 and 3 failing. */
static bool next_permutation(size_t *a, size_t n)
{
    size_t i = n - 1;
    while (i > 0 && a[i - 1] >= a[i])
        i--;
    if (i == 0)
        return false;
    size_t j = n - 1;
    while (a[j] <= a[i - 1])
        j--;
    size_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
    for (size_t l = i, h = n - 1; l < h; l++, h--) {
        t = a[l];
        a[l] = a[h];
        a[h] = t;
    }
    return true;
}

static void allow_errors_waits_for_all_in_every_order(void **state)
{
    size_t order[4] = {0, 1, 2, 3};
    int perms = 0;
    do {
        setup(state);
        runner *r = make(4, RUNNER_ALLOW_ERRORS, 0);
        runner_start(r);
        for (size_t k = 0; k < 4; k++) {
            assert_int_equal(F.finish_calls, 0);
            size_t i = order[k];
            report(r, i, (i % 2) ? FO_ERROR(FO_STATUS_UNAVAILABLE, "task %zu down", i) : NULL);
        }
        assert_int_equal(F.finish_calls, 1);
        assert_null(F.finish_err);
        assert_true(F.finish_failed == RUNNER_NO_TASK);
        assert_int_equal(F.idle_calls, 1);
        assert_memory_equal(F.done_order, order, sizeof order);
        for (size_t i = 0; i < 4; i++) {
            assert_int_equal(runner_state(r, i), RUNNER_TASK_DONE);
            if (i % 2) {
                assert_non_null(runner_task_error(r, i));
                assert_int_equal(runner_task_error(r, i)->code, FO_STATUS_UNAVAILABLE);
            } else {
                assert_null(runner_task_error(r, i));
            }
            assert_int_equal(F.cancelled[i], 0);
        }
        runner_destroy(r);
        teardown(state);
        perms++;
    } while (next_permutation(order, 4));
    assert_int_equal(perms, 24);
}

static void fail_fast_first_error_cancels_the_rest(void **state)
{
    (void)state;
    runner *r = make(5, RUNNER_FAIL_FAST, 0);
    runner_start(r);
    report(r, 4, NULL);
    int line = __LINE__ + 1;
    report(r, 2, FO_ERROR(FO_STATUS_NOT_FOUND, "no such customer"));
    assert_int_equal(F.finish_calls, 1);
    assert_non_null(F.finish_err);
    assert_int_equal(F.finish_err->code, FO_STATUS_NOT_FOUND);
    assert_string_equal(F.finish_err->message, "no such customer");
    assert_non_null(strstr(F.finish_err->file, "test_runner.c"));
    assert_int_equal(F.finish_err->line, line);
    assert_int_equal(F.finish_failed, 2);
    /* Exactly the tasks still running were cancelled, once each. */
    assert_int_equal(F.cancelled[0], 1);
    assert_int_equal(F.cancelled[1], 1);
    assert_int_equal(F.cancelled[3], 1);
    assert_int_equal(F.cancelled[2], 0);
    assert_int_equal(F.cancelled[4], 0);
    assert_int_equal(runner_state(r, 0), RUNNER_TASK_ABANDONED);
    /* Not idle until the cancelled tasks have reported. */
    assert_int_equal(F.idle_calls, 0);
    report(r, 0, FO_ERROR(FO_STATUS_CANCELLED, "cancelled"));
    report(r, 3, NULL);
    assert_int_equal(F.idle_calls, 0);
    report(r, 1, FO_ERROR(FO_STATUS_INTERNAL, "a second error"));
    assert_int_equal(F.idle_calls, 1);
    assert_int_equal(F.finish_calls, 1);
    assert_int_equal(runner_error(r)->code, FO_STATUS_NOT_FOUND);
    assert_int_equal(misuse_seen, 0);
    /* Late reports are not passed on. */
    assert_int_equal(F.ndone, 2);
    runner_destroy(r);
}

static void fail_fast_all_succeed_in_every_order(void **state)
{
    size_t order[4] = {0, 1, 2, 3};
    do {
        setup(state);
        runner *r = make(4, RUNNER_FAIL_FAST, 0);
        runner_start(r);
        for (size_t k = 0; k < 4; k++)
            report(r, order[k], NULL);
        assert_int_equal(F.finish_calls, 1);
        assert_null(F.finish_err);
        assert_true(F.finish_failed == RUNNER_NO_TASK);
        assert_int_equal(F.idle_calls, 1);
        runner_destroy(r);
        teardown(state);
    } while (next_permutation(order, 4));
}

static void limit_is_never_exceeded(void **state)
{
    (void)state;
    runner *r = make(10, RUNNER_ALLOW_ERRORS, 3);
    runner_start(r);
    assert_int_equal(F.running, 3);
    assert_int_equal(F.started[3], 0);
    assert_int_equal(runner_state(r, 3), RUNNER_TASK_PENDING);
    /* Report out of order: always the most recently started first. */
    while (F.finish_calls == 0) {
        size_t last = 0;
        for (size_t i = 0; i < 10; i++)
            if (runner_state(r, i) == RUNNER_TASK_RUNNING)
                last = i;
        report(r, last, NULL);
        assert_true(F.running <= 3);
    }
    assert_int_equal(F.peak_running, 3);
    assert_int_equal(runner_peak_running(r), 3);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(F.started[i], 1);
    runner_destroy(r);
}

static void synchronous_reports_do_not_recurse(void **state)
{
    (void)state;
    F.report_on_start = true;
    runner *r = make(MAX_TASKS, RUNNER_FAIL_FAST, 1);
    runner_start(r);
    assert_int_equal(F.finish_calls, 1);
    assert_null(F.finish_err);
    assert_int_equal(F.idle_calls, 1);
    assert_int_equal(runner_peak_running(r), 1);
    assert_int_equal(F.ndone, MAX_TASKS);
    runner_destroy(r);
}

static void external_cancel_abandons_running_and_pending(void **state)
{
    (void)state;
    F.report_on_cancel = true;
    runner *r = make(6, RUNNER_ALLOW_ERRORS, 2);
    runner_start(r);
    report(r, 0, NULL);
    runner_cancel(r, FO_ERROR(FO_STATUS_CANCELLED, "client went away"));
    assert_int_equal(F.finish_calls, 1);
    assert_int_equal(F.finish_err->code, FO_STATUS_CANCELLED);
    assert_true(F.finish_failed == RUNNER_NO_TASK);
    assert_int_equal(F.idle_calls, 1); /* the cancelled tasks reported at once */
    assert_int_equal(runner_state(r, 0), RUNNER_TASK_DONE);
    assert_null(runner_task_error(r, 0));
    for (size_t i = 1; i < 6; i++) {
        assert_int_equal(runner_state(r, i), RUNNER_TASK_ABANDONED);
        assert_string_equal(runner_task_error(r, i)->message, "client went away");
    }
    assert_int_equal(F.cancelled[1], 1);
    assert_int_equal(F.cancelled[2], 1);
    assert_int_equal(F.started[3], 0); /* pending tasks never start */
    /* Cancelling twice is harmless. */
    runner_cancel(r, FO_ERROR(FO_STATUS_CANCELLED, "again"));
    assert_int_equal(F.finish_calls, 1);
    assert_int_equal(misuse_seen, 0);
    runner_destroy(r);
}

static void misuse_is_detected(void **state)
{
    (void)state;
    runner *r = make(3, RUNNER_ALLOW_ERRORS, 1);
    runner_start(r);
    report(r, 0, NULL);
    runner_task_done(r, 0, FO_ERROR(FO_STATUS_INTERNAL, "again"));
    assert_int_equal(misuse_seen, 1);
    assert_string_equal(misuse_what, "task reported twice");
    runner_task_done(r, 2, NULL);
    assert_int_equal(misuse_seen, 2);
    assert_string_equal(misuse_what, "report for a task that was never started");
    runner_task_done(r, 7, NULL);
    assert_int_equal(misuse_seen, 3);
    assert_string_equal(misuse_what, "report for a task index out of range");
    report(r, 1, NULL);
    report(r, 2, NULL);
    assert_int_equal(F.idle_calls, 1);
    runner_task_done(r, 1, NULL);
    assert_int_equal(misuse_seen, 4);
    assert_int_equal(runner_misuse_count(r), 4);
    /* Misuse changes nothing that was decided. */
    assert_int_equal(F.finish_calls, 1);
    assert_int_equal(F.ndone, 3);
    runner_destroy(r);
}

static void late_report_after_idle_is_misuse(void **state)
{
    (void)state;
    F.report_on_cancel = true;
    runner *r = make(2, RUNNER_FAIL_FAST, 0);
    runner_start(r);
    report(r, 0, FO_ERROR(FO_STATUS_UNAVAILABLE, "down"));
    assert_int_equal(F.idle_calls, 1);
    runner_task_done(r, 1, NULL);
    assert_int_equal(misuse_seen, 1);
    assert_string_equal(misuse_what, "report after the run ended");
    runner_destroy(r);
}

static void zero_tasks_finish_at_once(void **state)
{
    (void)state;
    for (int p = 0; p < 2; p++) {
        runner *r = make(0, p ? RUNNER_FAIL_FAST : RUNNER_ALLOW_ERRORS, 0);
        runner_start(r);
        assert_true(runner_finished(r));
        assert_true(runner_idle(r));
        assert_null(runner_error(r));
        runner_destroy(r);
    }
    assert_int_equal(F.finish_calls, 2);
    assert_int_equal(F.idle_calls, 2);
}

/* --- with a real loop: timers stand in for async work -------------------- */

typedef struct timed_task {
    fo_timer timer;
    runner *r;
    size_t index;
    fo_loop *loop;
    int64_t after_ms;
    bool fail;
} timed_task;

static timed_task timed[8];

static void timed_fire(fo_timer *t)
{
    timed_task *tt = fo_container_of(t, timed_task, timer);
    runner_task_done(tt->r, tt->index, tt->fail ? FO_ERROR(FO_STATUS_INTERNAL, "task %zu failed", tt->index) : NULL);
}

static void timed_start(runner *r, size_t i, void *ctx)
{
    timed_task *tt = ctx;
    tt->r = r;
    tt->index = i;
    fo_timer_init(&tt->timer, timed_fire);
    fo_timer_start(tt->loop, &tt->timer, fo_deadline_in_ms(tt->after_ms));
}

static void timed_cancel(runner *r, size_t i, void *ctx)
{
    timed_task *tt = ctx;
    fo_timer_cancel(tt->loop, &tt->timer);
    runner_task_done(r, i, FO_ERROR(FO_STATUS_CANCELLED, "cancelled"));
}

static void set_idle(runner *r, void *ud)
{
    (void)r;
    *(bool *)ud = true;
}

/* run_timed's deadline message (runner_opts.deadline_message); NULL: the runner's own. */
static const char *timed_deadline_message;

/* Starts the tasks and drives loop until the run is idle; the caller destroys the runner. */
static runner *run_timed(fo_loop *loop, size_t n, runner_policy policy, int64_t deadline_ns)
{
    runner_task t[8];
    for (size_t i = 0; i < n; i++) {
        timed[i].loop = loop;
        t[i] = (runner_task){.start = timed_start, .cancel = timed_cancel, .ctx = &timed[i]};
    }
    bool idle = false;
    runner_opts o = {
        .policy = policy,
        .deadline_ns = deadline_ns,
        .loop = loop,
        .deadline_message = timed_deadline_message,
        .on_task_done = on_task_done,
        .on_finish = on_finish,
        .on_idle = set_idle,
        .ud = &idle,
    };
    runner *r = runner_create(t, n, &o);
    runner_start(r);
    fo_loop_run(loop, &idle);
    return r;
}

static void blocking_form_runs_concurrently(void **state)
{
    (void)state;
    fo_loop *loop = fo_loop_create();
    /* Completion order is the reverse of start order. */
    for (size_t i = 0; i < 4; i++) {
        timed[i].after_ms = 40 - 10 * (int64_t)i;
        timed[i].fail = i == 1;
    }
    int64_t t0 = fo_now_ns();
    runner *r = run_timed(loop, 4, RUNNER_ALLOW_ERRORS, FO_DEADLINE_NONE);
    int64_t elapsed_ms = (fo_now_ns() - t0) / FO_NS_PER_MS;
    assert_true(runner_idle(r));
    assert_true(elapsed_ms >= 40);
    assert_true(elapsed_ms < 95); /* concurrent: not the 100 ms sum */
    size_t want[4] = {3, 2, 1, 0};
    assert_memory_equal(F.done_order, want, sizeof want);
    assert_non_null(runner_task_error(r, 1));
    assert_null(runner_task_error(r, 0));
    runner_destroy(r);
    fo_loop_destroy(loop);
}

static void deadline_ends_the_run(void **state)
{
    (void)state;
    fo_loop *loop = fo_loop_create();
    for (size_t i = 0; i < 3; i++) {
        timed[i].after_ms = i == 0 ? 5 : 5000;
        timed[i].fail = false;
    }
    int64_t t0 = fo_now_ns();
    runner *r = run_timed(loop, 3, RUNNER_ALLOW_ERRORS, fo_deadline_in_ms(50));
    int64_t elapsed_ms = (fo_now_ns() - t0) / FO_NS_PER_MS;
    assert_true(elapsed_ms >= 50);
    assert_true(elapsed_ms < 1000);
    assert_int_equal(F.finish_err->code, FO_STATUS_DEADLINE_EXCEEDED);
    assert_true(F.finish_failed == RUNNER_NO_TASK);
    assert_null(runner_task_error(r, 0));
    assert_int_equal(runner_task_error(r, 1)->code, FO_STATUS_DEADLINE_EXCEEDED);
    assert_int_equal(runner_task_error(r, 2)->code, FO_STATUS_DEADLINE_EXCEEDED);
    assert_int_equal(runner_state(r, 2), RUNNER_TASK_ABANDONED);
    assert_string_equal(runner_task_error(r, 2)->message, "run deadline exceeded");
    runner_destroy(r);

    /* The owner may say what the deadline was for; abandoned tasks carry its words. */
    teardown(state);
    setup(state);
    timed_deadline_message = "cut for the caller";
    r = run_timed(loop, 3, RUNNER_ALLOW_ERRORS, fo_deadline_in_ms(20));
    timed_deadline_message = NULL;
    assert_string_equal(F.finish_err->message, "cut for the caller");
    assert_string_equal(runner_task_error(r, 1)->message, "cut for the caller");
    runner_destroy(r);

    /* A deadline already past starts nothing. */
    teardown(state);
    setup(state);
    r = run_timed(loop, 2, RUNNER_FAIL_FAST, fo_now_ns() - 1);
    assert_int_equal(F.finish_err->code, FO_STATUS_DEADLINE_EXCEEDED);
    assert_true(F.finish_failed == RUNNER_NO_TASK);
    assert_int_equal(runner_state(r, 0), RUNNER_TASK_ABANDONED);
    runner_destroy(r);
    fo_loop_destroy(loop);
}

static void fail_fast_returns_before_slow_tasks(void **state)
{
    (void)state;
    fo_loop *loop = fo_loop_create();
    timed[0] = (timed_task){.after_ms = 2000};
    timed[1] = (timed_task){.after_ms = 10, .fail = true};
    timed[2] = (timed_task){.after_ms = 2000};
    int64_t t0 = fo_now_ns();
    runner *r = run_timed(loop, 3, RUNNER_FAIL_FAST, FO_DEADLINE_NONE);
    int64_t elapsed_ms = (fo_now_ns() - t0) / FO_NS_PER_MS;
    assert_true(elapsed_ms < 500);
    assert_int_equal(F.finish_err->code, FO_STATUS_INTERNAL);
    assert_string_equal(F.finish_err->message, "task 1 failed");
    assert_int_equal(F.finish_failed, 1);
    runner_destroy(r);
    fo_loop_destroy(loop);
}

int main(void)
{
    fo_rpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(allow_errors_waits_for_all_in_every_order, setup, teardown),
        cmocka_unit_test_setup_teardown(fail_fast_first_error_cancels_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(fail_fast_all_succeed_in_every_order, setup, teardown),
        cmocka_unit_test_setup_teardown(limit_is_never_exceeded, setup, teardown),
        cmocka_unit_test_setup_teardown(synchronous_reports_do_not_recurse, setup, teardown),
        cmocka_unit_test_setup_teardown(external_cancel_abandons_running_and_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(misuse_is_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(late_report_after_idle_is_misuse, setup, teardown),
        cmocka_unit_test_setup_teardown(zero_tasks_finish_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(blocking_form_runs_concurrently, setup, teardown),
        cmocka_unit_test_setup_teardown(deadline_ends_the_run, setup, teardown),
        cmocka_unit_test_setup_teardown(fail_fast_returns_before_slow_tasks, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fo_rpc_shutdown();
    return rc;
}
