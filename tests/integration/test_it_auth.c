/*
 * Integration tests of token authentication and per-customer authorization,
 * with keys and tokens from tests/support/auth_fixture.py (PyJWT):
 *
 *   client --Bearer--> aggregator ---> mock services listings, tours
 *   client --Bearer--> aggregator (open_methods: Health/Check only) ---> recorder
 *   client --mTLS + Bearer--> aggregator ---> listings, tours
 *
 * Every outcome of the fixture on the unary call (fo_rpc) and on the stream
 * (fanout-cli --stream --token); health and reflection open by default and
 * gated by open_methods; the subject forwarded to features and the caller's
 * authorization never; mutual TLS and tokens both required; thousands of
 * calls mixing good, forged and expired tokens. At the end the mocks' own
 * counts must equal the aggregates that were answered: no feature is ever
 * called for a refused one.
 */
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "fanout/feature/v1/feature.pb-c.h"
#include "fanout/v1/aggregator.pb-c.h"
#include "fo_rpc.h"
#include "fo_server.h"
#include "fo_time.h"
#include "testcli.h"
#include "testjwt.h"
#include "testproc.h"

#define GET_PATH "/fanout.v1.Aggregator/GetCustomerAnalytics"
#define HEALTH_CHECK "/grpc.health.v1.Health/Check"
#define HEALTH_WATCH "/grpc.health.v1.Health/Watch"
#define REFLECTION "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
#define CALL_DEADLINE_MS 20000
#define LOAD_THREADS 4
#define LOAD_CALLS_PER_THREAD 750
#define STOP_MS 10000

static char dir[] = "/tmp/fanout-auth-it-XXXXXX";
static json_t *fixture;
static tool_proc *listings, *tours;
static tool_proc *agg;        /* auth with the default open methods */
static tool_proc *agg_closed; /* open_methods: Health/Check only; its feature is the recorder */
static fo_channel *ch_agg, *ch_closed;
/* Aggregates answered OK by agg and agg_tls: each called listings and tours once. */
static atomic_long answered;

/* --- the recorder: a feature that notes the headers it gets ------------------ */

static fo_server *recorder;
static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static char rec_subject[64];
static bool rec_authorization, rec_trace;

static void record(fo_server_call *call, void *ctx)
{
    (void)ctx;
    size_t n;
    const char *subject = fo_server_call_metadata(call, "x-fanout-subject", &n);
    pthread_mutex_lock(&rec_mu);
    snprintf(rec_subject, sizeof rec_subject, "%.*s", subject ? (int)n : 0, subject ? subject : "");
    rec_authorization = fo_server_call_metadata(call, "authorization", &n) != NULL;
    rec_trace = fo_server_call_metadata(call, "x-trace", &n) != NULL;
    pthread_mutex_unlock(&rec_mu);
    Fanout__Feature__V1__UsageReport report = FANOUT__FEATURE__V1__USAGE_REPORT__INIT;
    fo_payload *p = fo_payload_pack(&report.base);
    fo_server_call_finish(call, FO_STATUS_OK, "", p, NULL, 0);
    fo_payload_free(p);
}

/* --- helpers ------------------------------------------------------------------ */

static const char *at(const char *name) { return testjwt_path(dir, name); }

static const char *token_of(const char *name) { return testjwt_token(fixture, name); }

typedef struct outcome {
    fo_status status;
    char message[256];
    int succeeded; /* GetCustomerAnalytics: features in the reply; -1 without one */
} outcome;

/* A blocking call with "authorization: Bearer token" (none for NULL) and the extra header, if any. */
static void call(fo_channel *ch, const char *path, const char *token, const fo_payload *request, const fo_md *extra,
                 outcome *out)
{
    char bearer[9000];
    fo_md md[2];
    size_t nmd = 0;
    if (token != NULL) {
        snprintf(bearer, sizeof bearer, "Bearer %s", token);
        md[nmd++] = (fo_md){"authorization", bearer, strlen(bearer)};
    }
    if (extra != NULL)
        md[nmd++] = *extra;
    fo_call_spec spec = {
        .channel = ch,
        .path = path,
        .deadline_ns = fo_now_ns() + (int64_t)CALL_DEADLINE_MS * FO_NS_PER_MS,
        .md = md,
        .nmd = nmd,
        .request = request,
    };
    fo_client_call *cc = NULL;
    fo_error *err = fo_client_call_blocking(&spec, &cc);
    assert_null(err);
    out->status = fo_client_call_status(cc);
    snprintf(out->message, sizeof out->message, "%s", fo_client_call_message(cc));
    out->succeeded = -1;
    if (strcmp(path, GET_PATH) == 0 && out->status == FO_STATUS_OK) {
        Fanout__V1__AnalyticsResponse *r =
            (Fanout__V1__AnalyticsResponse *)fo_client_call_unpack(cc, &fanout__v1__analytics_response__descriptor);
        assert_non_null(r);
        out->succeeded = (int)r->succeeded;
        fanout__v1__analytics_response__free_unpacked(r, NULL);
    }
    fo_client_call_free(cc);
}

