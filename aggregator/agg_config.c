/* agg_config: reads, overrides and checks the aggregator's configuration (see agg_config.h). */
#include "agg_config.h"
#include "fo_alloc.h"
#include "fo_parse.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WHERE_LEN 96 /* room for "features[4095].tls.client_ca" and long unknown keys */
#define SHOWN_LEN 72 /* values longer than this are cut in messages */
#define RULE_LEN 96
#define MAX_WORKERS 64
/*
 * One completion-queue thread unless the config says otherwise: on a 2-core
 * machine shared with other processes a second one cost 1.4 times the CPU per
 * aggregate and added latency (README, Performance). 0 asks for one per core.
 */
#define DEFAULT_WORKERS 1
#define MAX_FEATURE_NAME 64

typedef const char *(*getenv_fn_t)(const char *);

/* Where the values being read come from: for messages and relative paths. */
typedef struct reader {
    const char *file; /* the path as given, first in every message */
    char *dir;        /* "conf/" of "conf/agg.json"; NULL when the file is in the cwd */
    getenv_fn_t getenv_fn;
} reader;

/* One setting: its environment variable when set, else its key in the file. */
typedef struct setting {
    char where[WHERE_LEN]; /* "features[2].timeout_ms" or "FANOUT_WORKERS", for messages */
    json_t *value;         /* our own reference; NULL when the setting is absent */
    bool from_env;
} setting;

/* A name a setting may take and the value it stands for; lists end with a NULL name. */
typedef struct choice {
    const char *name;
    int value;
} choice;

static const choice policies[] = {
    {"ALLOW_PARTIAL", FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL},
    {"FAIL_FAST", FANOUT__V1__FAILURE_POLICY__FAIL_FAST},
    {NULL, 0},
};
static const choice log_levels[] = {
    {"debug", AGG_LOG_DEBUG}, {"info", AGG_LOG_INFO}, {"warn", AGG_LOG_WARN}, {"error", AGG_LOG_ERROR}, {NULL, 0},
};
static const choice lbs[] = {
    {"pick_first", AGG_LB_PICK_FIRST},
    {"round_robin", AGG_LB_ROUND_ROBIN},
    {NULL, 0},
};

static const char *const top_keys[] = {
    "listen",
    "workers",
    "default_policy",
    "max_features_per_request",
    "max_in_flight",
    "max_message_bytes",
    "forward_metadata",
    "log_level",
    "shutdown_grace_ms",
    "tls",
    "features",
    NULL,
};
static const char *const server_tls_keys[] = {"cert", "key", "client_ca", NULL};
static const char *const feature_keys[] = {"name", "target", "timeout_ms", "lb", "tls", NULL};
static const char *const client_tls_keys[] = {"ca", "cert", "key", NULL};

/* Out of memory at start-up is not something a message could help with. */
static void *check_alloc(void *p)
{
    if (p == NULL)
        abort();
    return p;
}

static const char *real_getenv(const char *name) { return getenv(name); }

/* "parent.key", or "key" at the top level; a long unknown key is cut, visibly. */
static void join(char where[WHERE_LEN], const char *parent, const char *key)
{
    int n = snprintf(where, WHERE_LEN, "%s%s%s", parent, parent[0] != '\0' ? "." : "", key);
    if (n >= WHERE_LEN)
        memcpy(where + WHERE_LEN - 4, "...", 4);
}

/* v as compact JSON, cut to fit, for the "got ..." of messages. */
static void show(const json_t *v, char *buf, size_t cap)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (text == NULL)
        snprintf(buf, cap, "(unprintable)");
    else if (strlen(text) < cap)
        snprintf(buf, cap, "%s", text);
    else
        snprintf(buf, cap, "%.*s...", (int)cap - 4, text);
    free(text);
}

static fo_error *invalid(const reader *r, const char *where, const char *rule, const json_t *got)
{
    char shown[SHOWN_LEN];
    show(got, shown, sizeof shown);
    return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: %s: %s, got %s", r->file, where, rule, shown);
}

