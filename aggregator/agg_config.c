/* agg_config: reads, overrides and checks the aggregator's configuration (see agg_config.h). */
#include "agg_config.h"
#include "agg_breaker_config.h"
#include "fo_alloc.h"
#include "fo_cpus.h"
#include "fo_json.h"
#include "fo_parse.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WORKERS 64
/*
 * One completion-queue thread unless the config says otherwise: on a 2-core
 * machine shared with other processes a second one cost 1.4 times the CPU per
 * aggregate and added latency (README, Performance). 0 asks for one per core.
 */
#define DEFAULT_WORKERS 0
#define MAX_FEATURE_NAME 64

typedef const char *(*getenv_fn_t)(const char *);

/* Where the values being read come from: for relative paths and the environment. */
typedef struct reader {
    const char *file; /* the path as given, first in every message */
    char *dir;        /* "conf/" of "conf/agg.json"; NULL when the file is in the cwd */
    getenv_fn_t getenv_fn;
} reader;

/* One setting: its environment variable when set, else its key in the file. */
typedef struct setting {
    fo_json_at at; /* "features[2].timeout_ms" or "FANOUT_WORKERS", for messages */
    json_t *value; /* our own reference; NULL when the setting is absent */
    bool from_env;
} setting;

/* The names a setting may take, in the order of the values they stand for. */
static const char *const policies[] = {"ALLOW_PARTIAL", "FAIL_FAST", NULL};
static const Fanout__V1__FailurePolicy policy_values[] = {FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL,
                                                          FANOUT__V1__FAILURE_POLICY__FAIL_FAST};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const fo_log_level log_level_values[] = {FO_LOG_DEBUG, FO_LOG_INFO, FO_LOG_WARN, FO_LOG_ERROR};
static const char *const lbs[] = {"pick_first", "round_robin", NULL};

static const char *const top_keys[] = {
    "listen",
    "admin_listen",
    "workers",
    "default_policy",
    "max_features_per_request",
    "max_in_flight",
    "max_memory_mb",
    "max_connections",
    "max_concurrent_streams",
    "connection_idle_timeout_ms",
    "handshake_timeout_ms",
    "max_message_bytes",
    "forward_metadata",
    "log_level",
    "shutdown_grace_ms",
    "deadline_reserve_ms",
    "breaker",
    "tls",
    "features",
    "auth",
    "hedge",
    "extra_attempts_budget",
    "retry_on",
    "http_listen",
    "cors_origins",
    NULL,
};
static const char *const server_tls_keys[] = {"cert", "key", "client_ca", NULL};
static const char *const feature_keys[] = {"name", "target", "timeout_ms", "lb", "tls", "breaker", "hedge", NULL};
static const char *const client_tls_keys[] = {"ca", "cert", "key", NULL};

static const char *real_getenv(const char *name) { return getenv(name); }

/*
 * An environment value as the JSON value it replaces, so that one set of
 * checks (and messages) serves both. Text that is not an integer stays a
 * string and fails the integer check with its value quoted.
 */
static json_t *env_value(const char *text, bool numeric)
{
    int64_t n;
    json_t *v;
    if (numeric && fo_parse_int(text, INT64_MIN, INT64_MAX, &n) == FO_PARSE_OK)
        v = json_integer(n);
    else
        /* nocheck: the environment need not be UTF-8, and NULL would read as "absent". */
        v = json_string_nocheck(text);
    if (v == NULL)
        abort();
    return v;
}

static void setting_get(const reader *r, const json_t *obj, const fo_json_at *parent, const char *key, const char *env,
                        bool numeric, setting *s)
{
    const char *text = env != NULL ? r->getenv_fn(env) : NULL;
    if (text != NULL && text[0] != '\0') {
        s->at = fo_json_top(r->file, env);
        s->value = env_value(text, numeric);
        s->from_env = true;
        return;
    }
    s->at = fo_json_key(parent, key);
    s->value = obj != NULL ? json_incref(json_object_get(obj, key)) : NULL;
    s->from_env = false;
}

/* Leaves *out alone when the setting is absent; likewise the other readers. */
static fo_error *read_int(const reader *r, const json_t *obj, const fo_json_at *parent, const char *key,
                          const char *env, int64_t lo, int64_t hi, int64_t *out)
{
    setting s;
    setting_get(r, obj, parent, key, env, true, &s);
    fo_error *err = fo_json_int(&s.at, s.value, lo, hi, out);
    json_decref(s.value);
    return err;
}

