/*
 * fo_loop: the completion-queue loop with its timer heap.
 *
 * The loop's wait in grpc_completion_queue_next cannot be shorter than
 * gRPC's millisecond clock. So with precise timers a second thread sleeps on
 * a condition variable until the next timer is due and fires it under
 * loop->mu, which the loop's thread then holds for everything it does but its
 * wait in the queue: the loop's work still runs one piece at a time.
 */
#include "fo_loop.h"
#include "fo_alloc.h"
#include "fo_loop_internal.h"

#include <grpc/grpc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#include "fo_time.h"

/* How long the loop sleeps at most before it looks at its stop flag. */
#define POLL_NS (100 * FO_NS_PER_MS)

/*
 * The timer thread wakes from a long sleep later than from a short one: the
 * longer a CPU idles, the longer it takes to wake (on a VM, a halted vCPU;
 * on metal, a deeper C-state). So a sleep longer than LONG_SLEEP_NS ends
 * SLEEP_LEAD_NS early and a short second sleep, which wakes sooner, lands
 * the rest (docs/performance.md has the measurements).
 */
#define LONG_SLEEP_NS (1 * FO_NS_PER_MS)
#define SLEEP_LEAD_NS (200 * FO_NS_PER_US)

/* One fo_loop_post() waiting for its loop. */
typedef struct fo_post {
    struct fo_post *next;
    fo_loop_post_fn fn;
    void *arg;
} fo_post;

struct fo_loop {
    grpc_completion_queue *cq;
    pthread_mutex_t mu; /* precise timers: held by whichever thread runs the loop's work */
    fo_timer **heap;    /* min-heap on due_ns */
    size_t nheap, capheap;
    size_t holds;
    atomic_bool stop;

    /* Precise timers: a thread that fires them on time (see the top). */
    bool precise;
    bool timer_thread_quit;
    const bool *done;        /* fo_loop_run's: once it is set, the timer thread fires nothing more */
    pthread_cond_t timer_cv; /* CLOCK_MONOTONIC; signalled when the first due changes */
    pthread_t timer_thread;

    /* Posts from other threads: a FIFO under post_mu. npost mirrors its
     * length so that each turn of the loop looks at it without the lock. */
    pthread_mutex_t post_mu;
    fo_post *post_head, *post_tail;
    atomic_size_t npost;

    /*
     * Waking the loop for a post: the only public way to make a completion
     * queue return from another thread is a completion, so a post starts a
     * call on a lame channel, which fails at once onto the queue. One wake at
     * a time (wake_call set), under post_mu; none once the queue shuts down.
     */
    grpc_channel *wake_channel; /* created on the first post */
    grpc_call *wake_call;
    fo_tag wake_done;
    bool closing;
};

static void loop_woken(fo_tag *tag, bool ok);

fo_loop *fo_loop_create(void)
{
    fo_loop *loop = fo_xcalloc(1, sizeof *loop);
    loop->cq = grpc_completion_queue_create_for_next(NULL);
    pthread_mutex_init(&loop->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&loop->timer_cv, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&loop->stop, false);
    pthread_mutex_init(&loop->post_mu, NULL);
    atomic_init(&loop->npost, 0);
    loop->wake_done.fn = loop_woken;
    return loop;
}

grpc_completion_queue *fo_loop_cq(fo_loop *loop) { return loop->cq; }

void fo_loop_set_precise_timers(fo_loop *loop, bool on) { loop->precise = on; }

static void dispatch(grpc_event ev)
{
    fo_tag *tag = ev.tag;
    tag->fn(tag, ev.success != 0);
}

/* --- posts from other threads --------------------------------------------- */

/* On the loop's thread: the wake has done its job; the turn that follows runs the posts. */
static void loop_woken(fo_tag *tag, bool ok)
{
    (void)ok;
    fo_loop *loop = fo_container_of(tag, fo_loop, wake_done);
    pthread_mutex_lock(&loop->post_mu);
    grpc_call *call = loop->wake_call;
    loop->wake_call = NULL;
    pthread_mutex_unlock(&loop->post_mu);
    grpc_call_unref(call);
}

