/*
 * agg_trace: one request's place in a W3C trace (fo_trace.h has the header's
 * rules). A valid traceparent from the caller is honoured: its trace id is
 * kept and its span id is the parent of the request's own span. Without one,
 * or with an invalid one, the request starts a trace (sampled: its log line
 * records it). Each feature call carries a child traceparent of its own: the
 * same trace id, a new span id. The caller's tracestate goes on to the
 * features as it came, with a valid traceparent only (a restarted trace is
 * not the one it describes). The request's log line carries trace_id and
 * span_id; the mocks log the trace id and the call's span id they received,
 * so one request can be followed through every log.
 */
#ifndef AGG_TRACE_H
#define AGG_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_rpc.h"
#include "fo_trace.h"

typedef struct agg_trace {
    char trace_id[FO_TRACE_ID_HEX + 1];
    char span_id[FO_SPAN_ID_HEX + 1];   /* the request's own span */
    char parent_id[FO_SPAN_ID_HEX + 1]; /* the caller's span; "" when the trace starts here */
    uint8_t flags;
} agg_trace;

/* From the caller's traceparent (value and len as the metadata came; NULL when absent). */
void agg_trace_begin(agg_trace *t, const char *traceparent, size_t len);
/* Whether the caller's trace goes on (and with it the caller's tracestate). */
static inline bool agg_trace_continued(const agg_trace *t) { return t->parent_id[0] != '\0'; }
/* A feature call's own traceparent, written into buf, as metadata pointing at buf. */
fo_md agg_trace_child(const agg_trace *t, char buf[FO_TRACEPARENT_LEN + 1]);

#endif