static void analytics(fo_channel *ch, const char *customer, const char *token, const fo_md *extra, outcome *out)
{
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = (char *)customer;
    fo_payload *p = fo_payload_pack(&req.base);
    call(ch, GET_PATH, token, p, extra, out);
    fo_payload_free(p);
}

/* Health/Check, Watch or reflection's list_services, with a payload of bytes. */
static void raw_call(fo_channel *ch, const char *path, const char *token, const void *bytes, size_t len,
                     int64_t deadline_ms, outcome *out)
{
    fo_payload *p = fo_payload_from_bytes(bytes, len);
    fo_call_spec spec = {.channel = ch, .path = path, .deadline_ns = fo_now_ns() + deadline_ms * FO_NS_PER_MS};
    char bearer[9000];
    fo_md md;
    if (token != NULL) {
        snprintf(bearer, sizeof bearer, "Bearer %s", token);
        md = (fo_md){"authorization", bearer, strlen(bearer)};
        spec.md = &md;
        spec.nmd = 1;
    }
    spec.request = p;
    fo_client_call *cc = NULL;
    assert_null(fo_client_call_blocking(&spec, &cc));
    out->status = fo_client_call_status(cc);
    snprintf(out->message, sizeof out->message, "%s", fo_client_call_message(cc));
    fo_client_call_free(cc);
    fo_payload_free(p);
}

/* ServerReflectionRequest{list_services: "*"}: field 7, a string. */
static const unsigned char list_services[] = {0x3a, 0x01, '*'};

static json_t *auth_section(const char *extra_json)
{
    json_t *auth = json_pack("{s:s, s:s, s:[s, s], s:[s, s, s], s:s, s:s, s:s}", "issuer", "https://issuer.example",
                             "audience", "fanout", "algorithms", "RS256", "ES256", "keys", at("a.pub.pem"),
                             at("b.pub.pem"), at("e.pub.pem"), "jwks", at("jwks.json"), "admin_scope", "analytics:all",
                             "forward_subject_header", "x-fanout-subject");
    if (extra_json != NULL) {
        json_t *extra = json_loads(extra_json, 0, NULL);
        assert_non_null(extra);
        json_object_update(auth, extra);
        json_decref(extra);
    }
    return auth;
}

/* Writes DIR/name: features listed as name=target pairs, the auth section, then the top-level extra. */
static const char *write_config(const char *name, json_t *features, json_t *auth, const char *top_extra)
{
    json_t *cfg =
        json_pack("{s:s, s:i, s:o, s:o}", "listen", "127.0.0.1:0", "workers", 2, "features", features, "auth", auth);
    if (top_extra != NULL) {
        json_t *extra = json_loads(top_extra, 0, NULL);
        assert_non_null(extra);
        json_object_update(cfg, extra);
        json_decref(extra);
    }
    const char *path = at(name);
    assert_int_equal(json_dump_file(cfg, path, JSON_INDENT(2)), 0);
    json_decref(cfg);
    return path;
}

static json_t *mock_features(void)
{
    return json_pack("[{s:s, s:s, s:i}, {s:s, s:s, s:i}]", "name", "listings", "target",
                     tool_proc_field(listings, "address"), "timeout_ms", 10000, "name", "tours", "target",
                     tool_proc_field(tours, "address"), "timeout_ms", 10000);
}

/* --- setup ---------------------------------------------------------------------- */