static fo_error *problem(const reader *r, const char *where, const char *what)
{
    return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: %s: %s", r->file, where, what);
}

/*
 * An environment value as the JSON value it replaces, so that one set of
 * checks (and messages) serves both. Text that is not an integer stays a
 * string and fails the integer check with its value quoted.
 */
static json_t *env_value(const char *text, bool numeric)
{
    int64_t n;
    if (numeric && fo_parse_int(text, INT64_MIN, INT64_MAX, &n) == FO_PARSE_OK)
        return check_alloc(json_integer(n));
    /* nocheck: the environment need not be UTF-8, and NULL would read as "absent". */
    return check_alloc(json_string_nocheck(text));
}

static void setting_get(const reader *r, const json_t *obj, const char *parent, const char *key, const char *env,
                        bool numeric, setting *s)
{
    const char *text = env != NULL ? r->getenv_fn(env) : NULL;
    if (text != NULL && text[0] != '\0') {
        snprintf(s->where, sizeof s->where, "%s", env);
        s->value = env_value(text, numeric);
        s->from_env = true;
        return;
    }
    join(s->where, parent, key);
    s->value = obj != NULL ? json_incref(json_object_get(obj, key)) : NULL;
    s->from_env = false;
}

static bool int_in_range(const json_t *v, int64_t lo, int64_t hi)
{
    return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

/* Leaves *out alone when the setting is absent; likewise the other readers. */
static fo_error *read_int(const reader *r, const json_t *obj, const char *parent, const char *key, const char *env,
                          int64_t lo, int64_t hi, int64_t *out)
{
    setting s;
    setting_get(r, obj, parent, key, env, true, &s);
    fo_error *err = NULL;
    if (s.value != NULL && !int_in_range(s.value, lo, hi)) {
        char rule[RULE_LEN];
        if (hi == INT64_MAX)
            snprintf(rule, sizeof rule, "must be an integer of at least %" PRId64, lo);
        else
            snprintf(rule, sizeof rule, "must be an integer from %" PRId64 " to %" PRId64, lo, hi);
        err = invalid(r, s.where, rule, s.value);
    } else if (s.value != NULL) {
        *out = json_integer_value(s.value);
    }
    json_decref(s.value);
    return err;
}

/* A relative path from the file names a file next to it. */
static char *resolve(const reader *r, const char *path)
{
    if (r->dir == NULL || path[0] == '/')
        return fo_xstrdup(path);
    size_t dl = strlen(r->dir), pl = strlen(path);
    char *joined = check_alloc(malloc(dl + pl + 1));
    memcpy(joined, r->dir, dl);
    memcpy(joined + dl, path, pl + 1);
    return joined;
}

static fo_error *read_string(const reader *r, const json_t *obj, const char *parent, const char *key, const char *env,
                             bool is_path, char **out)
{
    setting s;
    setting_get(r, obj, parent, key, env, false, &s);
    fo_error *err = NULL;
    if (s.value != NULL && (!json_is_string(s.value) || json_string_length(s.value) == 0)) {
        err = invalid(r, s.where, "must be a non-empty string", s.value);
    } else if (s.value != NULL) {
        const char *text = json_string_value(s.value);
        free(*out);
        *out = is_path && !s.from_env ? resolve(r, text) : fo_xstrdup(text);
    }
    json_decref(s.value);
    return err;
}

static fo_error *read_choice(const reader *r, const json_t *obj, const char *parent, const char *key, const char *env,
                             const choice *choices, int *out)
{
    setting s;
    setting_get(r, obj, parent, key, env, false, &s);
    fo_error *err = NULL;
    const char *text = json_is_string(s.value) ? json_string_value(s.value) : "";
    const choice *c = choices;
    while (s.value != NULL && c->name != NULL && strcmp(text, c->name) != 0)
        c++;
    if (s.value != NULL && c->name == NULL) {
        char rule[RULE_LEN] = "must be one of";
        for (c = choices; c->name != NULL; c++) {
            size_t used = strlen(rule);
            snprintf(rule + used, sizeof rule - used, "%s %s", c == choices ? "" : ",", c->name);
        }
        err = invalid(r, s.where, rule, s.value);
    } else if (s.value != NULL) {
        *out = c->value;
    }
    json_decref(s.value);
    return err;
}

static bool is_listed(const char *key, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(key, *list) == 0)
            return true;
    }
    return false;
}

