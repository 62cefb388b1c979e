/*
 * fanout-bench: a closed-loop load generator for the aggregator and for one
 * feature service, with latency percentiles and the CPU and memory the
 * server processes spent per request.
 *
 *   fanout-bench --target ADDR [--mode aggregate|direct] [-c N] [--connections K]
 *                [--warmup DUR] [--duration DUR] [--pid NAME=PID,...]... (see --help)
 *
 * Prints one JSON line (first line on stdout) and/or a table. Exit status 0
 * when the run took place (failed calls are figures, not failures), 1 when it
 * could not, 2 for a bad command line.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_load.h"
#include "fo_alloc.h"
#include "bench_opts.h"
#include "bench_report.h"
#include "bench_target.h"
#include "fo_rpc.h"

static int run(const bench_opts *o)
{
    bench_target t;
    bench_result *r = fo_xmalloc(sizeof *r); /* the histogram is too big for the stack's comfort */
    fo_error *err = bench_target_open(o, &t);
    if (err == NULL)
        err = bench_load_run(o, &t, r);
    bench_target_close(&t);
    int rc = 0;
    if (err != NULL) {
        fprintf(stderr, "fanout-bench: %s\n", err->message);
        fo_error_free(err);
        rc = 1;
    } else {
        bench_report_write(stdout, o, r);
    }
    free(r);
    return rc;
}

int main(int argc, char **argv)
{
    bench_opts o;
    int rc = bench_opts_parse(argc, argv, &o);
    if (rc == 0) {
        fo_rpc_init();
        rc = run(&o);
        fo_rpc_shutdown();
    }
    bench_opts_release(&o);
    return rc;
}
