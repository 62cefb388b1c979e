/*
 * mock_services: one feature service per process, or a whole fleet of them.
 *
 *   mock_services --feature NAME [--listen ADDR] [--profile JSON] [--workers N]
 *                 [--tls-cert PEM --tls-key PEM] [--max-connection-age DURATION]
 *   mock_services --fleet FILE [--one-process]
 *   either with --admin-listen ADDR: /metrics, /healthz, /readyz (each child of a --fleet gets
 *   its own listener on ADDR's host: give port 0)
 *
 * --fleet runs one child process per feature of the file (mock_fleet);
 * with --one-process every feature gets its own server in this one process,
 * all on one completion-queue thread (mock_one_process): no restarts there
 * ("restart": true is refused) and a crash fault ends the whole process.
 *
 * The first stdout line, printed once calls are accepted, is one JSON object;
 * later log lines are JSON objects too. On SIGTERM or SIGINT a service
 * prints its call counts (mock_service_write_stats) before "stopped".
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fo_host.h"
#include "fo_log.h"
#include "fo_process.h"
#include "fo_rpc.h"
#include "fo_parse.h"
#include "mock_fleet.h"
#include "mock_metrics.h"
#include "mock_one_process.h"
#include "mock_service.h"

#define SHUTDOWN_GRACE_MS 2000

typedef struct options {
    const char *feature;
    const char *listen;
    const char *profile;
    const char *fleet;
    bool one_process; /* the fleet's servers in this process, on one thread */
    const char *tls_cert;
    const char *tls_key;
    int workers;
    int64_t max_connection_age_ms; /* 0: none; else clients re-resolve this often (scaled replicas) */
    const char *admin_listen;      /* NULL: no /metrics, /healthz, /readyz */
} options;

static void usage(FILE *to)
{
    fprintf(to, "usage: mock_services --feature NAME [--listen ADDR] [--profile JSON] [--workers N]\n"
                "                     [--tls-cert PEM --tls-key PEM] [--max-connection-age DURATION]\n"
                "       mock_services --fleet FILE [--one-process]\n"
                "  --admin-listen ADDR  /metrics, /healthz and /readyz over HTTP (--fleet: one per child, port 0)\n"
                "  --fleet FILE     one child process per feature of FILE, restarted if its entry says so\n"
                "  --one-process    every feature of FILE in this one process, on one thread: no restarts\n"
                "                   (\"restart\": true is an error), and a crash fault ends the whole process\n");
}

static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"feature", required_argument, NULL, 'f'},
        {"listen", required_argument, NULL, 'l'},
        {"profile", required_argument, NULL, 'p'},
        {"fleet", required_argument, NULL, 'F'},
        {"workers", required_argument, NULL, 'w'},
        {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {"max-connection-age", required_argument, NULL, 'A'},
        {"one-process", no_argument, NULL, 'O'},
        {"admin-listen", required_argument, NULL, 'M'},
        {NULL, 0, NULL, 0},
    };
    *o = (options){.listen = "127.0.0.1:0", .workers = 1};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            o->feature = optarg;
            break;
        case 'l':
            o->listen = optarg;
            break;
        case 'p':
            o->profile = optarg;
            break;
        case 'F':
            o->fleet = optarg;
            break;
        case 'O':
            o->one_process = true;
            break;
        case 'M':
            o->admin_listen = optarg;
            break;
        case 'c':
            o->tls_cert = optarg;
            break;
        case 'k':
            o->tls_key = optarg;
            break;
        case 'w': {
            int64_t w;
            if (fo_parse_int(optarg, 1, 64, &w) != FO_PARSE_OK) {
                fprintf(stderr, "mock_services: --workers: expected an integer from 1 to 64, got \"%s\"\n", optarg);
                return 2;
            }
            o->workers = (int)w;
            break;
        }
        case 'A': {
            int64_t us;
            if (fo_parse_duration_us(optarg, &us) != FO_PARSE_OK) {
                fprintf(stderr, "mock_services: --max-connection-age: expected a duration such as 30s, got \"%s\"\n",
                        optarg);
                return 2;
            }
            o->max_connection_age_ms = us / 1000;
            break;
        }
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mock_services: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if ((o->fleet == NULL) == (o->feature == NULL)) {
        fprintf(stderr, "mock_services: give exactly one of --feature NAME and --fleet FILE\n");
        usage(stderr);
        return 2;
    }
    if (o->one_process && o->fleet == NULL) {
        fprintf(stderr, "mock_services: --one-process goes with --fleet FILE\n");
        return 2;
    }
    if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
        fprintf(stderr, "mock_services: --tls-cert and --tls-key go together\n");
        return 2;
    }
    return 0;
}

