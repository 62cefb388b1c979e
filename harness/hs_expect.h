/*
 * hs_expect: a call's outcome held against the scenario's expectations, in a
 * fixed order: status code, message, failed-feature trailer, reply (or
 * streamed results) by the subset rule of hs_match, elapsed time.
 */
#ifndef HS_EXPECT_H
#define HS_EXPECT_H

#include "hs_call.h"
#include "hs_scenario.h"

/* NULL when the outcome meets every expectation; otherwise the first that failed, as malloc'd text. */
char *hs_expect_check(const hs_expect *e, const hs_outcome *o);

#endif
