/* agg_request: one Aggregator call: validate → tasks → runner → reduce → answer. */
#include "agg_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "agg_auth.h"
#include "agg_deadline.h"
#include "agg_face_grpc.h"
#include "agg_fanout.h"
#include "agg_generation.h"
#include "agg_metrics.h"
#include "agg_reduce.h"
#include "agg_service.h"
#include "agg_trace.h"
#include "agg_validate.h"
#include "agg_wire.h"
#include "fanout/v1/aggregator.pb-c.h"
#include "fo_alloc.h"
#include "fo_log.h"
#include "fo_time.h"

#define REQUEST_ID_HEADER "x-request-id"
#define FAILED_FEATURE_TRAILER "fanout-failed-feature"
/* A client's x-request-id up to this long is kept (a UUID is 36); a longer one is replaced. */
#define REQUEST_ID_MAX 128

/*
 * Where a request is: the one field that says so. A result's send is in
 * flight in SENDING and FLUSHING only (streaming), the status goes out on the
 * way from DECIDED to ANSWERED, and request_finalize frees the request once
 * it is ANSWERED, the run is idle and no feature call is left (a reported
 * winner's losers drain after the run, agg_fanout.h).
 */
typedef enum request_state {
    RQ_ARRIVED,  /* admission, parsing, validation: no run yet */
    RQ_RUNNING,  /* the run decides; nothing is being sent */
    RQ_SENDING,  /* streaming: the run decides; a result's send is in flight */
    RQ_FLUSHING, /* streaming: the run has decided; the results it queued are being sent */
    RQ_DECIDED,  /* the outcome is known and nothing is being sent: the status goes next */
    RQ_ANSWERED, /* the status is with the transport; the feature calls drain */
} request_state;

typedef struct agg_request {
    agg_service *svc;
    /* The config generation current at arrival, held to the end, and the worker that holds it. */
    agg_generation *gen;
    int worker;
    agg_face *face;     /* the protocol it came in on: &grpc, or the HTTP face's */
    agg_face_grpc grpc; /* the gRPC face, when the request came that way */
    bool streaming;     /* the method, fixed at arrival */
    request_state state;
    int64_t started_ns;
    Fanout__V1__AnalyticsRequest *msg;
    agg_plan plan;
    agg_fanout fanout;
    fo_arena replies;
    fo_md *md; /* x-request-id, the allow-listed headers present, the caller's tracestate, the subject */
    /* The caller's token, when auth is on. */
    agg_jwt_claims claims;
    char request_id[REQUEST_ID_MAX + 1];
    agg_trace trace;
    agg_feature_call *calls;
    runner *run;

    /* The outcome, from RQ_DECIDED on: NULL for success, else the run's error or the refusal. */
    const fo_error *outcome;
    size_t failed_task; /* the task the outcome came from, or RUNNER_NO_TASK */
    fo_error *refusal;  /* why the request was refused on arrival (owned) */
    int64_t cut_ns;     /* ALLOW_PARTIAL: answer then with what has come (agg_deadline.h) */

    /* Streaming: results wait here, in completion order, for the one send in flight. */
    size_t *queue;
    size_t queued, sent;
    fo_tag send_done;
    fo_payload *sending_payload;
} agg_request;

/* Only request_finalize calls this. */
static void request_free(agg_request *rq)
{
    if (rq->calls != NULL) {
        for (size_t i = 0; i < rq->plan.n_features; i++)
            agg_feature_call_release(&rq->calls[i]);
    }
    runner_destroy(rq->run);
    fo_error_free(rq->refusal);
    fo_arena_release(&rq->replies);
    free(rq->calls);
    free(rq->queue);
    free(rq->md);
    fo_payload_free((fo_payload *)rq->fanout.request);
    fo_payload_free(rq->sending_payload);
    agg_plan_release(&rq->plan);
    agg_jwt_claims_release(&rq->claims);
    if (rq->msg != NULL)
        fanout__v1__analytics_request__free_unpacked(rq->msg, NULL);
    atomic_fetch_sub(&rq->svc->in_flight, 1);
    agg_generation_leave(rq->gen, rq->worker);
    if (rq->face->ops->release != NULL)
        rq->face->ops->release(rq->face);
    free(rq);
}

