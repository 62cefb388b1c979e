/* hs_scenario: reading and checking a scenario file. */
#include "hs_scenario.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fo_alloc.h"
#include "fo_json.h"
#include "fo_pbjson.h"

#define DEFAULT_LISTEN "127.0.0.1:0"
#define DEFAULT_CUSTOMER "cust-harness"
/* Long enough for anything a small scenario does; a stream must have some deadline. */
#define DEFAULT_DEADLINE_MS 10000
#define DEFAULT_AWAIT_EXIT_MS 5000

/* obj[key] as a non-empty string into *out; absent leaves *out alone unless required. */
static fo_error *read_string(const json_t *obj, const fo_json_at *parent, const char *key, bool required,
                             const char **out)
{
    const json_t *v = json_object_get(obj, key);
    fo_json_at at = fo_json_key(parent, key);
    fo_error *err = required ? fo_json_required(&at, v) : NULL;
    return err != NULL ? err : fo_json_string(&at, v, out);
}

/* obj[key] as milliseconds (an integer >= 0, or a duration such as "2s") into *out; absent leaves *out alone. */
static fo_error *read_ms(const json_t *obj, const fo_json_at *parent, const char *key, int64_t *out)
{
    fo_json_at at = fo_json_key(parent, key);
    return fo_json_duration_ms(&at, json_object_get(obj, key), 0, INT64_MAX, out);
}

/* --- the fleet -------------------------------------------------------------------- */

static fo_error *read_feature(const json_t *obj, const fo_json_at *at, hs_feature *f)
{
    static const char *const keys[] = {"name", "listen", "profile", NULL};
    fo_error *err = fo_json_object(at, obj, keys);
    f->listen = DEFAULT_LISTEN;
    if (err == NULL)
        err = read_string(obj, at, "name", true, &f->name);
    if (err == NULL)
        err = read_string(obj, at, "listen", false, &f->listen);
    /* mock_services checks the profile's keys itself, with its own messages. */
    const json_t *profile = json_object_get(obj, "profile");
    fo_json_at profile_at = fo_json_key(at, "profile");
    if (err == NULL)
        err = fo_json_object(&profile_at, profile, NULL);
    if (err == NULL && profile != NULL)
        f->profile_json = json_dumps(profile, JSON_COMPACT);
    return err;
}

static fo_error *read_fleet(const json_t *fleet, const fo_json_at *top, hs_scenario *sc)
{
    static const char *const keys[] = {"features", NULL};
    fo_json_at at = fo_json_key(top, "fleet"), features = fo_json_key(&at, "features");
    const json_t *list = json_object_get(fleet, "features");
    size_t n = 0;
    fo_error *err = fo_json_required(&at, fleet);
    if (err == NULL)
        err = fo_json_object(&at, fleet, keys);
    if (err == NULL)
        err = fo_json_required(&features, list);
    if (err == NULL)
        err = fo_json_array(&features, list, true, NULL, &n);
    if (err != NULL)
        return err;
    sc->features = fo_xcalloc(n, sizeof *sc->features);
    for (size_t i = 0; i < n; i++) {
        fo_json_at item = fo_json_index(&features, i);
        hs_feature *f = &sc->features[sc->n_features++];
        err = read_feature(json_array_get(list, i), &item, f);
        if (err == NULL && hs_scenario_feature(sc, f->name) != f)
            err = fo_json_error(&item, "a feature of that name is already in the fleet");
        if (err != NULL)
            return err;
    }
    return NULL;
}

/* --- calls -------------------------------------------------------------------------- */

static fo_error *read_status(const json_t *obj, const fo_json_at *parent, fo_status *out)
{
    const char *name = "OK";
    fo_json_at at = fo_json_key(parent, "status");
    fo_error *err = read_string(obj, parent, "status", false, &name);
    if (err == NULL && !fo_status_parse(name, out))
        err = fo_json_invalid(&at, json_object_get(obj, "status"),
                              "must be a gRPC status code name such as \"UNAVAILABLE\"");
    return err;
}

static fo_error *read_elapsed(const json_t *obj, const fo_json_at *parent, hs_expect *e)
{
    static const char *const keys[] = {"min", "max", NULL};
    const json_t *bounds = json_object_get(obj, "elapsed_ms");
    fo_json_at at = fo_json_key(parent, "elapsed_ms");
    fo_error *err = fo_json_object(&at, bounds, keys);
    if (err == NULL)
        err = read_ms(bounds, &at, "min", &e->min_ms);
    if (err == NULL)
        err = read_ms(bounds, &at, "max", &e->max_ms);
    return err;
}

static fo_error *read_order(const json_t *obj, const fo_json_at *parent, hs_expect *e)
{
    /* In hs_order's order. */
    static const char *const orders[] = {"arrival", "index", NULL};
    fo_json_at at = fo_json_key(parent, "results_order");
    size_t order = HS_ORDER_ARRIVAL;
    fo_error *err = fo_json_choice(&at, json_object_get(obj, "results_order"), orders, &order);
    e->results_order = (hs_order)order;
    return err;
}

