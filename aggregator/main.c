/*
 * aggregator: the fanout.v1.Aggregator server.
 *
 *   aggregator --config FILE [--listen ADDR] [--log-level LEVEL] [--check-config]
 *
 * FANOUT_CONFIG names the config file when --config is absent; the other
 * FANOUT_* variables override config keys (see agg_config.h). Once calls are
 * accepted, the first stdout line is {"event":"listening","address":...,"pid":...}.
 * SIGTERM/SIGINT drain: no new calls, calls in flight get shutdown_grace_ms
 * to finish, then are cancelled; exit status 0. SIGHUP reads the config file
 * again (agg_reload.h).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg_auth.h"
#include "agg_config.h"
#include "agg_http.h"
#include "agg_metrics.h"
#include "agg_reload.h"
#include "agg_service.h"
#include "fo_admin.h"
#include "fo_health.h"
#include "fo_host.h"
#include "fo_log.h"
#include "fo_process.h"
#include "fo_reflection.h"
#include "fo_rpc.h"
#include "fo_time.h"

/* What health checks and reflection answer for. */
static const char *const served_services[] = {"fanout.v1.Aggregator", FO_HEALTH_SERVICE, FO_REFLECTION_V1ALPHA_SERVICE,
                                              FO_REFLECTION_V1_SERVICE};
#define N_SERVED (sizeof served_services / sizeof *served_services)

typedef struct options {
    const char *config;
    const char *listen;
    const char *log_level;
    bool check_only;
} options;

static void usage(FILE *to)
{
    fprintf(to, "usage: aggregator --config FILE [--listen ADDR] [--log-level debug|info|warn|error]\n"
                "                  [--check-config]\n"
                "FANOUT_CONFIG may name the config file instead of --config.\n");
}

static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"log-level", required_argument, NULL, 'L'},
        {"check-config", no_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (options){.config = getenv("FANOUT_CONFIG")};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->config = optarg;
            break;
        case 'l':
            o->listen = optarg;
            break;
        case 'L':
            o->log_level = optarg;
            break;
        case 'C':
            o->check_only = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "aggregator: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (o->config == NULL || *o->config == '\0') {
        fprintf(stderr, "aggregator: no config file: give --config FILE or set FANOUT_CONFIG\n");
        return 2;
    }
    return 0;
}

/* The config's level, unless --log-level says otherwise. */
static int apply_log_level(const options *o, const agg_config *cfg)
{
    fo_log_level level = (fo_log_level)cfg->log_level;
    if (o->log_level != NULL && !fo_log_level_parse(o->log_level, &level)) {
        fprintf(stderr, "aggregator: --log-level: expected debug, info, warn or error, got \"%s\"\n", o->log_level);
        return 2;
    }
    fo_log_set_level(level);
    return 0;
}

static void add_methods(fo_server *server, void *svc) { agg_service_register(svc, server); }

/* The HTTP/JSON face, when http_listen asks for it; *address gets its real port. */
static fo_error *start_http(const agg_config *cfg, agg_service *svc, fo_host *host, agg_http **http, char *address,
                            size_t len)
{
    if (cfg->http.listen == NULL)
        return NULL;
    fo_error *err = agg_http_start(svc, fo_host_server(host), http);
    if (err == NULL) {
        const char *colon = strrchr(cfg->http.listen, ':');
        snprintf(address, len, "%.*s:%d", (int)(colon - cfg->http.listen), cfg->http.listen, agg_http_port(*http));
    }
    return err;
}

