/*
 * agg_reduce: folds the per-feature outcomes of one request into its
 * AnalyticsResponse, or one outcome into a streamed FeatureResult.
 *
 * Nothing is copied: the response points at the outcomes' usage reports,
 * feature names, messages and the customer_id, so those must outlive it. It is
 * meant to be packed, never freed with protobuf-c's free_unpacked.
 */
#ifndef AGG_REDUCE_H
#define AGG_REDUCE_H

#include <stddef.h>
#include <stdint.h>

#include "fanout/v1/aggregator.pb-c.h"
#include "fo_error.h"

/* How one feature of the request ended. */
typedef struct agg_outcome {
    const char *feature;                     /* borrowed */
    int32_t index;                           /* position in the request */
    Fanout__Feature__V1__UsageReport *usage; /* borrowed; NULL when the feature failed */
    const uint8_t *usage_wire;               /* borrowed: usage as the feature encoded it, or NULL */
    size_t usage_wire_len;
    fo_status code;             /* when usage == NULL */
    const char *message;        /* borrowed; when usage == NULL */
    Fanout__V1__ErrorKind kind; /* when usage == NULL */
    int64_t latency_us;
    int32_t attempts;
    int32_t answered_by_attempt; /* 1-based; 0: none */
} agg_outcome;

/*
 * DEADLINE_EXCEEDED -> DEADLINE, UNAVAILABLE -> UNAVAILABLE, CANCELLED ->
 * CANCELLED, any other -> BACKEND_ERROR. MALFORMED_RESPONSE, UNKNOWN_FEATURE
 * and the like are the caller's to decide.
 */
Fanout__V1__ErrorKind agg_error_kind_for_status(fo_status code);

/*
 * A response and the storage behind it. msg.totals points into this struct,
 * so it must not be copied or moved between agg_reduce and release.
 */
typedef struct agg_response {
    Fanout__V1__AnalyticsResponse msg;
    Fanout__V1__Totals totals;
    void *storage; /* one block: the results and errors arrays, their structs, the daily list */
} agg_response;

/*
 * Builds the response to n outcomes given in request order: results in that
 * order, errors repeating the failed ones, counts, and totals over the
 * features that succeeded (events summed, saturating; active_users and
 * last_used_unix as maxima; daily summed per day in day order; top_feature
 * the most events, the earliest on ties, "" without successes). One
 * allocation; O(d log d) for d daily entries in all.
 */
void agg_reduce(const agg_outcome *outcomes, size_t n, const char *customer_id, int64_t elapsed_us, agg_response *out);
/* Frees what agg_reduce allocated, never the borrowed reports. */
void agg_response_release(agg_response *r);

/*
 * One result, for the streaming method: fills *res, and *err_storage when the
 * feature failed (res->error then points at it). Allocates nothing.
 */
void agg_result_fill(const agg_outcome *o, Fanout__V1__FeatureResult *res, Fanout__V1__FeatureError *err_storage);

#endif
