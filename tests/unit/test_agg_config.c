/* Unit tests for aggregator/agg_config: the file, its defaults, env overrides, every error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg_config.h"
#include "fo_cpus.h"

/* A minimal valid feature list, and a file made of it plus some top-level keys. */
#define FEATURE "{\"name\": \"a\", \"target\": \"x:1\"}"
#define WITH(keys) "{" keys ", \"features\": [" FEATURE "]}"

/* The environment the loader sees: "NAME=value" entries, NULL-terminated. */
static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    size_t len = strlen(name);
    for (const char *const *e = fake_env; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    }
    return NULL;
}

/* Writes text to a new file under dir; returns its malloc'd path. */
static char *write_file(const char *dir, const char *text)
{
    char *path = malloc(strlen(dir) + sizeof "/agg_config_XXXXXX");
    assert_non_null(path);
    sprintf(path, "%s/agg_config_XXXXXX", dir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static fo_error *load_text(const char *text, const char *const *env, char **path, agg_config *c)
{
    *path = write_file("/tmp", text);
    fake_env = env;
    return agg_config_load(*path, fake_getenv, c);
}

/* The load fails with exactly "<path>: <expect>", and leaves nothing behind. */
static void expect_bad_env(const char *text, const char *const *env, const char *expect)
{
    char *path;
    agg_config c;
    fo_error *err = load_text(text, env, &path, &c);
    assert_non_null(err);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    char want[512];
    snprintf(want, sizeof want, "%s: %s", path, expect);
    assert_string_equal(err->message, want);
    assert_null(c.features);
    assert_null(c.listen);
    fo_error_free(err);
    unlink(path);
    free(path);
}

static void expect_bad(const char *text, const char *expect) { expect_bad_env(text, NULL, expect); }

static void full_file_is_read(void **state)
{
    (void)state;
    char dir[] = "/tmp/agg_config_dir_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path =
        write_file(dir, "{\"listen\": \"127.0.0.1:6000\", \"workers\": 3, \"default_policy\": \"FAIL_FAST\",\n"
                        " \"max_features_per_request\": 10, \"max_in_flight\": 99, \"max_message_bytes\": 2048,\n"
                        " \"forward_metadata\": [\"x-mock-fault\", \"x-request_id.v2\"],\n"
                        " \"log_level\": \"warn\", \"shutdown_grace_ms\": 0,\n"
                        " \"tls\": {\"cert\": \"server.pem\", \"key\": \"/etc/k/server.key\", \"client_ca\": "
                        "\"ca/ca.pem\"},\n"
                        " \"features\": [\n"
                        "  {\"name\": \"listings\", \"target\": \"127.0.0.1:50061\", \"timeout_ms\": 250,\n"
                        "   \"lb\": \"round_robin\",\n"
                        "   \"tls\": {\"ca\": \"ca.pem\", \"cert\": \"client.pem\", \"key\": \"client.key\"}},\n"
                        "  {\"name\": \"tour_s-2\", \"target\": \"ipv4:127.0.0.1:1,127.0.0.1:2\", \"lb\": "
                        "\"pick_first\",\n"
                        "   \"tls\": {\"ca\": \"/ca.pem\"}}]}\n");
    agg_config c;
    fake_env = NULL;
    fo_error *err = agg_config_load(path, fake_getenv, &c);
    assert_null(err);
    char want[256];
    assert_string_equal(c.listen, "127.0.0.1:6000");
    assert_int_equal(c.workers, 3);
    assert_int_equal(c.default_policy, FANOUT__V1__FAILURE_POLICY__FAIL_FAST);
    assert_int_equal(c.max_features_per_request, 10);
    assert_int_equal(c.max_in_flight, 99);
    assert_int_equal(c.max_message_bytes, 2048);
    assert_int_equal(c.n_forward_metadata, 2);
    assert_string_equal(c.forward_metadata[0], "x-mock-fault");
    assert_string_equal(c.forward_metadata[1], "x-request_id.v2");
    assert_int_equal(c.log_level, FO_LOG_WARN);
    assert_int_equal(c.shutdown_grace_ms, 0);
    assert_true(c.tls.enabled);
    snprintf(want, sizeof want, "%s/server.pem", dir);
    assert_string_equal(c.tls.cert, want);
    assert_string_equal(c.tls.key, "/etc/k/server.key");
    snprintf(want, sizeof want, "%s/ca/ca.pem", dir);
    assert_string_equal(c.tls.client_ca, want);
    assert_int_equal(c.n_features, 2);
    const agg_feature_config *f = &c.features[0];
    assert_string_equal(f->name, "listings");
    assert_string_equal(f->target, "127.0.0.1:50061");
    assert_int_equal(f->timeout_ms, 250);
    assert_int_equal(f->lb, AGG_LB_ROUND_ROBIN);
    assert_true(f->tls.enabled);
    snprintf(want, sizeof want, "%s/ca.pem", dir);
    assert_string_equal(f->tls.ca, want);
    snprintf(want, sizeof want, "%s/client.pem", dir);
    assert_string_equal(f->tls.cert, want);
    snprintf(want, sizeof want, "%s/client.key", dir);
    assert_string_equal(f->tls.key, want);
    f = &c.features[1];
    assert_string_equal(f->name, "tour_s-2");
    assert_string_equal(f->target, "ipv4:127.0.0.1:1,127.0.0.1:2");
    assert_int_equal(f->timeout_ms, 1000);
    assert_int_equal(f->lb, AGG_LB_PICK_FIRST);
    assert_string_equal(f->tls.ca, "/ca.pem");
    assert_null(f->tls.cert);
    assert_null(f->tls.key);
    assert_int_equal(agg_config_feature_index(&c, "tour_s-2", 8), 1);
    assert_int_equal(agg_config_feature_index(&c, "listingsX", 8), 0);
    assert_int_equal(agg_config_feature_index(&c, "listing", 7), -1);
    assert_int_equal(agg_config_feature_index(&c, "tours", 5), -1);
    agg_config_release(&c);
    unlink(path);
    free(path);
    rmdir(dir);
}

static void minimal_file_gets_defaults(void **state)
{
    (void)state;
    char *path;
    agg_config c;
    assert_null(load_text("{\"features\": [" FEATURE "]}", NULL, &path, &c));
    assert_string_equal(c.listen, "0.0.0.0:50051");
    assert_int_equal(c.workers, fo_cpus_usable());
    assert_int_equal(c.default_policy, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL);
    assert_int_equal(c.max_features_per_request, 64);
    assert_int_equal(c.max_in_flight, 10000);
    assert_int_equal(c.max_message_bytes, 4194304);
    assert_int_equal(c.n_forward_metadata, 0);
    assert_null(c.forward_metadata);
    assert_int_equal(c.log_level, FO_LOG_INFO);
    assert_int_equal(c.shutdown_grace_ms, 5000);
    assert_false(c.tls.enabled);
    assert_null(c.tls.cert);
    assert_int_equal(c.n_features, 1);
    assert_string_equal(c.features[0].name, "a");
    assert_string_equal(c.features[0].target, "x:1");
    assert_int_equal(c.features[0].timeout_ms, 1000);
    assert_int_equal(c.features[0].lb, AGG_LB_PICK_FIRST);
    assert_false(c.features[0].tls.enabled);
    agg_config_release(&c);
    unlink(path);
    free(path);
}

static void zero_workers_means_one_per_usable_cpu(void **state)
{
    (void)state;
    char *path;
    agg_config c;
    assert_null(load_text("{\"workers\": 0, \"features\": [" FEATURE "]}", NULL, &path, &c));
    int cpus = fo_cpus_usable();
    assert_int_equal(c.workers, cpus > 64 ? 64 : cpus);
    agg_config_release(&c);
    unlink(path);
    free(path);
}

static void paths_of_a_file_in_the_cwd_stay_as_given(void **state)
{
    (void)state;
    char *path = write_file("/tmp", WITH("\"tls\": {\"cert\": \"c.pem\", \"key\": \"k/k.pem\"}"));
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir("/tmp"), 0);
    agg_config c;
    fake_env = NULL;
    fo_error *err = agg_config_load(path + strlen("/tmp/"), fake_getenv, &c);
    assert_int_equal(chdir(cwd), 0);
    assert_null(err);
    assert_string_equal(c.tls.cert, "c.pem");
    assert_string_equal(c.tls.key, "k/k.pem");
    agg_config_release(&c);
    unlink(path);
    free(path);
}

static void environment_overrides_the_file(void **state)
{
    (void)state;
    static const char *const env[] = {
        "FANOUT_LISTEN=:7000",
        "FANOUT_WORKERS=5",
        "FANOUT_LOG_LEVEL=debug",
        "FANOUT_DEFAULT_POLICY=FAIL_FAST",
        "FANOUT_MAX_IN_FLIGHT=7",
        "FANOUT_SHUTDOWN_GRACE_MS=12",
        "FANOUT_TLS_KEY=keys/k.pem",
        "FANOUT_TLS_CLIENT_CA=",
        "FANOUT_MAX_MESSAGE_BYTES=65536",
        "FANOUT_MAX_FEATURES_PER_REQUEST=9",
        "FANOUT_FEATURES=not-a-key",
        NULL,
    };
    char *path;
    agg_config c;
    fo_error *err = load_text(WITH("\"listen\": \"a:1\", \"workers\": 2, \"log_level\": \"error\","
                                   " \"max_in_flight\": 3, \"shutdown_grace_ms\": 4,"
                                   " \"tls\": {\"cert\": \"/c.pem\"}"),
                              env, &path, &c);
    assert_null(err);
    assert_string_equal(c.listen, ":7000");
    assert_int_equal(c.workers, 5);
    assert_int_equal(c.log_level, FO_LOG_DEBUG);
    assert_int_equal(c.default_policy, FANOUT__V1__FAILURE_POLICY__FAIL_FAST);
    assert_int_equal(c.max_in_flight, 7);
    assert_int_equal(c.shutdown_grace_ms, 12);
    assert_true(c.tls.enabled);
    assert_string_equal(c.tls.cert, "/c.pem");
    /* Paths from the environment are relative to the working directory, as given. */
    assert_string_equal(c.tls.key, "keys/k.pem");
    assert_int_equal(c.max_message_bytes, 65536);
    assert_int_equal(c.max_features_per_request, 9);
    /* Empty counts as unset; a variable that is not an override (FANOUT_FEATURES) is not read. */
    assert_null(c.tls.client_ca);
    assert_int_equal(c.n_features, 1);
    agg_config_release(&c);
    unlink(path);
    free(path);
}

static void environment_alone_turns_tls_on(void **state)
{
    (void)state;
    static const char *const env[] = {"FANOUT_TLS_CERT=c.pem", "FANOUT_TLS_KEY=k.pem", NULL};
    char *path;
    agg_config c;
    assert_null(load_text(WITH("\"workers\": 1"), env, &path, &c));
    assert_true(c.tls.enabled);
    assert_string_equal(c.tls.cert, "c.pem");
    assert_string_equal(c.tls.key, "k.pem");
    agg_config_release(&c);
    unlink(path);
    free(path);
}

/* admin_listen: off unless set; the file's, else FANOUT_ADMIN_LISTEN's, which wins; a string only. */
static void admin_listen_from_file_or_environment(void **state)
{
    (void)state;
    char *path;
    agg_config c;
    assert_null(load_text(WITH("\"workers\": 1"), NULL, &path, &c));
    assert_null(c.admin_listen);
    agg_config_release(&c);
    unlink(path);
    free(path);
    assert_null(load_text(WITH("\"admin_listen\": \"127.0.0.1:9464\""), NULL, &path, &c));
    assert_string_equal(c.admin_listen, "127.0.0.1:9464");
    agg_config_release(&c);
    unlink(path);
    free(path);
    static const char *const env[] = {"FANOUT_ADMIN_LISTEN=0.0.0.0:9999", NULL};
    assert_null(load_text(WITH("\"admin_listen\": \"127.0.0.1:9464\""), env, &path, &c));
    assert_string_equal(c.admin_listen, "0.0.0.0:9999");
    agg_config_release(&c);
    unlink(path);
    free(path);
    expect_bad(WITH("\"admin_listen\": 9464"), "admin_listen: must be a non-empty string, got 9464");
}

static void real_getenv_is_the_default(void **state)
{
    (void)state;
    char *path = write_file("/tmp", "{\"features\": [" FEATURE "]}");
    agg_config c;
    setenv("FANOUT_LOG_LEVEL", "error", 1);
    fo_error *err = agg_config_load(path, NULL, &c);
    unsetenv("FANOUT_LOG_LEVEL");
    assert_null(err);
    assert_int_equal(c.log_level, FO_LOG_ERROR);
    agg_config_release(&c);
    unlink(path);
    free(path);
}

static void unreadable_or_malformed_files_fail(void **state)
{
    (void)state;
    agg_config c;
    fo_error *err = agg_config_load("/tmp/agg_no_such_dir/agg.json", NULL, &c);
    assert_non_null(err);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    assert_string_equal(err->message, "/tmp/agg_no_such_dir/agg.json: cannot open: No such file or directory");
    fo_error_free(err);

    char *path;
    err = load_text("{\n  \"workers\": 2,\n  \"listen\" \"x\"\n}\n", NULL, &path, &c);
    assert_non_null(err);
    char want[256];
    snprintf(want, sizeof want, "%s:3:", path);
    assert_memory_equal(err->message, want, strlen(want));
    fo_error_free(err);
    unlink(path);
    free(path);

    err = load_text("{\"workers\": 1,\n \"workers\": 2}", NULL, &path, &c);
    assert_non_null(err);
    snprintf(want, sizeof want, "%s:2:", path);
    assert_memory_equal(err->message, want, strlen(want));
    assert_non_null(strstr(err->message, "duplicate"));
    assert_non_null(strstr(err->message, "workers"));
    fo_error_free(err);
    unlink(path);
    free(path);

    expect_bad("[1]", "the top level must be an object");
}

static void wrong_types_fail(void **state)
{
    (void)state;
    expect_bad(WITH("\"workers\": \"2\""), "workers: must be an integer from 0 to 64, got \"2\"");
    expect_bad(WITH("\"workers\": 2.0"), "workers: must be an integer from 0 to 64, got 2.0");
    expect_bad(WITH("\"listen\": 5"), "listen: must be a non-empty string, got 5");
    expect_bad(WITH("\"listen\": \"\""), "listen: must be a non-empty string, got \"\"");
    expect_bad(WITH("\"log_level\": null"), "log_level: must be one of debug, info, warn, error, got null");
    expect_bad(WITH("\"forward_metadata\": \"x-a\""),
               "forward_metadata: must be an array of header names, got \"x-a\"");
    expect_bad(WITH("\"tls\": []"), "tls: must be an object, got []");
    expect_bad("{\"features\": {}}", "features: must be a non-empty array of feature objects, got {}");
    expect_bad("{\"features\": [" FEATURE ", 3]}", "features[1]: must be an object, got 3");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\", \"tls\": true}]}",
               "features[0].tls: must be an object, got true");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": [\"x:1\"]}]}",
               "features[0].target: must be a non-empty string, got [\"x:1\"]");
}