/* Under post_mu: makes the loop's queue return soon, unless a wake is already on its way. */
static void wake_locked(fo_loop *loop)
{
    if (loop->wake_call != NULL || loop->closing)
        return;
    if (loop->wake_channel == NULL)
        loop->wake_channel = grpc_lame_client_channel_create("fo-loop-wake", GRPC_STATUS_UNAVAILABLE, "wake");
    loop->wake_call = grpc_channel_create_call(loop->wake_channel, NULL, GRPC_PROPAGATE_DEFAULTS, loop->cq,
                                               grpc_slice_from_static_string("/fo.Loop/Wake"), NULL,
                                               gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    grpc_op op = {.op = GRPC_OP_SEND_INITIAL_METADATA};
    if (grpc_call_start_batch(loop->wake_call, &op, 1, &loop->wake_done, NULL) != GRPC_CALL_OK) {
        grpc_call_unref(loop->wake_call);
        loop->wake_call = NULL;
    }
}

void fo_loop_post(fo_loop *loop, fo_loop_post_fn fn, void *arg)
{
    fo_post *p = fo_xmalloc(sizeof *p);
    *p = (fo_post){.fn = fn, .arg = arg};
    pthread_mutex_lock(&loop->post_mu);
    if (loop->post_tail != NULL)
        loop->post_tail->next = p;
    else
        loop->post_head = p;
    loop->post_tail = p;
    atomic_fetch_add(&loop->npost, 1);
    wake_locked(loop);
    pthread_mutex_unlock(&loop->post_mu);
}

/* Runs every post queued so far; those posted meanwhile wait for the next turn. */
static void run_posts(fo_loop *loop)
{
    if (atomic_load_explicit(&loop->npost, memory_order_acquire) == 0)
        return;
    pthread_mutex_lock(&loop->post_mu);
    fo_post *p = loop->post_head;
    loop->post_head = loop->post_tail = NULL;
    atomic_store(&loop->npost, 0);
    pthread_mutex_unlock(&loop->post_mu);
    while (p != NULL) {
        fo_post *next = p->next;
        p->fn(p->arg);
        free(p);
        p = next;
    }
}

void fo_loop_destroy(fo_loop *loop)
{
    if (loop == NULL)
        return;
    /* Queued posts get their turn first, so the operations they start are
     * drained with the rest; then those that the drain itself posted. */
    run_posts(loop);
    pthread_mutex_lock(&loop->post_mu);
    loop->closing = true;
    pthread_mutex_unlock(&loop->post_mu);
    grpc_completion_queue_shutdown(loop->cq);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(loop->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE)
            dispatch(ev);
    }
    grpc_completion_queue_destroy(loop->cq);
    if (loop->wake_channel != NULL)
        grpc_channel_destroy(loop->wake_channel);
    run_posts(loop);
    pthread_mutex_destroy(&loop->post_mu);
    pthread_cond_destroy(&loop->timer_cv);
    pthread_mutex_destroy(&loop->mu);
    free(loop->heap);
    free(loop);
}

/* --- timer heap ---------------------------------------------------------- */

static void heap_place(fo_loop *loop, size_t i, fo_timer *t)
{
    loop->heap[i] = t;
    t->slot = i;
}

static void heap_up(fo_loop *loop, size_t i)
{
    fo_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (loop->heap[parent]->due_ns <= t->due_ns)
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void heap_down(fo_loop *loop, size_t i)
{
    fo_timer *t = loop->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= loop->nheap)
            break;
        if (child + 1 < loop->nheap && loop->heap[child + 1]->due_ns < loop->heap[child]->due_ns)
            child++;
        if (t->due_ns <= loop->heap[child]->due_ns)
            break;
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, t);
}

void fo_timer_cancel(fo_loop *loop, fo_timer *t)
{
    if (t->slot == FO_TIMER_IDLE)
        return;
    size_t i = t->slot;
    t->slot = FO_TIMER_IDLE;
    fo_timer *last = loop->heap[--loop->nheap];
    if (last == t)
        return;
    heap_place(loop, i, last);
    heap_down(loop, i);
    heap_up(loop, last->slot);
}

void fo_timer_start(fo_loop *loop, fo_timer *t, int64_t due_ns)
{
    fo_timer_cancel(loop, t);
    if (loop->nheap == loop->capheap) {
        loop->capheap = loop->capheap ? loop->capheap * 2 : 64;
        loop->heap = fo_xrealloc(loop->heap, loop->capheap * sizeof *loop->heap);
    }
    t->due_ns = due_ns;
    loop->heap[loop->nheap] = t;
    t->slot = loop->nheap++;
    heap_up(loop, t->slot);
    if (loop->precise && t->slot == 0)
        pthread_cond_signal(&loop->timer_cv);
}

