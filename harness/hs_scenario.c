/* hs_scenario: reading and checking a scenario file. */
#include "hs_scenario.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fo_pbjson.h"

#define DEFAULT_LISTEN "127.0.0.1:0"
#define DEFAULT_CUSTOMER "cust-harness"
/* Long enough for anything a small scenario does; a stream must have some deadline. */
#define DEFAULT_DEADLINE_MS 10000
#define DEFAULT_AWAIT_EXIT_MS 5000
#define WHERE_LEN 96

/* Where in the file a value is, for messages: "steps[3].expect". */
typedef struct reader {
    const char *file;
} reader;

static fo_error *invalid(const reader *r, const char *where, const char *what)
{
    return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: %s: %s", r->file, where, what);
}

static fo_error *check_keys(const reader *r, const json_t *obj, const char *where, const char *const *allowed)
{
    if (!json_is_object(obj))
        return invalid(r, where, "expected an object");
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        size_t i = 0;
        while (allowed[i] != NULL && strcmp(allowed[i], key) != 0)
            i++;
        if (allowed[i] == NULL) {
            char what[WHERE_LEN + 32];
            snprintf(what, sizeof what, "unknown key \"%s\"", key);
            return invalid(r, where, what);
        }
    }
    return NULL;
}

static void join(char *buf, const char *where, const char *key)
{
    /* A path deeper than WHERE_LEN is cut short: it only names a place in a message. */
    if (snprintf(buf, WHERE_LEN, "%s.%s", where, key) >= WHERE_LEN)
        memcpy(buf + WHERE_LEN - 4, "...", 4);
}

/* obj[key] as a string into *out; absent leaves *out alone unless required. */
static fo_error *read_string(const reader *r, const json_t *obj, const char *where, const char *key, bool required,
                             const char **out)
{
    const json_t *v = json_object_get(obj, key);
    char at[WHERE_LEN];
    join(at, where, key);
    if (v == NULL)
        return required ? invalid(r, at, "is required") : NULL;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return invalid(r, at, "expected a non-empty string");
    *out = json_string_value(v);
    return NULL;
}

/* obj[key] as milliseconds (an integer >= 0) into *out; absent leaves *out alone. */
static fo_error *read_ms(const reader *r, const json_t *obj, const char *where, const char *key, int64_t *out)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return NULL;
    char at[WHERE_LEN];
    join(at, where, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return invalid(r, at, "expected milliseconds, an integer >= 0");
    *out = json_integer_value(v);
    return NULL;
}

/* --- the fleet -------------------------------------------------------------------- */

static fo_error *read_feature(const reader *r, const json_t *obj, const char *where, hs_feature *f)
{
    static const char *const keys[] = {"name", "listen", "profile", NULL};
    fo_error *err = check_keys(r, obj, where, keys);
    f->listen = DEFAULT_LISTEN;
    if (err == NULL)
        err = read_string(r, obj, where, "name", true, &f->name);
    if (err == NULL)
        err = read_string(r, obj, where, "listen", false, &f->listen);
    const json_t *profile = json_object_get(obj, "profile");
    if (err == NULL && profile != NULL) {
        /* mock_services checks the profile's keys itself, with its own messages. */
        if (!json_is_object(profile)) {
            char at[WHERE_LEN];
            join(at, where, "profile");
            return invalid(r, at, "expected an object (the fleet file's profile keys)");
        }
        f->profile_json = json_dumps(profile, JSON_COMPACT);
    }
    return err;
}

static fo_error *read_fleet(const reader *r, const json_t *fleet, hs_scenario *sc)
{
    static const char *const keys[] = {"features", NULL};
    fo_error *err = check_keys(r, fleet, "fleet", keys);
    if (err != NULL)
        return err;
    const json_t *list = json_object_get(fleet, "features");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return invalid(r, "fleet.features", "expected a non-empty array");
    sc->features = calloc(json_array_size(list), sizeof *sc->features);
    if (sc->features == NULL)
        abort();
    for (size_t i = 0; i < json_array_size(list); i++) {
        char where[WHERE_LEN];
        snprintf(where, sizeof where, "fleet.features[%zu]", i);
        hs_feature *f = &sc->features[sc->n_features++];
        err = read_feature(r, json_array_get(list, i), where, f);
        if (err == NULL && hs_scenario_feature(sc, f->name) != f)
            err = invalid(r, where, "a feature of that name is already in the fleet");
        if (err != NULL)
            return err;
    }
    return NULL;
}

/* --- calls -------------------------------------------------------------------------- */

