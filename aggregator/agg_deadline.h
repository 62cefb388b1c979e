/*
 * agg_deadline: when an ALLOW_PARTIAL request stops waiting so that its
 * answer reaches the caller before the caller's deadline.
 *
 * The answer goes a reserve ahead of the deadline: deadline_reserve_ms, but
 * at most a quarter of the budget the request arrived with, so that a short
 * deadline keeps most of its time for the features. No cut is made (the
 * request waits for its features as before) without a deadline, with a
 * reserve of 0, with a budget under AGG_DEADLINE_MIN_BUDGET_MS (too short to
 * do anything: the caller gets DEADLINE_EXCEEDED, as without a reserve), or
 * when every feature's own timeout ends before the cut anyway (no timer is
 * needed then).
 */
#ifndef AGG_DEADLINE_H
#define AGG_DEADLINE_H

#include <stdint.h>

#define AGG_DEADLINE_MIN_BUDGET_MS 2
/* The status message of a feature cut for the caller's deadline. */
#define AGG_DEADLINE_CUT_MESSAGE "cut to answer before the caller's deadline"

/*
 * The time (fo_now_ns clock) at which to answer with what has come, or
 * FO_DEADLINE_NONE. now_ns: the request's arrival; deadline_ns: the
 * caller's; longest_timeout_ms: the longest timeout among the features called.
 */
int64_t agg_deadline_cut_ns(int64_t now_ns, int64_t deadline_ns, int64_t reserve_ms, int64_t longest_timeout_ms);

#endif
