/*
 * Unit tests for common/fo_loop's timers, on a real loop: due order, never
 * early, cancelling and re-arming from callbacks, and precise timers, whose
 * thread fires them on time but never alongside the loop's own work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <grpc/grpc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "fo_loop.h"
#include "fo_loop_internal.h"
#include "fo_rpc.h"
#include "fo_time.h"

#define NTIMERS 8

typedef struct probe {
    fo_timer timer;
    int64_t fired_ns; /* 0: not fired */
    int order;        /* 1-based firing rank */
} probe;

static probe probes[NTIMERS];
static int nfired;
static bool done;

static void probe_fire(fo_timer *t)
{
    probe *p = fo_container_of(t, probe, timer);
    p->fired_ns = fo_now_ns();
    p->order = ++nfired;
    done = nfired == NTIMERS;
}

static fo_loop *new_loop(bool precise)
{
    fo_loop *loop = fo_loop_create();
    fo_loop_set_precise_timers(loop, precise);
    nfired = 0;
    done = false;
    return loop;
}

/* Armed out of order, 1-8 ms ahead; they fire in due order, none before it is due. */
static void fire_in_due_order(bool precise)
{
    fo_loop *loop = new_loop(precise);
    static const int ahead_ms[NTIMERS] = {5, 1, 8, 3, 2, 7, 4, 6};
    int64_t t0 = fo_now_ns();
    for (int i = 0; i < NTIMERS; i++) {
        probes[i] = (probe){0};
        fo_timer_init(&probes[i].timer, probe_fire);
        fo_timer_start(loop, &probes[i].timer, t0 + ahead_ms[i] * FO_NS_PER_MS);
    }
    fo_loop_run(loop, &done);
    for (int i = 0; i < NTIMERS; i++) {
        assert_int_equal(probes[i].order, ahead_ms[i]);
        assert_true(probes[i].fired_ns >= probes[i].timer.due_ns);
        assert_false(fo_timer_armed(&probes[i].timer));
    }
    fo_loop_destroy(loop);
}

static void timers_fire_in_due_order_never_early(void **state)
{
    (void)state;
    fire_in_due_order(false);
}

static void precise_timers_fire_in_due_order_never_early(void **state)
{
    (void)state;
    fire_in_due_order(true);
}

/* --- a chain of timers, each armed by the one before ---------------------- */

#define CHAIN 21
#define CHAIN_STEP_NS (3 * FO_NS_PER_MS)

typedef struct chain {
    fo_timer timer;
    fo_loop *loop;
    fo_timer victim; /* armed, then cancelled by the chain: must never fire */
    int64_t late_ns[CHAIN];
    int n;
} chain;

static chain C;

static void victim_fire(fo_timer *t)
{
    (void)t;
    fail_msg("a cancelled timer fired");
}

