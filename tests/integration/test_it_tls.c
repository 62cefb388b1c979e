/*
 * Integration tests of TLS and mutual TLS, with certificates from
 * scripts/gen-certs.sh in a temporary directory:
 *
 *   client --TLS--> aggregator --TLS--> mock service (listings)
 *
 * One aggregator serves TLS, a second one requires client certificates
 * (mTLS); both call the feature over TLS. Clients are the project's own
 * channel layer (tool_rpc) and, once it is built, fanout-cli. The binaries
 * must refuse bad files at start-up with a message naming the file.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "testcli.h"
#include "testproc.h"
#include "tool_rpc.h"

#define CUSTOMER "c-42"
#define FEATURE "listings"
#define CALL_DEADLINE_MS 20000
/* A binary that should refuse to start but hangs is stopped by timeout(1) after this. */
#define REFUSAL_TIMEOUT_S "60"

static char dir[] = "/tmp/fanout-tls-it-XXXXXX";
static tool_proc *mock;
static tool_proc *agg_tls;
static tool_proc *agg_mtls;

/* DIR/name; four buffers in turn, so one call can use a few paths. */
static const char *at(const char *name)
{
    static char bufs[4][PATH_MAX];
    static int next;
    char *buf = bufs[next++ % 4];
    snprintf(buf, PATH_MAX, "%s/%s", dir, name);
    return buf;
}

/*
 * Writes DIR/name: an aggregator config with the one TLS feature, the
 * server's tls object given as JSON (relative paths resolve against DIR),
 * and the feature's CA.
 */
static void write_config(const char *name, const char *server_tls_json, const char *feature_ca)
{
    json_t *tls = json_loads(server_tls_json, 0, NULL);
    assert_non_null(tls);
    json_t *cfg = json_pack("{s:s, s:i, s:o, s:[{s:s, s:s, s:i, s:{s:s}}]}", "listen", "127.0.0.1:0", "workers", 2,
                            "tls", tls, "features", "name", FEATURE, "target", tool_proc_field(mock, "address"),
                            "timeout_ms", 10000, "tls", "ca", feature_ca);
    assert_non_null(cfg);
    assert_int_equal(json_dump_file(cfg, at(name), JSON_INDENT(2)), 0);
    json_decref(cfg);
}

static int setup(void **state)
{
    (void)state;
    /*
     * Resolve "localhost" with getaddrinfo: Debian 12's c-ares (1.18) leaks
     * 10 bytes per lookup of that name, which LeakSanitizer would report.
     */
    setenv("GRPC_DNS_RESOLVER", "native", 1);
    fo_rpc_init();
    if (mkdtemp(dir) == NULL)
        return -1;
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "sh '%s/scripts/gen-certs.sh' '%s'", FANOUT_SOURCE_DIR, dir);
    if (system(cmd) != 0)
        return -1;
    char *mock_argv[] = {MOCK_SERVICES_BIN,
                         "--feature",
                         FEATURE,
                         "--listen",
                         "127.0.0.1:0",
                         "--tls-cert",
                         (char *)at("server.pem"),
                         "--tls-key",
                         (char *)at("server.key"),
                         NULL};
    mock = tool_proc_start(mock_argv, 30000);
    if (mock == NULL)
        return -1;
    write_config("tls.json", "{\"cert\": \"server.pem\", \"key\": \"server.key\"}", "ca.pem");
    write_config("mtls.json", "{\"cert\": \"server.pem\", \"key\": \"server.key\", \"client_ca\": \"ca.pem\"}",
                 "ca.pem");
    agg_tls = testproc_aggregator(at("tls.json"));
    agg_mtls = testproc_aggregator(at("mtls.json"));
    return agg_tls != NULL && agg_mtls != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tool_proc_free(agg_mtls);
    tool_proc_free(agg_tls);
    tool_proc_free(mock);
    fo_rpc_shutdown();
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void analytics(const tool_proc *agg, const fo_channel_opts *opts, tool_rpc_result *out)
{
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    char *features[] = {FEATURE};
    req.customer_id = CUSTOMER;
    req.features = features;
    req.n_features = 1;
    tool_rpc_call_opts(tool_proc_field(agg, "address"), opts, "/fanout.v1.Aggregator/GetCustomerAnalytics", &req.base,
                       &fanout__v1__analytics_response__descriptor, CALL_DEADLINE_MS, NULL, out);
}

