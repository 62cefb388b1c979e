/*
 * mock_one_process: every feature of the fleet served from this process, on
 * one loop that one thread runs.
 *
 * The order matters (see fo_server.h on borrowed loops): the loop's thread
 * runs before the first server starts and until the last one is destroyed,
 * because a server's shutdown needs the loop to dispatch what completes
 * after it, including on a failed start-up. So: loop, servers, announce,
 * wait for a signal, drain and destroy the servers, stop the loop.
 */
#include "mock_one_process.h"
#include "fo_alloc.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fleet_config.h"
#include "fo_host.h"
#include "fo_log.h"
#include "fo_loop.h"
#include "fo_process.h"
#include "fo_rpc.h"
#include "mock_metrics.h"
#include "mock_service.h"

/* Room for a bound address, "host:port"; fo_host_start truncates to it. */
#define ADDRESS_MAX 256

typedef struct one_feature {
    mock_service svc; /* its feature name is the fleet entry's */
    char address[ADDRESS_MAX];
} one_feature;

typedef struct one_process {
    mock_fleet fleet;
    one_feature *features; /* owned; fleet.count of them, in file order */
    fo_host **hosts;       /* owned; features[i]'s server, the first nstarted of them started */
    size_t nstarted;
    fo_loop *loop; /* owned; every server's calls run on it */
    pthread_t thread;
    bool running;            /* thread runs loop */
    mock_service **services; /* owned array; features[i].svc, for the metrics */
    int admin_port;          /* 0: no admin listener */
} one_process;

/* The one thread that serves every feature; returns once stopped and no call holds the loop. */
static void *serve_loop(void *loop)
{
    fo_loop_run(loop, NULL);
    return NULL;
}

static bool start_loop(one_process *p)
{
    p->loop = fo_loop_create();
    fo_loop_set_precise_timers(p->loop, true); /* as mock_services does for one feature */
    int err = pthread_create(&p->thread, NULL, serve_loop, p->loop);
    if (err != 0) {
        fprintf(stderr, "mock_services: fleet: cannot start the serving thread: %s\n", strerror(err));
        return false;
    }
    p->running = true;
    return true;
}

/* Starts each feature's server in file order; false, with the reason printed, at the first that fails. */
static bool start_features(one_process *p)
{
    for (size_t i = 0; i < p->fleet.count; i++) {
        const mock_fleet_entry *e = &p->fleet.entries[i];
        one_feature *f = &p->features[i];
        f->svc.feature = e->name;
        f->svc.profile = e->profile;
        fo_host_opts opts = mock_service_host_opts(&f->svc);
        opts.server = (fo_server_opts){.loop = p->loop};
        opts.listen = e->listen;
        fo_error *err = fo_host_start(&opts, f->address, sizeof f->address, &p->hosts[i]);
        if (err != NULL) {
            fprintf(stderr, "mock_services: fleet: feature \"%s\" failed to start on %s: %s\n", e->name, e->listen,
                    err->message);
            fo_error_free(err);
            return false;
        }
        p->nstarted++;
    }
    return true;
}

/* The per-process fleet's first line, so that what reads one reads the other; every pid is ours. */
static void announce(const one_process *p)
{
    json_t *features = json_object();
    for (size_t i = 0; i < p->fleet.count; i++) {
        json_object_set_new(features, p->fleet.entries[i].name,
                            json_pack("{s:s, s:i}", "address", p->features[i].address, "pid", (int)getpid()));
    }
    json_t *line = json_pack("{s:s, s:o}", "event", "fleet", "features", features);
    if (p->admin_port != 0)
        json_object_set_new(line, "admin_port", json_integer(p->admin_port));
    fo_log_event(line);
}

/*
 * Drains every started server at once (one grace period for all), then
 * destroys them. The loop still runs: it dispatches what their shutdown
 * completes.
 */
static void stop_features(one_process *p, int64_t grace_ms)
{
    fo_host_drain_all(p->hosts, p->nstarted, grace_ms);
    for (size_t i = 0; i < p->nstarted; i++)
        fo_host_destroy(p->hosts[i]);
    p->nstarted = 0;
}

/* After the last server: no call holds the loop any more, so its thread returns within a poll. */
static void stop_loop(one_process *p)
{
    if (p->running) {
        fo_loop_stop(p->loop);
        pthread_join(p->thread, NULL);
        p->running = false;
    }
    fo_loop_destroy(p->loop);
    p->loop = NULL;
}

/* After the servers are gone, so that the calls their shutdown cancelled are counted too. */
static void write_stats(one_process *p, int sig)
{
    for (size_t i = 0; i < p->fleet.count; i++)
        mock_service_write_stats(&p->features[i].svc);
    fo_log_event(json_pack("{s:s, s:i}", "event", "stopped", "signal", sig));
}

/* The fleet file, read and checked for this layout; false, with the reason printed, when it will not do. */
static bool load_fleet(one_process *p, const char *path)
{
    fo_error *err = mock_fleet_load(path, &p->fleet);
    if (err == NULL)
        err = mock_fleet_check_unsupervised(&p->fleet, path);
    if (err == NULL)
        return true;
    fprintf(stderr, "mock_services: %s\n", err->message);
    fo_error_free(err);
    return false;
}

/* The admin listener for every feature, before any server: false, with the reason printed, when it fails. */
static bool start_metrics(one_process *p, const char *admin_listen)
{
    if (admin_listen == NULL)
        return true;
    p->services = fo_xcalloc(p->fleet.count, sizeof *p->services);
    for (size_t i = 0; i < p->fleet.count; i++) {
        p->services[i] = &p->features[i].svc;
        p->features[i].svc.feature = p->fleet.entries[i].name;
    }
    fo_error *err = mock_metrics_start(admin_listen, p->services, p->fleet.count, 1, &p->admin_port);
    if (err == NULL)
        return true;
    fprintf(stderr, "mock_services: fleet: %s\n", err->message);
    fo_error_free(err);
    return false;
}

int mock_one_process_run(const char *fleet_path, int64_t grace_ms, const char *admin_listen)
{
    one_process p = {0};
    if (!load_fleet(&p, fleet_path)) {
        mock_fleet_release(&p.fleet);
        return 2;
    }
    p.features = fo_xcalloc(p.fleet.count, sizeof *p.features);
    p.hosts = fo_xcalloc(p.fleet.count, sizeof *p.hosts);
    fo_rpc_init();
    int rc = 1;
    int sig = 0;
    if (start_metrics(&p, admin_listen) && start_loop(&p) && start_features(&p)) {
        mock_metrics_set_ready(true);
        announce(&p);
        sig = fo_signals_wait();
        mock_metrics_set_ready(false);
        rc = 0;
    }
    /* A failed start-up tears down what did start, with no grace: nobody knows its address yet. */
    stop_features(&p, rc == 0 ? grace_ms : 0);
    stop_loop(&p);
    mock_metrics_stop();
    fo_rpc_shutdown();
    if (rc == 0)
        write_stats(&p, sig);
    free(p.hosts);
    free(p.services);
    free(p.features);
    mock_fleet_release(&p.fleet);
    return rc;
}