static void chain_step(fo_timer *t)
{
    chain *c = fo_container_of(t, chain, timer);
    c->late_ns[c->n++] = fo_now_ns() - t->due_ns;
    fo_timer_cancel(c->loop, &c->victim);
    if (c->n == CHAIN) {
        done = true;
        return;
    }
    fo_timer_start(c->loop, &c->victim, fo_now_ns() + 2 * CHAIN_STEP_NS);
    fo_timer_start(c->loop, t, fo_now_ns() + CHAIN_STEP_NS);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/*
 * Each timer of the chain arms the next, and a victim timer that it cancels
 * each time. A precise loop's own thread waits up to its 100 ms poll bound in
 * the queue, so only the timer thread can fire these on time; it does once
 * the kernel wakes it, tens to a couple of hundred µs late on a VM. The bound
 * is coarse on purpose.
 */
static void precise_timers_fire_on_time(void **state)
{
    (void)state;
    fo_loop *loop = new_loop(true);
    C = (chain){.loop = loop};
    fo_timer_init(&C.timer, chain_step);
    fo_timer_init(&C.victim, victim_fire);
    fo_timer_start(loop, &C.victim, fo_now_ns() + 2 * CHAIN_STEP_NS);
    fo_timer_start(loop, &C.timer, fo_now_ns() + CHAIN_STEP_NS);
    fo_loop_run(loop, &done);
    assert_int_equal(C.n, CHAIN);
    qsort(C.late_ns, CHAIN, sizeof *C.late_ns, cmp_i64);
    assert_true(C.late_ns[0] >= 0);
    int64_t median_us = C.late_ns[CHAIN / 2] / FO_NS_PER_US;
    print_message("precise timers: median lateness %lld us\n", (long long)median_us);
    assert_true(median_us < 800);
    fo_loop_destroy(loop);
}

static void probe_fire_and_return(fo_timer *t)
{
    probe_fire(t);
    done = true;
}

/*
 * A run that returns with a timer still armed stops its timer thread: the
 * timer does not fire between runs, only in the next run.
 */
static void precise_timers_fire_only_while_running(void **state)
{
    (void)state;
    fo_loop *loop = new_loop(true);
    for (int i = 0; i < 2; i++) {
        probes[i] = (probe){0};
        fo_timer_init(&probes[i].timer, probe_fire_and_return);
    }
    fo_timer_start(loop, &probes[0].timer, fo_now_ns() + 5 * FO_NS_PER_MS);
    fo_timer_start(loop, &probes[1].timer, fo_now_ns() + 20 * FO_NS_PER_MS);
    fo_loop_run(loop, &done);
    assert_int_equal(probes[0].order, 1);
    assert_true(fo_timer_armed(&probes[1].timer));

    struct timespec nap = {.tv_nsec = 60 * FO_NS_PER_MS};
    nanosleep(&nap, NULL);
    assert_int_equal(probes[1].order, 0);

    done = false;
    fo_loop_run(loop, &done);
    assert_int_equal(probes[1].order, 2);
    fo_loop_destroy(loop);
}

/* --- the timer thread and the loop's thread never overlap ------------------ */

/*
 * Completions from a lame channel keep the loop's thread dispatching while
 * the timer thread fires a timer every 100 µs; both kinds of callback check
 * that nobody else is inside.
 */
typedef struct overlap {
    fo_tag tag;
    fo_timer timer;
    fo_loop *loop;
    grpc_channel *channel;
    grpc_call *call;
    grpc_metadata_array md;
    grpc_status_code status;
    grpc_slice details;
    atomic_int inside; /* callbacks running now */
    int overlaps;      /* times one found another inside */
    int calls, ticks;
    int failed_ops; /* lame calls that did not end as lame calls do */
    int64_t end_ns;
} overlap;

static overlap O;

/* Counted, not asserted: a failure on the timer thread could not unwind the test. */
static void enter(overlap *o)
{
    if (atomic_fetch_add(&o->inside, 1) != 0)
        o->overlaps++;
}

static void leave(overlap *o) { atomic_fetch_sub(&o->inside, 1); }

static void start_lame_call(overlap *o)
{
    o->call = grpc_channel_create_call(o->channel, NULL, GRPC_PROPAGATE_DEFAULTS, fo_loop_cq(o->loop),
                                       grpc_slice_from_static_string("/test.Lame/Call"), NULL,
                                       gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_metadata_array_init(&o->md);
    grpc_op ops[2] = {{.op = GRPC_OP_SEND_INITIAL_METADATA},
                      {.op = GRPC_OP_RECV_STATUS_ON_CLIENT,
                       .data.recv_status_on_client = {
                           .trailing_metadata = &o->md, .status = &o->status, .status_details = &o->details}}};
    assert_int_equal(grpc_call_start_batch(o->call, ops, 2, &o->tag, NULL), GRPC_CALL_OK);
}

static void lame_call_done(fo_tag *tag, bool ok)
{
    overlap *o = fo_container_of(tag, overlap, tag);
    enter(o);
    o->failed_ops += !ok || o->status != GRPC_STATUS_UNAVAILABLE;
    grpc_metadata_array_destroy(&o->md);
    grpc_slice_unref(o->details);
    grpc_call_unref(o->call);
    o->calls++;
    if (fo_now_ns() < o->end_ns)
        start_lame_call(o);
    else
        done = true;
    leave(o);
}

static void tick(fo_timer *t)
{
    overlap *o = fo_container_of(t, overlap, timer);
    enter(o);
    o->ticks++;
    fo_timer_start(o->loop, t, fo_now_ns() + 100 * FO_NS_PER_US);
    leave(o);
}

static void precise_timers_never_overlap_the_loop(void **state)
{
    (void)state;
    fo_loop *loop = new_loop(true);
    O = (overlap){.loop = loop, .end_ns = fo_now_ns() + 200 * FO_NS_PER_MS};
    O.tag.fn = lame_call_done;
    O.channel = grpc_lame_client_channel_create("lame", GRPC_STATUS_UNAVAILABLE, "lame for the test");
    fo_timer_init(&O.timer, tick);
    fo_timer_start(loop, &O.timer, fo_now_ns() + 100 * FO_NS_PER_US);
    start_lame_call(&O);
    fo_loop_run(loop, &done);
    fo_timer_cancel(loop, &O.timer);
    assert_int_equal(O.overlaps, 0);
    assert_int_equal(O.failed_ops, 0);
    assert_true(O.calls > 10);
    assert_true(O.ticks > 10);
    grpc_channel_destroy(O.channel);
    fo_loop_destroy(loop);
}

int main(void)
{
    fo_rpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_fire_in_due_order_never_early),
        cmocka_unit_test(precise_timers_fire_in_due_order_never_early),
        cmocka_unit_test(precise_timers_fire_on_time),
        cmocka_unit_test(precise_timers_fire_only_while_running),
        cmocka_unit_test(precise_timers_never_overlap_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