/* --- logging ---------------------------------------------------------------- */

/*
 * The status the client saw: a status handed to the transport after the client
 * cancelled, or after its deadline, never reached it.
 */
static fo_status status_seen(const agg_request *rq, fo_status code)
{
    if (rq->face->ops->cancelled(rq->face)) {
        if (rq->face->ops->deadline(rq->face) <= fo_now_ns())
            return FO_STATUS_DEADLINE_EXCEEDED;
        return FO_STATUS_CANCELLED;
    }
    return code;
}

/* A feature that reported an error, or that the run abandoned (cut for the deadline, say). */
static bool feature_failed(const agg_request *rq, size_t i)
{
    return rq->calls[i].message != NULL || (rq->run != NULL && runner_state(rq->run, i) == RUNNER_TASK_ABANDONED);
}

/* code: the status the client saw. Touches no more of the call: it may have ended. */
static void log_request(const agg_request *rq, fo_status code, int succeeded, int failed)
{
    if (!fo_log_enabled(FO_LOG_INFO))
        return;
    json_t *failed_names = json_array();
    json_int_t hedges = 0, retries = 0;
    for (size_t i = 0; rq->calls != NULL && i < rq->plan.n_features; i++) {
        if (feature_failed(rq, i))
            json_array_append_new(failed_names, json_string(rq->calls[i].name));
        hedges += rq->calls[i].hedges;
        retries += rq->calls[i].retries;
    }
    const char *policy = rq->plan.policy == FANOUT__V1__FAILURE_POLICY__FAIL_FAST ? "FAIL_FAST" : "ALLOW_PARTIAL";
    /* With the face, the worker, the trace, and the hedges and the retries of its feature calls (agg_fanout.h). */
    const char *format = "{s:s, s:s, s:i, s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:o, s:I, s:I}";
    fo_log(FO_LOG_INFO,
           json_pack(format, "event", "request", "face", rq->face->ops->name, "worker", rq->worker, "request_id",
                     rq->request_id, "trace_id", rq->trace.trace_id, "span_id", rq->trace.span_id, "parent_span_id",
                     agg_trace_continued(&rq->trace) ? rq->trace.parent_id : NULL, "customer",
                     rq->msg ? rq->msg->customer_id : "", "method",
                     rq->streaming ? "StreamCustomerAnalytics" : "GetCustomerAnalytics", "policy",
                     rq->msg ? policy : "", "status", fo_status_name(code), "elapsed_us",
                     (json_int_t)((fo_now_ns() - rq->started_ns) / FO_NS_PER_US), "succeeded", succeeded, "failed",
                     failed, "failed_features", failed_names, "hedges", hedges, "retries", retries));
}

/* --- answering ---------------------------------------------------------------- */

/* What the request's log line counts. */
typedef struct answer_counts {
    int succeeded, failed;
} answer_counts;

/*
 * Hands the status (and the reply) to the transport, then logs the request:
 * the log line is written off the client's path. What the client saw is read
 * before the call ends.
 */
static void answer(agg_request *rq, fo_status code, const char *message, const fo_payload *reply, const fo_md *trailers,
                   size_t ntrailers, answer_counts counts)
{
    fo_status seen = status_seen(rq, code);
    rq->state = RQ_ANSWERED;
    rq->face->ops->finish(rq->face, code, message, reply, trailers, ntrailers);
    agg_metrics_request(rq->streaming, rq->plan.policy, seen, fo_now_ns() - rq->started_ns);
    log_request(rq, seen, counts.succeeded, counts.failed);
}

static void answer_error(agg_request *rq, const fo_error *err)
{
    answer(rq, err->code, err->message, NULL, NULL, 0, (answer_counts){0, 0});
}

/* Fail-fast: the failing feature's status, named in the message and a trailer. */
static void answer_failed_feature(agg_request *rq, const fo_error *err, size_t failed)
{
    const char *name = rq->calls[failed].name;
    size_t n = strlen(name) + strlen(err->message) + 16;
    char *message = fo_xmalloc(n);
    snprintf(message, n, "feature %s: %s", name, err->message);
    fo_md trailer = {.key = FAILED_FEATURE_TRAILER, .value = name, .value_len = strlen(name)};
    answer(rq, err->code, message, NULL, &trailer, 1, (answer_counts){0, 1});
    free(message);
}

