/*
 * agg_request: one incoming GetCustomerAnalytics or StreamCustomerAnalytics
 * call, from arrival to the last byte, as a state machine on one worker's
 * loop:
 *
 *   ARRIVED ─(expired deadline, over the in-flight limit, bad request)─▶ status
 *      │ validate, plan, pack the UsageRequest once
 *      ▼
 *   RUNNING: the runner fans out; streaming sends each result as it lands
 *      │ runner finished (all done / first failure / client gone)
 *      ▼
 *   ANSWERING: the reduced response (unary) or the last sends then the status
 *      │ status sent, and every feature call drained
 *      ▼
 *   freed
 */
#ifndef AGG_REQUEST_H
#define AGG_REQUEST_H

#include "fo_server.h"

/* fo_handler_fn for the two methods; ctx is the agg_service. */
void agg_request_start_unary(fo_server_call *call, void *ctx);
void agg_request_start_stream(fo_server_call *call, void *ctx);

#endif
