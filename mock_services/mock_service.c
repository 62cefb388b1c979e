/*
 * mock_service: one GetUsage call as a small state machine.
 *
 *   arrived ──validate──▶ (bad request) ──▶ INVALID_ARGUMENT
 *      │
 *      └─ fault decided (header, else profile) ─▶ DELAYING ─timer─▶ ACTING
 *   ACTING: reply with data | error status | malformed bytes | padded (huge)
 *           data | crash | hang
 *   A cancellation (client gone, deadline) during DELAYING or a hang ends
 *   the call with CANCELLED. Every end but a crash counts one outcome.
 */
#include "mock_service.h"
#include "fo_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <unistd.h>

#include "fanout/feature/v1/feature.pb-c.h"
#include "fo_health.h"
#include "fo_log.h"
#include "fo_reflection.h"
#include "fo_time.h"
#include "fo_trace.h"
#include "mock_data.h"
#include "mock_fault.h"
#include "fo_parse.h"

#define PREVIOUS_ATTEMPTS_HEADER "grpc-previous-rpc-attempts"
#include "mock_metrics.h"

typedef struct mock_call {
    fo_server_call *call;
    mock_service *svc; /* counts the call's outcome */
    Fanout__Feature__V1__UsageRequest *req;
    mock_fault fault;
    int attempt; /* grpc-previous-rpc-attempts: 0 for a first call */
    fo_timer delay;
} mock_call;

/* Each worker thread draws its faults from its own generator. */
static thread_local mock_rng tls_rng;
static thread_local bool tls_rng_ready;

static mock_rng *thread_rng(void)
{
    if (!tls_rng_ready) {
        mock_rng_seed(&tls_rng, (uint64_t)getpid() * 0x9E3779B97F4A7C15u ^ (uint64_t)fo_now_ns());
        tls_rng_ready = true;
    }
    return &tls_rng;
}

/* The field number of a huge reply's padding: unknown to UsageReport, so every parser skips it. */
#define PAD_FIELD 15
/* A length-delimited field's key byte, then its length as a 5-byte varint, whatever the length. */
#define PAD_HEADER 6

static int attempt_slot(const mock_call *mc)
{
    return mc->attempt < MOCK_ATTEMPT_SLOTS ? mc->attempt : MOCK_ATTEMPT_SLOTS - 1;
}

/* The gRFC A6 header of a hedged or retried call; absent or unreadable: a first call. */
static int previous_attempts(fo_server_call *call)
{
    size_t len;
    const char *v = fo_server_call_metadata(call, PREVIOUS_ATTEMPTS_HEADER, &len);
    char text[8];
    int64_t n = 0;
    if (v == NULL || len == 0 || len >= sizeof text)
        return 0;
    memcpy(text, v, len);
    text[len] = '\0';
    return fo_parse_int(text, 0, MOCK_FAULT_MAX_ATTEMPT, &n) == FO_PARSE_OK ? (int)n : 0;
}

/* A metadata value as a JSON string, or NULL when absent. */
static json_t *md_string(const mock_call *mc, const char *key)
{
    size_t len = 0;
    const char *value = fo_server_call_metadata(mc->call, key, &len);
    return value != NULL ? json_stringn(value, len) : NULL;
}

/*
 * At debug level, one line per call with the trace context it came with:
 * trace_id and span_id when its traceparent is valid (fo_trace.h), and the
 * headers as received.
 */
static void log_call(const mock_call *mc, fo_status code)
{
    if (!fo_log_enabled(FO_LOG_DEBUG))
        return;
    size_t len = 0;
    const char *traceparent = fo_server_call_metadata(mc->call, FO_TRACE_HEADER, &len);
    fo_trace_parent tp;
    bool traced = fo_trace_parse(traceparent, len, &tp);
    fo_log(FO_LOG_DEBUG, json_pack("{s:s, s:s, s:s?, s:s?, s:o?, s:o?, s:s}", "event", "call", "feature",
                                   mc->svc->feature, "trace_id", traced ? tp.trace_id : NULL, "span_id",
                                   traced ? tp.parent_id : NULL, "traceparent", md_string(mc, FO_TRACE_HEADER),
                                   "tracestate", md_string(mc, FO_TRACE_STATE_HEADER), "status", fo_status_name(code)));
}