static void outcome_of(const agg_request *rq, size_t i, agg_outcome *out)
{
    agg_feature_call_outcome(&rq->calls[i], (int32_t)i, runner_task_error(rq->run, i), out);
}

/* The reduced response: the unary reply, or a stream's summary (results left out) for a face that wants one. */
static void answer_reduced(agg_request *rq)
{
    size_t n = rq->plan.n_features;
    agg_outcome *outcomes = fo_xcalloc(n, sizeof *outcomes);
    for (size_t i = 0; i < n; i++)
        outcome_of(rq, i, &outcomes[i]);
    agg_response resp;
    agg_reduce(outcomes, n, rq->msg->customer_id, (fo_now_ns() - rq->started_ns) / FO_NS_PER_US, &resp);
    if (rq->streaming)
        resp.msg.n_results = 0; /* they went out one by one */
    uint8_t *data;
    fo_payload *p = fo_payload_alloc(agg_wire_pack_response(&resp, outcomes, NULL), &data);
    agg_wire_pack_response(&resp, outcomes, data);
    answer(rq, FO_STATUS_OK, "", p, NULL, 0, (answer_counts){(int)resp.msg.succeeded, (int)resp.msg.failed});
    fo_payload_free(p);
    agg_response_release(&resp);
    free(outcomes);
}

/* Streaming: every result has been sent; OK ends the stream. */
static void answer_streamed(agg_request *rq)
{
    int failed = 0;
    for (size_t i = 0; i < rq->plan.n_features; i++)
        failed += feature_failed(rq, i);
    answer(rq, FO_STATUS_OK, "", NULL, NULL, 0, (answer_counts){(int)rq->plan.n_features - failed, failed});
}

/*
 * The status for the outcome: the response (unary) or the end of the stream
 * on success; the failing feature's status under fail-fast; else the run's
 * error (deadline, cancellation) or the refusal.
 */
static void answer_outcome(agg_request *rq)
{
    const fo_error *err = rq->outcome;
    if (err == NULL && rq->streaming && !rq->face->ops->stream_summary)
        answer_streamed(rq);
    else if (err == NULL)
        answer_reduced(rq);
    else if (rq->failed_task != RUNNER_NO_TASK)
        answer_failed_feature(rq, err, rq->failed_task);
    else
        answer_error(rq, err);
}

/*
 * The request's one way out (nginx's ngx_http_finalize_request is the
 * model): every event after which it may be over ends here. A DECIDED
 * request is answered; an ANSWERED one is freed once its run is idle (or it
 * never had one) and its feature calls have drained, else on_idle or the
 * fanout's drained comes back here. rq may be gone on return.
 */
static void request_finalize(agg_request *rq)
{
    if (rq->state == RQ_DECIDED)
        answer_outcome(rq);
    if (rq->state == RQ_ANSWERED && (rq->run == NULL || runner_idle(rq->run)) && rq->fanout.calls == 0)
        request_free(rq);
}

/* --- streaming ---------------------------------------------------------------- */

/*
 * Sends the next queued result, if any, from RUNNING (→ SENDING) or from
 * DECIDED (→ FLUSHING: the status waits for it).
 */
static void stream_send_next(agg_request *rq)
{
    if (rq->sent == rq->queued)
        return;
    size_t i = rq->queue[rq->sent++];
    agg_outcome o;
    outcome_of(rq, i, &o);
    Fanout__V1__FeatureResult res;
    Fanout__V1__FeatureError err;
    agg_result_fill(&o, &res, &err);
    uint8_t *data;
    rq->sending_payload = fo_payload_alloc(agg_wire_pack_result(&res, &o, NULL), &data);
    agg_wire_pack_result(&res, &o, data);
    rq->state = rq->state == RQ_RUNNING ? RQ_SENDING : RQ_FLUSHING;
    rq->face->ops->send(rq->face, rq->sending_payload, &rq->send_done);
}

