/* bench_load: the closed loop on one completion queue (see bench_load.h). */
#include "bench_load.h"
#include "fo_alloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bench_proc.h"
#include "fo_loop.h"
#include "fo_time.h"

typedef enum bench_phase {
    BENCH_WARMUP,
    BENCH_MEASURE,
    BENCH_DRAIN, /* no new calls; waiting for the cancelled ones */
} bench_phase;

typedef struct bench_load bench_load;

/* One of the N places a call may be in flight in. */
typedef struct bench_slot {
    bench_load *ld;
    fo_client_call *cc; /* NULL between calls */
    int64_t started_ns;
} bench_slot;

struct bench_load {
    const bench_opts *o;
    const bench_target *t;
    bench_result *res;
    fo_loop *loop;
    fo_timer phase_end;
    bench_phase phase;
    bench_slot *slots;
    size_t in_flight;
    size_t next_channel;
    uint64_t rng;
    int64_t run_start_ns;
    int64_t window_start_ns;
    double self_cpu_start_s;
    fo_error *err; /* a call that could not even start ends the run */
    bool done;
};

/* xorshift64*: fast, and the customer sequence is repeatable from --seed. */
static uint64_t next_random(bench_load *ld)
{
    ld->rng ^= ld->rng >> 12;
    ld->rng ^= ld->rng << 25;
    ld->rng ^= ld->rng >> 27;
    return ld->rng * 0x2545F4914F6CDD1DULL;
}

static void sample_groups(bench_load *ld, bool at_start)
{
    for (size_t i = 0; i < ld->o->ngroups; i++) {
        bench_proc_group *g = &ld->o->groups[i];
        bench_proc_sample_group(g, at_start ? &g->start : &g->end);
    }
}

static void begin_window(bench_load *ld)
{
    ld->phase = BENCH_MEASURE;
    sample_groups(ld, true);
    ld->self_cpu_start_s = bench_self_cpu_s();
    ld->window_start_ns = fo_now_ns();
    ld->res->warmup_ns = ld->window_start_ns - ld->run_start_ns;
    fo_timer_start(ld->loop, &ld->phase_end, ld->window_start_ns + ld->o->duration_us * FO_NS_PER_US);
}

static void end_window(bench_load *ld)
{
    ld->res->window_ns = fo_now_ns() - ld->window_start_ns;
    ld->res->self_cpu_s = bench_self_cpu_s() - ld->self_cpu_start_s;
    ld->res->self_rss_kb = bench_self_rss_kb();
    sample_groups(ld, false);
    ld->phase = BENCH_DRAIN;
    fo_timer_cancel(ld->loop, &ld->phase_end);
    for (int i = 0; i < ld->o->concurrency; i++) {
        if (ld->slots[i].cc != NULL)
            fo_client_call_cancel(ld->slots[i].cc);
    }
    ld->done = ld->in_flight == 0;
}

static void phase_timer(fo_timer *timer)
{
    bench_load *ld = fo_container_of(timer, bench_load, phase_end);
    if (ld->phase == BENCH_WARMUP)
        begin_window(ld);
    else if (ld->phase == BENCH_MEASURE)
        end_window(ld);
}

static void call_done(fo_client_call *cc, void *ud);

static void start_call(bench_slot *s)
{
    bench_load *ld = s->ld;
    size_t ch = ld->next_channel++ % ld->t->nchannels;
    fo_call_spec spec = {
        .channel = ld->t->channels[ch],
        .method = ld->t->methods[ch],
        .loop = ld->loop,
        .deadline_ns = fo_now_ns() + ld->o->timeout_us * FO_NS_PER_US,
        .md = ld->o->md,
        .nmd = ld->o->nmd,
        .request = ld->t->requests[next_random(ld) % ld->t->nrequests],
    };
    s->started_ns = fo_now_ns();
    fo_error *err = NULL;
    s->cc = fo_client_call_start(&spec, call_done, s, &err);
    if (s->cc == NULL) {
        /* Retrying at once could spin forever without yielding: stop the run. */
        if (ld->err == NULL)
            ld->err = err;
        else
            fo_error_free(err);
        if (ld->phase != BENCH_DRAIN)
            end_window(ld);
        return;
    }
    ld->in_flight++;
}

static void count_call(bench_load *ld, const bench_reply *r, int64_t latency_ns)
{
    bench_result *res = ld->res;
    res->calls++;
    res->by_status[(unsigned)r->status < FO_STATUS_COUNT ? r->status : FO_STATUS_UNKNOWN]++;
    res->feature_calls += r->feature_calls;
    res->failed_features += r->failed_features;
    res->partial += r->status == FO_STATUS_OK && r->failed_features > 0;
    bench_hist_record(&res->latency, latency_ns);
}

/* Moves to the next phase when this answer completed a count bound. */
static void after_count(bench_load *ld)
{
    const bench_opts *o = ld->o;
    if (ld->phase == BENCH_WARMUP && o->warmup_requests > 0 && ld->res->warmup_calls >= o->warmup_requests)
        begin_window(ld);
    else if (ld->phase == BENCH_MEASURE && o->requests > 0 && ld->res->calls >= o->requests)
        end_window(ld);
}

static void call_done(fo_client_call *cc, void *ud)
{
    bench_slot *s = ud;
    bench_load *ld = s->ld;
    int64_t latency_ns = fo_now_ns() - s->started_ns;
    ld->in_flight--;
    if (ld->phase == BENCH_MEASURE) {
        bench_reply r;
        bench_target_check(ld->t, cc, &r);
        count_call(ld, &r, latency_ns);
    } else if (ld->phase == BENCH_WARMUP) {
        ld->res->warmup_calls++;
    }
    fo_client_call_free(cc);
    s->cc = NULL;
    after_count(ld);
    if (ld->phase != BENCH_DRAIN)
        start_call(s);
    if (ld->phase == BENCH_DRAIN && ld->in_flight == 0)
        ld->done = true;
}

static void start_all(bench_load *ld)
{
    const bench_opts *o = ld->o;
    ld->run_start_ns = fo_now_ns();
    if (o->warmup_us > 0)
        fo_timer_start(ld->loop, &ld->phase_end, ld->run_start_ns + o->warmup_us * FO_NS_PER_US);
    else if (o->warmup_requests == 0)
        begin_window(ld);
    for (int i = 0; i < o->concurrency && ld->phase != BENCH_DRAIN; i++)
        start_call(&ld->slots[i]);
}

fo_error *bench_load_run(const bench_opts *o, const bench_target *t, bench_result *out)
{
    memset(out, 0, sizeof *out);
    bench_hist_init(&out->latency);
    bench_load ld = {
        .o = o,
        .t = t,
        .res = out,
        .loop = fo_loop_create(),
        .phase = BENCH_WARMUP,
        .rng = o->seed ? o->seed : 1,
    };
    fo_timer_init(&ld.phase_end, phase_timer);
    ld.slots = fo_xcalloc((size_t)o->concurrency, sizeof *ld.slots);
    for (int i = 0; i < o->concurrency; i++)
        ld.slots[i].ld = &ld;
    start_all(&ld);
    fo_loop_run(ld.loop, &ld.done);
    fo_timer_cancel(ld.loop, &ld.phase_end);
    fo_loop_destroy(ld.loop);
    free(ld.slots);
    return ld.err;
}
