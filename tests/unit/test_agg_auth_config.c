/* Unit tests for aggregator/agg_auth_config: the "auth" section, its defaults and every error. */
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
#include "agg_jwt.h"

#define FEATURES "\"features\": [{\"name\": \"a\", \"target\": \"x:1\"}]"
#define BASE "\"issuer\": \"https://i.example\", \"audience\": \"fanout\", \"algorithms\": [\"RS256\"]"
#define AUTH(keys) "{" FEATURES ", \"auth\": {" keys "}}"

/* Loads text from a file in a directory of its own ("/tmp/fanout-auth-XXXXXX/agg.json"). */
static fo_error *load(const char *text, char *dir, agg_config *c)
{
    strcpy(dir, "/tmp/fanout-auth-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/agg.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    fo_error *err = agg_config_load(path, NULL, c);
    unlink(path);
    rmdir(dir);
    return err;
}

/* The load fails and the message holds want; nothing is left behind. */
static void expect_bad(const char *text, const char *want)
{
    char dir[32];
    agg_config c;
    fo_error *err = load(text, dir, &c);
    assert_non_null(err);
    if (strstr(err->message, want) == NULL)
        fail_msg("\"%s\" does not say \"%s\"", err->message, want);
    assert_false(c.auth.enabled);
    fo_error_free(err);
}

static void absent_means_off(void **state)
{
    (void)state;
    char dir[32];
    agg_config c;
    assert_null(load("{" FEATURES "}", dir, &c));
    assert_false(c.auth.enabled);
    agg_config_release(&c);
}

static void full_section_is_read(void **state)
{
    (void)state;
    char dir[32];
    agg_config c;
    fo_error *err =
        load(AUTH("\"issuer\": \"https://issuer.example\", \"audience\": \"fanout\", "
                  "\"algorithms\": [\"RS256\", \"ES256\"], \"keys\": [\"keys/a.pub.pem\", \"/k/b.pub.pem\"], "
                  "\"jwks\": \"keys/jwks.json\", \"leeway_s\": 5, \"customers_claim\": \"tenants\", "
                  "\"admin_scope\": \"analytics:all\", \"forward_subject_header\": \"x-fanout-subject\", "
                  "\"open_methods\": [\"grpc.health.v1.Health/Check\"]"),
             dir, &c);
    assert_null(err);
    const agg_auth_config *a = &c.auth;
    assert_true(a->enabled);
    assert_string_equal(a->issuer, "https://issuer.example");
    assert_string_equal(a->audience, "fanout");
    assert_int_equal(a->algorithms, AGG_JWT_RS256 | AGG_JWT_ES256);
    assert_int_equal(a->n_keys, 2);
    /* Relative paths are next to the config file. */
    char want[64];
    snprintf(want, sizeof want, "%s/keys/a.pub.pem", dir);
    assert_string_equal(a->keys[0], want);
    assert_string_equal(a->keys[1], "/k/b.pub.pem");
    snprintf(want, sizeof want, "%s/keys/jwks.json", dir);
    assert_string_equal(a->jwks, want);
    assert_int_equal(a->leeway_s, 5);
    assert_string_equal(a->customers_claim, "tenants");
    assert_string_equal(a->admin_scope, "analytics:all");
    assert_string_equal(a->forward_subject_header, "x-fanout-subject");
    assert_true(a->open_methods_set);
    assert_int_equal(a->n_open_methods, 1);
    assert_string_equal(a->open_methods[0], "/grpc.health.v1.Health/Check");
    agg_config_release(&c);
}

static void defaults(void **state)
{
    (void)state;
    char dir[32];
    agg_config c;
    assert_null(load(AUTH(BASE ", \"jwks\": \"j.json\""), dir, &c));
    assert_int_equal(c.auth.leeway_s, 30);
    assert_string_equal(c.auth.customers_claim, "customers");
    assert_null(c.auth.admin_scope);
    assert_null(c.auth.forward_subject_header);
    assert_false(c.auth.open_methods_set);
    assert_int_equal(c.auth.n_keys, 0);
    agg_config_release(&c);
}

static void errors(void **state)
{
    (void)state;
    expect_bad(AUTH(BASE), "auth: keys or jwks is required");
    expect_bad(AUTH(BASE ", \"keys\": []"), "auth.keys: must be a non-empty array");
    expect_bad(AUTH("\"audience\": \"f\", \"algorithms\": [\"RS256\"], \"jwks\": \"j\""), "auth.issuer: required");
    expect_bad(AUTH("\"issuer\": \"i\", \"algorithms\": [\"RS256\"], \"jwks\": \"j\""), "auth.audience: required");
    expect_bad(AUTH("\"issuer\": \"i\", \"audience\": \"f\", \"jwks\": \"j\""), "auth.algorithms: required");
    expect_bad(AUTH("\"issuer\": \"i\", \"audience\": \"f\", \"algorithms\": [\"HS256\"], \"jwks\": \"j\""),
               "auth.algorithms[0]: must be \"RS256\" or \"ES256\", got \"HS256\"");
    expect_bad(AUTH("\"issuer\": \"i\", \"audience\": \"f\", \"algorithms\": [\"none\"], \"jwks\": \"j\""),
               "auth.algorithms[0]: must be \"RS256\" or \"ES256\"");
    expect_bad(AUTH(BASE ", \"jwks\": \"j\", \"colour\": 1"), "auth.colour: unknown key");
    expect_bad(AUTH(BASE ", \"jwks\": \"j\", \"leeway_s\": -1"), "auth.leeway_s: must be an integer from 0 to 600");
    expect_bad(AUTH(BASE ", \"jwks\": \"j\", \"forward_subject_header\": \"Authorization\""),
               "auth.forward_subject_header: must be a lowercase header name");
    expect_bad(AUTH(BASE ", \"jwks\": \"j\", \"forward_subject_header\": \"authorization\""),
               "must not be \"authorization\"");
    expect_bad(AUTH(BASE ", \"jwks\": \"j\", \"open_methods\": [\"Check\"]"),
               "auth.open_methods[0]: must be \"package.Service/Method\"");
    expect_bad(AUTH(BASE ", \"jwks\": \"j\", \"open_methods\": [\"fanout.v1.Aggregator/GetCustomerAnalytics\"]"),
               "the Aggregator's methods always need a token");
    expect_bad("{" FEATURES ", \"auth\": true}", "auth: must be an object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(absent_means_off),
        cmocka_unit_test(full_section_is_read),
        cmocka_unit_test(defaults),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