/* The call went end to end: OK, and the feature answered with usage over the aggregator's TLS channel. */
static void expect_usage(const tool_rpc_result *r)
{
    if (r->status != FO_STATUS_OK)
        fail_msg("status %s: %s", fo_status_name(r->status), r->message);
    const Fanout__V1__AnalyticsResponse *resp = tool_rpc_analytics_reply(r);
    assert_non_null(resp);
    assert_string_equal(resp->customer_id, CUSTOMER);
    assert_int_equal(resp->n_results, 1);
    if (resp->results[0]->outcome_case != FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE)
        fail_msg("feature failed: %s", resp->results[0]->error ? resp->results[0]->error->message : "?");
    assert_string_equal(resp->results[0]->usage->customer_id, CUSTOMER);
    assert_int_equal(resp->succeeded, 1);
    assert_int_equal(resp->failed, 0);
}

/* The connection was refused during the handshake: no reply, UNAVAILABLE. */
static void expect_refused(const tool_rpc_result *r)
{
    if (r->status != FO_STATUS_UNAVAILABLE)
        fail_msg("expected UNAVAILABLE, got %s: %s", fo_status_name(r->status), r->message);
    assert_null(r->reply);
}

static void test_tls_call_succeeds(void **state)
{
    (void)state;
    tool_rpc_result r;
    analytics(agg_tls, &(fo_channel_opts){.tls_ca = at("ca.pem")}, &r);
    expect_usage(&r);
    tool_rpc_result_release(&r);
}

static void test_tls_by_dns_name(void **state)
{
    (void)state;
    /* The server certificate names DNS:localhost as well as IP:127.0.0.1. */
    const char *addr = tool_proc_field(agg_tls, "address");
    char target[64];
    snprintf(target, sizeof target, "localhost%s", strrchr(addr, ':'));
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = CUSTOMER;
    tool_rpc_result r;
    tool_rpc_call_opts(target, &(fo_channel_opts){.tls_ca = at("ca.pem")}, "/fanout.v1.Aggregator/GetCustomerAnalytics",
                       &req.base, &fanout__v1__analytics_response__descriptor, CALL_DEADLINE_MS, NULL, &r);
    expect_usage(&r);
    tool_rpc_result_release(&r);
}

static void test_plaintext_client_refused(void **state)
{
    (void)state;
    tool_rpc_result r;
    analytics(agg_tls, NULL, &r);
    expect_refused(&r);
    tool_rpc_result_release(&r);
}

static void test_client_trusting_other_ca_refused(void **state)
{
    (void)state;
    tool_rpc_result r;
    analytics(agg_tls, &(fo_channel_opts){.tls_ca = at("other-ca.pem")}, &r);
    expect_refused(&r);
    tool_rpc_result_release(&r);
}

static void test_mtls_without_certificate_refused(void **state)
{
    (void)state;
    tool_rpc_result r;
    analytics(agg_mtls, &(fo_channel_opts){.tls_ca = at("ca.pem")}, &r);
    expect_refused(&r);
    tool_rpc_result_release(&r);
}

static void test_mtls_other_ca_certificate_refused(void **state)
{
    (void)state;
    tool_rpc_result r;
    fo_channel_opts opts = {
        .tls_ca = at("ca.pem"), .tls_cert = at("other-client.pem"), .tls_key = at("other-client.key")};
    analytics(agg_mtls, &opts, &r);
    expect_refused(&r);
    tool_rpc_result_release(&r);
}

static void test_mtls_client_certificate_succeeds(void **state)
{
    (void)state;
    tool_rpc_result r;
    fo_channel_opts opts = {.tls_ca = at("ca.pem"), .tls_cert = at("client.pem"), .tls_key = at("client.key")};
    analytics(agg_mtls, &opts, &r);
    expect_usage(&r);
    tool_rpc_result_release(&r);
}

static int run_cli(const tool_proc *agg, const char *tls_args, char **out)
{
    char cmd[6 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "timeout " REFUSAL_TIMEOUT_S " '%s' query --addr %s --customer " CUSTOMER " %s 2>&1",
             FANOUT_CLI_BIN, tool_proc_field(agg, "address"), tls_args);
    return testcli_run(cmd, out, NULL);
}