static void stream_sent(fo_tag *tag, bool ok)
{
    agg_request *rq = fo_container_of(tag, agg_request, send_done);
    fo_payload_free(rq->sending_payload);
    rq->sending_payload = NULL;
    if (rq->state == RQ_SENDING) {
        rq->state = RQ_RUNNING;
        /* Not ok: the client is gone; the cancellation handler ends the run. */
        if (ok)
            stream_send_next(rq);
        return;
    }
    rq->state = RQ_DECIDED; /* was FLUSHING */
    stream_send_next(rq);
    request_finalize(rq);
}

/* --- the run ------------------------------------------------------------------ */

static void on_task_done(runner *r, size_t index, const fo_error *err, void *ud)
{
    (void)r;
    agg_request *rq = ud;
    if (!rq->streaming)
        return;
    /* Under fail-fast the failure is the status, not a streamed result. */
    if (err != NULL && rq->plan.policy == FANOUT__V1__FAILURE_POLICY__FAIL_FAST)
        return;
    rq->queue[rq->queued++] = index;
    if (rq->state == RQ_RUNNING)
        stream_send_next(rq);
}

/*
 * The run was cut to answer before the caller's deadline: the answer is a
 * success, with the features still out as DEADLINE results (the runner's
 * error for them names the cut); streaming queues them as results.
 */
static bool cut_for_deadline(agg_request *rq, const fo_error *err, size_t failed)
{
    if (err == NULL || rq->cut_ns == FO_DEADLINE_NONE || failed != RUNNER_NO_TASK ||
        err->code != FO_STATUS_DEADLINE_EXCEEDED)
        return false;
    for (size_t i = 0; rq->streaming && i < rq->plan.n_features; i++) {
        if (runner_state(rq->run, i) == RUNNER_TASK_ABANDONED)
            rq->queue[rq->queued++] = i;
    }
    return true;
}

static void on_finish(runner *r, const fo_error *err, size_t failed, void *ud)
{
    (void)r;
    agg_request *rq = ud;
    if (cut_for_deadline(rq, err, failed))
        err = NULL;
    rq->outcome = err;
    rq->failed_task = failed;
    if (rq->state == RQ_SENDING) {
        rq->state = RQ_FLUSHING; /* stream_sent carries on */
        return;
    }
    rq->state = RQ_DECIDED;
    stream_send_next(rq); /* results still queued go before the status */
    request_finalize(rq);
}

static void on_idle(runner *r, void *ud)
{
    (void)r;
    request_finalize(ud);
}

static void on_calls_drained(agg_fanout *f) { request_finalize(fo_container_of(f, agg_request, fanout)); }

static void on_client_cancel(void *ud)
{
    agg_request *rq = ud;
    runner_cancel(rq->run, FO_ERROR(FO_STATUS_CANCELLED, "the client cancelled the call"));
}

/* --- arrival ------------------------------------------------------------------ */

static void random_request_id(char out[33])
{
    static thread_local uint64_t state;
    if (state == 0)
        state = (uint64_t)fo_now_ns() ^ ((uint64_t)(uintptr_t)out << 17);
    for (int half = 0; half < 2; half++) {
        /* splitmix64: cheap, and request ids need to be unique, not secret. */
        uint64_t z = (state += 0x9E3779B97F4A7C15u);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
        z ^= z >> 31;
        snprintf(out + 16 * half, 17, "%016llx", (unsigned long long)z);
    }
}

/* The client's x-request-id, or a new one; either way it comes back in the response's headers. */
static void take_request_id(agg_request *rq)
{
    size_t len;
    const char *id = rq->face->ops->metadata(rq->face, REQUEST_ID_HEADER, &len);
    if (id == NULL || len == 0 || len > REQUEST_ID_MAX) {
        random_request_id(rq->request_id);
    } else {
        memcpy(rq->request_id, id, len);
        rq->request_id[len] = '\0';
    }
    rq->face->ops->add_header(rq->face, REQUEST_ID_HEADER, rq->request_id, strlen(rq->request_id));
}

/* The caller's trace, or a new one (agg_trace.h). */
static void take_trace(agg_request *rq)
{
    size_t len = 0;
    const char *traceparent = rq->face->ops->metadata(rq->face, FO_TRACE_HEADER, &len);
    agg_trace_begin(&rq->trace, traceparent, len);
}