static fo_error *read_status(const reader *r, const json_t *obj, const char *where, fo_status *out)
{
    const char *name = "OK";
    fo_error *err = read_string(r, obj, where, "status", false, &name);
    if (err == NULL && !fo_status_parse(name, out)) {
        char at[WHERE_LEN];
        join(at, where, "status");
        err = invalid(r, at, "expected a gRPC status code name such as \"UNAVAILABLE\"");
    }
    return err;
}

static fo_error *read_elapsed(const reader *r, const json_t *obj, const char *where, hs_expect *e)
{
    const json_t *bounds = json_object_get(obj, "elapsed_ms");
    if (bounds == NULL)
        return NULL;
    static const char *const keys[] = {"min", "max", NULL};
    char at[WHERE_LEN];
    join(at, where, "elapsed_ms");
    fo_error *err = check_keys(r, bounds, at, keys);
    if (err == NULL)
        err = read_ms(r, bounds, at, "min", &e->min_ms);
    if (err == NULL)
        err = read_ms(r, bounds, at, "max", &e->max_ms);
    return err;
}

static fo_error *read_order(const reader *r, const json_t *obj, const char *where, hs_expect *e)
{
    const char *order = "arrival";
    fo_error *err = read_string(r, obj, where, "results_order", false, &order);
    if (err != NULL)
        return err;
    if (strcmp(order, "arrival") == 0) {
        e->results_order = HS_ORDER_ARRIVAL;
    } else if (strcmp(order, "index") == 0) {
        e->results_order = HS_ORDER_INDEX;
    } else {
        char at[WHERE_LEN];
        join(at, where, "results_order");
        return invalid(r, at, "expected \"arrival\" or \"index\"");
    }
    return NULL;
}

static fo_error *read_expect(const reader *r, const json_t *obj, const char *where, hs_method method, hs_expect *e)
{
    static const char *const keys[] = {"status",         "message",    "message_prefix",
                                       "failed_feature", "reply",      "results",
                                       "results_order",  "elapsed_ms", NULL};
    *e = (hs_expect){.status = FO_STATUS_OK, .min_ms = HS_MS_UNSET, .max_ms = HS_MS_UNSET};
    if (obj == NULL)
        return NULL;
    fo_error *err = check_keys(r, obj, where, keys);
    if (err == NULL)
        err = read_status(r, obj, where, &e->status);
    if (err == NULL)
        err = read_string(r, obj, where, "message", false, &e->message);
    if (err == NULL)
        err = read_string(r, obj, where, "message_prefix", false, &e->message_prefix);
    if (err == NULL)
        err = read_string(r, obj, where, "failed_feature", false, &e->failed_feature);
    if (err == NULL)
        err = read_elapsed(r, obj, where, e);
    if (err == NULL)
        err = read_order(r, obj, where, e);
    if (err != NULL)
        return err;
    e->reply = json_object_get(obj, "reply");
    e->results = json_object_get(obj, "results");
    char at[WHERE_LEN];
    if (e->reply != NULL && method != HS_METHOD_UNARY) {
        join(at, where, "reply");
        return invalid(r, at, "a stream has no reply object: expect \"results\" instead");
    }
    if (e->results != NULL && method != HS_METHOD_STREAM) {
        join(at, where, "results");
        return invalid(r, at, "only for StreamCustomerAnalytics: expect \"reply\": {\"results\": ...} instead");
    }
    if (e->results != NULL && !json_is_array(e->results)) {
        join(at, where, "results");
        return invalid(r, at, "expected an array of FeatureResult objects");
    }
    return NULL;
}

/* The request as proto3 JSON (either field spelling), with a customer filled in when it has none. */
static fo_error *read_request(const reader *r, const json_t *obj, const char *where, hs_call *call)
{
    char at[WHERE_LEN];
    join(at, where, "request");
    json_t *req = obj != NULL ? json_deep_copy(obj) : json_object();
    if (!json_is_object(req)) {
        json_decref(req);
        return invalid(r, at, "expected an AnalyticsRequest object");
    }
    if (json_object_get(req, "customerId") == NULL && json_object_get(req, "customer_id") == NULL)
        json_object_set_new(req, "customerId", json_string(DEFAULT_CUSTOMER));
    ProtobufCMessage *msg = NULL;
    fo_error *err = fo_pbjson_to_message(req, &fanout__v1__analytics_request__descriptor, &msg);
    json_decref(req);
    if (err != NULL) {
        fo_error *wrapped = invalid(r, at, err->message);
        fo_error_free(err);
        return wrapped;
    }
    call->request = (Fanout__V1__AnalyticsRequest *)msg;
    return NULL;
}