/* Unknown keys are errors: a misspelt key must not quietly leave its default. */
static fo_error *check_keys(const reader *r, const json_t *obj, const char *parent, const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        if (!is_listed(key, allowed)) {
            char where[WHERE_LEN];
            join(where, parent, key);
            return problem(r, where, "unknown key");
        }
    }
    return NULL;
}

/* NULL when name is a header we may forward, else the rule it breaks. */
static const char *header_name_rule(const json_t *name)
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

static fo_error *read_forward_metadata(const reader *r, const json_t *root, agg_config *c)
{
    const json_t *list = json_object_get(root, "forward_metadata");
    if (list == NULL)
        return NULL;
    if (!json_is_array(list))
        return invalid(r, "forward_metadata", "must be an array of header names", list);
    if (json_array_size(list) == 0)
        return NULL;
    c->forward_metadata = check_alloc(calloc(json_array_size(list), sizeof *c->forward_metadata));
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *name = json_array_get(list, i);
        char where[WHERE_LEN];
        snprintf(where, sizeof where, "forward_metadata[%zu]", i);
        const char *rule = header_name_rule(name);
        for (size_t j = 0; j < i && rule == NULL; j++) {
            if (json_equal(json_array_get(list, j), name))
                rule = "must not be listed twice";
        }
        if (rule != NULL)
            return invalid(r, where, rule, name);
        c->forward_metadata[c->n_forward_metadata++] = fo_xstrdup(json_string_value(name));
    }
    return NULL;
}

/* cert and key make a pair: one without the other is a mistake. */
static fo_error *check_pair(const reader *r, const char *where, const char *cert, const char *key)
{
    char at[WHERE_LEN];
    if (cert != NULL && key == NULL) {
        join(at, where, "key");
        return problem(r, at, "required together with cert");
    }
    if (cert == NULL && key != NULL) {
        join(at, where, "cert");
        return problem(r, at, "required together with key");
    }
    return NULL;
}

/* The file's "tls" object, if any, overridden field by field by FANOUT_TLS_*. */
static fo_error *read_server_tls(const reader *r, const json_t *root, agg_server_tls *tls)
{
    const json_t *obj = json_object_get(root, "tls");
    if (obj != NULL && !json_is_object(obj))
        return invalid(r, "tls", "must be an object", obj);
    fo_error *err = obj != NULL ? check_keys(r, obj, "tls", server_tls_keys) : NULL;
    if (err == NULL)
        err = read_string(r, obj, "tls", "cert", "FANOUT_TLS_CERT", true, &tls->cert);
    if (err == NULL)
        err = read_string(r, obj, "tls", "key", "FANOUT_TLS_KEY", true, &tls->key);
    if (err == NULL)
        err = read_string(r, obj, "tls", "client_ca", "FANOUT_TLS_CLIENT_CA", true, &tls->client_ca);
    tls->enabled = obj != NULL || tls->cert != NULL || tls->key != NULL || tls->client_ca != NULL;
    if (err == NULL && tls->enabled && tls->cert == NULL && tls->key == NULL)
        err = problem(r, "tls", "cert and key are required when tls is on");
    if (err == NULL)
        err = check_pair(r, "tls", tls->cert, tls->key);
    return err;
}

