/*
 * agg_request: one incoming GetCustomerAnalytics or StreamCustomerAnalytics
 * call, from arrival to the last byte, as a state machine on one worker's
 * loop (one state field, request_state in agg_request.c):
 *
 *   ARRIVED ─(expired deadline, over the in-flight limit, bad request)─┐
 *      │ validate, plan, pack the UsageRequest once                    │
 *      ▼                                                               │
 *   RUNNING ⇄ SENDING: the runner fans out; streaming sends each       │
 *      │           result as it lands, one send at a time              │
 *      │ runner finished (all done / first failure / client gone /     │
 *      │ ALLOW_PARTIAL's cut ahead of the deadline, agg_deadline.h)    │
 *      ├──▶ FLUSHING (streaming): the queued results are sent          │
 *      ▼          │                                                    │
 *   DECIDED ◀─────┴────────────────────────────────────────────────────┘
 *      │ the status: the reduced response (unary), OK (streaming), the
 *      ▼ failing feature's status (fail-fast), or the error
 *   ANSWERED
 *      │ every feature call drained
 *      ▼
 *   freed
 *
 * Every way out goes through one finalizer, request_finalize, which answers
 * a DECIDED request and frees an ANSWERED one whose run is idle.
 *
 * The request speaks to its client through an agg_face (agg_face.h): the
 * gRPC call, or the HTTP/JSON face's exchange; everything else is the same.
 */
#ifndef AGG_REQUEST_H
#define AGG_REQUEST_H

#include "agg_face.h"
#include "agg_service.h"
#include "fo_server.h"

/* fo_handler_fn for the two methods; ctx is the agg_service. */
void agg_request_start_unary(fo_server_call *call, void *ctx);
void agg_request_start_stream(fo_server_call *call, void *ctx);
/* The same request path for another face (agg_http): unary or streaming; face is released when the request is freed. */
void agg_request_start_face(agg_face *face, agg_service *svc, bool streaming);

#endif
