/*
 * mock_one_process: the whole fleet in this one process, on one thread.
 *
 * Every entry of the fleet file gets its own server (its feature service,
 * health and reflection) on its own address with its own profile, as in the
 * per-process fleet; but all the servers share one fo_loop, run by one
 * thread, so one poll sees every connection. On a small machine that keeps
 * the mocks from costing a process wake-up per feature call of a fan-out.
 *
 * Once every server listens it prints the fleet line of mock_fleet, every
 * pid this process's:
 *
 *     {"event":"fleet","features":{"listings":{"address":"127.0.0.1:41234","pid":1234},...}}
 *
 * On SIGTERM, SIGINT or SIGHUP every server drains (NOT_SERVING, no new
 * calls, one grace period shared by all, then the rest cancelled); then one
 * stats line per feature (mock_service_write_stats) and a last
 * {"event":"stopped","signal":15}.
 *
 * Without a supervisor there is no restart: an entry with "restart": true is
 * refused, and a crash fault ends the whole process.
 *
 * admin_listen (NULL: none) serves every feature's metrics (mock_metrics.h)
 * on one admin listener; the fleet line then has "admin_port".
 */
#ifndef MOCK_ONE_PROCESS_H
#define MOCK_ONE_PROCESS_H

#include <stdint.h>

/*
 * Runs the fleet in fleet_path until a termination signal, giving calls in
 * flight grace_ms to finish then; returns the exit code: 0 after a clean
 * stop, 1 when a server fails to start (everything started is torn down
 * first), 2 when the fleet file is bad or asks for a restart. The caller must
 * have called fo_signals_block() and must not have initialised gRPC.
 */
int mock_one_process_run(const char *fleet_path, int64_t grace_ms, const char *admin_listen);

#endif