static fo_error *read_expect(const json_t *obj, const fo_json_at *at, hs_method method, hs_expect *e)
{
    static const char *const keys[] = {"status",         "message",    "message_prefix",
                                       "failed_feature", "reply",      "results",
                                       "results_order",  "elapsed_ms", NULL};
    *e = (hs_expect){.status = FO_STATUS_OK, .min_ms = HS_MS_UNSET, .max_ms = HS_MS_UNSET};
    if (obj == NULL)
        return NULL;
    fo_error *err = fo_json_object(at, obj, keys);
    if (err == NULL)
        err = read_status(obj, at, &e->status);
    if (err == NULL)
        err = read_string(obj, at, "message", false, &e->message);
    if (err == NULL)
        err = read_string(obj, at, "message_prefix", false, &e->message_prefix);
    if (err == NULL)
        err = read_string(obj, at, "failed_feature", false, &e->failed_feature);
    if (err == NULL)
        err = read_elapsed(obj, at, e);
    if (err == NULL)
        err = read_order(obj, at, e);
    if (err != NULL)
        return err;
    e->reply = json_object_get(obj, "reply");
    e->results = json_object_get(obj, "results");
    fo_json_at reply = fo_json_key(at, "reply"), results = fo_json_key(at, "results");
    if (e->reply != NULL && method != HS_METHOD_UNARY)
        return fo_json_error(&reply, "a stream has no reply object: expect \"results\" instead");
    if (e->results != NULL && method != HS_METHOD_STREAM)
        return fo_json_error(&results,
                             "only for StreamCustomerAnalytics: expect \"reply\": {\"results\": ...} instead");
    size_t n;
    return fo_json_array(&results, e->results, false, "FeatureResult objects", &n);
}

/* The request as proto3 JSON (either field spelling), with a customer filled in when it has none. */
static fo_error *read_request(const json_t *obj, const fo_json_at *parent, hs_call *call)
{
    fo_json_at at = fo_json_key(parent, "request");
    json_t *req = obj != NULL ? json_deep_copy(obj) : json_object();
    if (!json_is_object(req)) {
        json_decref(req);
        return fo_json_invalid(&at, obj, "must be an AnalyticsRequest object");
    }
    if (json_object_get(req, "customerId") == NULL && json_object_get(req, "customer_id") == NULL)
        json_object_set_new(req, "customerId", json_string(DEFAULT_CUSTOMER));
    ProtobufCMessage *msg = NULL;
    fo_error *err = fo_pbjson_to_message(req, &fanout__v1__analytics_request__descriptor, &msg);
    json_decref(req);
    if (err != NULL) {
        fo_error *wrapped = fo_json_error(&at, "%s", err->message);
        fo_error_free(err);
        return wrapped;
    }
    call->request = (Fanout__V1__AnalyticsRequest *)msg;
    return NULL;
}

static fo_error *read_method(const json_t *obj, const fo_json_at *parent, hs_method *out)
{
    /* In hs_method's order. */
    static const char *const methods[] = {"GetCustomerAnalytics", "StreamCustomerAnalytics", NULL};
    fo_json_at at = fo_json_key(parent, "call");
    size_t method = 0;
    fo_error *err = fo_json_choice(&at, json_object_get(obj, "call"), methods, &method);
    *out = (hs_method)method;
    return err;
}

