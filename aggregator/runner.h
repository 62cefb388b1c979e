/*
 * runner: run N asynchronous tasks concurrently, the C counterpart of Go's
 * RunAsync (fail-fast) and RunAsyncAllowErrors (wait for all, one error slot
 * per task).
 *
 * A task is a closure: start(r, i, ctx) begins async work (a gRPC call on a
 * completion queue, a timer, anything) and that work reports back exactly
 * once with runner_task_done(r, i, err), possibly from inside start. The
 * runner knows nothing of gRPC or analytics; its only tie to the outside is
 * the loop that carries its whole-run deadline timer.
 *
 * The run's life: runner_start → tasks start (at most `limit` at once) →
 * on_task_done per completion → on_finish once the outcome is decided (all
 * done; or, under fail-fast, the first error, naming its task; or the
 * deadline; or runner_cancel) → tasks still running are cancelled and drain
 * → on_idle, after which the owner may destroy the runner. Everything happens
 * on the loop's thread.
 */
#ifndef RUNNER_H
#define RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_error.h"
#include "fo_loop.h"

typedef enum runner_policy {
    RUNNER_ALLOW_ERRORS, /* wait for every task; an error per task */
    RUNNER_FAIL_FAST,    /* the first error cancels the rest and ends the run */
} runner_policy;

typedef enum runner_task_state {
    RUNNER_TASK_PENDING, /* not started yet (limit) */
    RUNNER_TASK_RUNNING,
    RUNNER_TASK_DONE,      /* reported before the run finished */
    RUNNER_TASK_ABANDONED, /* never started, or still running when the run finished */
} runner_task_state;

typedef struct runner runner;

/* on_finish's task index when no task's error ended the run. */
#define RUNNER_NO_TASK SIZE_MAX

typedef struct runner_task {
    void (*start)(runner *r, size_t index, void *ctx);
    /* Asks running work to end soon; it still reports. May be NULL. */
    void (*cancel)(runner *r, size_t index, void *ctx);
    void *ctx;
} runner_task;

typedef struct runner_opts {
    runner_policy policy;
    size_t limit;        /* tasks in flight at once; 0: no limit */
    int64_t deadline_ns; /* the whole run (fo_now_ns clock); FO_DEADLINE_NONE: none */
    fo_loop *loop;       /* carries the deadline timer; may be NULL without a deadline */
    /* The deadline's error message; NULL: "run deadline exceeded". */
    const char *deadline_message;
    /* Each task's outcome as it is reported, while the run is not finished. Optional. */
    void (*on_task_done)(runner *r, size_t index, const fo_error *err, void *ud);
    /* Once: the run's outcome. err is NULL when every task succeeded (or, under
     * allow-errors, when every task reported); else the first error, the
     * deadline or the cancellation. failed is the task whose error it is
     * (fail-fast), or RUNNER_NO_TASK. */
    void (*on_finish)(runner *r, const fo_error *err, size_t failed, void *ud);
    /* Once, after on_finish, when no task runs any more: the owner may destroy r. */
    void (*on_idle)(runner *r, void *ud);
    void *ud;
} runner_opts;

runner *runner_create(const runner_task *tasks, size_t n, const runner_opts *opts);
void runner_start(runner *r);
/* Reports task `index`: err NULL for success, else an owned error. */
void runner_task_done(runner *r, size_t index, fo_error *err);
/* Ends the run from outside (the client went away); why is owned. */
void runner_cancel(runner *r, fo_error *why);
/* Only when idle (or never started). */
void runner_destroy(runner *r);

runner_task_state runner_state(const runner *r, size_t index);
/* A task's error: its own, or the deadline/cancellation that abandoned it. */
const fo_error *runner_task_error(const runner *r, size_t index);
/* The run's error, as given to on_finish. */
const fo_error *runner_error(const runner *r);
bool runner_finished(const runner *r);
bool runner_idle(const runner *r);
/* Most tasks that were running at the same time. */
size_t runner_peak_running(const runner *r);

/*
 * Misuse (a task reporting twice, a report for a task that is not running,
 * an index out of range) goes to this handler. The default aborts in debug
 * builds and logs one JSON line to stderr otherwise; either way it is counted.
 */
typedef void (*runner_misuse_fn)(const runner *r, size_t index, const char *what);
void runner_set_misuse_handler(runner_misuse_fn fn);
size_t runner_misuse_count(const runner *r);

#endif
