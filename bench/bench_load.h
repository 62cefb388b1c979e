/*
 * bench_load: the closed loop. One thread, one fo_loop, -c N calls in flight:
 * each answered call is replaced at once by a call for a random customer on
 * the next channel (round robin). No thread per call.
 *
 * Phases: warm-up (ends after --warmup or --warmup-requests), then the
 * measured window (ends after --duration or --requests), in which every
 * answered call counts, latency from start to the loop seeing the answer.
 * At the window's ends the named processes and this one are sampled; after
 * it the calls still in flight are cancelled and drained, so the run always
 * ends within the window plus one round trip.
 */
#ifndef BENCH_LOAD_H
#define BENCH_LOAD_H

#include <stdint.h>

#include "bench_hist.h"
#include "bench_opts.h"
#include "bench_target.h"
#include "fo_error.h"

typedef struct bench_result {
    bench_hist latency;
    uint64_t warmup_calls;
    uint64_t calls;                      /* answered in the window, whatever the status */
    uint64_t by_status[FO_STATUS_COUNT]; /* of those */
    uint64_t partial;                    /* aggregate mode: OK replies with a failed feature */
    uint64_t failed_features;
    uint64_t feature_calls;
    int64_t warmup_ns; /* as it ran: --warmup or --warmup-requests, whichever ended it */
    int64_t window_ns;
    double self_cpu_s; /* this process, over the window */
    long self_rss_kb;  /* this process's resident set at the window's end */
} bench_result;

/*
 * Runs the loop against t. Samples o->groups into their start and end. Errors
 * are set-up failures; failed calls are results.
 */
fo_error *bench_load_run(const bench_opts *o, const bench_target *t, bench_result *out);

#endif
