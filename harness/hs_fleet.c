/* hs_fleet: starting, breaking, restarting and stopping a scenario's processes. */
#include "hs_fleet.h"
#include "fo_alloc.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tool_proc.h"

/* A sanitized binary may take a while to print its first line on a loaded machine. */
#define START_TIMEOUT_MS 20000
/* Past the aggregator's default shutdown_grace_ms (5 s), so a slow drain still ends by itself. */
#define STOP_TIMEOUT_MS 8000
#define KILL_TIMEOUT_MS 5000
#define MAX_LIVE 64

typedef struct member {
    const hs_feature *feature;
    char address[64]; /* where it listens: fixed at the first start, reused by restarts */
    tool_proc *proc;  /* NULL while it is not running */
} member;

struct hs_fleet {
    hs_binaries bins;
    member *members;
    size_t n_members;
    tool_proc *aggregator;
};

/* --- the processes the signal watcher may have to kill ---------------------------- */

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t live[MAX_LIVE];

static void live_set(pid_t old_pid, pid_t new_pid)
{
    pthread_mutex_lock(&live_lock);
    for (size_t i = 0; i < MAX_LIVE; i++) {
        if (live[i] == old_pid) {
            live[i] = new_pid;
            break;
        }
    }
    pthread_mutex_unlock(&live_lock);
}

void hs_fleet_kill_all_now(void)
{
    pthread_mutex_lock(&live_lock);
    for (size_t i = 0; i < MAX_LIVE; i++) {
        if (live[i] != 0)
            kill(live[i], SIGKILL);
    }
    pthread_mutex_unlock(&live_lock);
}

/* Starts argv and, once it runs, lists it for hs_fleet_kill_all_now. */
static tool_proc *start_listed(char *const argv[])
{
    tool_proc *p = tool_proc_start(argv, START_TIMEOUT_MS);
    if (p != NULL)
        live_set(0, p->pid);
    return p;
}

/* Unlists p (before it is reaped, so its pid cannot have been reused), stops it and frees it. */
static int stop_listed(tool_proc *p, int sig, int64_t timeout_ms)
{
    live_set(p->pid, 0);
    int status = tool_proc_stop(p, sig, timeout_ms);
    tool_proc_free(p);
    return status;
}

static void describe_status(int status, char *buf, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(buf, cap, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, cap, "wait status %d", status);
}

/* --- features ------------------------------------------------------------------------ */

static member *find(hs_fleet *fl, const char *feature)
{
    for (size_t i = 0; i < fl->n_members; i++) {
        if (strcmp(fl->members[i].feature->name, feature) == 0)
            return &fl->members[i];
    }
    return NULL;
}

static fo_error *start_member(const hs_fleet *fl, member *m, const char *listen)
{
    const hs_feature *f = m->feature;
    /* Without a profile, argv ends at the NULL in place of "--profile". */
    char *argv[] = {(char *)fl->bins.mock_services,
                    "--feature",
                    (char *)f->name,
                    "--listen",
                    (char *)listen,
                    f->profile_json != NULL ? "--profile" : NULL,
                    f->profile_json,
                    NULL};
    m->proc = start_listed(argv);
    if (m->proc == NULL)
        return FO_ERROR(FO_STATUS_UNAVAILABLE, "feature %s did not start on %s (its stderr is above)", f->name, listen);
    const char *address = tool_proc_field(m->proc, "address");
    if (address == NULL || strlen(address) >= sizeof m->address)
        return FO_ERROR(FO_STATUS_INTERNAL, "feature %s: no usable \"address\" in its first line", f->name);
    strcpy(m->address, address);
    return NULL;
}

fo_error *hs_fleet_kill(hs_fleet *fl, const char *feature)
{
    member *m = find(fl, feature);
    if (m->proc == NULL)
        return FO_ERROR(FO_STATUS_FAILED_PRECONDITION, "feature %s is not running", feature);
    if (tool_proc_exited(m->proc)) {
        stop_listed(m->proc, SIGKILL, 0);
        m->proc = NULL;
        return FO_ERROR(FO_STATUS_FAILED_PRECONDITION, "feature %s had already exited", feature);
    }
    stop_listed(m->proc, SIGKILL, KILL_TIMEOUT_MS);
    m->proc = NULL;
    return NULL;
}

fo_error *hs_fleet_restart(hs_fleet *fl, const char *feature)
{
    member *m = find(fl, feature);
    if (m->proc != NULL) {
        stop_listed(m->proc, SIGTERM, STOP_TIMEOUT_MS);
        m->proc = NULL;
    }
    return start_member(fl, m, m->address);
}

fo_error *hs_fleet_await_exit(hs_fleet *fl, const char *feature, int64_t timeout_ms)
{
    member *m = find(fl, feature);
    if (m->proc == NULL)
        return FO_ERROR(FO_STATUS_FAILED_PRECONDITION, "feature %s is not running", feature);
    /* A crash ends the process at once; the wait only covers the time the call takes to get there. */
    for (int64_t waited = 0; !tool_proc_exited(m->proc) && waited < timeout_ms; waited += 10)
        usleep(10000);
    if (!tool_proc_exited(m->proc))
        return FO_ERROR(FO_STATUS_DEADLINE_EXCEEDED, "feature %s still runs after %lld ms", feature,
                        (long long)timeout_ms);
    stop_listed(m->proc, SIGKILL, 0);
    m->proc = NULL;
    return NULL;
}

/* --- the aggregator -------------------------------------------------------------------- */

