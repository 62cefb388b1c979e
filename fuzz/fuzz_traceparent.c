/*
 * fuzz_traceparent: fo_trace_parse on any bytes, as a traceparent header value. Refusals are
 * expected; a crash, a sanitizer report or a broken promise of fo_trace.h is a finding: an
 * accepted value has lowercase-hex ids that are not all zero and only the known flags, and the
 * version 00 header made from it parses back to the same ids.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fo_trace.h"
#include "fuzz_target.h"

static bool valid_id(const char *id, size_t n)
{
    bool nonzero = false;
    for (size_t i = 0; i < n; i++) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
        nonzero = nonzero || id[i] != '0';
    }
    return nonzero && id[n] == '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so reading past the value's end is caught by ASan. */
    char *value = malloc(size > 0 ? size : 1);
    if (value == NULL)
        abort();
    memcpy(value, data, size);
    fo_trace_parent p;
    if (fo_trace_parse(value, size, &p)) {
        if (!valid_id(p.trace_id, FO_TRACE_ID_HEX) || !valid_id(p.parent_id, FO_SPAN_ID_HEX) ||
            (p.flags & ~FO_TRACE_SAMPLED) != 0)
            abort();
        char header[FO_TRACEPARENT_LEN + 1];
        fo_trace_format(p.trace_id, p.parent_id, p.flags, header);
        fo_trace_parent again;
        if (!fo_trace_parse(header, strlen(header), &again) || strcmp(again.trace_id, p.trace_id) != 0 ||
            strcmp(again.parent_id, p.parent_id) != 0 || again.flags != p.flags)
            abort();
    }
    free(value);
    return 0;
}
