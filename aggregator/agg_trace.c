/* agg_trace: a request's trace context and its feature calls' (see agg_trace.h). */
#include "agg_trace.h"

#include <string.h>

void agg_trace_begin(agg_trace *t, const char *traceparent, size_t len)
{
    fo_trace_parent caller;
    if (traceparent != NULL && fo_trace_parse(traceparent, len, &caller)) {
        memcpy(t->trace_id, caller.trace_id, sizeof t->trace_id);
        memcpy(t->parent_id, caller.parent_id, sizeof t->parent_id);
        t->flags = caller.flags;
    } else {
        fo_trace_new_trace_id(t->trace_id);
        t->parent_id[0] = '\0';
        t->flags = FO_TRACE_SAMPLED;
    }
    fo_trace_new_span_id(t->span_id);
}

fo_md agg_trace_child(const agg_trace *t, char buf[FO_TRACEPARENT_LEN + 1])
{
    char span[FO_SPAN_ID_HEX + 1];
    fo_trace_new_span_id(span);
    fo_trace_format(t->trace_id, span, t->flags, buf);
    return (fo_md){.key = FO_TRACE_HEADER, .value = buf, .value_len = FO_TRACEPARENT_LEN};
}