static fo_error *read_method(const reader *r, const json_t *obj, const char *where, hs_method *out)
{
    const char *name = json_string_value(json_object_get(obj, "call"));
    if (name != NULL && strcmp(name, "GetCustomerAnalytics") == 0) {
        *out = HS_METHOD_UNARY;
    } else if (name != NULL && strcmp(name, "StreamCustomerAnalytics") == 0) {
        *out = HS_METHOD_STREAM;
    } else {
        char at[WHERE_LEN];
        join(at, where, "call");
        return invalid(r, at, "expected \"GetCustomerAnalytics\" or \"StreamCustomerAnalytics\"");
    }
    return NULL;
}

static fo_error *read_call(const reader *r, const json_t *obj, const char *where, hs_call *call)
{
    static const char *const keys[] = {
        "name", "call", "request", "deadline_ms", "x-mock-fault", "cancel_after_ms", "retry_for_ms", "expect", NULL};
    *call = (hs_call){.deadline_ms = DEFAULT_DEADLINE_MS, .cancel_after_ms = HS_MS_UNSET};
    fo_error *err = check_keys(r, obj, where, keys);
    if (err == NULL)
        err = read_method(r, obj, where, &call->method);
    if (err == NULL)
        err = read_ms(r, obj, where, "deadline_ms", &call->deadline_ms);
    if (err == NULL)
        err = read_string(r, obj, where, "x-mock-fault", false, &call->mock_fault);
    if (err == NULL)
        err = read_ms(r, obj, where, "cancel_after_ms", &call->cancel_after_ms);
    if (err == NULL)
        err = read_ms(r, obj, where, "retry_for_ms", &call->retry_for_ms);
    if (err == NULL && call->deadline_ms == 0)
        err = invalid(r, where, "deadline_ms must be positive");
    if (err == NULL && call->cancel_after_ms != HS_MS_UNSET && call->method != HS_METHOD_UNARY)
        err = invalid(r, where, "cancel_after_ms is supported on GetCustomerAnalytics only");
    char at[WHERE_LEN];
    join(at, where, "expect");
    if (err == NULL)
        err = read_expect(r, json_object_get(obj, "expect"), at, call->method, &call->expect);
    if (err == NULL)
        err = read_request(r, json_object_get(obj, "request"), where, call);
    return err;
}

/* --- steps ---------------------------------------------------------------------------- */

/* The one key that says what a step does. */
static const char *const step_kinds[] = {
    [HS_STEP_CALL] = "call",       [HS_STEP_KILL] = "kill",
    [HS_STEP_RESTART] = "restart", [HS_STEP_AWAIT_EXIT] = "await_exit",
    [HS_STEP_WAIT] = "wait_ms",
};
#define N_STEP_KINDS (sizeof step_kinds / sizeof *step_kinds)

static fo_error *read_step_kind(const reader *r, const json_t *obj, const char *where, hs_step_kind *out)
{
    size_t found = 0;
    for (size_t k = 0; k < N_STEP_KINDS; k++) {
        if (json_object_get(obj, step_kinds[k]) != NULL) {
            *out = (hs_step_kind)k;
            found++;
        }
    }
    if (found != 1)
        return invalid(r, where,
                       "expected exactly one of \"call\", \"kill\", \"restart\", \"await_exit\", \"wait_ms\"");
    return NULL;
}

/* kill, restart and await_exit name a feature of the fleet. */
static fo_error *read_feature_action(const reader *r, const hs_scenario *sc, const json_t *obj, const char *where,
                                     hs_step *step)
{
    static const char *const keys[] = {"name", "kill", "restart", "await_exit", "timeout_ms", NULL};
    const char *kind = step_kinds[step->kind];
    fo_error *err = check_keys(r, obj, where, keys);
    if (err == NULL)
        err = read_string(r, obj, where, kind, true, &step->feature);
    if (err == NULL && hs_scenario_feature(sc, step->feature) == NULL) {
        char at[WHERE_LEN];
        join(at, where, kind);
        err = invalid(r, at, "not a feature of the fleet");
    }
    step->ms = DEFAULT_AWAIT_EXIT_MS;
    if (err == NULL && json_object_get(obj, "timeout_ms") != NULL && step->kind != HS_STEP_AWAIT_EXIT)
        err = invalid(r, where, "timeout_ms goes with await_exit only");
    if (err == NULL)
        err = read_ms(r, obj, where, "timeout_ms", &step->ms);
    return err;
}

static char *default_step_name(const hs_step *step)
{
    char *name = NULL;
    int n;
    if (step->kind == HS_STEP_CALL)
        n = asprintf(&name, "%s",
                     step->call.method == HS_METHOD_UNARY ? "GetCustomerAnalytics" : "StreamCustomerAnalytics");
    else if (step->kind == HS_STEP_WAIT)
        n = asprintf(&name, "wait %lld ms", (long long)step->ms);
    else
        n = asprintf(&name, "%s %s", step_kinds[step->kind], step->feature);
    if (n < 0)
        abort();
    return name;
}

