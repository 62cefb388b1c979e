/*
 * tool_proc: child processes for the tools (the harness) and the
 * integration tests: started, watched through their stdout, stopped.
 *
 * Each process runs with its stdout in a temporary file (so its later log
 * lines never fill a pipe and block it) and PR_SET_PDEATHSIG, so nothing
 * outlives a crashed parent; tool_proc_stop_all() runs at exit as well.
 * The caller names the binary: nothing here knows where one is installed.
 */
#ifndef TOOL_PROC_H
#define TOOL_PROC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct tool_proc {
    pid_t pid;
    char log_path[64]; /* its stdout */
    json_t *first;     /* its first stdout line, parsed */
    bool reaped;
    int status; /* waitpid status, once reaped */
} tool_proc;

/*
 * Starts argv (argv[0] a path) and waits up to timeout_ms for its first
 * stdout line, which must be a JSON object. NULL on failure, with the reason
 * printed to stderr.
 */
tool_proc *tool_proc_start(char *const argv[], int64_t timeout_ms);
/* Sends sig and waits up to timeout_ms for the exit; SIGKILL after that. Returns the waitpid status. */
int tool_proc_stop(tool_proc *p, int sig, int64_t timeout_ms);
/* True once the process has exited (reaps it). */
bool tool_proc_exited(tool_proc *p);
/* Stops it if needed, removes its log, frees it. */
void tool_proc_free(tool_proc *p);
/* Kills and frees every process still registered. */
void tool_proc_stop_all(void);

/* The whole stdout so far (malloc'd). */
char *tool_proc_output(const tool_proc *p);
/* Waits up to timeout_ms until stdout contains needle. */
bool tool_proc_wait_output(const tool_proc *p, const char *needle, int64_t timeout_ms);
/* The first line's string field, e.g. "address". */
const char *tool_proc_field(const tool_proc *p, const char *key);

/*
 * Runs argv (argv[0] a path) to its end, its stdout discarded and its stderr
 * in *err_out (malloc'd; err_out may be NULL). Returns the waitpid status, or
 * -1 when it was still running after timeout_ms and had to be killed.
 */
int tool_proc_run(char *const argv[], int64_t timeout_ms, char **err_out);

#endif