static void values_out_of_range_fail(void **state)
{
    (void)state;
    expect_bad(WITH("\"workers\": 65"), "workers: must be an integer from 0 to 64, got 65");
    expect_bad(WITH("\"workers\": -1"), "workers: must be an integer from 0 to 64, got -1");
    expect_bad(WITH("\"max_features_per_request\": 0"),
               "max_features_per_request: must be an integer from 1 to 4096, got 0");
    expect_bad(WITH("\"max_features_per_request\": 4097"),
               "max_features_per_request: must be an integer from 1 to 4096, got 4097");
    expect_bad(WITH("\"max_in_flight\": 0"), "max_in_flight: must be an integer of at least 1, got 0");
    expect_bad(WITH("\"max_message_bytes\": 1023"),
               "max_message_bytes: must be an integer from 1024 to 1073741824, got 1023");
    expect_bad(WITH("\"max_message_bytes\": 1073741825"),
               "max_message_bytes: must be an integer from 1024 to 1073741824, got 1073741825");
    expect_bad(WITH("\"shutdown_grace_ms\": -1"), "shutdown_grace_ms: must be an integer of at least 0, got -1");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\"},"
               " {\"name\": \"b\", \"target\": \"x:1\"},"
               " {\"name\": \"c\", \"target\": \"x:1\", \"timeout_ms\": -5}]}",
               "features[2].timeout_ms: must be an integer from 1 to 3600000, got -5");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\", \"timeout_ms\": 3600001}]}",
               "features[0].timeout_ms: must be an integer from 1 to 3600000, got 3600001");
    /* A long value is cut in the message. */
    expect_bad(WITH("\"workers\": "
                    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
               "workers: must be an integer from 0 to 64, got "
               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...");
}

static void unknown_keys_fail(void **state)
{
    (void)state;
    expect_bad(WITH("\"wrokers\": 2"), "wrokers: unknown key");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\", \"timeot_ms\": 5}]}",
               "features[0].timeot_ms: unknown key");
    expect_bad(WITH("\"tls\": {\"cert\": \"c\", \"key\": \"k\", \"ca\": \"x\"}"), "tls.ca: unknown key");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\", \"tls\": {\"ca\": \"c\", "
               "\"client_ca\": \"x\"}}]}",
               "features[0].tls.client_ca: unknown key");
}

