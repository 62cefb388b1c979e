/*
 * fo_trace: the W3C Trace Context `traceparent` header (Level 1,
 * https://www.w3.org/TR/trace-context/): parsing, random ids and the header
 * a caller sends on.
 *
 *   traceparent: 00-<trace-id: 32 hex>-<parent-id: 16 hex>-<trace-flags: 2 hex>
 *
 * Lowercase hex only; an all-zero trace id or parent id is invalid, and so
 * is version ff. A later version than 00 is read as the spec asks: its first
 * 55 characters in the 00 layout, then the end of the value or a dash; what
 * follows is not understood and not passed on (we send version 00). Only
 * the sampled flag is defined; the other bits are cleared when passed on.
 *
 * Ids come from a generator per thread, seeded from the kernel's random
 * source (getrandom): no lock and no system call per id, so every worker
 * makes its own.
 */
#ifndef FO_TRACE_H
#define FO_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FO_TRACE_HEADER "traceparent"
#define FO_TRACE_STATE_HEADER "tracestate"
#define FO_TRACE_ID_HEX 32
#define FO_SPAN_ID_HEX 16
#define FO_TRACEPARENT_LEN 55
#define FO_TRACE_SAMPLED 0x01

typedef struct fo_trace_parent {
    char trace_id[FO_TRACE_ID_HEX + 1];
    char parent_id[FO_SPAN_ID_HEX + 1];
    uint8_t flags; /* the known bits only */
} fo_trace_parent;

/* A traceparent value (not NUL-terminated, as metadata comes) into *out; false when invalid. */
bool fo_trace_parse(const char *value, size_t len, fo_trace_parent *out);
/* A new random trace id (32 hex digits, never all zero) into out[33]. */
void fo_trace_new_trace_id(char out[FO_TRACE_ID_HEX + 1]);
/* A new random span id (16 hex digits, never all zero) into out[17]. */
void fo_trace_new_span_id(char out[FO_SPAN_ID_HEX + 1]);
/* "00-<trace_id>-<span_id>-<flags>" into out[56]. */
void fo_trace_format(const char *trace_id, const char *span_id, uint8_t flags, char out[FO_TRACEPARENT_LEN + 1]);

#endif