static fo_error *read_step(const reader *r, const hs_scenario *sc, const json_t *obj, const char *where, hs_step *step)
{
    static const char *const wait_keys[] = {"name", "wait_ms", NULL};
    fo_error *err =
        json_is_object(obj) ? read_step_kind(r, obj, where, &step->kind) : invalid(r, where, "expected an object");
    if (err != NULL)
        return err;
    switch (step->kind) {
    case HS_STEP_CALL:
        err = read_call(r, obj, where, &step->call);
        break;
    case HS_STEP_WAIT:
        err = check_keys(r, obj, where, wait_keys);
        if (err == NULL)
            err = read_ms(r, obj, where, "wait_ms", &step->ms);
        break;
    case HS_STEP_KILL:
    case HS_STEP_RESTART:
    case HS_STEP_AWAIT_EXIT:
        err = read_feature_action(r, sc, obj, where, step);
        break;
    }
    const char *name = NULL;
    if (err == NULL)
        err = read_string(r, obj, where, "name", false, &name);
    if (err == NULL)
        step->name = name != NULL ? strdup(name) : default_step_name(step);
    return err;
}

static fo_error *read_steps(const reader *r, const json_t *list, hs_scenario *sc)
{
    if (!json_is_array(list) || json_array_size(list) == 0)
        return invalid(r, "steps", "expected a non-empty array");
    sc->steps = calloc(json_array_size(list), sizeof *sc->steps);
    if (sc->steps == NULL)
        abort();
    for (size_t i = 0; i < json_array_size(list); i++) {
        char where[WHERE_LEN];
        snprintf(where, sizeof where, "steps[%zu]", i);
        fo_error *err = read_step(r, sc, json_array_get(list, i), where, &sc->steps[sc->n_steps++]);
        if (err != NULL)
            return err;
    }
    return NULL;
}

/* --- the file ------------------------------------------------------------------------------ */

static fo_error *read_scenario(const reader *r, hs_scenario *sc)
{
    static const char *const keys[] = {"name", "description", "fleet", "aggregator", "warmup", "steps", NULL};
    fo_error *err = check_keys(r, sc->root, "scenario", keys);
    if (err == NULL)
        err = read_string(r, sc->root, "scenario", "name", false, &sc->name);
    if (err != NULL)
        return err;
    const json_t *warmup = json_object_get(sc->root, "warmup");
    if (warmup != NULL && !json_is_boolean(warmup))
        return invalid(r, "scenario.warmup", "expected true or false");
    sc->warmup = warmup == NULL || json_is_true(warmup);
    sc->aggregator = json_object_get(sc->root, "aggregator");
    if (sc->aggregator != NULL && !json_is_object(sc->aggregator))
        return invalid(r, "scenario.aggregator", "expected an object (the aggregator's config keys)");
    const json_t *fleet = json_object_get(sc->root, "fleet");
    err = fleet != NULL ? read_fleet(r, fleet, sc) : invalid(r, "scenario.fleet", "is required");
    if (err == NULL)
        err = read_steps(r, json_object_get(sc->root, "steps"), sc);
    return err;
}

fo_error *hs_scenario_load(const char *path, hs_scenario **out)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    hs_scenario *sc = calloc(1, sizeof *sc);
    if (sc == NULL)
        abort();
    sc->root = root;
    reader r = {.file = path};
    fo_error *err = json_is_object(root) ? read_scenario(&r, sc) : invalid(&r, "scenario", "expected an object");
    if (err != NULL) {
        hs_scenario_free(sc);
        return err;
    }
    if (sc->name == NULL) {
        /* basename() may modify its argument; the name lives in the JSON root like the other strings. */
        char *copy = strdup(path);
        json_object_set_new(root, "name", json_string(basename(copy)));
        free(copy);
        sc->name = json_string_value(json_object_get(root, "name"));
    }
    *out = sc;
    return NULL;
}

void hs_scenario_free(hs_scenario *sc)
{
    if (sc == NULL)
        return;
    for (size_t i = 0; i < sc->n_features; i++)
        free(sc->features[i].profile_json);
    free(sc->features);
    for (size_t i = 0; i < sc->n_steps; i++) {
        free(sc->steps[i].name);
        if (sc->steps[i].call.request != NULL)
            protobuf_c_message_free_unpacked(&sc->steps[i].call.request->base, NULL);
    }
    free(sc->steps);
    json_decref(sc->root);
    free(sc);
}

const hs_feature *hs_scenario_feature(const hs_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->n_features; i++) {
        if (strcmp(sc->features[i].name, name) == 0)
            return &sc->features[i];
    }
    return NULL;
}
