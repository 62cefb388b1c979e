/*
 * agg_config: the aggregator's JSON configuration file and its environment
 * overrides, read at start-up (and again on SIGHUP, agg_reload.h) into plain
 * C values.
 *
 * The file is strict: unknown keys, duplicate keys, wrong types and values out
 * of range are all errors, so a typo never silently falls back to a default.
 * Every error is FO_STATUS_INVALID_ARGUMENT and its message starts with the
 * file name and the JSON path or variable at fault, then the rule and the
 * value, e.g. "agg.json: features[2].timeout_ms: must be an integer from 1
 * to 3600000, got -5"; syntax errors give "agg.json:3:14: <jansson's text>".
 *
 * Environment variables override the file (containers rely on them):
 * FANOUT_LISTEN, FANOUT_ADMIN_LISTEN, FANOUT_WORKERS, FANOUT_LOG_LEVEL, FANOUT_DEFAULT_POLICY,
 * FANOUT_MAX_FEATURES_PER_REQUEST, FANOUT_MAX_IN_FLIGHT,
 * FANOUT_MAX_MESSAGE_BYTES, FANOUT_SHUTDOWN_GRACE_MS, FANOUT_TLS_CERT,
 * FANOUT_TLS_KEY, FANOUT_TLS_CLIENT_CA, FANOUT_DEADLINE_RESERVE_MS and
 * FANOUT_HTTP_LISTEN. They
 * are checked by the same rules as the keys they replace; an empty variable
 * counts as unset. Any FANOUT_TLS_* variable turns server TLS on.
 *
 * Relative TLS paths in the file are resolved against the file's directory;
 * paths from the environment are kept as given (relative to the working
 * directory). No file is opened here: the gRPC layer reads them.
 */
#ifndef AGG_CONFIG_H
#define AGG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "agg_auth_config.h"
#include "agg_breaker.h"
#include "agg_hedge_config.h"
#include "agg_http_config.h"
#include "fanout/v1/aggregator.pb-c.h"
#include "fo_error.h"
#include "fo_log.h"

/* The gRPC load-balancing policy of a feature's channel. */
typedef enum agg_lb {
    AGG_LB_PICK_FIRST,
    AGG_LB_ROUND_ROBIN,
} agg_lb;

/* Server-side TLS; all NULL when `enabled` is false. client_ca may be NULL. */
typedef struct agg_server_tls {
    bool enabled;
    char *cert;
    char *key;
    char *client_ca; /* set: clients must present a certificate signed by it */
} agg_server_tls;

/* TLS towards one feature; all NULL when `enabled` is false. */
typedef struct agg_client_tls {
    bool enabled;
    char *ca;   /* always set when enabled */
    char *cert; /* cert and key: both set (mutual TLS) or both NULL */
    char *key;
} agg_client_tls;

typedef struct agg_feature_config {
    char *name;         /* [a-z0-9_-]{1,64}, unique in the config */
    char *target;       /* any gRPC target, e.g. "dns:///feat:50061" */
    int64_t timeout_ms; /* per call, 1..3600000 */
    agg_lb lb;
    agg_client_tls tls;
    /* The top-level breaker, overridden by the feature's own. */
    agg_breaker_cfg breaker;
    /* The top-level hedge, or the feature's own instead (agg_hedge_config.h). */
    agg_hedge_cfg hedge;
} agg_feature_config;

typedef struct agg_config {
    char *listen; /* "0.0.0.0:50051" */
    int workers;  /* 1..64; 0 or absent in the file: one per CPU the process may use (fo_cpus_usable) */
    Fanout__V1__FailurePolicy default_policy; /* ALLOW_PARTIAL or FAIL_FAST */
    int max_features_per_request;             /* 1..4096 */
    int64_t max_in_flight;                    /* >= 1 */
    int max_message_bytes;                    /* 1024..1<<30 */
    char **forward_metadata;                  /* lowercase header names passed on to features */
    size_t n_forward_metadata;
    fo_log_level log_level;
    int64_t shutdown_grace_ms; /* >= 0 */
    agg_server_tls tls;
    agg_feature_config *features; /* at least one, in file order */
    size_t n_features;
    /* 0..60000; 0: no early answer (agg_deadline.h). */
    int64_t deadline_reserve_ms;
    /* Every feature's default (agg_breaker_config.h). */
    agg_breaker_cfg breaker;
    /* Extra attempts: every feature's default hedge, their budget, the codes retried (agg_hedge_config.h). */
    agg_hedge_cfg hedge;
    agg_budget_cfg extra_attempts_budget;
    agg_code_set retry_on;
    /* Token authentication; off unless the file has "auth". */
    agg_auth_config auth;
    /* The flood protections (fo_server_limits); 0: the server's default. */
    int64_t max_memory_mb, max_connections, max_concurrent_streams, connection_idle_timeout_ms, handshake_timeout_ms;
    /* The admin HTTP listener (/metrics, /healthz, /readyz), "host:port"; NULL: none. */
    char *admin_listen;
    /* The HTTP/JSON face: http_listen, cors_origins (agg_http_config.h). */
    agg_http_config http;
} agg_config;

/*
 * Reads the file at `path`, applies the environment read through `getenv_fn`
 * (NULL means getenv) and checks the result. On success fills *out, which the
 * caller releases with agg_config_release(); on error *out is left empty (and
 * safe to release).
 */
fo_error *agg_config_load(const char *path, const char *(*getenv_fn)(const char *), agg_config *out);
void agg_config_release(agg_config *c);

/* A relative path from the file names a file next to it: dir ("conf/", or NULL for none) + path. */
char *agg_config_resolve(const char *dir, const char *path);
/* NULL when name is a header we may send to features, else the rule it breaks. */
const char *agg_config_header_rule(const json_t *name);

/* The position of the feature called name[0..len) in c->features, or -1. Linear. */
int agg_config_feature_index(const agg_config *c, const char *name, size_t len);

#endif
