/*
 * tool_stream: a blocking StreamCustomerAnalytics call for the harness and
 * the integration tests, on the project's own streaming client
 * (fo_client_stream) and a private loop. It keeps every result with its
 * arrival time, which is what the callers check.
 */
#ifndef TOOL_STREAM_H
#define TOOL_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "fanout/v1/aggregator.pb-c.h"
#include "fo_error.h"

typedef struct tool_stream_result {
    fo_status status;
    char *message;
    char *failed_feature;                /* the fanout-failed-feature trailer, or NULL */
    Fanout__V1__FeatureResult **results; /* in arrival order */
    int64_t *arrival_ms;                 /* of each result, after the call started */
    size_t n;
    int64_t elapsed_ms; /* until the status */
} tool_stream_result;

/*
 * Calls StreamCustomerAnalytics on target with req, a deadline deadline_ms
 * from now (it must be positive: a stream never waits forever) and an
 * optional x-mock-fault header, and reads it to its status.
 */
void tool_stream_analytics(const char *target, const Fanout__V1__AnalyticsRequest *req, int64_t deadline_ms,
                           const char *mock_fault, tool_stream_result *out);
void tool_stream_result_release(tool_stream_result *r);

#endif
