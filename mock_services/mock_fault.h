/*
 * mock_fault: the x-mock-fault request header, which asks a mock feature
 * service to misbehave on this one call.
 *
 * The header is a comma-separated list of NAME=KIND[:ARG] items:
 *
 *     tours=delay:300ms, offers=error:UNAVAILABLE, leads=hang
 *
 * KIND is delay:DURATION (see fo_parse_duration_us), error:CODE (a status
 * name or number other than OK), hang, malformed, huge:SIZE (bytes, or with a
 * KiB or MiB suffix, at most MOCK_HUGE_MAX_BYTES) or crash. A feature may have
 * one delay and one terminal fault (error, hang, malformed, huge or crash); the
 * delay comes first. Items for other features are checked for syntax and
 * otherwise ignored, so every service rejects a malformed header alike.
 *
 * An item may end in @attempt=N to apply to one attempt only: the call whose
 * grpc-previous-rpc-attempts header is N (gRFC A6; a call without it is
 * attempt 0, the first). "tours=delay:300ms@attempt=0" delays the first call
 * of a hedged or retried feature and lets the second answer at once. The
 * one-delay, one-terminal-fault rule holds per attempt.
 */
#ifndef MOCK_FAULT_H
#define MOCK_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "fo_error.h"

#define MOCK_FAULT_HEADER "x-mock-fault"
/* The largest huge reply: big enough to exceed any sane message limit, small enough to build. */
#define MOCK_HUGE_MAX_BYTES ((size_t)64 << 20)
/* The highest N of @attempt=N. */
#define MOCK_FAULT_MAX_ATTEMPT 99

typedef enum mock_fault_kind {
    MOCK_FAULT_NONE = 0,  /* answer normally (after delay_us) */
    MOCK_FAULT_ERROR,     /* fail the call with error_code */
    MOCK_FAULT_HANG,      /* never answer; the caller's deadline ends the call */
    MOCK_FAULT_MALFORMED, /* answer with bytes that are not a UsageReport */
    MOCK_FAULT_CRASH,     /* end the process */
    MOCK_FAULT_HUGE,      /* answer with a valid UsageReport padded to huge_bytes */
} mock_fault_kind;

/* What one call does: wait delay_us, then behave as kind says. */
typedef struct mock_fault {
    int64_t delay_us;
    mock_fault_kind kind;
    fo_status error_code; /* FO_STATUS_OK unless kind is MOCK_FAULT_ERROR */
    size_t huge_bytes;    /* 0 unless kind is MOCK_FAULT_HUGE */
} mock_fault;

/*
 * Parses the len bytes of header (not NUL-terminated; any bytes) and stores
 * in out what it asks of feature's attempt (0: the first call): all zero when nothing. An empty or blank
 * header asks nothing. Returns NULL, or an FO_STATUS_INVALID_ARGUMENT error
 * quoting the offending item (out is then all zero). Linear in len.
 */
fo_error *mock_fault_parse(const char *header, size_t len, const char *feature, int attempt, mock_fault *out);

#endif
