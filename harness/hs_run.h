/*
 * hs_run: one scenario from start to end. Starts its processes, warms the
 * aggregator's channels up, runs the steps in order, one report line each
 * ("PASS"/"FAIL", with the difference and the actual outcome under a failed
 * call), stops everything, and says how it went.
 */
#ifndef HS_RUN_H
#define HS_RUN_H

#include <stdbool.h>

#include "hs_fleet.h"
#include "hs_scenario.h"

/* True when every step passed and everything stopped cleanly; bins are the binaries it starts. */
bool hs_run(const hs_scenario *sc, const hs_binaries *bins);
/* Thread-safe: the run skips its remaining steps and stops. */
void hs_run_interrupt(void);

#endif