static int serve_one(const options *o)
{
    mock_service svc = {.feature = o->feature};
    mock_profile_init(&svc.profile);
    if (o->profile != NULL) {
        fo_error *err = mock_profile_parse_text(o->profile, &svc.profile);
        if (err != NULL) {
            fprintf(stderr, "mock_services: --profile: %s\n", err->message);
            fo_error_free(err);
            return 2;
        }
    }

    fo_rpc_init();
    fo_server_tls tls = {.cert = o->tls_cert, .key = o->tls_key};
    fo_host_opts opts = mock_service_host_opts(&svc);
    /* Precise timers: a delay fires when due, not on gRPC's millisecond clock. */
    opts.server = (fo_server_opts){
        .workers = o->workers, .max_connection_age_ms = o->max_connection_age_ms, .precise_timers = true};
    opts.listen = o->listen;
    opts.tls = o->tls_cert ? &tls : NULL;
    char address[256];
    fo_host *host = NULL;
    mock_service *services[] = {&svc};
    int admin_port = 0;
    fo_error *err = o->admin_listen ? mock_metrics_start(o->admin_listen, services, 1, o->workers, &admin_port) : NULL;
    if (err == NULL)
        err = fo_host_start(&opts, address, sizeof address, &host);
    if (err != NULL) {
        fprintf(stderr, "mock_services: %s\n", err->message);
        fo_error_free(err);
        mock_metrics_stop();
        fo_rpc_shutdown();
        return 1;
    }
    json_t *line = json_pack("{s:s, s:s, s:s, s:i}", "event", "listening", "feature", o->feature, "address", address,
                             "pid", (int)getpid());
    if (o->admin_listen != NULL)
        json_object_set_new(line, "admin_port", json_integer(admin_port));
    mock_metrics_set_ready(true);
    fo_log_event(line);
    int sig = fo_signals_wait();
    mock_metrics_set_ready(false);
    fo_host_drain(host, SHUTDOWN_GRACE_MS);
    fo_host_destroy(host);
    mock_metrics_stop();
    fo_rpc_shutdown();
    /* After the shutdown, so that the calls it cancelled are counted too. */
    mock_service_write_stats(&svc);
    fo_log_event(json_pack("{s:s, s:s, s:i}", "event", "stopped", "feature", o->feature, "signal", sig));
    return 0;
}

/* FANOUT_LOG_LEVEL, which a fleet's children inherit: debug logs every call with its trace id. */
static int apply_log_level(void)
{
    const char *text = getenv("FANOUT_LOG_LEVEL");
    fo_log_level level;
    if (text == NULL || *text == '\0')
        return 0;
    if (!fo_log_level_parse(text, &level)) {
        fprintf(stderr, "mock_services: FANOUT_LOG_LEVEL: expected debug, info, warn or error, got \"%s\"\n", text);
        return 2;
    }
    fo_log_set_level(level);
    return 0;
}

int main(int argc, char **argv)
{
    fo_signals_block();
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc == 0)
        rc = apply_log_level();
    if (rc != 0)
        return rc;
    if (o.fleet != NULL && o.one_process)
        return mock_one_process_run(o.fleet, SHUTDOWN_GRACE_MS, o.admin_listen);
    if (o.fleet != NULL)
        return mock_fleet_run(o.fleet, argv[0], o.admin_listen);
    return serve_one(&o);
}
