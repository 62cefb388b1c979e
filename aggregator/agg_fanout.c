/* agg_fanout: one feature result: its attempts (first, hedges, retries), the winner, the report to the runner. */
#include "agg_fanout.h"
#include "fo_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_metrics.h"
#include "agg_reply.h"
#include "agg_retry.h"
#include "fanout/feature/v1/feature.pb-c.h"
#include "fo_time.h"
#include "fo_utf8.h"

/* gRFC A6: how many calls of the same RPC came before this one. */
#define PREVIOUS_ATTEMPTS_HEADER "grpc-previous-rpc-attempts"
/*
 * A hedge timer that fires later than this found its worker's loop held up:
 * its thread was descheduled on a busy machine, or a turn ran long. Answers
 * that came meanwhile are queued behind the timer, unread, and a hedge now
 * would add load just when the machine has none to spare.
 */
#define HEDGE_LATE_NS (2 * FO_NS_PER_MS)
/* gRPC 1.51's status message for a stream its server's GOAWAY refused (chttp2's goaway_error). */
#define GOAWAY_REFUSED_MESSAGE "GOAWAY received"

typedef enum attempt_reason {
    ATTEMPT_FIRST,
    ATTEMPT_HEDGE, /* no answer after the hedge delay */
    ATTEMPT_RETRY, /* the last attempt in flight failed retryably */
} attempt_reason;

static void next_due(fo_timer *t);

void agg_feature_call_init(agg_feature_call *fc, agg_fanout *fanout, const char *name, const agg_target *target)
{
    memset(fc, 0, sizeof *fc);
    fc->fanout = fanout;
    fc->name = name;
    fc->target = target;
    fc->state = AGG_RESULT_IDLE;
    fc->hedge_delay_ns = -1;
    fo_timer_init(&fc->next, next_due);
}

/* A timeout the caller's deadline cut short says nothing about the feature. */
static agg_breaker_verdict breaker_verdict(const agg_feature_call *fc, Fanout__V1__ErrorKind kind)
{
    if (kind == FANOUT__V1__ERROR_KIND__DEADLINE && !fc->own_deadline)
        return AGG_BREAKER_NO_VERDICT;
    return agg_breaker_verdict_of(&fc->target->cfg->breaker, kind);
}

/*
 * The one place a result becomes final: the winner's answer or the last
 * failure goes to the runner. Attempts still in flight (a winner's cancelled
 * losers) drain afterwards.
 */
static void report(agg_feature_call *fc)
{
    fc->state = fc->in_flight > 0 ? AGG_RESULT_DRAINING : AGG_RESULT_REPORTED;
    if (fc->usage == NULL)
        fc->latency_us = fc->started_ns ? (fo_now_ns() - fc->started_ns) / FO_NS_PER_US : 0;
    fo_error *err = fc->usage == NULL ? FO_ERROR(fc->code, "%s", fc->message) : NULL;
    if (fc->target != NULL)
        agg_breaker_record(
            fc->target->breaker, fc->ticket,
            breaker_verdict(fc, fc->usage != NULL ? FANOUT__V1__ERROR_KIND__ERROR_KIND_UNSPECIFIED : fc->kind),
            fo_now_ns() / FO_NS_PER_MS);
    agg_metrics_feature(fc->target != NULL ? fc->target->cfg : NULL,
                        fc->usage != NULL ? FANOUT__V1__ERROR_KIND__ERROR_KIND_UNSPECIFIED : fc->kind,
                        fc->attempts > 0 ? fc->latency_us : -1);
    runner_task_done(fc->run, fc->index, err);
}

/* Keeps a failure as the result's outcome unless a later one replaces it or an answer wins. */
static void note_failure(agg_feature_call *fc, int32_t attempt, fo_status code, Fanout__V1__ErrorKind kind,
                         const char *message, bool retryable)
{
    free(fc->message);
    fc->code = code;
    fc->kind = kind;
    /* A feature's status message goes into protobuf strings: UTF-8 only. */
    fc->message = fo_utf8_repair(message);
    fc->answered_by = attempt;
    fc->retryable = retryable;
}

