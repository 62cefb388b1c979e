/* runner: fail-fast and allow-errors runs of concurrent async tasks. */
#include "runner.h"

#include <stdlib.h>

#include "fo_alloc.h"
#include "fo_log.h"
#include "fo_time.h"

typedef struct runner_slot {
    runner_task task;
    runner_task_state state;
    bool owes_report; /* abandoned while running: one late report is still due */
    fo_error *err;
} runner_slot;

struct runner {
    runner_opts opts;
    runner_slot *slots;
    size_t n;
    size_t next; /* first task not started */
    size_t running;
    size_t reported;
    size_t peak;
    size_t misuse;
    fo_error *err; /* the run's error */
    fo_timer deadline;
    bool started, finished, idle;
    bool in_start_more; /* start() may report synchronously: no recursion */
    int busy;           /* inside the runner's own code: on_idle must wait */
};

static void default_misuse(const runner *r, size_t index, const char *what)
{
    (void)r;
    fo_log(FO_LOG_ERROR,
           json_pack("{s:s, s:I, s:s}", "event", "runner_misuse", "task", (json_int_t)index, "what", what));
#ifndef NDEBUG
    abort();
#endif
}

static runner_misuse_fn misuse_handler = default_misuse;

void runner_set_misuse_handler(runner_misuse_fn fn) { misuse_handler = fn ? fn : default_misuse; }

static void on_deadline(fo_timer *t);

runner *runner_create(const runner_task *tasks, size_t n, const runner_opts *opts)
{
    runner *r = fo_xcalloc(1, sizeof *r);
    r->slots = fo_xcalloc(n, sizeof *r->slots);
    for (size_t i = 0; i < n; i++)
        r->slots[i].task = tasks[i];
    r->n = n;
    r->opts = *opts;
    fo_timer_init(&r->deadline, on_deadline);
    return r;
}

void runner_destroy(runner *r)
{
    if (r == NULL)
        return;
    if (r->opts.loop != NULL)
        fo_timer_cancel(r->opts.loop, &r->deadline);
    for (size_t i = 0; i < r->n; i++)
        fo_error_free(r->slots[i].err);
    fo_error_free(r->err);
    free(r->slots);
    free(r);
}

/* on_idle is the last thing the runner does: the owner may free it there. */
static void maybe_idle(runner *r)
{
    if (!r->finished || r->running > 0 || r->idle || r->busy > 0)
        return;
    r->idle = true;
    if (r->opts.on_idle != NULL)
        r->opts.on_idle(r, r->opts.ud);
}

/*
 * Decides the run's outcome once; err (owned) is NULL for success, failed the
 * task whose error err is, or RUNNER_NO_TASK.
 */
static void finish(runner *r, fo_error *err, size_t failed)
{
    r->busy++;
    r->finished = true;
    r->err = err;
    if (r->opts.loop != NULL)
        fo_timer_cancel(r->opts.loop, &r->deadline);
    /* Abandon everything that has not reported; running tasks are asked to stop. */
    for (size_t i = 0; i < r->n; i++) {
        runner_slot *s = &r->slots[i];
        if (s->state != RUNNER_TASK_PENDING && s->state != RUNNER_TASK_RUNNING)
            continue;
        s->owes_report = s->state == RUNNER_TASK_RUNNING;
        s->state = RUNNER_TASK_ABANDONED;
        if (err != NULL && s->err == NULL)
            s->err = fo_error_copy(err);
        if (s->owes_report && s->task.cancel != NULL)
            s->task.cancel(r, i, s->task.ctx);
    }
    if (r->opts.on_finish != NULL)
        r->opts.on_finish(r, r->err, failed, r->opts.ud);
    r->busy--;
}

static void start_more(runner *r)
{
    if (r->in_start_more)
        return;
    r->in_start_more = true;
    r->busy++;
    while (!r->finished && r->next < r->n && (r->opts.limit == 0 || r->running < r->opts.limit)) {
        size_t i = r->next++;
        runner_slot *s = &r->slots[i];
        s->state = RUNNER_TASK_RUNNING;
        r->running++;
        if (r->running > r->peak)
            r->peak = r->running;
        s->task.start(r, i, s->task.ctx);
    }
    r->in_start_more = false;
    r->busy--;
    if (!r->finished && r->reported == r->n)
        finish(r, NULL, RUNNER_NO_TASK);
    maybe_idle(r);
}

void runner_start(runner *r)
{
    if (r->started) {
        r->misuse++;
        misuse_handler(r, 0, "runner started twice");
        return;
    }
    r->started = true;
    if (r->opts.deadline_ns != FO_DEADLINE_NONE) {
        if (r->opts.deadline_ns <= fo_now_ns()) {
            finish(r, FO_ERROR(FO_STATUS_DEADLINE_EXCEEDED, "deadline exceeded before the run started"),
                   RUNNER_NO_TASK);
            maybe_idle(r);
            return;
        }
        fo_timer_start(r->opts.loop, &r->deadline, r->opts.deadline_ns);
    }
    start_more(r);
}

static bool check_report(runner *r, size_t index)
{
    const char *what = NULL;
    if (index >= r->n)
        what = "report for a task index out of range";
    else if (r->slots[index].state == RUNNER_TASK_DONE)
        what = "task reported twice";
    else if (r->slots[index].state == RUNNER_TASK_PENDING)
        what = "report for a task that was never started";
    else if (r->slots[index].state == RUNNER_TASK_ABANDONED && !r->slots[index].owes_report)
        what = r->idle ? "report after the run ended" : "report for a task that already ended";
    if (what == NULL)
        return true;
    r->misuse++;
    misuse_handler(r, index, what);
    return false;
}

void runner_task_done(runner *r, size_t index, fo_error *err)
{
    if (!check_report(r, index)) {
        fo_error_free(err);
        return;
    }
    runner_slot *s = &r->slots[index];
    r->running--;
    r->busy++;
    if (s->state == RUNNER_TASK_ABANDONED) {
        /* Late report of a task the finished run let go: noted, not used. */
        s->owes_report = false;
        fo_error_free(err);
        r->busy--;
        maybe_idle(r);
        return;
    }
    s->state = RUNNER_TASK_DONE;
    s->err = err;
    r->reported++;
    if (r->opts.on_task_done != NULL)
        r->opts.on_task_done(r, index, err, r->opts.ud);
    if (err != NULL && r->opts.policy == RUNNER_FAIL_FAST && !r->finished)
        finish(r, fo_error_copy(err), index);
    r->busy--;
    start_more(r);
}

void runner_cancel(runner *r, fo_error *why)
{
    if (r->finished) {
        fo_error_free(why);
        return;
    }
    finish(r, why, RUNNER_NO_TASK);
    maybe_idle(r);
}

static void on_deadline(fo_timer *t)
{
    runner *r = fo_container_of(t, runner, deadline);
    if (r->finished)
        return;
    const char *why = r->opts.deadline_message != NULL ? r->opts.deadline_message : "run deadline exceeded";
    finish(r, FO_ERROR(FO_STATUS_DEADLINE_EXCEEDED, "%s", why), RUNNER_NO_TASK);
    maybe_idle(r);
}

runner_task_state runner_state(const runner *r, size_t index) { return r->slots[index].state; }

const fo_error *runner_task_error(const runner *r, size_t index) { return r->slots[index].err; }

const fo_error *runner_error(const runner *r) { return r->err; }

bool runner_finished(const runner *r) { return r->finished; }

bool runner_idle(const runner *r) { return r->idle; }

size_t runner_peak_running(const runner *r) { return r->peak; }

size_t runner_misuse_count(const runner *r) { return r->misuse; }
