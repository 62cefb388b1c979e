/*
 * bench_proc: what the server processes under load cost, read from /proc.
 *
 * A group is a name and one or more pids ("aggregator=123",
 * "mocks=456,457,458"); its figures are sums over its pids. CPU is user +
 * system time of all threads (/proc/PID/stat); memory is the resident set now
 * (VmRSS) and its peak (VmHWM) from /proc/PID/status. The load generator's own
 * CPU comes from getrusage, its own resident set from /proc/self/status.
 */
#ifndef BENCH_PROC_H
#define BENCH_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fo_error.h"

typedef struct bench_proc_sample {
    bool ok;      /* every pid could be read */
    double cpu_s; /* user + system */
    long rss_kb;  /* summed over the pids */
    long hwm_kb;  /* each pid's own peak, summed: an upper bound of the group's peak */
} bench_proc_sample;

typedef struct bench_proc_group {
    char *name;
    pid_t *pids;
    size_t npids;
    bench_proc_sample start, end; /* at the ends of the measured window */
} bench_proc_group;

/* Parses "NAME=PID[,PID...]" into *out (released with bench_proc_group_release). */
fo_error *bench_proc_group_parse(const char *spec, bench_proc_group *out);
void bench_proc_group_release(bench_proc_group *g);

/* Reads the group's figures now; out->ok is false when a pid is gone or unreadable. */
void bench_proc_sample_group(const bench_proc_group *g, bench_proc_sample *out);

/* This process's user + system CPU so far, seconds. */
double bench_self_cpu_s(void);

/* This process's resident set now (VmRSS), kB; 0 when unreadable. */
long bench_self_rss_kb(void);

#endif
