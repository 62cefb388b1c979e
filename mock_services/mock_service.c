/*
 * mock_service: one GetUsage call as a small state machine.
 *
 *   arrived ──validate──▶ (bad request) ──▶ INVALID_ARGUMENT
 *      │
 *      └─ fault decided (header, else profile) ─▶ DELAYING ─timer─▶ ACTING
 *   ACTING: reply with data | error status | malformed bytes | crash | hang
 *   A cancellation (client gone, deadline) during DELAYING or a hang ends
 *   the call with CANCELLED.
 */
#include "mock_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <threads.h>
#include <unistd.h>

#include "fanout/feature/v1/feature.pb-c.h"
#include "fo_time.h"
#include "mock_data.h"
#include "mock_fault.h"

typedef struct mock_call {
    fo_server_call *call;
    const mock_service *svc;
    Fanout__Feature__V1__UsageRequest *req;
    mock_fault fault;
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

static void mock_call_end(mock_call *mc, fo_status code, const char *message, const fo_payload *reply)
{
    fo_timer_cancel(fo_server_call_loop(mc->call), &mc->delay);
    fo_server_call_finish(mc->call, code, message, reply, NULL, 0);
    if (mc->req != NULL)
        fanout__feature__v1__usage_request__free_unpacked(mc->req, NULL);
    free(mc);
}

static void reply_with_data(mock_call *mc)
{
    int64_t start, end;
    mock_window_resolve(mc->req->window_start_unix, mc->req->window_end_unix, fo_unix_now(), &start, &end);
    mock_report report;
    mock_report_generate(&report, mc->svc->feature, mc->req->customer_id, start, end);
    fo_payload *p = fo_payload_pack(&report.msg.base);
    mock_report_release(&report);
    mock_call_end(mc, FO_STATUS_OK, "", p);
    fo_payload_free(p);
}

static void reply_malformed(mock_call *mc)
{
    /* Field 1 (string) claiming 2^28 bytes that never come: no parser accepts it. */
    static const unsigned char garbage[] = {0x0a, 0x80, 0x80, 0x80, 0x80, 0x01, 'x'};
    fo_payload *p = fo_payload_from_bytes(garbage, sizeof garbage);
    mock_call_end(mc, FO_STATUS_OK, "", p);
    fo_payload_free(p);
}

static void crash(const mock_call *mc)
{
    printf("{\"event\":\"crash\",\"feature\":\"%s\",\"pid\":%d}\n", mc->svc->feature, (int)getpid());
    fflush(stdout);
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
        mock_call_end(mc, mc->fault.error_code, msg, NULL);
        break;
    }
    case MOCK_FAULT_MALFORMED:
        reply_malformed(mc);
        break;
    case MOCK_FAULT_CRASH:
        crash(mc);
        break;
    case MOCK_FAULT_HANG:
        /* Nothing: the cancellation handler ends the call at the caller's deadline. */
        break;
    }
}

static void delay_elapsed(fo_timer *t)
{
    act(fo_container_of(t, mock_call, delay));
}

static void cancelled(void *ud)
{
    mock_call_end(ud, FO_STATUS_CANCELLED, "cancelled by the caller", NULL);
}

static fo_error *decide_fault(mock_call *mc)
{
    size_t len;
    const char *header = fo_server_call_metadata(mc->call, MOCK_FAULT_HEADER, &len);
    if (header != NULL) {
        fo_error *err = mock_fault_parse(header, len, mc->svc->feature, &mc->fault);
        if (err != NULL || mc->fault.kind != MOCK_FAULT_NONE || mc->fault.delay_us > 0)
            return err;
    }
    mock_profile_sample(&mc->svc->profile, thread_rng(), &mc->fault);
    return NULL;
}

static void get_usage(fo_server_call *call, void *ctx)
{
    mock_call *mc = calloc(1, sizeof *mc);
    if (mc == NULL)
        abort();
    mc->call = call;
    mc->svc = ctx;
    fo_timer_init(&mc->delay, delay_elapsed);

    fo_error *err = NULL;
    mc->req = (Fanout__Feature__V1__UsageRequest *)fo_server_call_request(
        call, &fanout__feature__v1__usage_request__descriptor, &err);
    if (err == NULL)
        err = mock_request_validate(mc->req);
    if (err == NULL)
        err = decide_fault(mc);
    if (err != NULL) {
        mock_call_end(mc, err->code, err->message, NULL);
        fo_error_free(err);
        return;
    }
    fo_server_call_on_cancel(call, cancelled, mc);
    if (mc->fault.delay_us > 0)
        fo_timer_start(fo_server_call_loop(call), &mc->delay, fo_now_ns() + mc->fault.delay_us * FO_NS_PER_US);
    else
        act(mc);
}

void mock_service_register(mock_service *svc, fo_server *s)
{
    fo_server_add_method(s, MOCK_GET_USAGE_PATH, FO_RPC_UNARY, get_usage, svc);
}