static void test_cli(void **state)
{
    (void)state;
    if (access(FANOUT_CLI_BIN, X_OK) != 0) {
        print_message("fanout-cli is not built (%s): CLI checks skipped\n", FANOUT_CLI_BIN);
        skip();
    }
    char args[4 * PATH_MAX], *out;
    snprintf(args, sizeof args, "--tls-ca '%s'", at("ca.pem"));
    int rc = run_cli(agg_tls, args, &out);
    if (rc != 0 || strstr(out, CUSTOMER) == NULL || strstr(out, "\"usage\"") == NULL)
        fail_msg("fanout-cli over TLS: exit %d, output:\n%s", rc, out);
    free(out);

    snprintf(args, sizeof args, "--tls-ca '%s' --tls-cert '%s' --tls-key '%s'", at("ca.pem"), at("client.pem"),
             at("client.key"));
    rc = run_cli(agg_mtls, args, &out);
    if (rc != 0 || strstr(out, CUSTOMER) == NULL || strstr(out, "\"usage\"") == NULL)
        fail_msg("fanout-cli over mTLS: exit %d, output:\n%s", rc, out);
    free(out);

    snprintf(args, sizeof args, "--tls-ca '%s'", at("ca.pem"));
    rc = run_cli(agg_mtls, args, &out);
    if (rc == 0)
        fail_msg("fanout-cli without a client certificate got through mTLS:\n%s", out);
    free(out);

    /* A bad file is refused before any connection, by the same checks. */
    snprintf(args, sizeof args, "--tls-ca '%s'", at("server.key"));
    rc = run_cli(agg_tls, args, &out);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s: no CA certificate in it", at("server.key"));
    if (rc == 0 || strstr(out, want) == NULL)
        fail_msg("fanout-cli --tls-ca with a key file: exit %d, expected \"%s\"; output:\n%s", rc, want, out);
    free(out);
}

/*
 * Runs binary with args (under timeout(1)) and expects it to refuse to
 * start: a non-zero exit, a message "<prefix>: <path>: <problem>", and no
 * sanitizer report on the way out.
 */
static void expect_start_refused(const char *binary, const char *args, const char *prefix, const char *path,
                                 const char *problem)
{
    char cmd[4 * PATH_MAX], want[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "timeout " REFUSAL_TIMEOUT_S " '%s' %s 2>&1", binary, args);
    snprintf(want, sizeof want, "%s: %s: %s", prefix, path, problem);
    char *out;
    int rc = testcli_run(cmd, &out, NULL);
    if (rc == 0 || rc == 124 || strstr(out, want) == NULL || strstr(out, "Sanitizer") != NULL)
        fail_msg("%s: exit %d, expected a refusal with \"%s\"; output:\n%s", binary, rc, want, out);
    free(out);
}

static void expect_aggregator_refused(const char *config, const char *path, const char *problem)
{
    char args[2 * PATH_MAX];
    snprintf(args, sizeof args, "--config '%s' --listen 127.0.0.1:0", at(config));
    expect_start_refused(AGGREGATOR_BIN, args, "aggregator", path, problem);
}

static void test_aggregator_refuses_mismatched_key(void **state)
{
    (void)state;
    write_config("bad-key.json", "{\"cert\": \"server.pem\", \"key\": \"client.key\"}", "ca.pem");
    char problem[2 * PATH_MAX];
    snprintf(problem, sizeof problem, "private key does not match the certificate in %s", at("server.pem"));
    expect_aggregator_refused("bad-key.json", at("client.key"), problem);
}

static void test_aggregator_refuses_missing_client_ca(void **state)
{
    (void)state;
    write_config("no-client-ca.json",
                 "{\"cert\": \"server.pem\", \"key\": \"server.key\", \"client_ca\": \"missing.pem\"}", "ca.pem");
    expect_aggregator_refused("no-client-ca.json", at("missing.pem"), "cannot read: No such file or directory");
}

static void test_aggregator_refuses_bad_feature_ca(void **state)
{
    (void)state;
    write_config("bad-feature-ca.json", "{\"cert\": \"server.pem\", \"key\": \"server.key\"}", "server.key");
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "feature %s: %s", FEATURE, at("server.key"));
    expect_aggregator_refused("bad-feature-ca.json", path, "no CA certificate in it");
}

static void test_mock_refuses_mismatched_key(void **state)
{
    (void)state;
    char args[3 * PATH_MAX], problem[2 * PATH_MAX];
    snprintf(args, sizeof args, "--feature %s --listen 127.0.0.1:0 --tls-cert '%s' --tls-key '%s'", FEATURE,
             at("server.pem"), at("other-client.key"));
    snprintf(problem, sizeof problem, "private key does not match the certificate in %s", at("server.pem"));
    expect_start_refused(MOCK_SERVICES_BIN, args, "mock_services", at("other-client.key"), problem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_call_succeeds),
        cmocka_unit_test(test_tls_by_dns_name),
        cmocka_unit_test(test_plaintext_client_refused),
        cmocka_unit_test(test_client_trusting_other_ca_refused),
        cmocka_unit_test(test_mtls_without_certificate_refused),
        cmocka_unit_test(test_mtls_other_ca_certificate_refused),
        cmocka_unit_test(test_mtls_client_certificate_succeeds),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_aggregator_refuses_mismatched_key),
        cmocka_unit_test(test_aggregator_refuses_missing_client_ca),
        cmocka_unit_test(test_aggregator_refuses_bad_feature_ca),
        cmocka_unit_test(test_mock_refuses_mismatched_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
