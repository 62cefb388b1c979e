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
 */
#ifndef AGG_REQUEST_H
#define AGG_REQUEST_H

#include "fo_server.h"

/* fo_handler_fn for the two methods; ctx is the agg_service. */
void agg_request_start_unary(fo_server_call *call, void *ctx);
void agg_request_start_stream(fo_server_call *call, void *ctx);

#endif
