/* tool_rpc: blocking calls and their results. */
#include "tool_rpc.h"

#include <stdlib.h>
#include <string.h>

#include "fo_time.h"

void tool_rpc_call(const char *target, const char *path, const ProtobufCMessage *request,
                   const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms, const char *mock_fault,
                   tool_rpc_result *out)
{
    tool_rpc_call_opts(target, NULL, path, request, reply_desc, deadline_ms, mock_fault, out);
}

char *tool_rpc_strdup_md(const char *value, size_t len)
{
    if (value == NULL)
        return NULL;
    /* Not strndup: a metadata value need not be followed by a NUL, and strndup may look for one past len. */
    char *s = malloc(len + 1);
    if (s == NULL)
        abort();
    memcpy(s, value, len);
    s[len] = '\0';
    return s;
}

/* The finished call's status, message, reply, fail-fast trailer and request id, into out. */
static void result_fill(tool_rpc_result *out, fo_client_call *cc, const ProtobufCMessageDescriptor *reply_desc)
{
    out->status = fo_client_call_status(cc);
    out->message = strdup(fo_client_call_message(cc));
    out->reply = fo_client_call_unpack(cc, reply_desc);
    size_t len = 0;
    const char *failed = fo_client_call_trailer(cc, "fanout-failed-feature", &len);
    out->failed_feature = tool_rpc_strdup_md(failed, len);
    const char *id = fo_client_call_header(cc, "x-request-id", &len);
    out->request_id = tool_rpc_strdup_md(id, len);
}

void tool_rpc_result_release(tool_rpc_result *r)
{
    free(r->message);
    free(r->failed_feature);
    free(r->request_id);
    if (r->reply != NULL)
        protobuf_c_message_free_unpacked(r->reply, NULL);
    memset(r, 0, sizeof *r);
}

void tool_rpc_analytics(const char *target, const char *customer, const char *const *features,
                        Fanout__V1__FailurePolicy policy, int64_t deadline_ms, const char *mock_fault,
                        tool_rpc_result *out)
{
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = (char *)customer;
    req.failure_policy = policy;
    size_t n = 0;
    while (features != NULL && features[n] != NULL)
        n++;
    req.n_features = n;
    req.features = (char **)features;
    tool_rpc_call(target, "/fanout.v1.Aggregator/GetCustomerAnalytics", &req.base,
                  &fanout__v1__analytics_response__descriptor, deadline_ms, mock_fault, out);
}

void tool_rpc_usage(const char *target, const char *customer, int64_t window_start_unix, int64_t window_end_unix,
                    int64_t deadline_ms, const char *mock_fault, tool_rpc_result *out)
{
    Fanout__Feature__V1__UsageRequest req = FANOUT__FEATURE__V1__USAGE_REQUEST__INIT;
    req.customer_id = (char *)customer;
    req.window_start_unix = window_start_unix;
    req.window_end_unix = window_end_unix;
    tool_rpc_call(target, TOOL_RPC_GET_USAGE_PATH, &req.base, &fanout__feature__v1__usage_report__descriptor,
                  deadline_ms, mock_fault, out);
}

/* --- calls on the caller's own loop ---------------------------------------- */

static void pending_done(fo_client_call *cc, void *ud)
{
    tool_rpc_pending *p = ud;
    tool_rpc_result *out = &p->result;
    out->elapsed_ms = (fo_now_ns() - p->started_ns) / FO_NS_PER_MS;
    result_fill(out, cc, p->reply_desc);
    p->done = true;
}

static void pending_cancel_due(fo_timer *t)
{
    tool_rpc_pending *p = fo_container_of(t, tool_rpc_pending, cancel_timer);
    if (!p->done)
        fo_client_call_cancel(p->cc);
}

