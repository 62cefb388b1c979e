/*
 * fanout-harness: runs one scenario file against real processes.
 *
 *   fanout-harness [--mock-services PATH] [--aggregator PATH] SCENARIO.json
 *
 * The binaries it starts come from the flags, else from FANOUT_MOCK_SERVICES
 * and FANOUT_AGGREGATOR, else from beside the harness itself: in the same
 * directory (an installation) or in their sibling build directories (a
 * build tree, build/harness/ beside build/mock_services/).
 *
 * Prints one PASS/FAIL line per step and exits 0 only when every step passed
 * and the aggregator stopped cleanly; 2 for a scenario file it cannot use;
 * 128 + the signal when SIGINT/SIGTERM/SIGHUP interrupted it. Every process
 * it started is gone when it returns, whatever happened.
 */
#include <getopt.h>
#include <limits.h>
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
    fprintf(to, "usage: fanout-harness [--mock-services PATH] [--aggregator PATH] SCENARIO.json\n"
                "Runs the scenario's fleet and aggregator on loopback and checks every step.\n"
                "FANOUT_MOCK_SERVICES and FANOUT_AGGREGATOR may name the binaries instead; by\n"
                "default they are looked for beside fanout-harness.\n");
}

/* True when buf holds the len-byte path of an executable file. */
static bool executable(const char *buf, size_t cap, int len)
{
    return len > 0 && (size_t)len < cap && access(buf, X_OK) == 0;
}

/*
 * name beside the harness: in its directory, else in ../name/ (the build
 * tree). Returns buf, or NULL when neither is an executable file.
 */
static const char *beside_self(const char *name, char *buf, size_t cap)
{
    char dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0)
        return NULL;
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return NULL;
    *slash = '\0';
    if (executable(buf, cap, snprintf(buf, cap, "%s/%s", dir, name)))
        return buf;
    if (executable(buf, cap, snprintf(buf, cap, "%s/../%s/%s", dir, name, name)))
        return buf;
    return NULL;
}

/* The flag's path, else the environment's, else one beside the harness; NULL with a message when none. */
static const char *find_binary(const char *flag_value, const char *flag, const char *env, const char *name, char *buf,
                               size_t cap)
{
    const char *path = flag_value != NULL ? flag_value : getenv(env);
    if (path == NULL || *path == '\0')
        path = beside_self(name, buf, cap);
    if (path == NULL)
        fprintf(stderr, "fanout-harness: no %s binary: give %s PATH or set %s\n", name, flag, env);
    return path;
}

/* Parses the command line into bins and *scenario; 0 to go on, else the exit status. */
static int parse_options(int argc, char **argv, hs_binaries *bins, const char **scenario)
{
    static const struct option longopts[] = {
        {"mock-services", required_argument, NULL, 'm'},
        {"aggregator", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *bins = (hs_binaries){0};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            bins->mock_services = optarg;
            break;
        case 'a':
            bins->aggregator = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    *scenario = argv[optind];
    static char mock_buf[PATH_MAX], agg_buf[PATH_MAX];
    bins->mock_services = find_binary(bins->mock_services, "--mock-services", "FANOUT_MOCK_SERVICES", "mock_services",
                                      mock_buf, sizeof mock_buf);
    bins->aggregator =
        find_binary(bins->aggregator, "--aggregator", "FANOUT_AGGREGATOR", "aggregator", agg_buf, sizeof agg_buf);
    return bins->mock_services != NULL && bins->aggregator != NULL ? 0 : 2;
}

int main(int argc, char **argv)
{
    /* Before any thread exists, so that every thread inherits the blocked signals. */
    fo_signals_block();
    setvbuf(stdout, NULL, _IOLBF, 0);
    hs_binaries bins;
    const char *scenario = NULL;
    int rc = parse_options(argc, argv, &bins, &scenario);
    if (rc != 0)
        return rc;
    hs_scenario *sc = NULL;
    fo_error *err = hs_scenario_load(scenario, &sc);
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
    bool passed = hs_run(sc, &bins);
    fo_rpc_shutdown();
    hs_scenario_free(sc);
    int sig = atomic_load(&caught_signal);
    if (sig != 0)
        return 128 + sig;
    return passed ? 0 : 1;
}
