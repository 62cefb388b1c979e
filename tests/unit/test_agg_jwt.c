/*
 * Unit tests of agg_jwt and agg_auth_keys: keys from scripts/gen-jwt-keys.sh
 * and a token for every outcome minted by PyJWT (tests/support/auth_fixture.py),
 * never by the code under test. Each case of the fixture's cases.json must
 * get its outcome: OK, PERMISSION_DENIED (verified, another customer) or
 * UNAUTHENTICATED with its reason; plus the expiry boundary to the second,
 * algorithm pinning by the policy, and key files that must be refused.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "agg_auth_cache.h"
#include "agg_auth_keys.h"
#include "agg_jwt.h"
#include "fo_time.h"
#include "testjwt.h"

static char dir[] = "/tmp/fanout-jwt-XXXXXX";
static json_t *fixture;
static agg_jwt_keys keys;

static const char *at(const char *name) { return testjwt_path(dir, name); }

static agg_jwt_policy policy(unsigned algorithms)
{
    return (agg_jwt_policy){
        .issuer = "https://issuer.example",
        .audience = "fanout",
        .algorithms = algorithms,
        .leeway_s = json_integer_value(json_object_get(fixture, "leeway_s")),
        .customers_claim = "customers",
        .admin_scope = "analytics:all",
    };
}

/* The token of the fixture's case called name. */
static const char *token_of(const char *name) { return testjwt_token(fixture, name); }

static fo_error *load(const char *pem1, const char *pem2, const char *jwks, agg_jwt_keys *out)
{
    char *pems[2] = {pem1 ? strdup(at(pem1)) : NULL, pem2 ? strdup(at(pem2)) : NULL};
    char *jwks_path = jwks ? strdup(at(jwks)) : NULL;
    fo_error *err = agg_auth_keys_load(pems, pem2 ? 2 : pem1 ? 1 : 0, jwks_path, out);
    free(pems[0]);
    free(pems[1]);
    free(jwks_path);
    return err;
}

