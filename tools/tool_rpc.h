/*
 * tool_rpc: blocking gRPC calls for the harness and the integration tests,
 * on the project's own client layer (fo_rpc), with what a caller wants to
 * look at afterwards.
 */
#ifndef TOOL_RPC_H
#define TOOL_RPC_H

#include <stdint.h>

#include "fanout/v1/aggregator.pb-c.h"
#include "fo_rpc.h"

typedef struct tool_rpc_result {
    fo_status status;
    char *message;
    char *failed_feature;    /* the fanout-failed-feature trailer, or NULL */
    char *request_id;        /* the x-request-id header, or NULL */
    ProtobufCMessage *reply; /* unpacked reply, or NULL */
    int64_t elapsed_ms;
} tool_rpc_result;

/*
 * Calls path on target with request, deadline_ms from now (0: none) and an
 * optional x-mock-fault header, and unpacks the reply as reply_desc.
 */
void tool_rpc_call(const char *target, const char *path, const ProtobufCMessage *request,
                   const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms, const char *mock_fault,
                   tool_rpc_result *out);
void tool_rpc_result_release(tool_rpc_result *r);
/* A NUL-terminated copy of a metadata value of len bytes; NULL for NULL. */
char *tool_rpc_strdup_md(const char *value, size_t len);

/* The same with the request given as raw bytes, which need not be a valid message. */
void tool_rpc_call_raw(const char *target, const char *path, const void *bytes, size_t len,
                       const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms, tool_rpc_result *out);

/* GetCustomerAnalytics: features as a NULL-terminated list (NULL: all). */
void tool_rpc_analytics(const char *target, const char *customer, const char *const *features,
                        Fanout__V1__FailurePolicy policy, int64_t deadline_ms, const char *mock_fault,
                        tool_rpc_result *out);
static inline Fanout__V1__AnalyticsResponse *tool_rpc_analytics_reply(const tool_rpc_result *r)
{
    return (Fanout__V1__AnalyticsResponse *)r->reply;
}

/* --- one mock feature service ------------------------------------------------ */

#define TOOL_RPC_GET_USAGE_PATH "/fanout.feature.v1.FeatureService/GetUsage"

/* GetUsage on a mock feature service at target; the reply is a UsageReport. */
void tool_rpc_usage(const char *target, const char *customer, int64_t window_start_unix, int64_t window_end_unix,
                    int64_t deadline_ms, const char *mock_fault, tool_rpc_result *out);
static inline Fanout__Feature__V1__UsageReport *tool_rpc_usage_reply(const tool_rpc_result *r)
{
    return (Fanout__Feature__V1__UsageReport *)r->reply;
}

/* --- calls on the caller's own loop ---------------------------------------- */

/*
 * One call started on a loop the caller runs itself, so that it can overlap
 * other calls or be cancelled while in flight. When it completes, result is
 * filled (elapsed_ms from the start) and done becomes true.
 */
typedef struct tool_rpc_pending {
    fo_loop *loop;
    fo_channel *channel;
    fo_payload *payload;
    fo_client_call *cc;
    const ProtobufCMessageDescriptor *reply_desc;
    int64_t started_ns;
    fo_timer cancel_timer;
    bool done;
    tool_rpc_result result;
} tool_rpc_pending;

/*
 * Starts what tool_rpc_call would call, on loop. On failure to start, done is
 * already true and result holds the error. Release it with
 * tool_rpc_pending_release once done.
 */
void tool_rpc_start(tool_rpc_pending *p, fo_loop *loop, const char *target, const char *path,
                    const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms,
                    const char *mock_fault);
/* Cancels the call ms from now, while its loop runs (fo_client_call_cancel). */
void tool_rpc_cancel_after(tool_rpc_pending *p, int64_t ms);
/* Runs the loop until the call is done. */
void tool_rpc_wait(tool_rpc_pending *p);
/* Frees the finished call, its channel and its result. */
void tool_rpc_pending_release(tool_rpc_pending *p);

/*
 * tool_rpc_call over a channel made with opts (TLS and client certificates,
 * load balancing); opts NULL is plaintext, as tool_rpc_call.
 */
void tool_rpc_call_opts(const char *target, const fo_channel_opts *opts, const char *path,
                        const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_desc,
                        int64_t deadline_ms, const char *mock_fault, tool_rpc_result *out);

#endif
