/*
 * fo_time: the program's one clock and its durations.
 *
 * All deadlines inside fanout are int64 nanoseconds on CLOCK_MONOTONIC
 * (fo_now_ns()); FO_DEADLINE_NONE means "no deadline". The gRPC layer converts
 * to and from gpr_timespec at its edge. Durations as text are fo_parse's.
 */
#ifndef FO_TIME_H
#define FO_TIME_H

#include <stdbool.h>
#include <stdint.h>

#define FO_DEADLINE_NONE INT64_MAX
#define FO_NS_PER_MS INT64_C(1000000)
#define FO_NS_PER_US INT64_C(1000)

int64_t fo_now_ns(void);
/* Wall clock, Unix seconds. */
int64_t fo_unix_now(void);

/* now + ms, saturating at FO_DEADLINE_NONE. */
int64_t fo_deadline_in_ms(int64_t ms);
static inline int64_t fo_deadline_min(int64_t a, int64_t b) { return a < b ? a : b; }

#endif