static void mock_call_end(mock_call *mc, mock_outcome outcome, fo_status code, const char *message,
                          const fo_payload *reply)
{
    log_call(mc, code);
    atomic_fetch_add_explicit(&mc->svc->outcomes[outcome], 1, memory_order_relaxed);
    if (outcome == MOCK_OUTCOME_CANCELLED)
        atomic_fetch_add_explicit(&mc->svc->cancelled_by_attempt[attempt_slot(mc)], 1, memory_order_relaxed);
    mock_metrics_call(mc->svc, outcome, &mc->fault);
    fo_timer_cancel(fo_server_call_loop(mc->call), &mc->delay);
    fo_server_call_finish(mc->call, code, message, reply, NULL, 0);
    if (mc->req != NULL)
        fanout__feature__v1__usage_request__free_unpacked(mc->req, NULL);
    free(mc);
}

static void generate_report(const mock_call *mc, mock_report *report)
{
    int64_t start, end;
    mock_window_resolve(mc->req->window_start_unix, mc->req->window_end_unix, fo_unix_now(), &start, &end);
    mock_report_generate(report, mc->svc->feature, mc->req->customer_id, start, end);
}

static void reply_with_data(mock_call *mc)
{
    mock_report report;
    generate_report(mc, &report);
    fo_payload *p = fo_payload_pack(&report.msg.base);
    mock_report_release(&report);
    mock_call_end(mc, MOCK_OUTCOME_OK, FO_STATUS_OK, "", p);
    fo_payload_free(p);
}

/*
 * The report, then one unknown length-delimited field filling the rest of
 * huge_bytes: a valid UsageReport of exactly that size. The length is a
 * varint stretched to five bytes (protobuf allows it), so the header's size
 * does not depend on the padding's. A size below the report's own gives the
 * plain report.
 */
static void reply_huge(mock_call *mc)
{
    mock_report report;
    generate_report(mc, &report);
    size_t n = protobuf_c_message_get_packed_size(&report.msg.base);
    size_t total = mc->fault.huge_bytes >= n + PAD_HEADER ? mc->fault.huge_bytes : n;
    unsigned char *buf = fo_xmalloc(total);
    protobuf_c_message_pack(&report.msg.base, buf);
    mock_report_release(&report);
    if (total > n) {
        size_t pad = total - n - PAD_HEADER;
        unsigned char *h = buf + n;
        h[0] = (PAD_FIELD << 3) | 2;
        for (int i = 0; i < 5; i++)
            h[1 + i] = (unsigned char)(((pad >> (7 * i)) & 0x7f) | (i < 4 ? 0x80 : 0));
        memset(h + PAD_HEADER, 'x', pad);
    }
    fo_payload *p = fo_payload_from_bytes(buf, total);
    free(buf);
    mock_call_end(mc, MOCK_OUTCOME_HUGE, FO_STATUS_OK, "", p);
    fo_payload_free(p);
}

static void reply_malformed(mock_call *mc)
{
    /* Field 1 (string) claiming 2^28 bytes that never come: no parser accepts it. */
    static const unsigned char garbage[] = {0x0a, 0x80, 0x80, 0x80, 0x80, 0x01, 'x'};
    fo_payload *p = fo_payload_from_bytes(garbage, sizeof garbage);
    mock_call_end(mc, MOCK_OUTCOME_MALFORMED, FO_STATUS_OK, "", p);
    fo_payload_free(p);
}

static void crash(const mock_call *mc)
{
    fo_log_event(json_pack("{s:s, s:s, s:i}", "event", "crash", "feature", mc->svc->feature, "pid", (int)getpid()));
    /* No clean-up, no status: what a crashed service looks like to its callers. */
    _exit(70);
}

static void act(mock_call *mc)
{
    switch (mc->fault.kind) {
    case MOCK_FAULT_NONE:
        reply_with_data(mc);
        break;
    case MOCK_FAULT_ERROR: {
        char msg[96];
        snprintf(msg, sizeof msg, "injected %s from %s", fo_status_name(mc->fault.error_code), mc->svc->feature);
        mock_call_end(mc, MOCK_OUTCOME_ERROR, mc->fault.error_code, msg, NULL);
        break;
    }
    case MOCK_FAULT_MALFORMED:
        reply_malformed(mc);
        break;
    case MOCK_FAULT_HUGE:
        reply_huge(mc);
        break;
    case MOCK_FAULT_CRASH:
        crash(mc);
        break;
    case MOCK_FAULT_HANG:
        /* Nothing: the cancellation handler ends the call at the caller's deadline. */
        break;
    }
}