static int start_recorder(char *target, size_t len)
{
    fo_server_opts opts = {.workers = 1};
    recorder = fo_server_create(&opts);
    fo_server_add_method(recorder, "/fanout.feature.v1.FeatureService/GetUsage", FO_RPC_UNARY, record, NULL);
    int port = 0;
    fo_error *err = fo_server_listen(recorder, "127.0.0.1:0", NULL, &port);
    if (err != NULL) {
        fo_error_free(err);
        return -1;
    }
    fo_server_start(recorder);
    snprintf(target, len, "127.0.0.1:%d", port);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    /* "localhost" (the TLS test) through getaddrinfo: Debian 12's c-ares leaks on that name. */
    setenv("GRPC_DNS_RESOLVER", "native", 1);
    fo_rpc_init();
    fixture = testjwt_make(dir);
    listings = testproc_mock("listings", NULL);
    tours = testproc_mock("tours", NULL);
    char rec_target[64];
    if (fixture == NULL || listings == NULL || tours == NULL || start_recorder(rec_target, sizeof rec_target) != 0)
        return -1;
    agg = testproc_aggregator(write_config("agg.json", mock_features(), auth_section(NULL), NULL));
    json_t *rec = json_pack("[{s:s, s:s}]", "name", "listings", "target", rec_target);
    agg_closed = testproc_aggregator(write_config("closed.json", rec,
                                                  auth_section("{\"open_methods\": [\"grpc.health.v1.Health/Check\"]}"),
                                                  "{\"forward_metadata\": [\"authorization\", \"x-trace\"]}"));
    if (agg == NULL || agg_closed == NULL)
        return -1;
    if (fo_channel_create(tool_proc_field(agg, "address"), NULL, &ch_agg) != NULL ||
        fo_channel_create(tool_proc_field(agg_closed, "address"), NULL, &ch_closed) != NULL)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fo_channel_destroy(ch_agg);
    fo_channel_destroy(ch_closed);
    tool_proc_free(agg);
    tool_proc_free(agg_closed);
    tool_proc_free(listings);
    tool_proc_free(tours);
    if (recorder != NULL) {
        fo_server_shutdown(recorder, 0);
        fo_server_destroy(recorder);
    }
    int rc = testjwt_remove(dir, fixture);
    fo_rpc_shutdown();
    return rc == 0 ? 0 : -1;
}

/* --- tests ------------------------------------------------------------------------ */

