/*
 * testproc: the binaries under test as real processes (tool_proc), for
 * integration tests: the mock fleet, single mock services and the
 * aggregator, the files they read, and what they show from outside.
 * Binaries under test: MOCK_SERVICES_BIN and AGGREGATOR_BIN (compile
 * definitions set by tests/CMakeLists.txt).
 */
#ifndef TESTPROC_H
#define TESTPROC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tool_proc.h"

/* --- the mock fleet and the aggregator -------------------------------------- */

/* Starts `mock_services --fleet path`. */
tool_proc *testproc_fleet(const char *fleet_path);
/* The address/pid of one feature from the fleet's first line. */
const char *testproc_fleet_address(const tool_proc *fleet, const char *feature);
pid_t testproc_fleet_pid(const tool_proc *fleet, const char *feature);

/*
 * Writes an aggregator config for every feature of the fleet, in fleet
 * order, each with timeout_ms, into a temporary file; extra (a JSON object,
 * may be NULL) adds or replaces top-level keys. Returns the malloc'd path;
 * unlink and free it when done.
 */
char *testproc_write_agg_config(const tool_proc *fleet, int64_t timeout_ms, const char *extra_json);
/* Starts `aggregator --config path --listen 127.0.0.1:0`. */
tool_proc *testproc_aggregator(const char *config_path);

/*
 * A temporary fleet file serving features[0..n) on free loopback ports;
 * profile_json (may be NULL) is every feature's profile. Returns the malloc'd path.
 */
char *testproc_write_fleet(const char *const *features, size_t n, const char *profile_json);
/*
 * The same with the keys of entry_json (a JSON object) in every entry, e.g.
 * {"restart": true, "profile": {"hang_rate": 0.01}}.
 */
char *testproc_write_fleet_with(const char *const *features, size_t n, const char *entry_json);

/* --- process ids --------------------------------------------------------------- */

/*
 * Waits up to timeout_ms until pid is gone: no such process, or a zombie (a
 * dead orphan whose new parent has not reaped it yet).
 */
bool testproc_pid_gone(pid_t pid, int64_t timeout_ms);

/*
 * An aggregator for the fleet: writes its config (testproc_write_agg_config),
 * starts it and removes the file, which it reads only at start-up. NULL on
 * failure.
 */
tool_proc *testproc_aggregator_for(const tool_proc *fleet, int64_t timeout_ms, const char *extra_json);

/* Starts `mock_services --feature NAME --listen 127.0.0.1:0 [--profile JSON]`; profile_json may be NULL. */
tool_proc *testproc_mock(const char *feature, const char *profile_json);

/* --- what a running process shows from outside ---------------------------------- */

/* Its resident set size (VmRSS of /proc/PID/status), KiB; -1 when unreadable. */
int64_t testproc_rss_kb(pid_t pid);
/* Its open file descriptors (entries of /proc/PID/fd); -1 when unreadable. */
int testproc_fd_count(pid_t pid);
/*
 * Every stdout line so far that is a JSON object whose "event" is event, in
 * order, as a new JSON array (the mock services' "stats" lines, say).
 */
json_t *testproc_events(const tool_proc *p, const char *event);

#endif