static void bad_features_fail(void **state)
{
    (void)state;
    expect_bad("{\"workers\": 1}", "features: required (a non-empty array of feature objects)");
    expect_bad("{\"features\": []}", "features: must be a non-empty array of feature objects, got []");
    expect_bad("{\"features\": [{\"name\": \"tours\", \"target\": \"x:1\"}, " FEATURE
               ", {\"name\": \"tours\", \"target\": \"y:1\"}]}",
               "features[2].name: duplicate feature \"tours\" (also features[0])");
    expect_bad("{\"features\": [{\"target\": \"x:1\"}]}", "features[0].name: required");
    expect_bad("{\"features\": [{\"name\": \"Tours\", \"target\": \"x:1\"}]}",
               "features[0].name: must be 1 to 64 characters of [a-z0-9_-], got \"Tours\"");
    expect_bad("{\"features\": [{\"name\": \"\", \"target\": \"x:1\"}]}",
               "features[0].name: must be 1 to 64 characters of [a-z0-9_-], got \"\"");
    expect_bad("{\"features\": [{\"name\": "
               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"target\": "
               "\"x:1\"}]}",
               "features[0].name: must be 1 to 64 characters of [a-z0-9_-], got "
               "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
    expect_bad("{\"features\": [{\"name\": \"a\"}]}", "features[0].target: required");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"\"}]}",
               "features[0].target: must be a non-empty string, got \"\"");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\", \"lb\": \"random\"}]}",
               "features[0].lb: must be one of pick_first, round_robin, got \"random\"");
}

