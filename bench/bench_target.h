/*
 * bench_target: what fanout-bench calls, set up once before the clock starts.
 *
 * - K channels to the target, each with its own TCP connection: gRPC shares a
 *   subchannel between channels whose arguments are equal, so each channel gets
 *   a slightly different max_message_bytes (64 MiB + i), the one per-channel
 *   knob fo_channel_opts offers.
 * - One packed request per customer of the pool, so the loop never packs.
 * - Checking a reply: its status, and in aggregate mode how many features
 *   the aggregator reports as failed (a fast answer made of errors is no
 *   success).
 */
#ifndef BENCH_TARGET_H
#define BENCH_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "bench_opts.h"
#include "fo_error.h"
#include "fo_rpc.h"

typedef struct bench_target {
    bench_mode mode;
    fo_channel **channels;
    void **methods; /* the call path registered on each channel */
    size_t nchannels;
    fo_payload **requests; /* one per customer */
    size_t nrequests;
} bench_target;

/* What one finished call said. */
typedef struct bench_reply {
    fo_status status;
    uint32_t feature_calls;   /* calls the target made to feature services for it */
    uint32_t failed_features; /* aggregate mode: results that carry an error */
} bench_reply;

fo_error *bench_target_open(const bench_opts *o, bench_target *t);
void bench_target_close(bench_target *t);

/* Reads a finished call; unpacks the reply in aggregate mode. */
void bench_target_check(const bench_target *t, const fo_client_call *cc, bench_reply *out);

#endif