/*
 * The metadata of attempt `number` (0: the first) into spec: the request's,
 * and on later attempts grpc-previous-rpc-attempts too. Returns what the
 * caller frees once the call started (the core copies it), or NULL.
 */
static fo_md *attempt_metadata(const agg_feature_call *fc, int number, fo_call_spec *spec)
{
    static const char *const previous[AGG_HEDGE_MAX_ATTEMPTS] = {"0", "1", "2", "3", "4"};
    const agg_fanout *f = fc->fanout;
    spec->md = f->md;
    spec->nmd = f->nmd;
    if (number == 0)
        return NULL;
    fo_md *md = fo_xcalloc(f->nmd + 1, sizeof *md);
    memcpy(md, f->md, f->nmd * sizeof *md);
    md[f->nmd] = (fo_md){PREVIOUS_ATTEMPTS_HEADER, previous[number], strlen(previous[number])};
    spec->md = md;
    spec->nmd = f->nmd + 1;
    return md;
}

static void attempt_done(fo_client_call *cc, void *ud);

/*
 * Sends attempt `number`'s call, the first time or again. False when the
 * call could not start; its failure is then noted.
 */
static bool send_attempt(agg_feature_call *fc, int number)
{
    agg_attempt *a = &fc->tries[number];
    a->fc = fc;
    a->started_ns = fo_now_ns();
    fo_call_spec spec = {
        .channel = fc->target->channel,
        .method = fc->target->get_usage,
        .loop = fc->fanout->loop,
        .deadline_ns = fc->deadline_ns,
        .request = fc->fanout->request,
    };
    fo_md *md = attempt_metadata(fc, number, &spec);
    fo_md trace_md = agg_trace_child(fc->fanout->trace, fc->traceparent);
    spec.call_md = &trace_md;
    spec.ncall_md = 1;
    fo_error *err = NULL;
    a->cc = fo_client_call_start(&spec, attempt_done, a, &err);
    free(md);
    if (a->cc == NULL) {
        note_failure(fc, number + 1, err->code, agg_error_kind_for_status(err->code), err->message, false);
        fo_error_free(err);
        return false;
    }
    fc->in_flight++;
    fc->fanout->calls++;
    return true;
}

/* The one place an attempt starts, first or extra (reason); false as for send_attempt. */
static bool start_attempt(agg_feature_call *fc, attempt_reason reason)
{
    int number = fc->attempts;
    fc->attempts++;
    fc->hedges += reason == ATTEMPT_HEDGE;
    fc->retries += reason == ATTEMPT_RETRY;
    fc->tries[number].hedge = reason == ATTEMPT_HEDGE;
    if (reason == ATTEMPT_HEDGE)
        agg_hedge_sent(fc->target->wins);
    if (reason != ATTEMPT_FIRST)
        agg_metrics_extra_attempt(fc->target->cfg, reason == ATTEMPT_HEDGE ? AGG_METRICS_HEDGE : AGG_METRICS_RETRY);
    return send_attempt(fc, number);
}

/* Another attempt may start: one is left, the deadline leaves room for it, and the budget allows it. */
static bool extra_allowed(agg_feature_call *fc, int64_t at_ns)
{
    if (fc->target->budget == NULL || fc->attempts >= fc->target->cfg->hedge.max_attempts)
        return false;
    if (at_ns + FO_NS_PER_MS >= fc->deadline_ns)
        return false;
    return agg_budget_try_extra(fc->target->budget, fo_now_ns() / FO_NS_PER_MS);
}