char *agg_config_resolve(const char *dir, const char *path)
{
    if (dir == NULL || path[0] == '/')
        return fo_xstrdup(path);
    size_t dl = strlen(dir), pl = strlen(path);
    char *joined = fo_xmalloc(dl + pl + 1);
    memcpy(joined, dir, dl);
    memcpy(joined + dl, path, pl + 1);
    return joined;
}

static char *resolve(const reader *r, const char *path) { return agg_config_resolve(r->dir, path); }

static fo_error *read_string(const reader *r, const json_t *obj, const fo_json_at *parent, const char *key,
                             const char *env, bool is_path, char **out)
{
    setting s;
    setting_get(r, obj, parent, key, env, false, &s);
    const char *text = NULL;
    fo_error *err = fo_json_string(&s.at, s.value, &text);
    if (text != NULL) {
        free(*out);
        *out = is_path && !s.from_env ? resolve(r, text) : fo_xstrdup(text);
    }
    json_decref(s.value);
    return err;
}

/* An HTTP listener's "host:port" (port 0 to 65535); the host is checked when the listener binds. */
static fo_error *read_http_address(const reader *r, const json_t *obj, const fo_json_at *parent, const char *key,
                                   const char *env, char **out)
{
    setting s;
    setting_get(r, obj, parent, key, env, false, &s);
    const char *text = NULL;
    fo_error *err = fo_json_string(&s.at, s.value, &text);
    if (err == NULL && text != NULL) {
        const char *colon = strrchr(text, ':');
        int64_t port;
        if (colon == NULL || fo_parse_int(colon + 1, 0, 65535, &port) != FO_PARSE_OK)
            err = fo_json_invalid(&s.at, s.value, "must be host:port with a port from 0 to 65535");
        else {
            free(*out);
            *out = fo_xstrdup(text);
        }
    }
    json_decref(s.value);
    return err;
}

static fo_error *read_choice(const reader *r, const json_t *obj, const fo_json_at *parent, const char *key,
                             const char *env, const char *const *choices, size_t *out)
{
    setting s;
    setting_get(r, obj, parent, key, env, false, &s);
    fo_error *err = fo_json_choice(&s.at, s.value, choices, out);
    json_decref(s.value);
    return err;
}

const char *agg_config_header_rule(const json_t *name)
{
    if (!json_is_string(name) || json_string_length(name) == 0)
        return "must be a non-empty string";
    const char *s = json_string_value(name);
    if (s[0] == ':')
        return "must not be a pseudo-header (\":\" prefix)";
    if (strncmp(s, "grpc-", 5) == 0)
        return "must not start with \"grpc-\" (reserved by gRPC)";
    if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(s))
        return "must be a lowercase header name of [a-z0-9-_.]";
    return NULL;
}

static fo_error *read_forward_metadata(const fo_json_at *top, const json_t *root, agg_config *c)
{
    const json_t *list = json_object_get(root, "forward_metadata");
    fo_json_at at = fo_json_key(top, "forward_metadata");
    size_t n = 0;
    fo_error *err = fo_json_array(&at, list, false, "header names", &n);
    if (err != NULL || n == 0)
        return err;
    c->forward_metadata = fo_xcalloc(n, sizeof *c->forward_metadata);
    for (size_t i = 0; i < n; i++) {
        const json_t *name = json_array_get(list, i);
        fo_json_at item = fo_json_index(&at, i);
        const char *rule = agg_config_header_rule(name);
        for (size_t j = 0; j < i && rule == NULL; j++) {
            if (json_equal(json_array_get(list, j), name))
                rule = "must not be listed twice";
        }
        if (rule != NULL)
            return fo_json_invalid(&item, name, "%s", rule);
        c->forward_metadata[c->n_forward_metadata++] = fo_xstrdup(json_string_value(name));
    }
    return NULL;
}

/* cert and key make a pair: one without the other is a mistake. */
static fo_error *check_pair(const fo_json_at *at, const char *cert, const char *key)
{
    fo_json_at missing = fo_json_key(at, cert != NULL ? "key" : "cert");
    if ((cert == NULL) != (key == NULL))
        return fo_json_error(&missing, "required together with %s", cert != NULL ? "cert" : "key");
    return NULL;
}

