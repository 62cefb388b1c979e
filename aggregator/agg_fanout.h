/*
 * agg_fanout: one feature of a request as a runner task. start() sends the
 * request's shared UsageRequest to the feature on the request's loop. The
 * call is not a gRPC child of the incoming call: it carries the incoming
 * call's deadline itself (capped by the feature's timeout), and the
 * client's cancellation reaches it through the runner (agg_request cancels
 * the run, the run cancels its tasks). Completion classifies the reply into
 * an outcome and reports to the runner. A feature missing from the config
 * reports UNKNOWN_FEATURE at once, without a call; one whose circuit
 * breaker is open reports CIRCUIT_OPEN at once (UNAVAILABLE, 0 attempts),
 * and every call's outcome is the breaker's verdict on it.
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
} agg_fanout;

typedef struct agg_feature_call {
    const agg_fanout *fanout;
    const char *name;         /* borrowed */
    const agg_target *target; /* NULL: not configured */
    runner *run;
    size_t index;
    fo_client_call *cc;
    int64_t started_ns;
    int64_t latency_us;
    int32_t attempts;
    agg_breaker_ticket ticket; /* what the feature's breaker said at the start */
    bool own_deadline;         /* the feature's timeout, not the caller's deadline, ends the call */
    /* The call's own traceparent, sent as it starts. */
    char traceparent[FO_TRACEPARENT_LEN + 1];
    /* The outcome, once reported. */
    fo_payload *reply;                       /* the report as the feature encoded it */
    Fanout__Feature__V1__UsageReport *usage; /* reply parsed, in the fanout's arena */
    fo_status code;
    char *message;
    Fanout__V1__ErrorKind kind;
} agg_feature_call;

void agg_feature_call_init(agg_feature_call *fc, const agg_fanout *fanout, const char *name, const agg_target *target);
runner_task agg_feature_call_task(agg_feature_call *fc);
/* The outcome for the reduction; err is the runner's word for a call that never reported. */
void agg_feature_call_outcome(const agg_feature_call *fc, int32_t index, const fo_error *err, agg_outcome *out);
void agg_feature_call_release(agg_feature_call *fc);

#endif