/* Whether the feature's hedges win often enough for this one to go (agg_hedge.h); counted when held back. */
static bool hedge_goes(agg_feature_call *fc)
{
    if (agg_hedge_pays(&fc->target->cfg->hedge, fc->target->wins))
        return true;
    agg_metrics_hedge_held(fc->target->cfg);
    return false;
}

/* The hedge timer for the next attempt, when there may be one before the deadline. */
static void arm_hedge(agg_feature_call *fc)
{
    if (fc->hedge_delay_ns < 0 || fc->attempts >= fc->target->cfg->hedge.max_attempts)
        return;
    int64_t due = fo_now_ns() + fc->hedge_delay_ns;
    if (due < fc->deadline_ns)
        fo_timer_start(fc->fanout->loop, &fc->next, due);
}

/* A hedge whose timer fired late waits as long again: first the loop takes what queued up meanwhile. */
static void defer_hedge(agg_feature_call *fc, int64_t due_ns)
{
    if (due_ns < fc->deadline_ns)
        fo_timer_start(fc->fanout->loop, &fc->next, due_ns);
}

static void cancel_attempts(agg_feature_call *fc)
{
    fo_timer_cancel(fc->fanout->loop, &fc->next);
    for (int i = 0; i < fc->attempts; i++) {
        if (fc->tries[i].cc != NULL)
            fo_client_call_cancel(fc->tries[i].cc);
    }
}

/*
 * After every event: report once nothing is in flight and nothing more will
 * start; after a reported winner's last loser, tell the request when it was
 * the last call of all. fc may be gone on return.
 */
static void advance(agg_feature_call *fc)
{
    if (fc->in_flight > 0 || fc->state == AGG_RESULT_BACKOFF)
        return;
    if (fc->state == AGG_RESULT_DRAINING) {
        fc->state = AGG_RESULT_REPORTED;
        agg_fanout *f = fc->fanout;
        if (f->calls == 0 && f->drained != NULL)
            f->drained(f);
        return;
    }
    if (fc->state == AGG_RESULT_CALLING && fc->retryable) {
        int64_t backoff_ns = agg_retry_backoff_us(fc->retries, agg_retry_random()) * FO_NS_PER_US;
        int64_t due = fo_now_ns() + backoff_ns;
        if (extra_allowed(fc, due)) {
            fc->state = AGG_RESULT_BACKOFF;
            fo_timer_start(fc->fanout->loop, &fc->next, due);
            return;
        }
    }
    fo_timer_cancel(fc->fanout->loop, &fc->next);
    report(fc);
}

/* The hedge delay is over (CALLING) or the backoff (BACKOFF): the next attempt. */
static void next_due(fo_timer *t)
{
    agg_feature_call *fc = fo_container_of(t, agg_feature_call, next);
    if (fc->state == AGG_RESULT_BACKOFF) {
        fc->state = AGG_RESULT_CALLING;
        if (start_attempt(fc, ATTEMPT_RETRY))
            arm_hedge(fc);
        advance(fc);
        return;
    }
    /*
     * A hedge held back because the feature's hedges do not win (agg_hedge.h)
     * is not asked for again. One the budget refuses asks again after
     * another delay: when the budget runs short, its extras go to the calls
     * that have waited longest, the ones that make the tail, rather than to
     * whichever asked first.
     */
    int64_t now = fo_now_ns(), late = now - t->due_ns;
    if (late > HEDGE_LATE_NS)
        defer_hedge(fc, now + late);
    else if (hedge_goes(fc) && (!extra_allowed(fc, now) || start_attempt(fc, ATTEMPT_HEDGE)))
        arm_hedge(fc);
    advance(fc);
}

/*
 * The first good answer: it is the result's, every other attempt is
 * cancelled, and the result is reported at once. The winner's own call is
 * still counted in flight, so the request stays until attempt_done is over.
 */