/* Fires every due timer; returns when the next one is due (or the poll bound). */
static int64_t fire_due_timers(fo_loop *loop)
{
    int64_t now = fo_now_ns();
    while (loop->nheap > 0 && loop->heap[0]->due_ns <= now) {
        fo_timer *t = loop->heap[0];
        fo_timer_cancel(loop, t);
        t->fn(t);
    }
    int64_t wake = now + POLL_NS;
    if (loop->nheap > 0 && loop->heap[0]->due_ns < wake)
        wake = loop->heap[0]->due_ns;
    return wake;
}

/* --- the precise timers' thread ------------------------------------------ */

static struct timespec timespec_of(int64_t ns)
{
    return (struct timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
}

/* Sleeps until the first timer is due, then fires what is due: under loop->mu throughout but for the sleeps. */
static void *timer_thread_main(void *arg)
{
    fo_loop *loop = arg;
    /* The kernel's default 50 µs of slack would be most of the lateness left. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    pthread_mutex_lock(&loop->mu);
    while (!loop->timer_thread_quit) {
        if (loop->nheap == 0 || (loop->done != NULL && *loop->done)) {
            pthread_cond_wait(&loop->timer_cv, &loop->mu);
            continue;
        }
        int64_t due_ns = loop->heap[0]->due_ns, now = fo_now_ns();
        if (due_ns <= now) {
            fire_due_timers(loop);
            continue;
        }
        struct timespec until = timespec_of(due_ns - now > LONG_SLEEP_NS ? due_ns - SLEEP_LEAD_NS : due_ns);
        pthread_cond_timedwait(&loop->timer_cv, &loop->mu, &until);
    }
    pthread_mutex_unlock(&loop->mu);
    return NULL;
}

static void timer_thread_start(fo_loop *loop)
{
    loop->timer_thread_quit = false;
    if (pthread_create(&loop->timer_thread, NULL, timer_thread_main, loop) != 0)
        abort();
}

/* Called and returns with loop->mu held. */
static void timer_thread_stop(fo_loop *loop)
{
    loop->timer_thread_quit = true;
    pthread_cond_signal(&loop->timer_cv);
    pthread_mutex_unlock(&loop->mu);
    pthread_join(loop->timer_thread, NULL);
    pthread_mutex_lock(&loop->mu);
}

/* --- running ------------------------------------------------------------- */

/* How long the queue may wait: up to the next timer unless the timer thread fires it. */
static gpr_timespec queue_deadline(const fo_loop *loop, int64_t wake)
{
    int64_t wait_ns = wake - fo_now_ns();
    if (loop->precise)
        wait_ns = POLL_NS;
    /*
     * gRPC rounds a deadline up to its millisecond clock and sleeps whole
     * milliseconds, so a timer would fire 1-2 ms late: aim one early,
     * and let the short wait that follows land the rest.
     */
    else if (wait_ns > FO_NS_PER_MS)
        wait_ns -= FO_NS_PER_MS;
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_nanos(wait_ns > 0 ? wait_ns : 0, GPR_TIMESPAN));
}

/* Only a loop with a timer thread has anyone to keep out: a plain loop takes no lock. */
static void loop_lock(fo_loop *loop)
{
    if (loop->precise)
        pthread_mutex_lock(&loop->mu);
}

static void loop_unlock(fo_loop *loop)
{
    if (loop->precise)
        pthread_mutex_unlock(&loop->mu);
}

static bool may_return(fo_loop *loop, const bool *done)
{
    if (done != NULL && *done)
        return true;
    return loop->holds == 0 && atomic_load_explicit(&loop->stop, memory_order_relaxed);
}

void fo_loop_run(fo_loop *loop, const bool *done)
{
    loop_lock(loop);
    loop->done = done;
    if (loop->precise)
        timer_thread_start(loop);
    while (!may_return(loop, done)) {
        run_posts(loop);
        int64_t wake = fire_due_timers(loop);
        if (done && *done)
            break;
        gpr_timespec deadline = queue_deadline(loop, wake);
        loop_unlock(loop);
        grpc_event ev = grpc_completion_queue_next(loop->cq, deadline, NULL);
        loop_lock(loop);
        if (ev.type == GRPC_OP_COMPLETE)
            dispatch(ev);
        else if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
    }
    if (loop->precise)
        timer_thread_stop(loop);
    loop_unlock(loop);
}

void fo_loop_hold(fo_loop *loop) { loop->holds++; }

void fo_loop_release(fo_loop *loop) { loop->holds--; }

void fo_loop_stop(fo_loop *loop) { atomic_store(&loop->stop, true); }