/* Every case of the fixture on GetCustomerAnalytics: its status, its reason, and a full reply when OK. */
static void test_every_outcome_unary(void **state)
{
    (void)state;
    size_t i, failures = 0;
    json_t *c;
    json_array_foreach(json_object_get(fixture, "cases"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *code = json_string_value(json_object_get(c, "code"));
        const char *token = json_string_value(json_object_get(c, "token"));
        /* An empty token reaches the aggregator as a bare "Bearer", which is no bearer token. */
        const char *reason = token[0] != '\0' ? json_string_value(json_object_get(c, "reason")) : "";
        outcome o;
        analytics(ch_agg, json_string_value(json_object_get(c, "customer")), token, NULL, &o);
        bool ok = strcmp(fo_status_name((int)o.status), code) == 0 && strstr(o.message, reason) != NULL &&
                  (o.status != FO_STATUS_OK || o.succeeded == 2);
        if (!ok) {
            fprintf(stderr, "case \"%s\": want %s (%s), got %s: %s\n", name, code, reason,
                    fo_status_name((int)o.status), o.message);
            failures++;
        }
        answered += o.status == FO_STATUS_OK;
    }
    assert_int_equal(failures, 0);
}

static void test_missing_or_other_scheme(void **state)
{
    (void)state;
    outcome o;
    analytics(ch_agg, "c-42", NULL, NULL, &o);
    assert_int_equal(o.status, FO_STATUS_UNAUTHENTICATED);
    assert_string_equal(o.message, "missing bearer token");
    fo_md basic = {"authorization", "Basic YWxpY2U6c2VjcmV0", strlen("Basic YWxpY2U6c2VjcmV0")};
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = "c-42";
    fo_payload *p = fo_payload_pack(&req.base);
    call(ch_agg, GET_PATH, NULL, p, &basic, &o);
    fo_payload_free(p);
    assert_int_equal(o.status, FO_STATUS_UNAUTHENTICATED);
    assert_string_equal(o.message, "authorization is not a Bearer token");
    /* The scheme is case-insensitive. */
    char lower[9000];
    snprintf(lower, sizeof lower, "bearer %s", token_of("rs256 key a"));
    fo_md md = {"authorization", lower, strlen(lower)};
    analytics(ch_agg, "c-42", NULL, &md, &o);
    assert_int_equal(o.status, FO_STATUS_OK);
    answered++;
}

/* The same cases on the stream, through fanout-cli --stream --token (and FANOUT_TOKEN once). */
static void test_every_outcome_stream(void **state)
{
    (void)state;
    size_t i, failures = 0;
    json_t *c;
    json_array_foreach(json_object_get(fixture, "cases"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *code = json_string_value(json_object_get(c, "code"));
        const char *reason = json_string_value(json_object_get(c, "reason"));
        const char *token = json_string_value(json_object_get(c, "token"));
        char cmd[10000];
        snprintf(cmd, sizeof cmd, "'%s' query --stream --addr %s --customer %s --format summary --token '%s'",
                 FANOUT_CLI_BIN, tool_proc_field(agg, "address"), json_string_value(json_object_get(c, "customer")),
                 token);
        char *out = NULL, *err = NULL;
        int rc = testcli_run(cmd, &out, &err);
        char want[64];
        snprintf(want, sizeof want, "ERROR: %s: ", code);
        bool ok = strcmp(code, "OK") == 0
                      ? rc == 0 && strstr(out, "succeeded 2") != NULL
                      : rc == 1 && strstr(err, want) != NULL && (token[0] == '\0' || strstr(err, reason) != NULL);
        if (!ok) {
            fprintf(stderr, "stream case \"%s\": want %s (%s), got rc %d: %s%s\n", name, code, reason, rc, out, err);
            failures++;
        }
        answered += strcmp(code, "OK") == 0 && rc == 0;
        free(out);
        free(err);
    }
    assert_int_equal(failures, 0);

    char cmd[10000];
    snprintf(cmd, sizeof cmd, "FANOUT_TOKEN='%s' '%s' query --stream --addr %s --customer c-42 --format summary",
             token_of("es256 key e"), FANOUT_CLI_BIN, tool_proc_field(agg, "address"));
    char *out = NULL;
    assert_int_equal(testcli_run(cmd, &out, NULL), 0);
    assert_non_null(strstr(out, "succeeded 2"));
    answered++;
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' query --stream --addr %s --customer c-42", FANOUT_CLI_BIN,
             tool_proc_field(agg, "address"));
    assert_int_equal(testcli_run(cmd, &out, NULL), 1);
    assert_non_null(strstr(out, "ERROR: UNAUTHENTICATED: missing bearer token"));
    free(out);
}

/* Without open_methods, health checking and reflection need no token. */
static void test_health_and_reflection_open_by_default(void **state)
{
    (void)state;
    outcome o;
    raw_call(ch_agg, HEALTH_CHECK, NULL, "", 0, CALL_DEADLINE_MS, &o);
    assert_int_equal(o.status, FO_STATUS_OK);
    raw_call(ch_agg, REFLECTION, NULL, list_services, sizeof list_services, CALL_DEADLINE_MS, &o);
    assert_int_equal(o.status, FO_STATUS_OK);
}

/* With open_methods, exactly those are open: the others need a valid token. */
static void test_open_methods_gate_the_rest(void **state)
{
    (void)state;
    outcome o;
    raw_call(ch_closed, HEALTH_CHECK, NULL, "", 0, CALL_DEADLINE_MS, &o);
    assert_int_equal(o.status, FO_STATUS_OK);
    raw_call(ch_closed, HEALTH_WATCH, NULL, "", 0, CALL_DEADLINE_MS, &o);
    assert_int_equal(o.status, FO_STATUS_UNAUTHENTICATED);
    assert_string_equal(o.message, "missing bearer token");
    raw_call(ch_closed, REFLECTION, NULL, list_services, sizeof list_services, CALL_DEADLINE_MS, &o);
    assert_int_equal(o.status, FO_STATUS_UNAUTHENTICATED);
    raw_call(ch_closed, REFLECTION, token_of("expired one second past the leeway"), list_services, sizeof list_services,
             CALL_DEADLINE_MS, &o);
    assert_int_equal(o.status, FO_STATUS_UNAUTHENTICATED);
    assert_string_equal(o.message, "token expired");
    raw_call(ch_closed, REFLECTION, token_of("alg none"), list_services, sizeof list_services, CALL_DEADLINE_MS, &o);
    assert_int_equal(o.status, FO_STATUS_UNAUTHENTICATED);
    raw_call(ch_closed, REFLECTION, token_of("rs256 key a"), list_services, sizeof list_services, CALL_DEADLINE_MS, &o);
    assert_int_equal(o.status, FO_STATUS_OK);
    /* Admitted: the watch streams until the deadline. */
    raw_call(ch_closed, HEALTH_WATCH, token_of("es256 key e"), "", 0, 500, &o);
    assert_int_equal(o.status, FO_STATUS_DEADLINE_EXCEEDED);
}

/* The features get the verified subject, and never the caller's token, even when forward_metadata names it. */
static void test_subject_forwarded_token_not(void **state)
{
    (void)state;
    outcome o;
    fo_md trace = {"x-trace", "t-1", 3};
    analytics(ch_closed, "c-42", token_of("rs256 key a"), &trace, &o);
    assert_int_equal(o.status, FO_STATUS_OK);
    pthread_mutex_lock(&rec_mu);
    assert_string_equal(rec_subject, "alice");
    assert_false(rec_authorization);
    assert_true(rec_trace);
    pthread_mutex_unlock(&rec_mu);
}

typedef struct load_counts {
    long good_ok, good_wrong, bad_refused, bad_wrong;
} load_counts;

static void *load_thread(void *arg)
{
    load_counts *n = arg;
    const char *good[] = {token_of("rs256 key a"), token_of("es256 key e"), token_of("jwks rsa j1"),
                          token_of("rs256 key b (rotation)")};
    const char *bad[] = {token_of("forged: unknown signer under a known kid"),
                         token_of("expired one second past the leeway"), token_of("alg none"),
                         token_of("HS256 keyed with the public key"),
                         token_of("payload swapped under a valid signature")};
    for (int i = 0; i < LOAD_CALLS_PER_THREAD; i++) {
        bool is_good = i % 2 == 0;
        const char *token = is_good ? good[(i / 2) % 4] : bad[(i / 2) % 5];
        outcome o;
        analytics(ch_agg, "c-42", token, NULL, &o);
        if (is_good && o.status == FO_STATUS_OK && o.succeeded == 2)
            n->good_ok++;
        else if (is_good)
            n->good_wrong++;
        else if (o.status == FO_STATUS_UNAUTHENTICATED)
            n->bad_refused++;
        else
            n->bad_wrong++;
    }
    return NULL;
}

/* Thousands of calls, half with good tokens, half forged or expired, from several threads at once. */
static void test_load_mix(void **state)
{
    (void)state;
    pthread_t threads[LOAD_THREADS];
    load_counts counts[LOAD_THREADS];
    memset(counts, 0, sizeof counts);
    for (int t = 0; t < LOAD_THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, load_thread, &counts[t]), 0);
    load_counts total = {0};
    for (int t = 0; t < LOAD_THREADS; t++) {
        pthread_join(threads[t], NULL);
        total.good_ok += counts[t].good_ok;
        total.good_wrong += counts[t].good_wrong;
        total.bad_refused += counts[t].bad_refused;
        total.bad_wrong += counts[t].bad_wrong;
    }
    print_message("load: %ld good answered, %ld good not; %ld bad refused, %ld bad not\n", total.good_ok,
                  total.good_wrong, total.bad_refused, total.bad_wrong);
    answered += total.good_ok;
    assert_int_equal(total.good_wrong, 0);
    assert_int_equal(total.bad_wrong, 0);
    assert_int_equal(total.good_ok + total.bad_refused, LOAD_THREADS * LOAD_CALLS_PER_THREAD);
}