/*
 * The scenario's aggregator object, completed: forward_metadata defaults to
 * ["x-mock-fault"] so that steps can inject faults; without "features", every
 * fleet feature in fleet order; a feature without "target" gets the address
 * of the fleet feature of its name. "listen" is overridden by --listen.
 */
static fo_error *aggregator_config(const hs_fleet *fl, const json_t *scenario_cfg, json_t **out)
{
    json_t *cfg = scenario_cfg != NULL ? json_deep_copy(scenario_cfg) : json_object();
    if (json_object_get(cfg, "forward_metadata") == NULL)
        json_object_set_new(cfg, "forward_metadata", json_pack("[s]", "x-mock-fault"));
    json_t *features = json_object_get(cfg, "features");
    if (features == NULL) {
        features = json_array();
        for (size_t i = 0; i < fl->n_members; i++)
            json_array_append_new(features, json_pack("{s:s}", "name", fl->members[i].feature->name));
        json_object_set_new(cfg, "features", features);
    }
    size_t i;
    json_t *entry;
    json_array_foreach(features, i, entry)
    {
        const char *name = json_string_value(json_object_get(entry, "name"));
        if (!json_is_object(entry) || json_object_get(entry, "target") != NULL || name == NULL)
            continue; /* the aggregator itself reports a malformed entry */
        member *m = find((hs_fleet *)fl, name);
        if (m == NULL) {
            json_decref(cfg);
            return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                            "aggregator.features[%zu]: \"%s\" has no \"target\" and is not in the fleet", i, name);
        }
        json_object_set_new(entry, "target", json_string(m->address));
    }
    *out = cfg;
    return NULL;
}

static fo_error *start_aggregator(hs_fleet *fl, const json_t *scenario_cfg)
{
    json_t *cfg = NULL;
    fo_error *err = aggregator_config(fl, scenario_cfg, &cfg);
    if (err != NULL)
        return err;
    char path[] = "/tmp/fanout-harness-agg-XXXXXX.json";
    int fd = mkstemps(path, 5);
    if (fd < 0) {
        json_decref(cfg);
        return FO_ERROR(FO_STATUS_INTERNAL, "cannot create a temporary config file: %m");
    }
    close(fd);
    int rc = json_dump_file(cfg, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(cfg);
    char *argv[] = {(char *)fl->bins.aggregator, "--config", path, "--listen", "127.0.0.1:0", NULL};
    /* The aggregator reads its config only at start-up. */
    fl->aggregator = rc == 0 ? start_listed(argv) : NULL;
    unlink(path);
    if (fl->aggregator == NULL)
        return FO_ERROR(FO_STATUS_UNAVAILABLE, "the aggregator did not start (its stderr is above)");
    return NULL;
}

const char *hs_fleet_aggregator_address(const hs_fleet *fl) { return tool_proc_field(fl->aggregator, "address"); }

fo_error *hs_fleet_check_aggregator(hs_fleet *fl)
{
    if (!tool_proc_exited(fl->aggregator))
        return NULL;
    char how[96];
    describe_status(fl->aggregator->status, how, sizeof how);
    return FO_ERROR(FO_STATUS_UNAVAILABLE, "the aggregator has exited (%s)", how);
}

/* --- the whole --------------------------------------------------------------------------- */

fo_error *hs_fleet_start(const hs_scenario *sc, const hs_binaries *bins, hs_fleet **out)
{
    hs_fleet *fl = fo_xcalloc(1, sizeof *fl);
    fl->bins = *bins;
    fl->members = fo_xcalloc(sc->n_features, sizeof *fl->members);
    fo_error *err = NULL;
    for (size_t i = 0; i < sc->n_features && err == NULL; i++) {
        member *m = &fl->members[fl->n_members++];
        m->feature = &sc->features[i];
        err = start_member(fl, m, m->feature->listen);
    }
    if (err == NULL)
        err = start_aggregator(fl, sc->aggregator);
    if (err != NULL) {
        fo_error *stop_err = hs_fleet_stop(fl);
        fo_error_free(stop_err);
        *out = NULL;
        return err;
    }
    *out = fl;
    return NULL;
}

fo_error *hs_fleet_stop(hs_fleet *fl)
{
    /* Known before the SIGTERM below, which ends it too. */
    bool died_before = fl->aggregator != NULL && tool_proc_exited(fl->aggregator);
    /* Everything drains at once; the waits below then overlap instead of adding up. */
    if (fl->aggregator != NULL && !died_before)
        kill(fl->aggregator->pid, SIGTERM);
    for (size_t i = 0; i < fl->n_members; i++) {
        if (fl->members[i].proc != NULL && !tool_proc_exited(fl->members[i].proc))
            kill(fl->members[i].proc->pid, SIGTERM);
    }
    fo_error *err = NULL;
    if (fl->aggregator != NULL) {
        int status = stop_listed(fl->aggregator, SIGTERM, STOP_TIMEOUT_MS);
        if (died_before || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char how[96];
            describe_status(status, how, sizeof how);
            err = FO_ERROR(FO_STATUS_INTERNAL, "the aggregator %s: %s", died_before ? "had died" : "on SIGTERM", how);
        }
    }
    for (size_t i = 0; i < fl->n_members; i++) {
        if (fl->members[i].proc != NULL)
            stop_listed(fl->members[i].proc, SIGTERM, STOP_TIMEOUT_MS);
    }
    free(fl->members);
    free(fl);
    return err;
}