static void win(agg_feature_call *fc, int number, fo_payload *reply, Fanout__Feature__V1__UsageReport *usage)
{
    fc->reply = reply;
    fc->usage = usage;
    fc->code = FO_STATUS_OK;
    fc->kind = FANOUT__V1__ERROR_KIND__ERROR_KIND_UNSPECIFIED;
    free(fc->message);
    fc->message = NULL;
    fc->answered_by = number + 1;
    fc->latency_us = (fo_now_ns() - fc->started_ns) / FO_NS_PER_US;
    if (fc->tries[number].hedge)
        agg_hedge_won(fc->target->wins);
    cancel_attempts(fc);
    report(fc);
}

/*
 * The hedge delay's data: how long an answer took, or how long a loser ran
 * before the winner cut it (a lower bound, which keeps the slow calls in the
 * tail). A refused connection and our own cancellation say nothing.
 */
static void sample_latency(const agg_feature_call *fc, const agg_attempt *a, fo_status status)
{
    bool lost = fc->state == AGG_RESULT_DRAINING;
    if (status == FO_STATUS_UNAVAILABLE || (status == FO_STATUS_CANCELLED && !lost))
        return;
    agg_latency_record(fc->target->latency, (fo_now_ns() - a->started_ns) / FO_NS_PER_US);
}

/* A usable report from a finished call, or NULL; *reply keeps its bytes when there is one. */
static Fanout__Feature__V1__UsageReport *take_report(agg_feature_call *fc, fo_client_call *cc, fo_payload **reply)
{
    *reply = fo_client_call_take_reply(cc);
    if (*reply == NULL)
        return NULL;
    Fanout__Feature__V1__UsageReport *usage = fanout__feature__v1__usage_report__unpack(
        fo_arena_protobuf(fc->fanout->replies), fo_payload_size(*reply), fo_payload_data(*reply));
    if (usage != NULL && !agg_reply_ok(usage))
        usage = NULL; /* freed with the arena */
    return usage;
}

/*
 * A call the feature server's GOAWAY refused never reached it (gRPC fails
 * the streams it had not sent, or sent past the GOAWAY's last stream, with
 * this status and message), so it goes again at once, as the same attempt:
 * gRPC's transparent retry, done here because the feature channels run
 * without gRPC's retry filter (fo_channel_create says why). Not an extra
 * attempt: the budget does not pay for it and `attempts` does not count it.
 */
static bool resend_refused(agg_feature_call *fc, agg_attempt *a, fo_client_call *cc, fo_status status)
{
    if (status != FO_STATUS_UNAVAILABLE || fc->state != AGG_RESULT_CALLING || a->resends >= AGG_MAX_RESENDS ||
        strcmp(fo_client_call_message(cc), GOAWAY_REFUSED_MESSAGE) != 0)
        return false;
    fo_client_call_free(cc);
    a->cc = NULL;
    a->resends++;
    fc->in_flight--;
    fc->fanout->calls--;
    send_attempt(fc, (int)(a - fc->tries));
    advance(fc);
    return true;
}

static void attempt_done(fo_client_call *cc, void *ud)
{
    agg_attempt *a = ud;
    agg_feature_call *fc = a->fc;
    int number = (int)(a - fc->tries);
    fo_status status = fo_client_call_status(cc);
    if (resend_refused(fc, a, cc, status))
        return;
    sample_latency(fc, a, status);
    if (fc->usage == NULL) {
        /* Nothing has won yet (CALLING, or SETTLING after the run cancelled the result). */
        fo_payload *reply = NULL;
        Fanout__Feature__V1__UsageReport *usage = take_report(fc, cc, &reply);
        if (status == FO_STATUS_OK && usage != NULL) {
            win(fc, number, reply, usage);
        } else if (status != FO_STATUS_OK) {
            bool retryable = agg_retry_wanted(fc->target->retry_on, status, reply != NULL);
            note_failure(fc, number + 1, status, agg_error_kind_for_status(status), fo_client_call_message(cc),
                         retryable);
            fo_payload_free(reply);
        } else {
            note_failure(fc, number + 1, FO_STATUS_INTERNAL, FANOUT__V1__ERROR_KIND__MALFORMED_RESPONSE,
                         "reply is not a valid fanout.feature.v1.UsageReport", false);
            fo_payload_free(reply);
        }
    }
    /*
     * The call goes now rather than with the request: its gRPC arena, a few
     * KB, is the bulk of what an aggregate holds while other features are
     * still on their way. Feature calls are not gRPC children of the incoming
     * call; the request cancels them itself (agg_request's on_client_cancel).
     */
    fo_client_call_free(cc);
    a->cc = NULL;
    fc->in_flight--;
    fc->fanout->calls--;
    advance(fc);
}

