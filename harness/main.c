/*
 * fanout-harness: runs one scenario file against real processes.
 *
 *   fanout-harness SCENARIO.json
 *
 * Prints one PASS/FAIL line per step and exits 0 only when every step passed
 * and the aggregator stopped cleanly; 2 for a scenario file it cannot use;
 * 128 + the signal when SIGINT/SIGTERM/SIGHUP interrupted it. Every process
 * it started is gone when it returns, whatever happened.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fo_process.h"
#include "fo_rpc.h"
#include "hs_fleet.h"
#include "hs_run.h"
#include "hs_scenario.h"

/* Time the main thread gets to stop things in order after a signal, before the watcher exits for it. */
#define INTERRUPT_GRACE_S 15

static atomic_int caught_signal;

/*
 * The signal watcher: the termination signals are blocked in every thread
 * (fo_signals_block), so this thread alone receives them. It kills the
 * processes at once, which ends any call in flight, and lets the main thread
 * clean up; should that hang, it exits itself, and PR_SET_PDEATHSIG takes the
 * children along.
 */
static void *watch_signals(void *arg)
{
    (void)arg;
    int sig = fo_signals_wait();
    atomic_store(&caught_signal, sig);
    fprintf(stderr, "fanout-harness: %s: stopping every process\n", strsignal(sig));
    hs_run_interrupt();
    hs_fleet_kill_all_now();
    sleep(INTERRUPT_GRACE_S);
    _exit(128 + sig);
}

static void usage(FILE *to)
{
    fprintf(to, "usage: fanout-harness SCENARIO.json\n"
                "Runs the scenario's fleet and aggregator on loopback and checks every step.\n");
}

int main(int argc, char **argv)
{
    /* Before any thread exists, so that every thread inherits the blocked signals. */
    fo_signals_block();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 2) {
        usage(stderr);
        return 2;
    }
    hs_scenario *sc = NULL;
    fo_error *err = hs_scenario_load(argv[1], &sc);
    if (err != NULL) {
        fprintf(stderr, "fanout-harness: %s\n", err->message);
        fo_error_free(err);
        return 2;
    }
    pthread_t watcher;
    if (pthread_create(&watcher, NULL, watch_signals, NULL) != 0) {
        fprintf(stderr, "fanout-harness: cannot start the signal watcher\n");
        hs_scenario_free(sc);
        return 1;
    }
    pthread_detach(watcher);

    fo_rpc_init();
    bool passed = hs_run(sc);
    fo_rpc_shutdown();
    hs_scenario_free(sc);
    int sig = atomic_load(&caught_signal);
    if (sig != 0)
        return 128 + sig;
    return passed ? 0 : 1;
}
