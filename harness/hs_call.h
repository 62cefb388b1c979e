/*
 * hs_call: one scenario call made on the aggregator, and its outcome as JSON
 * ready for comparison: the reply in canonical proto3 JSON (fo_pbjson), or for
 * a stream the array of FeatureResults in arrival order.
 *
 * The calls themselves are fanout_tools' client code, which the integration
 * tests use too: tool_rpc for GetCustomerAnalytics (on a loop of our own, so
 * that the client can cancel it in flight) and tool_stream for
 * StreamCustomerAnalytics.
 */
#ifndef HS_CALL_H
#define HS_CALL_H

#include <jansson.h>
#include <stdint.h>

#include "fo_error.h"
#include "hs_scenario.h"

typedef struct hs_outcome {
    fo_status status;
    char *message;        /* the status message, never NULL */
    char *failed_feature; /* the fanout-failed-feature trailer, or NULL */
    json_t *actual;       /* unary: the reply object, or null without one; stream: the results array */
    int64_t elapsed_ms;   /* from the start of the call to its status */
} hs_outcome;

/* Makes call on the aggregator at target and fills out; release it with hs_outcome_release. */
void hs_call_run(const hs_call *call, const char *target, hs_outcome *out);
void hs_outcome_release(hs_outcome *o);

#endif