/* Mutual TLS and a token, both required when both are configured. */
static void test_mtls_and_token(void **state)
{
    (void)state;
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "sh '%s/scripts/gen-certs.sh' '%s'", FANOUT_SOURCE_DIR, dir);
    assert_int_equal(system(cmd), 0);
    char tls[3 * PATH_MAX];
    snprintf(tls, sizeof tls, "{\"tls\": {\"cert\": \"%s\", \"key\": \"%s\", \"client_ca\": \"%s\"}}", at("server.pem"),
             at("server.key"), at("ca.pem"));
    tool_proc *agg_tls = testproc_aggregator(write_config("tls.json", mock_features(), auth_section(NULL), tls));
    assert_non_null(agg_tls);
    char base[4 * PATH_MAX];
    snprintf(base, sizeof base, "'%s' query --addr localhost:%s --customer c-42 --format summary --tls-ca '%s'",
             FANOUT_CLI_BIN, strrchr(tool_proc_field(agg_tls, "address"), ':') + 1, at("ca.pem"));
    char client[2 * PATH_MAX];
    snprintf(client, sizeof client, " --tls-cert '%s' --tls-key '%s'", at("client.pem"), at("client.key"));
    char *out = NULL;
    static char line[40000];
    /* Certificate, no token. */
    snprintf(line, sizeof line, "%s%s", base, client);
    assert_int_equal(testcli_run(line, &out, NULL), 1);
    assert_non_null(strstr(out, "ERROR: UNAUTHENTICATED: missing bearer token"));
    free(out);
    /* Token, no certificate: the handshake fails. */
    snprintf(line, sizeof line, "%s --timeout 5s --token '%s'", base, token_of("rs256 key a"));
    assert_int_equal(testcli_run(line, &out, NULL), 1);
    assert_null(strstr(out, "succeeded"));
    free(out);
    /* Both. */
    snprintf(line, sizeof line, "%s%s --token '%s'", base, client, token_of("rs256 key a"));
    assert_int_equal(testcli_run(line, &out, NULL), 0);
    assert_non_null(strstr(out, "succeeded 2"));
    answered++;
    free(out);
    tool_proc_free(agg_tls);
}