static int setup(void **state)
{
    (void)state;
    fixture = testjwt_make(dir);
    if (fixture == NULL)
        return -1;
    char *pems[3] = {strdup(at("a.pub.pem")), strdup(at("b.pub.pem")), strdup(at("e.pub.pem"))};
    char *jwks = strdup(at("jwks.json"));
    fo_error *err = agg_auth_keys_load(pems, 3, jwks, &keys);
    for (int i = 0; i < 3; i++)
        free(pems[i]);
    free(jwks);
    if (err != NULL) {
        fprintf(stderr, "keys: %s\n", err->message);
        fo_error_free(err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    agg_auth_keys_release(&keys);
    return testjwt_remove(dir, fixture);
}

static void test_keys_loaded_by_kid(void **state)
{
    (void)state;
    const char *want[] = {"a", "b", "e", "j1", "j2"};
    const agg_jwt_alg algs[] = {AGG_JWT_RS256, AGG_JWT_RS256, AGG_JWT_ES256, AGG_JWT_RS256, AGG_JWT_ES256};
    assert_int_equal(keys.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(keys.keys[i].kid, want[i]);
        assert_int_equal(keys.keys[i].alg, algs[i]);
    }
}

/* Every case of the fixture: the outcome, and for refusals the reason. */
static void test_every_outcome(void **state)
{
    (void)state;
    agg_jwt_policy p = policy(AGG_JWT_RS256 | AGG_JWT_ES256);
    size_t i, failures = 0;
    json_t *c;
    json_array_foreach(json_object_get(fixture, "cases"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *token = json_string_value(json_object_get(c, "token"));
        const char *code = json_string_value(json_object_get(c, "code"));
        const char *reason = json_string_value(json_object_get(c, "reason"));
        const char *customer = json_string_value(json_object_get(c, "customer"));
        agg_jwt_claims claims;
        fo_error *err = agg_jwt_verify(&keys, &p, token, strlen(token), fo_unix_now(), &claims);
        bool ok;
        if (strcmp(code, "UNAUTHENTICATED") == 0)
            ok = err != NULL && err->code == FO_STATUS_UNAUTHENTICATED && strstr(err->message, reason) != NULL &&
                 (token[0] == '\0' || strstr(err->message, token) == NULL);
        else
            ok = err == NULL && agg_jwt_claims_allow(&claims, customer) == (strcmp(code, "OK") == 0) &&
                 strcmp(claims.subject, "alice") == 0;
        if (!ok) {
            fprintf(stderr, "case \"%s\": want %s (%s), got %s\n", name, code, reason,
                    err != NULL ? err->message : "verified");
            failures++;
        }
        fo_error_free(err);
        agg_jwt_claims_release(&claims);
    }
    assert_int_equal(failures, 0);
    assert_true(i >= 30);
}

/* A token is good up to exp + leeway and refused one second later. */
static void test_expiry_boundary(void **state)
{
    (void)state;
    agg_jwt_policy p = policy(AGG_JWT_RS256);
    const char *token = token_of("rs256 key a");
    agg_jwt_claims claims;
    assert_null(agg_jwt_verify(&keys, &p, token, strlen(token), fo_unix_now(), &claims));
    int64_t last = claims.expires_s + p.leeway_s;
    agg_jwt_claims_release(&claims);
    assert_null(agg_jwt_verify(&keys, &p, token, strlen(token), last, &claims));
    agg_jwt_claims_release(&claims);
    fo_error *err = agg_jwt_verify(&keys, &p, token, strlen(token), last + 1, &claims);
    assert_non_null(err);
    assert_int_equal(err->code, FO_STATUS_UNAUTHENTICATED);
    assert_string_equal(err->message, "token expired");
    /* The signature verified: the refusal can be logged with the subject. */
    assert_string_equal(claims.subject, "alice");
    fo_error_free(err);
    agg_jwt_claims_release(&claims);
}

/* The policy pins the algorithms: an ES256 token is refused where only RS256 is allowed. */
static void test_algorithm_pinned_by_policy(void **state)
{
    (void)state;
    agg_jwt_policy p = policy(AGG_JWT_RS256);
    const char *token = token_of("es256 key e");
    agg_jwt_claims claims;
    fo_error *err = agg_jwt_verify(&keys, &p, token, strlen(token), fo_unix_now(), &claims);
    assert_non_null(err);
    assert_string_equal(err->message, "algorithm not allowed");
    fo_error_free(err);
    agg_jwt_claims_release(&claims);
}

static void test_too_long(void **state)
{
    (void)state;
    agg_jwt_policy p = policy(AGG_JWT_RS256);
    size_t n = AGG_JWT_MAX_LEN + 1;
    char *big = malloc(n);
    memset(big, 'a', n);
    agg_jwt_claims claims;
    fo_error *err = agg_jwt_verify(&keys, &p, big, n, fo_unix_now(), &claims);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "longer than"));
    fo_error_free(err);
    agg_jwt_claims_release(&claims);
    free(big);
}

/* A key file the aggregator cannot use is an error that names it. */
static void expect_key_error(const char *pem1, const char *pem2, const char *jwks, const char *names, const char *what)
{
    agg_jwt_keys k;
    fo_error *err = load(pem1, pem2, jwks, &k);
    assert_non_null(err);
    if (strstr(err->message, at(names)) == NULL || strstr(err->message, what) == NULL)
        fail_msg("\"%s\" should name %s and say \"%s\"", err->message, at(names), what);
    fo_error_free(err);
    agg_auth_keys_release(&k);
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(at(name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_bad_key_files(void **state)
{
    (void)state;
    write_text("junk.pem", "not a key\n");
    write_text("bad-kty.json", "{\"keys\": [{\"kid\": \"x\", \"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}");
    write_text("no-kid.json", "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": \"AA\", \"y\": \"AA\"}]}");
    write_text("bad-point.json", "{\"keys\": [{\"kid\": \"p\", \"kty\": \"EC\", \"crv\": \"P-256\", "
                                 "\"x\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\", "
                                 "\"y\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}");
    write_text("not-json.json", "{\"keys\": [");
    expect_key_error("missing.pem", NULL, NULL, "missing.pem", "cannot read");
    expect_key_error("junk.pem", NULL, NULL, "junk.pem", "not a PEM public key");
    expect_key_error("weak.pub.pem", NULL, NULL, "weak.pub.pem", "2048 bits");
    expect_key_error("a.pub.pem", "a.pub.pem", NULL, "a.pub.pem", "given twice");
    expect_key_error(NULL, NULL, "bad-kty.json", "bad-kty.json", "kty");
    expect_key_error(NULL, NULL, "no-kid.json", "no-kid.json", "kid");
    expect_key_error(NULL, NULL, "bad-point.json", "bad-point.json", "not a valid P-256");
    expect_key_error(NULL, NULL, "not-json.json", "not-json.json", "");
    expect_key_error(NULL, NULL, "absent.json", "absent.json", "");
}

/* A cached token serves a copy of its claims until exp + leeway, and only for the very same bytes. */
static void test_cache(void **state)
{
    (void)state;
    agg_jwt_policy p = policy(AGG_JWT_RS256);
    const char *token = token_of("rs256 key a");
    agg_jwt_claims claims, got;
    assert_null(agg_jwt_verify(&keys, &p, token, strlen(token), fo_unix_now(), &claims));
    agg_auth_cache cache = {0};
    uint8_t hash[AGG_AUTH_HASH_LEN], other[AGG_AUTH_HASH_LEN];
    agg_auth_cache_hash(token, strlen(token), hash);
    agg_auth_cache_hash(token, strlen(token) - 1, other);
    assert_false(agg_auth_cache_get(&cache, hash, fo_unix_now(), p.leeway_s, &got));
    agg_auth_cache_put(&cache, hash, &claims);
    agg_auth_cache_put(&cache, hash, &claims); /* replaces itself without a leak */
    assert_true(agg_auth_cache_get(&cache, hash, claims.expires_s + p.leeway_s, p.leeway_s, &got));
    assert_string_equal(got.subject, "alice");
    assert_int_equal(got.n_customers, 2);
    assert_string_equal(got.customers[1], "c-7");
    assert_true(got.subject != claims.subject);
    agg_jwt_claims_release(&got);
    assert_false(agg_auth_cache_get(&cache, hash, claims.expires_s + p.leeway_s + 1, p.leeway_s, &got));
    assert_false(agg_auth_cache_get(&cache, other, fo_unix_now(), p.leeway_s, &got));
    agg_auth_cache_release(&cache);
    agg_jwt_claims_release(&claims);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_loaded_by_kid),
        cmocka_unit_test(test_every_outcome),
        cmocka_unit_test(test_expiry_boundary),
        cmocka_unit_test(test_algorithm_pinned_by_policy),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_bad_key_files),
        cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
