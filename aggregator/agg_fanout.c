/* agg_fanout: start one feature call, classify its reply, report to the runner. */
#include "agg_fanout.h"
#include "fo_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_metrics.h"
#include "agg_reply.h"
#include "fanout/feature/v1/feature.pb-c.h"
#include "fo_time.h"
#include "fo_utf8.h"

void agg_feature_call_init(agg_feature_call *fc, const agg_fanout *fanout, const char *name, const agg_target *target)
{
    memset(fc, 0, sizeof *fc);
    fc->fanout = fanout;
    fc->name = name;
    fc->target = target;
}

/* A timeout the caller's deadline cut short says nothing about the feature. */
static agg_breaker_verdict breaker_verdict(const agg_feature_call *fc, Fanout__V1__ErrorKind kind)
{
    if (kind == FANOUT__V1__ERROR_KIND__DEADLINE && !fc->own_deadline)
        return AGG_BREAKER_NO_VERDICT;
    return agg_breaker_verdict_of(&fc->target->cfg->breaker, kind);
}

/* Records the outcome and reports it; err_message NULL means success. */
static void report(agg_feature_call *fc, fo_status code, Fanout__V1__ErrorKind kind, const char *err_message)
{
    fc->latency_us = fc->started_ns ? (fo_now_ns() - fc->started_ns) / FO_NS_PER_US : 0;
    fo_error *err = NULL;
    if (err_message != NULL) {
        fc->code = code;
        fc->kind = kind;
        /* A feature's status message goes into protobuf strings: UTF-8 only. */
        fc->message = fo_utf8_repair(err_message);
        err = FO_ERROR(code, "%s", fc->message);
    }
    if (fc->target != NULL)
        agg_breaker_record(fc->target->breaker, fc->ticket, breaker_verdict(fc, kind), fo_now_ns() / FO_NS_PER_MS);
    agg_metrics_feature(fc->target ? fc->target->cfg : NULL, kind, fc->started_ns ? fc->latency_us : -1);
    runner_task_done(fc->run, fc->index, err);
}

static void call_done(fo_client_call *cc, void *ud)
{
    agg_feature_call *fc = ud;
    fo_status status = fo_client_call_status(cc);
    char *failure = status != FO_STATUS_OK ? fo_xstrdup(fo_client_call_message(cc)) : NULL;
    if (status == FO_STATUS_OK)
        fc->reply = fo_client_call_take_reply(cc);
    if (fc->reply != NULL) {
        fc->usage = fanout__feature__v1__usage_report__unpack(fo_arena_protobuf(fc->fanout->replies),
                                                              fo_payload_size(fc->reply), fo_payload_data(fc->reply));
        if (fc->usage != NULL && !agg_reply_ok(fc->usage))
            fc->usage = NULL; /* freed with the arena */
    }
    /*
     * The call goes now rather than with the request: its gRPC arena, a few
     * KB, is the bulk of what an aggregate holds while other features are
     * still on their way. Feature calls are not gRPC children of the incoming
     * call; the request cancels them itself (agg_request's on_client_cancel).
     */
    fo_client_call_free(cc);
    fc->cc = NULL;
    if (failure != NULL)
        report(fc, status, agg_error_kind_for_status(status), failure);
    else if (fc->usage == NULL)
        report(fc, FO_STATUS_INTERNAL, FANOUT__V1__ERROR_KIND__MALFORMED_RESPONSE,
               "reply is not a valid fanout.feature.v1.UsageReport");
    else
        report(fc, FO_STATUS_OK, FANOUT__V1__ERROR_KIND__ERROR_KIND_UNSPECIFIED, NULL);
    free(failure);
}

static void task_start(runner *r, size_t index, void *ctx)
{
    agg_feature_call *fc = ctx;
    fc->run = r;
    fc->index = index;
    if (fc->target == NULL) {
        char msg[128];
        snprintf(msg, sizeof msg, "feature \"%.64s\" is not configured", fc->name);
        report(fc, FO_STATUS_NOT_FOUND, FANOUT__V1__ERROR_KIND__UNKNOWN_FEATURE, msg);
        return;
    }
    fc->ticket = agg_breaker_admit(fc->target->breaker, fo_now_ns() / FO_NS_PER_MS);
    if (fc->ticket.pass == AGG_BREAKER_REFUSED) {
        report(fc, FO_STATUS_UNAVAILABLE, FANOUT__V1__ERROR_KIND__CIRCUIT_OPEN,
               "circuit breaker open: the feature was not called");
        return;
    }
    const agg_fanout *f = fc->fanout;
    int64_t timeout_ns = fo_deadline_in_ms(fc->target->cfg->timeout_ms);
    fc->own_deadline = timeout_ns <= f->deadline_ns;
    fo_call_spec spec = {
        .channel = fc->target->channel,
        .method = fc->target->get_usage,
        .loop = f->loop,
        .deadline_ns = fo_deadline_min(f->deadline_ns, timeout_ns),
        .md = f->md,
        .nmd = f->nmd,
        .request = f->request,
    };
    fc->started_ns = fo_now_ns();
    fc->attempts = 1;
    fo_error *err = NULL;
    fc->cc = fo_client_call_start(&spec, call_done, fc, &err);
    if (fc->cc == NULL) {
        report(fc, err->code, agg_error_kind_for_status(err->code), err->message);
        fo_error_free(err);
    }
}

static void task_cancel(runner *r, size_t index, void *ctx)
{
    (void)r;
    (void)index;
    agg_feature_call *fc = ctx;
    if (fc->cc != NULL)
        fo_client_call_cancel(fc->cc);
}

runner_task agg_feature_call_task(agg_feature_call *fc)
{
    return (runner_task){.start = task_start, .cancel = task_cancel, .ctx = fc};
}

void agg_feature_call_outcome(const agg_feature_call *fc, int32_t index, const fo_error *err, agg_outcome *out)
{
    *out = (agg_outcome){
        .feature = fc->name,
        .index = index,
        .usage = fc->usage,
        .usage_wire = fc->usage != NULL ? fo_payload_data(fc->reply) : NULL,
        .usage_wire_len = fc->usage != NULL ? fo_payload_size(fc->reply) : 0,
        .code = fc->code,
        .message = fc->message,
        .kind = fc->kind,
        .latency_us = fc->latency_us,
        .attempts = fc->attempts,
    };
    if (fc->usage == NULL && fc->message == NULL && err != NULL) {
        /* Abandoned by the run (deadline, cancellation) before it reported. */
        out->code = err->code;
        out->message = err->message;
        out->kind = agg_error_kind_for_status(err->code);
    }
}

void agg_feature_call_release(agg_feature_call *fc)
{
    /* The parsed reply, if any, goes with the arena. */
    fo_client_call_free(fc->cc);
    fo_payload_free(fc->reply);
    free(fc->message);
}