/* Headers that never go on as the caller sent them: its credentials are for us; the trace context is ours. */
static bool never_forwarded(const char *key)
{
    return strcmp(key, REQUEST_ID_HEADER) == 0 || strcmp(key, "authorization") == 0 ||
           strcmp(key, FO_TRACE_HEADER) == 0 || strcmp(key, FO_TRACE_STATE_HEADER) == 0;
}

static void build_metadata(agg_request *rq)
{
    const agg_config *cfg = rq->gen->cfg;
    rq->md = fo_xcalloc(cfg->n_forward_metadata + 3, sizeof *rq->md);
    rq->md[0] = (fo_md){REQUEST_ID_HEADER, rq->request_id, strlen(rq->request_id)};
    size_t n = 1;
    size_t len;
    for (size_t i = 0; i < cfg->n_forward_metadata; i++) {
        const char *key = cfg->forward_metadata[i];
        const char *value = rq->face->ops->metadata(rq->face, key, &len);
        if (value != NULL && !never_forwarded(key))
            rq->md[n++] = (fo_md){key, value, len};
    }
    const char *tracestate = rq->face->ops->metadata(rq->face, FO_TRACE_STATE_HEADER, &len);
    if (tracestate != NULL && agg_trace_continued(&rq->trace))
        rq->md[n++] = (fo_md){FO_TRACE_STATE_HEADER, tracestate, len};
    const char *subject_header = cfg->auth.forward_subject_header;
    if (subject_header != NULL && rq->claims.subject != NULL)
        rq->md[n++] = (fo_md){subject_header, rq->claims.subject, strlen(rq->claims.subject)};
    rq->fanout.md = rq->md;
    rq->fanout.nmd = n;
    rq->fanout.trace = &rq->trace;
}

static fo_payload *pack_usage_request(const Fanout__V1__AnalyticsRequest *msg)
{
    Fanout__Feature__V1__UsageRequest ur = FANOUT__FEATURE__V1__USAGE_REQUEST__INIT;
    ur.customer_id = msg->customer_id;
    ur.window_start_unix = msg->window_start_unix;
    ur.window_end_unix = msg->window_end_unix;
    return fo_payload_pack(&ur.base);
}

/* When an ALLOW_PARTIAL request answers with what it has, or FO_DEADLINE_NONE. */
static int64_t early_answer_at(const agg_request *rq)
{
    if (rq->plan.policy == FANOUT__V1__FAILURE_POLICY__FAIL_FAST)
        return FO_DEADLINE_NONE;
    const agg_config *cfg = rq->gen->cfg;
    int64_t longest_ms = 0;
    for (size_t i = 0; i < rq->plan.n_features; i++) {
        int index = rq->plan.features[i].config_index;
        if (index >= 0 && cfg->features[index].timeout_ms > longest_ms)
            longest_ms = cfg->features[index].timeout_ms;
    }
    return agg_deadline_cut_ns(rq->started_ns, rq->fanout.deadline_ns, cfg->deadline_reserve_ms, longest_ms);
}

static void start_run(agg_request *rq)
{
    size_t n = rq->plan.n_features;
    int worker = rq->worker;
    rq->fanout.loop = rq->face->ops->loop(rq->face);
    rq->fanout.deadline_ns = rq->face->ops->deadline(rq->face);
    rq->fanout.request = pack_usage_request(rq->msg);
    fo_arena_init(&rq->replies);
    rq->fanout.replies = &rq->replies;
    rq->fanout.drained = on_calls_drained;
    build_metadata(rq);

    rq->calls = fo_xcalloc(n, sizeof *rq->calls);
    runner_task *tasks = fo_xcalloc(n, sizeof *tasks);
    rq->queue = fo_xcalloc(n, sizeof *rq->queue);
    rq->cut_ns = early_answer_at(rq);
    for (size_t i = 0; i < n; i++) {
        const agg_plan_feature *pf = &rq->plan.features[i];
        const agg_target *target =
            pf->config_index >= 0 ? agg_generation_target(rq->gen, worker, (size_t)pf->config_index) : NULL;
        agg_feature_call_init(&rq->calls[i], &rq->fanout, pf->name, target);
        tasks[i] = agg_feature_call_task(&rq->calls[i]);
    }
    runner_opts opts = {
        .policy = rq->plan.policy == FANOUT__V1__FAILURE_POLICY__FAIL_FAST ? RUNNER_FAIL_FAST : RUNNER_ALLOW_ERRORS,
        /* Each call carries the client's deadline itself; ALLOW_PARTIAL answers a reserve ahead of it. */
        .deadline_ns = rq->cut_ns,
        .deadline_message = AGG_DEADLINE_CUT_MESSAGE,
        .loop = rq->fanout.loop,
        .on_task_done = on_task_done,
        .on_finish = on_finish,
        .on_idle = on_idle,
        .ud = rq,
    };
    rq->run = runner_create(tasks, n, &opts);
    free(tasks);
    rq->face->ops->on_cancel(rq->face, on_client_cancel, rq);
    rq->state = RQ_RUNNING;
    runner_start(rq->run); /* may decide, and even finalize, before it returns */
}

