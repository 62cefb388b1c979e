/*
 * agg_http_request: an HTTP request's text into the AnalyticsRequest the
 * gRPC face would have received, so that both faces validate, fan out and
 * reduce the same message. Nothing here checks what agg_validate checks
 * (feature names, windows, limits): only the HTTP form.
 *
 *   GET  /v1/customers/{customer_id}/analytics[:stream]
 *        ?features=a,b&policy=FAIL_FAST&window_start=..&window_end=..&timeout_ms=..
 *   POST /v1/analytics:query  with an AnalyticsRequest as proto3 JSON
 *
 * Errors are INVALID_ARGUMENT and name the parameter or the JSON field.
 */
#ifndef AGG_HTTP_REQUEST_H
#define AGG_HTTP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "fanout/v1/aggregator.pb-c.h"
#include "fo_error.h"

/* One query parameter; value NULL for "?key" without '='. */
typedef struct agg_http_param {
    const char *key;
    const char *value;
} agg_http_param;

/*
 * The request of GET .../analytics from the path's customer and the query
 * parameters; *timeout_ms is timeout_ms, or -1 when absent. Unknown and
 * repeated parameters are errors (features may repeat: the lists add up).
 */
fo_error *agg_http_request_from_query(const char *customer, const agg_http_param *params, size_t n,
                                      Fanout__V1__AnalyticsRequest **out, int64_t *timeout_ms);

/* The POST body (any bytes): proto3 JSON, field names in lowerCamelCase or as in the proto. */
fo_error *agg_http_request_from_body(const char *body, size_t len, Fanout__V1__AnalyticsRequest **out);

/*
 * A timeout header into milliseconds (at least 1): "grpc-timeout" in gRPC's
 * wire form ("250m", "2S", at most 8 digits and a unit of H M S m u n), or
 * "x-timeout-ms" as a decimal count of milliseconds.
 */
fo_error *agg_http_timeout_header(const char *name, const char *value, int64_t *ms);

#endif