void tool_rpc_start(tool_rpc_pending *p, fo_loop *loop, const char *target, const char *path,
                    const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms,
                    const char *mock_fault)
{
    memset(p, 0, sizeof *p);
    p->loop = loop;
    p->reply_desc = reply_desc;
    fo_timer_init(&p->cancel_timer, pending_cancel_due);
    fo_error *err = fo_channel_create(target, NULL, &p->channel);
    if (err == NULL) {
        p->payload = fo_payload_pack(request);
        fo_md md = {.key = "x-mock-fault", .value = mock_fault, .value_len = mock_fault ? strlen(mock_fault) : 0};
        fo_call_spec spec = {
            .channel = p->channel,
            .path = path,
            .loop = loop,
            .deadline_ns = deadline_ms > 0 ? fo_deadline_in_ms(deadline_ms) : FO_DEADLINE_NONE,
            .md = &md,
            .nmd = mock_fault ? 1 : 0,
            .request = p->payload,
        };
        p->started_ns = fo_now_ns();
        p->cc = fo_client_call_start(&spec, pending_done, p, &err);
    }
    if (err != NULL) {
        p->result.status = err->code;
        p->result.message = strdup(err->message);
        p->done = true;
        fo_error_free(err);
    }
}

void tool_rpc_cancel_after(tool_rpc_pending *p, int64_t ms)
{
    fo_timer_start(p->loop, &p->cancel_timer, fo_now_ns() + ms * FO_NS_PER_MS);
}

void tool_rpc_wait(tool_rpc_pending *p) { fo_loop_run(p->loop, &p->done); }

void tool_rpc_pending_release(tool_rpc_pending *p)
{
    fo_timer_cancel(p->loop, &p->cancel_timer);
    fo_client_call_free(p->cc);
    fo_payload_free(p->payload);
    fo_channel_destroy(p->channel);
    tool_rpc_result_release(&p->result);
}

/* A blocking call of payload on a new channel to target; out gets what happened. */
static void call_payload(const char *target, const fo_channel_opts *opts, const char *path, const fo_payload *payload,
                         const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms, const char *mock_fault,
                         tool_rpc_result *out)
{
    memset(out, 0, sizeof *out);
    fo_channel *ch = NULL;
    fo_error *err = fo_channel_create(target, opts, &ch);
    if (err != NULL) {
        out->status = err->code;
        out->message = strdup(err->message);
        fo_error_free(err);
        return;
    }
    fo_md md = {.key = "x-mock-fault", .value = mock_fault, .value_len = mock_fault ? strlen(mock_fault) : 0};
    fo_call_spec spec = {
        .channel = ch,
        .path = path,
        .deadline_ns = deadline_ms > 0 ? fo_deadline_in_ms(deadline_ms) : FO_DEADLINE_NONE,
        .md = &md,
        .nmd = mock_fault ? 1 : 0,
        .request = payload,
    };
    int64_t t0 = fo_now_ns();
    fo_client_call *cc = NULL;
    err = fo_client_call_blocking(&spec, &cc);
    out->elapsed_ms = (fo_now_ns() - t0) / FO_NS_PER_MS;
    if (err != NULL) {
        out->status = err->code;
        out->message = strdup(err->message);
        fo_error_free(err);
    } else {
        result_fill(out, cc, reply_desc);
    }
    fo_client_call_free(cc);
    fo_channel_destroy(ch);
}

void tool_rpc_call_opts(const char *target, const fo_channel_opts *opts, const char *path,
                        const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_desc,
                        int64_t deadline_ms, const char *mock_fault, tool_rpc_result *out)
{
    fo_payload *payload = fo_payload_pack(request);
    call_payload(target, opts, path, payload, reply_desc, deadline_ms, mock_fault, out);
    fo_payload_free(payload);
}

void tool_rpc_call_raw(const char *target, const char *path, const void *bytes, size_t len,
                       const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms, tool_rpc_result *out)
{
    fo_payload *payload = fo_payload_from_bytes(bytes, len);
    call_payload(target, NULL, path, payload, reply_desc, deadline_ms, NULL, out);
    fo_payload_free(payload);
}
