/*
 * agg_fanout: one feature of a request as a runner task: one feature
 * *result*, reached with up to the feature's hedge max_attempts calls
 * (attempts). start() sends the request's shared UsageRequest to the feature
 * on the request's loop. The calls are not gRPC children of the incoming
 * call: each carries the incoming call's deadline itself (capped by the
 * feature's timeout, counted from the first attempt), and the client's
 * cancellation reaches them through the runner (agg_request cancels the run,
 * the run cancels its tasks). A feature missing from the config reports
 * UNKNOWN_FEATURE at once, without a call; one whose circuit breaker is open
 * reports CIRCUIT_OPEN at once (UNAVAILABLE, 0 attempts), and the result's
 * outcome is the breaker's verdict on it.
 *
 * A result's life, in its one state field:
 *
 *   IDLE ─start─▶ CALLING ──a good answer: reported──▶ DRAINING ──nothing in flight──▶ REPORTED
 *                  │  ▲ │ ╲   (the other attempts are cancelled)             ▲
 *   hedge timer:   │  │ │  ╲──last attempt failed, no retry left: reported ──┤
 *   another call   │  │ └──the run cancels──▶ SETTLING ──nothing in flight: reported
 *   (budget)       ▼  │ backoff over: a retry
 *                 BACKOFF (the last attempt failed with a retryable code)
 *
 * A hedge starts when no attempt has answered after the hedge delay and
 * the feature's hedges have been winning (agg_hedge.h), a retry after a
 * jittered backoff when the last attempt in flight failed retryably
 * (agg_retry.h); both need the feature's budget (agg_budget.h) and room
 * before the deadline. A failure while another
 * attempt is in flight waits for that one: the result fails only when its
 * last attempt does. Every attempt after the first carries
 * grpc-previous-rpc-attempts (gRFC A6). An attempt that a feature server's
 * GOAWAY refused goes again as the same attempt (gRPC's transparent retry).
 *
 * A winning answer is reported at once: the aggregate does not wait for the
 * cancelled losers, whose completions may queue behind a busy loop's other
 * work. They drain under the request, which counts every call in flight
 * (agg_fanout.calls) and is freed only once none is left, so no call
 * outlives its request. A failure is reported once no attempt is in flight.
 */
#ifndef AGG_FANOUT_H
#define AGG_FANOUT_H

#include <stdint.h>

#include "agg_reduce.h"
#include "fo_arena.h"
#include "agg_service.h"
#include "agg_trace.h"
#include "runner.h"

/* What every feature call of one request shares. */
typedef struct agg_fanout {
    fo_loop *loop;
    int64_t deadline_ns; /* the incoming call's */
    const fo_md *md;     /* forwarded metadata */
    size_t nmd;
    const agg_trace *trace; /* each call's traceparent is a child of it */
    const fo_payload *request;
    fo_arena *replies; /* where replies are unpacked; they live as long as it does */
    size_t calls;      /* feature calls in flight, reported results' losers included */
    /* Once calls reaches 0 after every result has been reported; may free the fanout. */
    void (*drained)(struct agg_fanout *f);
} agg_fanout;

typedef enum agg_result_state {
    AGG_RESULT_IDLE,     /* not started */
    AGG_RESULT_CALLING,  /* attempts in flight, none answered well; the timer, when armed, starts a hedge */
    AGG_RESULT_BACKOFF,  /* nothing in flight; the timer starts a retry */
    AGG_RESULT_SETTLING, /* the run cancelled it; its attempts drain before it reports */
    AGG_RESULT_DRAINING, /* an answer won and was reported; the cancelled losers drain */
    AGG_RESULT_REPORTED, /* reported to the runner; nothing in flight */
} agg_result_state;

typedef struct agg_feature_call agg_feature_call;

/* How often one attempt is sent again after a GOAWAY refused it (gRPC's transparent retry). */
#define AGG_MAX_RESENDS 3

/* One call of a result. */
typedef struct agg_attempt {
    agg_feature_call *fc;
    fo_client_call *cc; /* NULL once it ended */
    int64_t started_ns;
    int resends; /* times a GOAWAY refused it and it went again */
    bool hedge;  /* started by the hedge timer */
} agg_attempt;

struct agg_feature_call {
    agg_fanout *fanout;
    const char *name;         /* borrowed */
    const agg_target *target; /* NULL: not configured */
    runner *run;
    size_t index;
    agg_result_state state;
    agg_attempt tries[AGG_HEDGE_MAX_ATTEMPTS];
    int in_flight;
    fo_timer next;          /* starts the next attempt: a hedge in CALLING, a retry in BACKOFF */
    int64_t hedge_delay_ns; /* -1: no hedge */
    int64_t deadline_ns;    /* every attempt's */
    bool retryable;         /* the last failure may be retried */
    int64_t started_ns;
    int64_t latency_us;
    int32_t attempts;          /* calls started */
    int32_t hedges, retries;   /* of those, started by the hedge timer and after a retryable failure */
    int32_t answered_by;       /* 1-based attempt of the answer reported; 0: none */
    agg_breaker_ticket ticket; /* what the feature's breaker said at the start */
    bool own_deadline;         /* the feature's timeout, not the caller's deadline, ends the call */
    /* Each attempt's own traceparent, written as it starts (the core copies it). */
    char traceparent[FO_TRACEPARENT_LEN + 1];
    /* The outcome: the winning reply, or the last failure. */
    fo_payload *reply;                       /* the report as the feature encoded it */
    Fanout__Feature__V1__UsageReport *usage; /* reply parsed, in the fanout's arena */
    fo_status code;
    char *message;
    Fanout__V1__ErrorKind kind;
};

void agg_feature_call_init(agg_feature_call *fc, agg_fanout *fanout, const char *name, const agg_target *target);
runner_task agg_feature_call_task(agg_feature_call *fc);
/* The outcome for the reduction; err is the runner's word for a call that never reported. */
void agg_feature_call_outcome(const agg_feature_call *fc, int32_t index, const fo_error *err, agg_outcome *out);
void agg_feature_call_release(agg_feature_call *fc);

#endif