static void task_start(runner *r, size_t index, void *ctx)
{
    agg_feature_call *fc = ctx;
    fc->run = r;
    fc->index = index;
    if (fc->target == NULL) {
        char msg[128];
        snprintf(msg, sizeof msg, "feature \"%.64s\" is not configured", fc->name);
        note_failure(fc, 0, FO_STATUS_NOT_FOUND, FANOUT__V1__ERROR_KIND__UNKNOWN_FEATURE, msg, false);
        report(fc);
        return;
    }
    fc->ticket = agg_breaker_admit(fc->target->breaker, fo_now_ns() / FO_NS_PER_MS);
    if (fc->ticket.pass == AGG_BREAKER_REFUSED) {
        note_failure(fc, 0, FO_STATUS_UNAVAILABLE, FANOUT__V1__ERROR_KIND__CIRCUIT_OPEN,
                     "circuit breaker open: the feature was not called", false);
        report(fc);
        return;
    }
    const agg_fanout *f = fc->fanout;
    int64_t timeout_ns = fo_deadline_in_ms(fc->target->cfg->timeout_ms);
    fc->own_deadline = timeout_ns <= f->deadline_ns;
    fc->deadline_ns = fo_deadline_min(f->deadline_ns, timeout_ns);
    fc->started_ns = fo_now_ns();
    if (fc->target->budget != NULL) {
        agg_budget_first(fc->target->budget, fc->started_ns / FO_NS_PER_MS);
        int64_t delay_us = agg_hedge_delay_us(&fc->target->cfg->hedge, fc->target->latency);
        fc->hedge_delay_ns = delay_us < 0 ? -1 : delay_us * FO_NS_PER_US;
    }
    fc->state = AGG_RESULT_CALLING;
    if (start_attempt(fc, ATTEMPT_FIRST))
        arm_hedge(fc);
    advance(fc);
}

static void task_cancel(runner *r, size_t index, void *ctx)
{
    (void)r;
    (void)index;
    agg_feature_call *fc = ctx;
    if (fc->state != AGG_RESULT_CALLING && fc->state != AGG_RESULT_BACKOFF)
        return;
    fc->state = AGG_RESULT_SETTLING;
    cancel_attempts(fc);
    advance(fc);
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
        .answered_by_attempt = fc->answered_by,
    };
    bool abandoned = fc->run != NULL && runner_state(fc->run, fc->index) == RUNNER_TASK_ABANDONED;
    if (err != NULL && (abandoned || (fc->usage == NULL && fc->message == NULL))) {
        /* Abandoned by the run (deadline, cancellation) before it reported. */
        out->usage = NULL;
        out->usage_wire = NULL;
        out->usage_wire_len = 0;
        out->code = err->code;
        out->message = err->message;
        out->kind = agg_error_kind_for_status(err->code);
        out->answered_by_attempt = 0;
    }
}

void agg_feature_call_release(agg_feature_call *fc)
{
    /* The parsed reply, if any, goes with the arena; every attempt ended before the request let go. */
    for (int i = 0; i < fc->attempts; i++)
        fo_client_call_free(fc->tries[i].cc);
    fo_payload_free(fc->reply);
    free(fc->message);
}
