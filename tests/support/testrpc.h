/*
 * testrpc: blocking gRPC calls for integration tests, on the project's own
 * client layer (fo_rpc), with what a test wants to look at afterwards.
 */
#ifndef TESTRPC_H
#define TESTRPC_H

#include <stdint.h>

#include "fanout/v1/aggregator.pb-c.h"
#include "fo_rpc.h"

typedef struct testrpc_result {
    fo_status status;
    char *message;
    char *failed_feature;    /* the fanout-failed-feature trailer, or NULL */
    char *request_id;        /* the x-request-id header, or NULL */
    ProtobufCMessage *reply; /* unpacked reply, or NULL */
    int64_t elapsed_ms;
} testrpc_result;

/*
 * Calls path on target with request, deadline_ms from now (0: none) and an
 * optional x-mock-fault header, and unpacks the reply as reply_desc.
 */
void testrpc_call(const char *target, const char *path, const ProtobufCMessage *request,
                  const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms, const char *mock_fault,
                  testrpc_result *out);
void testrpc_result_release(testrpc_result *r);
/* A NUL-terminated copy of a metadata value of len bytes; NULL for NULL. */
char *testrpc_strdup_md(const char *value, size_t len);

/* The same with the request given as raw bytes, which need not be a valid message. */
void testrpc_call_raw(const char *target, const char *path, const void *bytes, size_t len,
                      const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms, testrpc_result *out);

/* GetCustomerAnalytics: features as a NULL-terminated list (NULL: all). */
void testrpc_analytics(const char *target, const char *customer, const char *const *features,
                       Fanout__V1__FailurePolicy policy, int64_t deadline_ms, const char *mock_fault,
                       testrpc_result *out);
static inline Fanout__V1__AnalyticsResponse *testrpc_analytics_reply(const testrpc_result *r)
{
    return (Fanout__V1__AnalyticsResponse *)r->reply;
}

/* --- one mock feature service ------------------------------------------------ */

#define TESTRPC_GET_USAGE_PATH "/fanout.feature.v1.FeatureService/GetUsage"

/* GetUsage on a mock feature service at target; the reply is a UsageReport. */
void testrpc_usage(const char *target, const char *customer, int64_t window_start_unix, int64_t window_end_unix,
                   int64_t deadline_ms, const char *mock_fault, testrpc_result *out);
static inline Fanout__Feature__V1__UsageReport *testrpc_usage_reply(const testrpc_result *r)
{
    return (Fanout__Feature__V1__UsageReport *)r->reply;
}

/* --- calls on the test's own loop ------------------------------------------ */

/*
 * One call started on a loop the test runs itself, so that it can overlap
 * other calls or be cancelled while in flight. When it completes, result is
 * filled (elapsed_ms from the start) and done becomes true.
 */
typedef struct testrpc_pending {
    fo_loop *loop;
    fo_channel *channel;
    fo_payload *payload;
    fo_client_call *cc;
    const ProtobufCMessageDescriptor *reply_desc;
    int64_t started_ns;
    fo_timer cancel_timer;
    bool done;
    testrpc_result result;
} testrpc_pending;

/*
 * Starts what testrpc_call would call, on loop. On failure to start, done is
 * already true and result holds the error. Release it with
 * testrpc_pending_release once done.
 */
void testrpc_start(testrpc_pending *p, fo_loop *loop, const char *target, const char *path,
                   const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_desc, int64_t deadline_ms,
                   const char *mock_fault);
/* Cancels the call ms from now, while its loop runs (fo_client_call_cancel). */
void testrpc_cancel_after(testrpc_pending *p, int64_t ms);
/* Runs the loop until the call is done. */
void testrpc_wait(testrpc_pending *p);
/* Frees the finished call, its channel and its result. */
void testrpc_pending_release(testrpc_pending *p);

/*
 * testrpc_call over a channel made with opts (TLS and client certificates,
 * load balancing); opts NULL is plaintext, as testrpc_call.
 */
void testrpc_call_opts(const char *target, const fo_channel_opts *opts, const char *path,
                       const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_desc,
                       int64_t deadline_ms, const char *mock_fault, testrpc_result *out);

#endif
