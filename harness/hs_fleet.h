/*
 * hs_fleet: the processes of one scenario, one mock_services process per
 * feature and one aggregator, on free loopback ports (tool_proc).
 *
 * Separate processes rather than fleet mode, so that a step can kill one
 * feature and start it again on the very address it had: the aggregator's
 * long-lived channel then reconnects to it without a configuration change.
 *
 * Every process dies with the harness (PR_SET_PDEATHSIG, set by tool_proc);
 * hs_fleet_kill_all_now() is for the signal watcher, which may run while the
 * main thread is anywhere.
 */
#ifndef HS_FLEET_H
#define HS_FLEET_H

#include <stdint.h>

#include "fo_error.h"
#include "hs_scenario.h"

typedef struct hs_fleet hs_fleet;

/* The paths of the binaries a scenario runs; they must outlive the fleet. */
typedef struct hs_binaries {
    const char *mock_services;
    const char *aggregator;
} hs_binaries;

/*
 * Starts every feature of sc, then an aggregator configured with sc's
 * aggregator keys and the features' addresses (see hs_fleet.c for the
 * defaults it fills in), from bins. On failure nothing is left running.
 */
fo_error *hs_fleet_start(const hs_scenario *sc, const hs_binaries *bins, hs_fleet **out);
const char *hs_fleet_aggregator_address(const hs_fleet *fl);

/* SIGKILL, and wait until the process is gone. */
fo_error *hs_fleet_kill(hs_fleet *fl, const char *feature);
/* Stops the feature if it still runs, then starts it on the address it had, with its profile. */
fo_error *hs_fleet_restart(hs_fleet *fl, const char *feature);
/* Waits up to timeout_ms until the feature's process has exited by itself. */
fo_error *hs_fleet_await_exit(hs_fleet *fl, const char *feature, int64_t timeout_ms);
/* An error when the aggregator is no longer running. */
fo_error *hs_fleet_check_aggregator(hs_fleet *fl);

/*
 * Stops everything and frees fl. The error, if any, is an aggregator that
 * had already died or did not exit with status 0 on SIGTERM (under the
 * sanitizers, a leak or a memory error at exit).
 */
fo_error *hs_fleet_stop(hs_fleet *fl);

/* Thread-safe: SIGKILLs every process the harness has running now. */
void hs_fleet_kill_all_now(void);

#endif