/* `aggregator --config FILE FLAGS` with auth's keys and jwks replaced must exit 2 saying want. */
static void expect_refused(json_t *keys, json_t *jwks, const char *flags, const char *want)
{
    json_t *auth = auth_section(NULL);
    json_object_del(auth, "keys");
    json_object_del(auth, "jwks");
    if (keys != NULL)
        json_object_set_new(auth, "keys", keys);
    if (jwks != NULL)
        json_object_set_new(auth, "jwks", jwks);
    const char *path = write_config("refused.json", mock_features(), auth, NULL);
    char cmd[2 * PATH_MAX], *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' --config '%s' %s", AGGREGATOR_BIN, path, flags);
    assert_int_equal(testcli_run(cmd, &out, NULL), 2);
    if (strstr(out, want) == NULL)
        fail_msg("\"%s\" does not say \"%s\"", out, want);
    free(out);
}

/* The aggregator refuses to start on auth without keys, and on a key file it cannot use, naming it. */
static void test_startup_refusals(void **state)
{
    (void)state;
    expect_refused(NULL, NULL, "", "auth: keys or jwks is required");
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "%s: cannot read", at("missing.pub.pem"));
    expect_refused(json_pack("[s]", at("missing.pub.pem")), NULL, "--check-config", want);
    snprintf(want, sizeof want, "%s: not a PEM public key", at("cases.json"));
    expect_refused(json_pack("[s]", at("cases.json")), NULL, "", want);
    /* at() reuses its buffers: the path is copied before expect_refused calls it again. */
    snprintf(want, sizeof want, "%s:1:1:", at("a.pub.pem"));
    expect_refused(NULL, json_string(at("a.pub.pem")), "--check-config", want);
}

/* The mocks answered exactly the aggregates that were answered: none for a refused call. */
static void test_mocks_count_only_answered(void **state)
{
    (void)state;
    tool_proc *mocks[] = {listings, tours};
    for (int i = 0; i < 2; i++) {
        tool_proc_stop(mocks[i], SIGTERM, STOP_MS);
        json_t *stats = testproc_events(mocks[i], "stats");
        assert_int_equal(json_array_size(stats), 1);
        json_t *s = json_array_get(stats, 0);
        long ok = (long)json_integer_value(json_object_get(s, "ok"));
        print_message("%s: %ld calls, %ld aggregates answered\n", json_string_value(json_object_get(s, "feature")), ok,
                      (long)answered);
        assert_int_equal(ok, answered);
        assert_int_equal(json_integer_value(json_object_get(s, "invalid")), 0);
        json_decref(stats);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_outcome_unary),
        cmocka_unit_test(test_missing_or_other_scheme),
        cmocka_unit_test(test_every_outcome_stream),
        cmocka_unit_test(test_health_and_reflection_open_by_default),
        cmocka_unit_test(test_open_methods_gate_the_rest),
        cmocka_unit_test(test_subject_forwarded_token_not),
        cmocka_unit_test(test_load_mix),
        cmocka_unit_test(test_mtls_and_token),
        cmocka_unit_test(test_startup_refusals),
        cmocka_unit_test(test_mocks_count_only_answered),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