/* The file's "tls" object, if any, overridden field by field by FANOUT_TLS_*. */
static fo_error *read_server_tls(const reader *r, const fo_json_at *top, const json_t *root, agg_server_tls *tls)
{
    const json_t *obj = json_object_get(root, "tls");
    fo_json_at at = fo_json_key(top, "tls");
    fo_error *err = fo_json_object(&at, obj, server_tls_keys);
    if (err == NULL)
        err = read_string(r, obj, &at, "cert", "FANOUT_TLS_CERT", true, &tls->cert);
    if (err == NULL)
        err = read_string(r, obj, &at, "key", "FANOUT_TLS_KEY", true, &tls->key);
    if (err == NULL)
        err = read_string(r, obj, &at, "client_ca", "FANOUT_TLS_CLIENT_CA", true, &tls->client_ca);
    tls->enabled = obj != NULL || tls->cert != NULL || tls->key != NULL || tls->client_ca != NULL;
    if (err == NULL && tls->enabled && tls->cert == NULL && tls->key == NULL)
        err = fo_json_error(&at, "cert and key are required when tls is on");
    if (err == NULL)
        err = check_pair(&at, tls->cert, tls->key);
    return err;
}

static fo_error *read_client_tls(const reader *r, const json_t *feature, const fo_json_at *parent, agg_client_tls *tls)
{
    const json_t *obj = json_object_get(feature, "tls");
    if (obj == NULL)
        return NULL;
    fo_json_at at = fo_json_key(parent, "tls");
    fo_error *err = fo_json_object(&at, obj, client_tls_keys);
    if (err != NULL)
        return err;
    tls->enabled = true;
    err = read_string(r, obj, &at, "ca", NULL, true, &tls->ca);
    if (err == NULL)
        err = read_string(r, obj, &at, "cert", NULL, true, &tls->cert);
    if (err == NULL)
        err = read_string(r, obj, &at, "key", NULL, true, &tls->key);
    fo_json_at ca = fo_json_key(&at, "ca");
    if (err == NULL && tls->ca == NULL)
        err = fo_json_error(&ca, "required");
    if (err == NULL)
        err = check_pair(&at, tls->cert, tls->key);
    return err;
}

static int index_of(const agg_feature_config *features, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(features[i].name) == len && memcmp(features[i].name, name, len) == 0)
            return (int)i;
    }
    return -1;
}

/* Names follow the mock fleet's rule: [a-z0-9_-], 1 to 64 characters, unique. */
static fo_error *read_feature_name(const json_t *feature, const fo_json_at *parent, const agg_feature_config *earlier,
                                   size_t n_earlier, char **out)
{
    const json_t *name = json_object_get(feature, "name");
    fo_json_at at = fo_json_key(parent, "name");
    fo_error *err = fo_json_required(&at, name);
    if (err != NULL)
        return err;
    size_t len = json_is_string(name) ? json_string_length(name) : 0;
    if (len == 0 || len > MAX_FEATURE_NAME ||
        strspn(json_string_value(name), "abcdefghijklmnopqrstuvwxyz0123456789_-") != len)
        return fo_json_invalid(&at, name, "must be 1 to 64 characters of [a-z0-9_-]");
    int other = index_of(earlier, n_earlier, json_string_value(name), len);
    if (other >= 0)
        return fo_json_error(&at, "duplicate feature \"%s\" (also features[%d])", json_string_value(name), other);
    *out = fo_xstrdup(json_string_value(name));
    return NULL;
}

static fo_error *read_feature(const reader *r, const json_t *feature, const fo_json_at *at, size_t i, agg_config *c)
{
    agg_feature_config *f = &c->features[i];
    size_t lb = AGG_LB_PICK_FIRST;
    f->timeout_ms = 1000;
    fo_error *err = fo_json_object(at, feature, feature_keys);
    if (err == NULL)
        err = read_feature_name(feature, at, c->features, i, &f->name);
    if (err == NULL)
        err = read_string(r, feature, at, "target", NULL, false, &f->target);
    fo_json_at target = fo_json_key(at, "target");
    if (err == NULL && f->target == NULL)
        err = fo_json_error(&target, "required");
    if (err == NULL)
        err = read_int(r, feature, at, "timeout_ms", NULL, 1, 3600000, &f->timeout_ms);
    if (err == NULL)
        err = read_choice(r, feature, at, "lb", NULL, lbs, &lb);
    if (err == NULL)
        err = read_client_tls(r, feature, at, &f->tls);
    fo_json_at breaker = fo_json_key(at, "breaker");
    if (err == NULL)
        err = agg_breaker_config_read(&breaker, json_object_get(feature, "breaker"), &c->breaker, &f->breaker);
    fo_json_at hedge = fo_json_key(at, "hedge");
    if (err == NULL)
        err = agg_hedge_config_read(&hedge, json_object_get(feature, "hedge"), &c->hedge, &f->hedge);
    f->lb = (agg_lb)lb;
    return err;
}