static int serve(const options *o, agg_config *cfg, agg_auth *auth)
{
    fo_rpc_init();
    agg_service svc = {0};
    fo_host *host = NULL;
    fo_admin *admin = NULL;
    agg_http *http = NULL;
    fo_error *err = agg_service_init(&svc, cfg, auth);
    if (err == NULL && cfg->admin_listen != NULL)
        err = fo_admin_start(cfg->admin_listen, agg_metrics_create(&svc), &admin);
    if (err == NULL) {
        fo_server_tls tls = {.cert = cfg->tls.cert, .key = cfg->tls.key, .client_ca = cfg->tls.client_ca};
        fo_host_opts opts = {
            .services = served_services,
            .n_services = N_SERVED,
            .server = {.workers = cfg->workers,
                       .max_message_bytes = (size_t)cfg->max_message_bytes,
                       .admit = agg_service_admit,
                       .admit_ctx = &svc,
                       .limits = {.max_memory_mb = cfg->max_memory_mb,
                                  .max_connections = cfg->max_connections,
                                  .max_concurrent_streams = cfg->max_concurrent_streams,
                                  .connection_idle_ms = cfg->connection_idle_timeout_ms,
                                  .handshake_timeout_ms = cfg->handshake_timeout_ms}},
            .listen = o->listen ? o->listen : cfg->listen,
            .tls = cfg->tls.enabled ? &tls : NULL,
            .add_methods = add_methods,
            .ud = &svc,
        };
        char address[256];
        err = fo_host_start(&opts, address, sizeof address, &host);
        char http_address[256] = "";
        if (err == NULL)
            err = start_http(cfg, &svc, host, &http, http_address, sizeof http_address);
        if (err == NULL) {
            agg_service_connect(&svc);
            fo_admin_set_ready(admin, true);
            json_t *line = json_pack("{s:s, s:s, s:i, s:s?, s:i, s:s?}", "event", "listening", "address", address,
                                     "pid", (int)getpid(), "http_address", http != NULL ? http_address : NULL,
                                     "workers", cfg->workers, "poll_engine", fo_rpc_poll_engine());
            if (admin != NULL) /* tools find a port 0 asked for here */
                json_object_set_new(line, "admin_port", json_integer(fo_admin_port(admin)));
            fo_log_event(line);
            fo_host_log_limits(host);
        }
    }
    if (host != NULL && err == NULL) {
        int sig;
        while ((sig = fo_signals_wait()) == SIGHUP)
            agg_reload(&svc, o->config, o->log_level != NULL);
        fo_admin_set_ready(admin, false);
        fo_log(FO_LOG_INFO, json_pack("{s:s, s:i, s:I}", "event", "draining", "signal", sig, "grace_ms",
                                      (json_int_t)cfg->shutdown_grace_ms));
        /* Both faces' requests in flight share the one grace period. */
        if (http != NULL)
            agg_http_drain_start(http, fo_now_ns() + cfg->shutdown_grace_ms * FO_NS_PER_MS);
        fo_host_drain(host, cfg->shutdown_grace_ms);
    }
    bool failed = err != NULL;
    if (err != NULL) {
        fprintf(stderr, "aggregator: %s\n", err->message);
        fo_error_free(err);
    }
    agg_http_destroy(http);
    fo_host_destroy(host);
    fo_admin_stop(admin);
    agg_metrics_destroy();
    agg_service_release(&svc);
    fo_rpc_shutdown();
    if (failed)
        return 1;
    fo_log(FO_LOG_INFO, json_pack("{s:s}", "event", "stopped"));
    return 0;
}

int main(int argc, char **argv)
{
    fo_signals_block();
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc;
    agg_config cfg;
    fo_error *err = agg_config_load(o.config, NULL, &cfg);
    if (err != NULL) {
        fprintf(stderr, "aggregator: %s\n", err->message);
        fo_error_free(err);
        return 2;
    }
    agg_auth *auth = NULL;
    err = agg_auth_create(&cfg.auth, cfg.workers, &auth);
    if (err != NULL) {
        fprintf(stderr, "aggregator: %s\n", err->message);
        fo_error_free(err);
        agg_config_release(&cfg);
        return 2;
    }
    rc = apply_log_level(&o, &cfg);
    if (rc == 0 && o.check_only)
        fo_log_event(json_pack("{s:s, s:I}", "event", "config_ok", "features", (json_int_t)cfg.n_features));
    else if (rc == 0)
        rc = serve(&o, &cfg, auth);
    agg_auth_destroy(auth);
    agg_config_release(&cfg);
    return rc;
}