/* Checks that need no parsing: the deadline and the in-flight limit. */
static fo_error *admit(agg_request *rq)
{
    long in_flight = atomic_fetch_add(&rq->svc->in_flight, 1) + 1;
    if (rq->face->ops->deadline(rq->face) <= fo_now_ns())
        return FO_ERROR(FO_STATUS_DEADLINE_EXCEEDED, "the deadline had passed when the call arrived");
    if (in_flight > rq->gen->cfg->max_in_flight)
        return FO_ERROR(FO_STATUS_RESOURCE_EXHAUSTED, "%ld calls in flight, the limit is %lld", in_flight - 1,
                        (long long)rq->gen->cfg->max_in_flight);
    return NULL;
}

/* The authorization header's bearer token, checked by agg_auth. */
static fo_error *authenticate(agg_request *rq, const char *method)
{
    size_t len = 0;
    const char *value = rq->face->ops->metadata(rq->face, "authorization", &len);
    return agg_auth_authenticate_value(rq->gen->auth, rq->worker, value, len, method, &rq->claims);
}

static agg_request *request_new(agg_service *svc, bool streaming)
{
    agg_request *rq = fo_xcalloc(1, sizeof *rq);
    rq->state = RQ_ARRIVED;
    rq->svc = svc;
    rq->streaming = streaming;
    return rq;
}

/* rq->face is set. */
static void request_start(agg_request *rq)
{
    agg_service *svc = rq->svc;
    agg_face *face = rq->face;
    bool streaming = rq->streaming;
    rq->started_ns = fo_now_ns();
    rq->send_done.fn = stream_sent;
    rq->worker = face->ops->worker(face);
    rq->gen = agg_service_enter(svc, rq->worker);
    take_request_id(rq);
    take_trace(rq);

    const char *method = streaming ? AGG_STREAM_PATH : AGG_GET_PATH;
    fo_error *err = admit(rq);
    if (err == NULL)
        err = authenticate(rq, method);
    if (err == NULL)
        rq->msg =
            (Fanout__V1__AnalyticsRequest *)face->ops->request(face, &fanout__v1__analytics_request__descriptor, &err);
    if (err == NULL)
        err = agg_validate_request(rq->msg, rq->gen->cfg, &rq->plan);
    if (err == NULL)
        err = agg_auth_authorize(rq->gen->auth, &rq->claims, rq->msg->customer_id, method);
    if (err != NULL) {
        agg_metrics_refused(err->code);
        rq->refusal = err;
        rq->outcome = err;
        rq->failed_task = RUNNER_NO_TASK;
        rq->state = RQ_DECIDED;
        request_finalize(rq);
        return;
    }
    start_run(rq);
}

/* The gRPC face lives in the request. */
static void request_start_grpc(fo_server_call *call, agg_service *svc, bool streaming)
{
    agg_request *rq = request_new(svc, streaming);
    agg_face_grpc_init(&rq->grpc, call);
    rq->face = &rq->grpc.base;
    request_start(rq);
}

void agg_request_start_unary(fo_server_call *call, void *ctx) { request_start_grpc(call, ctx, false); }

void agg_request_start_stream(fo_server_call *call, void *ctx) { request_start_grpc(call, ctx, true); }

void agg_request_start_face(agg_face *face, agg_service *svc, bool streaming)
{
    agg_request *rq = request_new(svc, streaming);
    rq->face = face;
    request_start(rq);
}