static fo_error *read_call(const json_t *obj, const fo_json_at *at, hs_call *call)
{
    static const char *const keys[] = {
        "name", "call", "request", "deadline_ms", "x-mock-fault", "cancel_after_ms", "retry_for_ms", "expect", NULL};
    *call = (hs_call){.deadline_ms = DEFAULT_DEADLINE_MS, .cancel_after_ms = HS_MS_UNSET};
    fo_error *err = fo_json_object(at, obj, keys);
    if (err == NULL)
        err = read_method(obj, at, &call->method);
    if (err == NULL)
        err = read_ms(obj, at, "deadline_ms", &call->deadline_ms);
    if (err == NULL)
        err = read_string(obj, at, "x-mock-fault", false, &call->mock_fault);
    if (err == NULL)
        err = read_ms(obj, at, "cancel_after_ms", &call->cancel_after_ms);
    if (err == NULL)
        err = read_ms(obj, at, "retry_for_ms", &call->retry_for_ms);
    if (err == NULL && call->deadline_ms == 0)
        err = fo_json_error(at, "deadline_ms must be positive");
    if (err == NULL && call->cancel_after_ms != HS_MS_UNSET && call->method != HS_METHOD_UNARY)
        err = fo_json_error(at, "cancel_after_ms is supported on GetCustomerAnalytics only");
    fo_json_at expect = fo_json_key(at, "expect");
    if (err == NULL)
        err = read_expect(json_object_get(obj, "expect"), &expect, call->method, &call->expect);
    if (err == NULL)
        err = read_request(json_object_get(obj, "request"), at, call);
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

static fo_error *read_step_kind(const json_t *obj, const fo_json_at *at, hs_step_kind *out)
{
    size_t found = 0;
    for (size_t k = 0; k < N_STEP_KINDS; k++) {
        if (json_object_get(obj, step_kinds[k]) != NULL) {
            *out = (hs_step_kind)k;
            found++;
        }
    }
    if (found != 1)
        return fo_json_error(at,
                             "expected exactly one of \"call\", \"kill\", \"restart\", \"await_exit\", \"wait_ms\"");
    return NULL;
}

/* kill, restart and await_exit name a feature of the fleet. */
static fo_error *read_feature_action(const hs_scenario *sc, const json_t *obj, const fo_json_at *at, hs_step *step)
{
    static const char *const keys[] = {"name", "kill", "restart", "await_exit", "timeout_ms", NULL};
    const char *kind = step_kinds[step->kind];
    fo_json_at feature = fo_json_key(at, kind);
    fo_error *err = fo_json_object(at, obj, keys);
    if (err == NULL)
        err = read_string(obj, at, kind, true, &step->feature);
    if (err == NULL && hs_scenario_feature(sc, step->feature) == NULL)
        err = fo_json_error(&feature, "not a feature of the fleet");
    step->ms = DEFAULT_AWAIT_EXIT_MS;
    if (err == NULL && json_object_get(obj, "timeout_ms") != NULL && step->kind != HS_STEP_AWAIT_EXIT)
        err = fo_json_error(at, "timeout_ms goes with await_exit only");
    if (err == NULL)
        err = read_ms(obj, at, "timeout_ms", &step->ms);
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

static fo_error *read_step(const hs_scenario *sc, const json_t *obj, const fo_json_at *at, hs_step *step)
{
    static const char *const wait_keys[] = {"name", "wait_ms", NULL};
    fo_error *err = fo_json_object(at, obj, NULL);
    if (err == NULL)
        err = read_step_kind(obj, at, &step->kind);
    if (err != NULL)
        return err;
    switch (step->kind) {
    case HS_STEP_CALL:
        err = read_call(obj, at, &step->call);
        break;
    case HS_STEP_WAIT:
        err = fo_json_object(at, obj, wait_keys);
        if (err == NULL)
            err = read_ms(obj, at, "wait_ms", &step->ms);
        break;
    case HS_STEP_KILL:
    case HS_STEP_RESTART:
    case HS_STEP_AWAIT_EXIT:
        err = read_feature_action(sc, obj, at, step);
        break;
    }
    const char *name = NULL;
    if (err == NULL)
        err = read_string(obj, at, "name", false, &name);
    if (err == NULL)
        step->name = name != NULL ? fo_xstrdup(name) : default_step_name(step);
    return err;
}

static fo_error *read_steps(const json_t *list, const fo_json_at *top, hs_scenario *sc)
{
    fo_json_at at = fo_json_key(top, "steps");
    size_t n = 0;
    fo_error *err = fo_json_required(&at, list);
    if (err == NULL)
        err = fo_json_array(&at, list, true, NULL, &n);
    if (err != NULL)
        return err;
    sc->steps = fo_xcalloc(n, sizeof *sc->steps);
    for (size_t i = 0; i < n; i++) {
        fo_json_at item = fo_json_index(&at, i);
        err = read_step(sc, json_array_get(list, i), &item, &sc->steps[sc->n_steps++]);
        if (err != NULL)
            return err;
    }
    return NULL;
}

/* --- the file ------------------------------------------------------------------------------ */

static fo_error *read_scenario(const fo_json_at *top, hs_scenario *sc)
{
    static const char *const keys[] = {"name", "description", "fleet", "aggregator", "warmup", "steps", NULL};
    fo_json_at warmup = fo_json_key(top, "warmup"), aggregator = fo_json_key(top, "aggregator");
    if (!json_is_object(sc->root))
        return fo_json_error(top, "the top level must be an object");
    sc->warmup = true;
    sc->aggregator = json_object_get(sc->root, "aggregator");
    fo_error *err = fo_json_object(top, sc->root, keys);
    if (err == NULL)
        err = read_string(sc->root, top, "name", false, &sc->name);
    if (err == NULL)
        err = fo_json_bool(&warmup, json_object_get(sc->root, "warmup"), &sc->warmup);
    /* The aggregator checks its config keys itself, with its own messages. */
    if (err == NULL)
        err = fo_json_object(&aggregator, sc->aggregator, NULL);
    if (err == NULL)
        err = read_fleet(json_object_get(sc->root, "fleet"), top, sc);
    if (err == NULL)
        err = read_steps(json_object_get(sc->root, "steps"), top, sc);
    return err;
}

fo_error *hs_scenario_load(const char *path, hs_scenario **out)
{
    *out = NULL;
    json_t *root = NULL;
    fo_error *err = fo_json_load_file(path, &root);
    if (err != NULL)
        return err;
    hs_scenario *sc = fo_xcalloc(1, sizeof *sc);
    sc->root = root;
    fo_json_at top = fo_json_top(path, NULL);
    err = read_scenario(&top, sc);
    if (err != NULL) {
        hs_scenario_free(sc);
        return err;
    }
    if (sc->name == NULL) {
        /* basename() may modify its argument; the name lives in the JSON root like the other strings. */
        char *copy = fo_xstrdup(path);
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
