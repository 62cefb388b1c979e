/*
 * bench_opts: fanout-bench's command line, parsed and checked into plain values.
 */
#ifndef BENCH_OPTS_H
#define BENCH_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "bench_proc.h"
#include "fo_rpc.h"

typedef enum bench_mode {
    BENCH_MODE_AGGREGATE, /* fanout.v1.Aggregator/GetCustomerAnalytics */
    BENCH_MODE_DIRECT,    /* fanout.feature.v1.FeatureService/GetUsage: the one-hop reference */
} bench_mode;

typedef enum bench_format {
    BENCH_FORMAT_BOTH, /* the JSON line first, then the table */
    BENCH_FORMAT_JSON,
    BENCH_FORMAT_TABLE,
} bench_format;

typedef struct bench_opts {
    bench_mode mode;
    const char *target;
    const char *label; /* copied into the JSON line, for scripts; may be NULL */
    int concurrency;   /* calls in flight */
    int connections;   /* channels, each its own TCP connection */
    int customers;     /* size of the customer-id pool */
    uint64_t seed;
    int64_t warmup_us, duration_us, timeout_us;
    uint64_t warmup_requests, requests; /* 0: bounded by time only */
    char **features;                    /* aggregate mode: names to request; none means all */
    size_t nfeatures;
    fo_md *md; /* --metadata KEY=VALUE, pointing into argv */
    size_t nmd;
    char *bearer; /* --token's "Bearer JWT", the value of md's authorization entry */
    bench_proc_group *groups;
    size_t ngroups;
    bench_format format;
} bench_opts;

/* Fills *o from argv; 0 on success, else the exit status (after a message on stderr). */
int bench_opts_parse(int argc, char **argv, bench_opts *o);
void bench_opts_release(bench_opts *o);

#endif