static fo_error *read_client_tls(const reader *r, const json_t *feature, const char *parent, agg_client_tls *tls)
{
    const json_t *obj = json_object_get(feature, "tls");
    if (obj == NULL)
        return NULL;
    char where[WHERE_LEN];
    join(where, parent, "tls");
    if (!json_is_object(obj))
        return invalid(r, where, "must be an object", obj);
    tls->enabled = true;
    fo_error *err = check_keys(r, obj, where, client_tls_keys);
    if (err == NULL)
        err = read_string(r, obj, where, "ca", NULL, true, &tls->ca);
    if (err == NULL)
        err = read_string(r, obj, where, "cert", NULL, true, &tls->cert);
    if (err == NULL)
        err = read_string(r, obj, where, "key", NULL, true, &tls->key);
    if (err == NULL && tls->ca == NULL) {
        char at[WHERE_LEN];
        join(at, where, "ca");
        err = problem(r, at, "required");
    }
    if (err == NULL)
        err = check_pair(r, where, tls->cert, tls->key);
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
static fo_error *read_feature_name(const reader *r, const json_t *feature, const char *parent,
                                   const agg_feature_config *earlier, size_t n_earlier, char **out)
{
    const json_t *name = json_object_get(feature, "name");
    char where[WHERE_LEN];
    join(where, parent, "name");
    if (name == NULL)
        return problem(r, where, "required");
    size_t len = json_is_string(name) ? json_string_length(name) : 0;
    if (len == 0 || len > MAX_FEATURE_NAME ||
        strspn(json_string_value(name), "abcdefghijklmnopqrstuvwxyz0123456789_-") != len)
        return invalid(r, where, "must be 1 to 64 characters of [a-z0-9_-]", name);
    int other = index_of(earlier, n_earlier, json_string_value(name), len);
    if (other >= 0) {
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: %s: duplicate feature \"%s\" (also features[%d])", r->file,
                        where, json_string_value(name), other);
    }
    *out = fo_xstrdup(json_string_value(name));
    return NULL;
}

static fo_error *read_feature(const reader *r, const json_t *feature, size_t i, agg_config *c)
{
    agg_feature_config *f = &c->features[i];
    char where[WHERE_LEN];
    snprintf(where, sizeof where, "features[%zu]", i);
    if (!json_is_object(feature))
        return invalid(r, where, "must be an object", feature);
    int lb = AGG_LB_PICK_FIRST;
    f->timeout_ms = 1000;
    fo_error *err = check_keys(r, feature, where, feature_keys);
    if (err == NULL)
        err = read_feature_name(r, feature, where, c->features, i, &f->name);
    if (err == NULL)
        err = read_string(r, feature, where, "target", NULL, false, &f->target);
    if (err == NULL && f->target == NULL) {
        char at[WHERE_LEN];
        join(at, where, "target");
        err = problem(r, at, "required");
    }
    if (err == NULL)
        err = read_int(r, feature, where, "timeout_ms", NULL, 1, 3600000, &f->timeout_ms);
    if (err == NULL)
        err = read_choice(r, feature, where, "lb", NULL, lbs, &lb);
    if (err == NULL)
        err = read_client_tls(r, feature, where, &f->tls);
    f->lb = (agg_lb)lb;
    return err;
}

static fo_error *read_features(const reader *r, const json_t *root, agg_config *c)
{
    const json_t *list = json_object_get(root, "features");
    if (list == NULL)
        return problem(r, "features", "required (a non-empty array of feature objects)");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return invalid(r, "features", "must be a non-empty array of feature objects", list);
    /* Counted in full up front so that a release after a half-read entry frees it too. */
    c->n_features = json_array_size(list);
    c->features = check_alloc(calloc(c->n_features, sizeof *c->features));
    for (size_t i = 0; i < c->n_features; i++) {
        fo_error *err = read_feature(r, json_array_get(list, i), i, c);
        if (err != NULL)
            return err;
    }
    return NULL;
}

