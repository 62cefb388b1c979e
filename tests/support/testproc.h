/*
 * testproc: real processes for integration tests.
 *
 * Each process runs with its stdout in a temporary file (so its later log
 * lines never fill a pipe and block it) and PR_SET_PDEATHSIG, so nothing
 * outlives a crashed test; testproc_stop_all() runs at exit as well.
 * Binaries under test: MOCK_SERVICES_BIN and AGGREGATOR_BIN (compile
 * definitions set by tests/CMakeLists.txt).
 */
#ifndef TESTPROC_H
#define TESTPROC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct testproc {
    pid_t pid;
    char log_path[64]; /* its stdout */
    json_t *first;     /* its first stdout line, parsed */
    bool reaped;
    int status; /* waitpid status, once reaped */
} testproc;

/*
 * Starts argv (argv[0] a path) and waits up to timeout_ms for its first
 * stdout line, which must be a JSON object. NULL on failure, with the reason
 * printed to stderr.
 */
testproc *testproc_start(char *const argv[], int64_t timeout_ms);
/* Sends sig and waits up to timeout_ms for the exit; SIGKILL after that. Returns the waitpid status. */
int testproc_stop(testproc *p, int sig, int64_t timeout_ms);
/* True once the process has exited (reaps it). */
bool testproc_exited(testproc *p);
/* Stops it if needed, removes its log, frees it. */
void testproc_free(testproc *p);
/* Kills and frees every process still registered. */
void testproc_stop_all(void);

/* The whole stdout so far (malloc'd). */
char *testproc_output(const testproc *p);
/* Waits up to timeout_ms until stdout contains needle. */
bool testproc_wait_output(const testproc *p, const char *needle, int64_t timeout_ms);
/* The first line's string field, e.g. "address". */
const char *testproc_field(const testproc *p, const char *key);

/* --- the mock fleet and the aggregator -------------------------------------- */

/* Starts `mock_services --fleet path`. */
testproc *testproc_fleet(const char *fleet_path);
/* The address/pid of one feature from the fleet's first line. */
const char *testproc_fleet_address(const testproc *fleet, const char *feature);
pid_t testproc_fleet_pid(const testproc *fleet, const char *feature);

/*
 * Writes an aggregator config for every feature of the fleet, in fleet
 * order, each with timeout_ms, into a temporary file; extra (a JSON object,
 * may be NULL) adds or replaces top-level keys. Returns the malloc'd path;
 * unlink and free it when done.
 */
char *testproc_write_agg_config(const testproc *fleet, int64_t timeout_ms, const char *extra_json);
/* Starts `aggregator --config path --listen 127.0.0.1:0`. */
testproc *testproc_aggregator(const char *config_path);

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

/* --- short-lived processes and process ids ------------------------------------ */

/*
 * Runs argv (argv[0] a path) to its end, its stdout discarded and its stderr
 * in *err_out (malloc'd; err_out may be NULL). Returns the waitpid status, or
 * -1 when it was still running after timeout_ms and had to be killed.
 */
int testproc_run(char *const argv[], int64_t timeout_ms, char **err_out);
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
testproc *testproc_aggregator_for(const testproc *fleet, int64_t timeout_ms, const char *extra_json);

/* Starts `mock_services --feature NAME --listen 127.0.0.1:0 [--profile JSON]`; profile_json may be NULL. */
testproc *testproc_mock(const char *feature, const char *profile_json);

/* --- what a running process shows from outside ---------------------------------- */

/* Its resident set size (VmRSS of /proc/PID/status), KiB; -1 when unreadable. */
int64_t testproc_rss_kb(pid_t pid);
/* Its open file descriptors (entries of /proc/PID/fd); -1 when unreadable. */
int testproc_fd_count(pid_t pid);
/*
 * Every stdout line so far that is a JSON object whose "event" is event, in
 * order, as a new JSON array (the mock services' "stats" lines, say).
 */
json_t *testproc_events(const testproc *p, const char *event);

#endif
