/*
 * bench_report: a run's figures, as one JSON line for scripts and as a table
 * for people. Latencies are microseconds; CPU per request is the CPU time a
 * process (group) used in the measured window divided by the calls answered
 * in it.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdio.h>

#include "bench_load.h"
#include "bench_opts.h"

/* Writes the report in o->format to `to`: the JSON line first when there is one. */
void bench_report_write(FILE *to, const bench_opts *o, const bench_result *r);

#endif