static void bad_choices_and_headers_fail(void **state)
{
    (void)state;
    expect_bad(WITH("\"default_policy\": \"allow_partial\""),
               "default_policy: must be one of ALLOW_PARTIAL, FAIL_FAST, got \"allow_partial\"");
    expect_bad(WITH("\"default_policy\": \"FAILURE_POLICY_UNSPECIFIED\""),
               "default_policy: must be one of ALLOW_PARTIAL, FAIL_FAST, got "
               "\"FAILURE_POLICY_UNSPECIFIED\"");
    expect_bad(WITH("\"log_level\": \"INFO\""), "log_level: must be one of debug, info, warn, error, got \"INFO\"");
    expect_bad(WITH("\"forward_metadata\": [\"x-a\", \"X-Foo\"]"),
               "forward_metadata[1]: must be a lowercase header name of [a-z0-9-_.], got \"X-Foo\"");
    expect_bad(WITH("\"forward_metadata\": [\"grpc-timeout\"]"),
               "forward_metadata[0]: must not start with \"grpc-\" (reserved by gRPC), got "
               "\"grpc-timeout\"");
    expect_bad(WITH("\"forward_metadata\": [\":authority\"]"),
               "forward_metadata[0]: must not be a pseudo-header (\":\" prefix), got \":authority\"");
    expect_bad(WITH("\"forward_metadata\": [\"\"]"), "forward_metadata[0]: must be a non-empty string, got \"\"");
    expect_bad(WITH("\"forward_metadata\": [\"x-a\", \"x-b\", \"x-a\"]"),
               "forward_metadata[2]: must not be listed twice, got \"x-a\"");
}

