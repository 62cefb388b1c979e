/*
 * agg_retry: which failed feature calls are worth another call, and how long
 * to wait first.
 *
 * A call is retried only when its status is in the config's retry_on
 * (UNAVAILABLE by default) and no reply came with it: a refused or reset
 * connection, a GOAWAY, a feature that said it cannot serve. Application
 * errors, DEADLINE_EXCEEDED, cancellations and malformed replies are not
 * retried. The wait before retry n (0 for the first retry) is a full-jitter
 * exponential backoff: uniform in [b/2, b] with b = 10 ms x 2^n, capped at
 * 200 ms, so that calls that failed together do not come back together.
 */
#ifndef AGG_RETRY_H
#define AGG_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "agg_hedge_config.h"
#include "fo_error.h"

#define AGG_RETRY_BASE_US 10000
#define AGG_RETRY_CAP_US 200000

bool agg_retry_wanted(agg_code_set retry_on, fo_status code, bool had_reply);
/* rnd: any random 64 bits. */
int64_t agg_retry_backoff_us(int retry, uint64_t rnd);
/* Per-thread random bits for the jitter (not secret). */
uint64_t agg_retry_random(void);

#endif