static void delay_elapsed(fo_timer *t) { act(fo_container_of(t, mock_call, delay)); }

static void cancelled(void *ud)
{
    mock_call_end(ud, MOCK_OUTCOME_CANCELLED, FO_STATUS_CANCELLED, "cancelled by the caller", NULL);
}

static fo_error *decide_fault(mock_call *mc)
{
    size_t len;
    const char *header = fo_server_call_metadata(mc->call, MOCK_FAULT_HEADER, &len);
    if (header != NULL) {
        fo_error *err = mock_fault_parse(header, len, mc->svc->feature, mc->attempt, &mc->fault);
        if (err != NULL || mc->fault.kind != MOCK_FAULT_NONE || mc->fault.delay_us > 0)
            return err;
    }
    mock_profile_sample(&mc->svc->profile, thread_rng(), &mc->fault);
    return NULL;
}

static void get_usage(fo_server_call *call, void *ctx)
{
    mock_call *mc = fo_xcalloc(1, sizeof *mc);
    mc->call = call;
    mc->svc = ctx;
    fo_timer_init(&mc->delay, delay_elapsed);
    mc->attempt = previous_attempts(call);
    atomic_fetch_add_explicit(&mc->svc->calls_by_attempt[attempt_slot(mc)], 1, memory_order_relaxed);

    fo_error *err = NULL;
    mc->req = (Fanout__Feature__V1__UsageRequest *)fo_server_call_request(
        call, &fanout__feature__v1__usage_request__descriptor, &err);
    if (err == NULL)
        err = mock_request_validate(mc->req);
    if (err == NULL)
        err = decide_fault(mc);
    if (err != NULL) {
        /* Past its deadline a call may come without its request (the caller gave up first): cancelled, not invalid. */
        bool expired = fo_server_call_deadline(call) <= fo_now_ns();
        mock_call_end(mc, expired ? MOCK_OUTCOME_CANCELLED : MOCK_OUTCOME_INVALID, err->code, err->message, NULL);
        fo_error_free(err);
        return;
    }
    fo_server_call_on_cancel(call, cancelled, mc);
    if (mc->fault.delay_us > 0)
        fo_timer_start(fo_server_call_loop(call), &mc->delay, fo_now_ns() + mc->fault.delay_us * FO_NS_PER_US);
    else
        act(mc);
}

/* What health checks and reflection answer for. */
static const char *const served_services[] = {"fanout.feature.v1.FeatureService", FO_HEALTH_SERVICE,
                                              FO_REFLECTION_V1ALPHA_SERVICE, FO_REFLECTION_V1_SERVICE};

static void add_methods(fo_server *server, void *svc)
{
    fo_server_add_method(server, MOCK_GET_USAGE_PATH, FO_RPC_UNARY, get_usage, svc);
}

fo_host_opts mock_service_host_opts(mock_service *svc)
{
    return (fo_host_opts){
        .services = served_services,
        .n_services = sizeof served_services / sizeof *served_services,
        .add_methods = add_methods,
        .ud = svc,
    };
}

void mock_service_write_stats(mock_service *svc)
{
    json_int_t n[MOCK_OUTCOME_COUNT];
    for (int i = 0; i < MOCK_OUTCOME_COUNT; i++)
        n[i] = (json_int_t)atomic_load(&svc->outcomes[i]);
    json_t *calls = json_array(), *cancelled = json_array();
    for (int i = 0; i < MOCK_ATTEMPT_SLOTS; i++) {
        json_array_append_new(calls, json_integer((json_int_t)atomic_load(&svc->calls_by_attempt[i])));
        json_array_append_new(cancelled, json_integer((json_int_t)atomic_load(&svc->cancelled_by_attempt[i])));
    }
    fo_log_event(json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "event", "stats", "feature",
                           svc->feature, "pid", (int)getpid(), "ok", n[MOCK_OUTCOME_OK], "error", n[MOCK_OUTCOME_ERROR],
                           "malformed", n[MOCK_OUTCOME_MALFORMED], "huge", n[MOCK_OUTCOME_HUGE], "cancelled",
                           n[MOCK_OUTCOME_CANCELLED], "invalid", n[MOCK_OUTCOME_INVALID], "calls_by_attempt", calls,
                           "cancelled_by_attempt", cancelled));
}