static void bad_tls_combinations_fail(void **state)
{
    (void)state;
    expect_bad(WITH("\"tls\": {\"cert\": \"c.pem\"}"), "tls.key: required together with cert");
    expect_bad(WITH("\"tls\": {\"key\": \"k.pem\"}"), "tls.cert: required together with key");
    expect_bad(WITH("\"tls\": {}"), "tls: cert and key are required when tls is on");
    expect_bad(WITH("\"tls\": {\"client_ca\": \"ca.pem\"}"), "tls: cert and key are required when tls is on");
    expect_bad(WITH("\"tls\": {\"cert\": \"\", \"key\": \"k\"}"), "tls.cert: must be a non-empty string, got \"\"");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\", \"tls\": {}}]}", "features[0].tls.ca: required");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\","
               " \"tls\": {\"ca\": \"ca\", \"cert\": \"c\"}}]}",
               "features[0].tls.key: required together with cert");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\","
               " \"tls\": {\"ca\": \"ca\", \"key\": \"k\"}}]}",
               "features[0].tls.cert: required together with key");
    expect_bad("{\"features\": [{\"name\": \"a\", \"target\": \"x:1\", \"tls\": {\"ca\": 1}}]}",
               "features[0].tls.ca: must be a non-empty string, got 1");
}