static fo_error *read_features(const reader *r, const fo_json_at *top, const json_t *root, agg_config *c)
{
    const json_t *list = json_object_get(root, "features");
    fo_json_at at = fo_json_key(top, "features");
    if (list == NULL)
        return fo_json_error(&at, "required (a non-empty array of feature objects)");
    size_t n = 0;
    fo_error *err = fo_json_array(&at, list, true, "feature objects", &n);
    if (err != NULL)
        return err;
    /* Counted in full up front so that a release after a half-read entry frees it too. */
    c->n_features = n;
    c->features = fo_xcalloc(n, sizeof *c->features);
    for (size_t i = 0; i < n; i++) {
        fo_json_at item = fo_json_index(&at, i);
        err = read_feature(r, json_array_get(list, i), &item, i, c);
        if (err != NULL)
            return err;
    }
    return NULL;
}

/* 0 workers means one per CPU the process may use, within the range a worker count may take. */
static int resolve_workers(int64_t workers)
{
    if (workers > 0)
        return (int)workers;
    int cpus = fo_cpus_usable();
    return cpus > MAX_WORKERS ? MAX_WORKERS : cpus;
}

/* The top-level settings that are single values, each with its default already in c. */
static fo_error *read_scalars(const reader *r, const fo_json_at *top, const json_t *root, agg_config *c)
{
    int64_t workers = DEFAULT_WORKERS, max_features = c->max_features_per_request, max_bytes = c->max_message_bytes;
    size_t policy = 0, level = (size_t)c->log_level;
    fo_error *err = read_string(r, root, top, "listen", "FANOUT_LISTEN", false, &c->listen);
    if (err == NULL)
        err = read_http_address(r, root, top, "admin_listen", "FANOUT_ADMIN_LISTEN", &c->admin_listen);
    if (err == NULL)
        err = read_http_address(r, root, top, "http_listen", "FANOUT_HTTP_LISTEN", &c->http.listen);
    if (err == NULL)
        err = read_int(r, root, top, "workers", "FANOUT_WORKERS", 0, MAX_WORKERS, &workers);
    if (err == NULL)
        err = read_choice(r, root, top, "default_policy", "FANOUT_DEFAULT_POLICY", policies, &policy);
    if (err == NULL)
        err = read_int(r, root, top, "max_features_per_request", "FANOUT_MAX_FEATURES_PER_REQUEST", 1, 4096,
                       &max_features);
    if (err == NULL)
        err = read_int(r, root, top, "max_in_flight", "FANOUT_MAX_IN_FLIGHT", 1, INT64_MAX, &c->max_in_flight);
    if (err == NULL)
        err = read_int(r, root, top, "max_message_bytes", "FANOUT_MAX_MESSAGE_BYTES", 1024, 1 << 30, &max_bytes);
    if (err == NULL)
        err = read_choice(r, root, top, "log_level", "FANOUT_LOG_LEVEL", log_levels, &level);
    if (err == NULL)
        err = read_int(r, root, top, "shutdown_grace_ms", "FANOUT_SHUTDOWN_GRACE_MS", 0, INT64_MAX,
                       &c->shutdown_grace_ms);
    if (err == NULL)
        err = read_int(r, root, top, "deadline_reserve_ms", "FANOUT_DEADLINE_RESERVE_MS", 0, 60000,
                       &c->deadline_reserve_ms);
    c->workers = resolve_workers(workers);
    c->default_policy = policy_values[policy];
    c->max_features_per_request = (int)max_features;
    c->max_message_bytes = (int)max_bytes;
    c->log_level = log_level_values[level];
    return err;
}

/* The top-level hedge (every feature's default), the budget of extra attempts and the codes retried. */
static fo_error *read_extra_attempts(const fo_json_at *top, const json_t *root, agg_config *c)
{
    agg_hedge_cfg off = agg_hedge_cfg_off();
    fo_json_at at = fo_json_key(top, "hedge");
    fo_error *err = agg_hedge_config_read(&at, json_object_get(root, "hedge"), &off, &c->hedge);
    at = fo_json_key(top, "extra_attempts_budget");
    if (err == NULL)
        err = agg_budget_config_read(&at, json_object_get(root, "extra_attempts_budget"), &c->extra_attempts_budget);
    at = fo_json_key(top, "retry_on");
    if (err == NULL)
        err = agg_retry_config_read(&at, json_object_get(root, "retry_on"), &c->retry_on);
    return err;
}

