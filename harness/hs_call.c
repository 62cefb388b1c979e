/* hs_call: a scenario's request on the wire, its outcome as JSON. */
#include "hs_call.h"
#include "fo_alloc.h"

#include <stdlib.h>
#include <string.h>

#include "fo_loop.h"
#include "fo_pbjson.h"
#include "tool_rpc.h"
#include "tool_stream.h"

#define UNARY_PATH "/fanout.v1.Aggregator/GetCustomerAnalytics"

static void run_unary(const hs_call *call, const char *target, hs_outcome *out)
{
    fo_loop *loop = fo_loop_create();
    tool_rpc_pending p;
    tool_rpc_start(&p, loop, target, UNARY_PATH, &call->request->base, &fanout__v1__analytics_response__descriptor,
                   call->deadline_ms, call->mock_fault);
    if (call->cancel_after_ms != HS_MS_UNSET && !p.done)
        tool_rpc_cancel_after(&p, call->cancel_after_ms);
    tool_rpc_wait(&p);
    out->status = p.result.status;
    out->elapsed_ms = p.result.elapsed_ms;
    /* Taken over from the result, which the release below would free. */
    out->message = p.result.message;
    out->failed_feature = p.result.failed_feature;
    p.result.message = NULL;
    p.result.failed_feature = NULL;
    out->actual = p.result.reply != NULL ? fo_pbjson_from_message(p.result.reply) : json_null();
    tool_rpc_pending_release(&p);
    fo_loop_destroy(loop);
}

static void run_stream(const hs_call *call, const char *target, hs_outcome *out)
{
    tool_stream_result s;
    tool_stream_analytics(target, call->request, call->deadline_ms, call->mock_fault, &s);
    out->status = s.status;
    out->elapsed_ms = s.elapsed_ms;
    out->message = s.message;
    out->failed_feature = s.failed_feature;
    s.message = NULL;
    s.failed_feature = NULL;
    out->actual = json_array();
    for (size_t i = 0; i < s.n; i++) {
        /* tool_stream keeps NULL for a result that did not unpack. */
        json_array_append_new(out->actual,
                              s.results[i] != NULL ? fo_pbjson_from_message(&s.results[i]->base) : json_null());
    }
    tool_stream_result_release(&s);
}

void hs_call_run(const hs_call *call, const char *target, hs_outcome *out)
{
    memset(out, 0, sizeof *out);
    if (call->method == HS_METHOD_UNARY)
        run_unary(call, target, out);
    else
        run_stream(call, target, out);
    if (out->message == NULL)
        out->message = fo_xstrdup("");
}

void hs_outcome_release(hs_outcome *o)
{
    free(o->message);
    free(o->failed_feature);
    json_decref(o->actual);
    memset(o, 0, sizeof *o);
}