/* 0 workers means one per online core, within the range a worker count may take. */
static int resolve_workers(int64_t workers)
{
    if (workers > 0)
        return (int)workers;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        return 1;
    return cores > MAX_WORKERS ? MAX_WORKERS : (int)cores;
}

/* The top-level settings that are single values, each with its default already in c. */
static fo_error *read_scalars(const reader *r, const json_t *root, agg_config *c)
{
    int64_t workers = DEFAULT_WORKERS, max_features = c->max_features_per_request, max_bytes = c->max_message_bytes;
    int policy = c->default_policy, level = c->log_level;
    fo_error *err = read_string(r, root, "", "listen", "FANOUT_LISTEN", false, &c->listen);
    if (err == NULL)
        err = read_int(r, root, "", "workers", "FANOUT_WORKERS", 0, MAX_WORKERS, &workers);
    if (err == NULL)
        err = read_choice(r, root, "", "default_policy", "FANOUT_DEFAULT_POLICY", policies, &policy);
    if (err == NULL)
        err = read_int(r, root, "", "max_features_per_request", "FANOUT_MAX_FEATURES_PER_REQUEST", 1, 4096,
                       &max_features);
    if (err == NULL)
        err = read_int(r, root, "", "max_in_flight", "FANOUT_MAX_IN_FLIGHT", 1, INT64_MAX, &c->max_in_flight);
    if (err == NULL)
        err = read_int(r, root, "", "max_message_bytes", "FANOUT_MAX_MESSAGE_BYTES", 1024, 1 << 30, &max_bytes);
    if (err == NULL)
        err = read_choice(r, root, "", "log_level", "FANOUT_LOG_LEVEL", log_levels, &level);
    if (err == NULL)
        err =
            read_int(r, root, "", "shutdown_grace_ms", "FANOUT_SHUTDOWN_GRACE_MS", 0, INT64_MAX, &c->shutdown_grace_ms);
    c->workers = resolve_workers(workers);
    c->default_policy = (Fanout__V1__FailurePolicy)policy;
    c->max_features_per_request = (int)max_features;
    c->max_message_bytes = (int)max_bytes;
    c->log_level = (agg_log_level)level;
    return err;
}

static fo_error *read_config(const reader *r, const json_t *root, agg_config *c)
{
    c->listen = fo_xstrdup("0.0.0.0:50051");
    c->default_policy = FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL;
    c->max_features_per_request = 64;
    c->max_in_flight = 10000;
    c->max_message_bytes = 4194304;
    c->log_level = AGG_LOG_INFO;
    c->shutdown_grace_ms = 5000;
    fo_error *err = check_keys(r, root, "", top_keys);
    if (err == NULL)
        err = read_scalars(r, root, c);
    if (err == NULL)
        err = read_forward_metadata(r, root, c);
    if (err == NULL)
        err = read_server_tls(r, root, &c->tls);
    if (err == NULL)
        err = read_features(r, root, c);
    return err;
}

static fo_error *parse_file(const reader *r, json_t **root)
{
    /* fopen ourselves: jansson's open failure text repeats the path and hides errno. */
    FILE *f = fopen(r->file, "r");
    if (f == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: cannot open: %s", r->file, strerror(errno));
    json_error_t jerr;
    *root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (*root == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s:%d:%d: %s", r->file, jerr.line, jerr.column, jerr.text);
    if (!json_is_object(*root))
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: the top level must be an object", r->file);
    return NULL;
}

/* "conf/" of "conf/agg.json" (slash kept, so joining is a plain concatenation). */
static char *directory_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? check_alloc(strndup(path, (size_t)(slash - path) + 1)) : NULL;
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
    fo_error *err = parse_file(&r, &root);
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
    memset(c, 0, sizeof *c);
}

int agg_config_feature_index(const agg_config *c, const char *name, size_t len)
{
    return index_of(c->features, c->n_features, name, len);
}
