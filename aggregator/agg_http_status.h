/*
 * agg_http_status: how the HTTP face says a gRPC status: the HTTP status
 * Google's API design maps each code to (google.rpc.Code's documentation,
 * as grpc-gateway answers), and the error body {"code": N, "message": "...",
 * "details": []} (google.rpc.Status as proto3 JSON).
 */
#ifndef AGG_HTTP_STATUS_H
#define AGG_HTTP_STATUS_H

#include "fo_error.h"

/* INVALID_ARGUMENT 400, NOT_FOUND 404, RESOURCE_EXHAUSTED 429, CANCELLED 499, ... */
unsigned agg_http_status_of(fo_status code);
/* The error body, on one line and without a newline; the caller frees it. */
char *agg_http_error_json(fo_status code, const char *message);

#endif
