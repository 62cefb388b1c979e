/*
 * fo_loop: one thread's event loop, a gRPC completion queue plus a timer heap.
 *
 * Everything asynchronous in fanout completes through an fo_tag: a small
 * struct embedded in its owner whose address is the completion-queue tag. The
 * loop hands each completion to tag->fn(tag, ok); the owner gets back to
 * itself with fo_container_of. No side tables, no allocation per tag.
 *
 * Timers (delays in the mock services, the runner's whole-run deadline) live
 * in the same loop: the loop sleeps in grpc_completion_queue_next until the
 * next timer is due, which gRPC rounds to its millisecond clock. A loop, its
 * timers and everything bound to its queue belong to the one thread that runs
 * it; only fo_loop_stop() and fo_loop_post() may be called from another
 * thread. With precise timers, a timer thread fires them as soon as the
 * kernel wakes it while the loop's thread waits in the queue; the two never
 * run the loop's work at the same time.
 */
#ifndef FO_LOOP_H
#define FO_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define fo_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

typedef struct fo_tag fo_tag;
typedef void (*fo_tag_fn)(fo_tag *tag, bool ok);
struct fo_tag {
    fo_tag_fn fn;
};

typedef struct fo_timer fo_timer;
typedef void (*fo_timer_fn)(fo_timer *timer);
struct fo_timer {
    fo_timer_fn fn;
    int64_t due_ns; /* fo_now_ns() clock */
    size_t slot;    /* position in the heap; FO_TIMER_IDLE when not armed */
};
#define FO_TIMER_IDLE SIZE_MAX

typedef struct fo_loop fo_loop;

fo_loop *fo_loop_create(void);
/* Shuts the queue down, drains it (dispatching what completes) and frees it. */
void fo_loop_destroy(fo_loop *loop);

/*
 * Runs until *done becomes true (done may be NULL), or until fo_loop_stop()
 * was called and nothing holds the loop any more.
 */
void fo_loop_run(fo_loop *loop, const bool *done);
/*
 * Before fo_loop_run: timers fire on time instead of up to a millisecond
 * late, from a thread of their own that fo_loop_run starts and joins. Their
 * callbacks then run on that thread (under the loop's lock), so they must not
 * rely on thread-local state. Once a timer sets fo_loop_run's done, no other
 * timer fires; the run returns at the loop's next wake-up (a completion, or
 * the 100 ms poll bound).
 */
void fo_loop_set_precise_timers(fo_loop *loop, bool on);
/* Thread-safe: asks fo_loop_run to return once the loop is no longer held. */
void fo_loop_stop(fo_loop *loop);
/* Work in progress (a call, a request) holds its loop so a stop lets it finish. */
void fo_loop_hold(fo_loop *loop);
void fo_loop_release(fo_loop *loop);

/*
 * Thread-safe: fn(arg) runs once on the loop's own thread, at the start of its
 * next turn, in the order posted. The loop wakes up for it (an HTTP request
 * handed to a worker must not wait for the poll bound). Posts still queued
 * when the loop is destroyed run then, on the destroying thread.
 */
typedef void (*fo_loop_post_fn)(void *arg);
void fo_loop_post(fo_loop *loop, fo_loop_post_fn fn, void *arg);

static inline void fo_timer_init(fo_timer *t, fo_timer_fn fn)
{
    t->fn = fn;
    t->due_ns = 0;
    t->slot = FO_TIMER_IDLE;
}
/* Arms (or re-arms) t to fire at due_ns. */
void fo_timer_start(fo_loop *loop, fo_timer *t, int64_t due_ns);
/* Disarms t; harmless when it is not armed. */
void fo_timer_cancel(fo_loop *loop, fo_timer *t);
static inline bool fo_timer_armed(const fo_timer *t) { return t->slot != FO_TIMER_IDLE; }

#endif