static void bad_environment_values_fail(void **state)
{
    (void)state;
    static const char *const workers[] = {"FANOUT_WORKERS=abc", NULL};
    expect_bad_env(WITH("\"workers\": 2"), workers, "FANOUT_WORKERS: must be an integer from 0 to 64, got \"abc\"");
    static const char *const spaced[] = {"FANOUT_WORKERS= 5", NULL};
    expect_bad_env(WITH("\"workers\": 2"), spaced, "FANOUT_WORKERS: must be an integer from 0 to 64, got \" 5\"");
    static const char *const many[] = {"FANOUT_WORKERS=65", NULL};
    expect_bad_env(WITH("\"workers\": 2"), many, "FANOUT_WORKERS: must be an integer from 0 to 64, got 65");
    static const char *const small[] = {"FANOUT_MAX_MESSAGE_BYTES=10", NULL};
    expect_bad_env(WITH("\"workers\": 2"), small,
                   "FANOUT_MAX_MESSAGE_BYTES: must be an integer from 1024 to 1073741824, got 10");
    static const char *const huge[] = {"FANOUT_MAX_IN_FLIGHT=99999999999999999999", NULL};
    expect_bad_env(WITH("\"workers\": 2"), huge,
                   "FANOUT_MAX_IN_FLIGHT: must be an integer of at least 1, got "
                   "\"99999999999999999999\"");
    static const char *const grace[] = {"FANOUT_SHUTDOWN_GRACE_MS=-1", NULL};
    expect_bad_env(WITH("\"workers\": 2"), grace, "FANOUT_SHUTDOWN_GRACE_MS: must be an integer of at least 0, got -1");
    static const char *const level[] = {"FANOUT_LOG_LEVEL=loud", NULL};
    expect_bad_env(WITH("\"workers\": 2"), level,
                   "FANOUT_LOG_LEVEL: must be one of debug, info, warn, error, got \"loud\"");
    static const char *const policy[] = {"FANOUT_DEFAULT_POLICY=1", NULL};
    expect_bad_env(WITH("\"workers\": 2"), policy,
                   "FANOUT_DEFAULT_POLICY: must be one of ALLOW_PARTIAL, FAIL_FAST, got \"1\"");
    static const char *const half_tls[] = {"FANOUT_TLS_CERT=c.pem", NULL};
    expect_bad_env(WITH("\"workers\": 2"), half_tls, "tls.key: required together with cert");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_file_is_read),
        cmocka_unit_test(minimal_file_gets_defaults),
        cmocka_unit_test(zero_workers_means_one_per_usable_cpu),
        cmocka_unit_test(paths_of_a_file_in_the_cwd_stay_as_given),
        cmocka_unit_test(environment_overrides_the_file),
        cmocka_unit_test(environment_alone_turns_tls_on),
        cmocka_unit_test(admin_listen_from_file_or_environment),
        cmocka_unit_test(real_getenv_is_the_default),
        cmocka_unit_test(unreadable_or_malformed_files_fail),
        cmocka_unit_test(wrong_types_fail),
        cmocka_unit_test(values_out_of_range_fail),
        cmocka_unit_test(unknown_keys_fail),
        cmocka_unit_test(bad_features_fail),
        cmocka_unit_test(bad_choices_and_headers_fail),
        cmocka_unit_test(bad_tls_combinations_fail),
        cmocka_unit_test(bad_environment_values_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