/* The flood protections (fo_server_limits): 0 or absent takes the server's default. */
static fo_error *read_limits(const reader *r, const fo_json_at *top, const json_t *root, agg_config *c)
{
    fo_error *err = read_int(r, root, top, "max_memory_mb", "FANOUT_MAX_MEMORY_MB", 0, 1 << 24, &c->max_memory_mb);
    if (err == NULL)
        err = read_int(r, root, top, "max_connections", "FANOUT_MAX_CONNECTIONS", 0, 1 << 24, &c->max_connections);
    if (err == NULL)
        err = read_int(r, root, top, "max_concurrent_streams", "FANOUT_MAX_CONCURRENT_STREAMS", 0, 1 << 20,
                       &c->max_concurrent_streams);
    if (err == NULL)
        err = read_int(r, root, top, "connection_idle_timeout_ms", "FANOUT_CONNECTION_IDLE_TIMEOUT_MS", 0, INT32_MAX,
                       &c->connection_idle_timeout_ms);
    if (err == NULL)
        err = read_int(r, root, top, "handshake_timeout_ms", "FANOUT_HANDSHAKE_TIMEOUT_MS", 0, INT32_MAX,
                       &c->handshake_timeout_ms);
    return err;
}

static fo_error *read_config(const reader *r, const json_t *root, agg_config *c)
{
    c->listen = fo_xstrdup("0.0.0.0:50051");
    c->default_policy = FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL;
    c->max_features_per_request = 64;
    c->max_in_flight = 10000;
    c->max_message_bytes = 4194304;
    c->log_level = FO_LOG_INFO;
    c->shutdown_grace_ms = 5000;
    c->deadline_reserve_ms = 5;
    agg_breaker_cfg builtin = agg_breaker_cfg_default();
    fo_json_at top = fo_json_top(r->file, NULL);
    if (!json_is_object(root))
        return fo_json_error(&top, "the top level must be an object");
    fo_error *err = fo_json_object(&top, root, top_keys);
    if (err == NULL)
        err = read_scalars(r, &top, root, c);
    if (err == NULL)
        err = read_limits(r, &top, root, c);
    if (err == NULL)
        err = read_forward_metadata(&top, root, c);
    if (err == NULL)
        err = read_server_tls(r, &top, root, &c->tls);
    fo_json_at breaker = fo_json_key(&top, "breaker");
    if (err == NULL)
        err = agg_breaker_config_read(&breaker, json_object_get(root, "breaker"), &builtin, &c->breaker);
    if (err == NULL)
        err = read_extra_attempts(&top, root, c);
    if (err == NULL)
        err = read_features(r, &top, root, c);
    if (err == NULL)
        err = agg_auth_config_read(&top, root, r->dir, &c->auth);
    if (err == NULL)
        err = agg_http_config_read(&top, root, &c->http);
    return err;
}

/* "conf/" of "conf/agg.json" (slash kept, so joining is a plain concatenation). */
static char *directory_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return NULL;
    char *dir = fo_xstrndup(path, (size_t)(slash - path) + 1);
    return dir;
}

fo_error *agg_config_load(const char *path, const char *(*getenv_fn)(const char *), agg_config *out)
{
    reader r = {
        .file = path,
        .dir = directory_of(path),
        .getenv_fn = getenv_fn != NULL ? getenv_fn : real_getenv,
    };
    json_t *root = NULL;
    memset(out, 0, sizeof *out);
    fo_error *err = fo_json_load_file(path, &root);
    if (err == NULL)
        err = read_config(&r, root, out);
    if (err != NULL)
        agg_config_release(out);
    json_decref(root);
    free(r.dir);
    return err;
}

void agg_config_release(agg_config *c)
{
    free(c->listen);
    free(c->admin_listen);
    for (size_t i = 0; i < c->n_forward_metadata; i++)
        free(c->forward_metadata[i]);
    free(c->forward_metadata);
    free(c->tls.cert);
    free(c->tls.key);
    free(c->tls.client_ca);
    for (size_t i = 0; i < c->n_features; i++) {
        agg_feature_config *f = &c->features[i];
        free(f->name);
        free(f->target);
        free(f->tls.ca);
        free(f->tls.cert);
        free(f->tls.key);
    }
    free(c->features);
    agg_auth_config_release(&c->auth);
    agg_http_config_release(&c->http);
    memset(c, 0, sizeof *c);
}

int agg_config_feature_index(const agg_config *c, const char *name, size_t len)
{
    return index_of(c->features, c->n_features, name, len);
}
