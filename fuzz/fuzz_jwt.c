/*
 * fuzz_jwt: any bytes as the token of an "authorization: Bearer" header, verified by
 * agg_jwt_verify against two fixed keys (RSA kid "a", P-256 kid "e") at a fixed time, with RS256
 * and ES256 allowed. Refusals are expected; a crash, a leak, a sanitizer report or a broken
 * promise of agg_jwt.h is a finding: every refusal is UNAUTHENTICATED and never repeats the
 * token, and only a verified token yields claims with a subject. The seed corpus has tokens
 * signed by the keys' private halves (minted once by scripts/mint-token.py, the private keys then
 * thrown away), so mutations start from tokens that reach the claims.
 */
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "agg_auth_keys.h"
#include "agg_jwt.h"
#include "fuzz_target.h"

static const char rsa_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                              "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArWqQb73M7tfzPDu1eq3A\n"
                              "ljrx7K9dgRhbgdc5zw2h8kAmA3fOocOWVhFP3O2VN8eEhGi2fIVYBvHtzZPiaydO\n"
                              "01R8UI8lHwWM+ueRQIN2X+0WDn7lrN4zVVk0TW5bISMaKKygTZo97iQmbgN5E5IA\n"
                              "GQ3FtX7GZSlD2A9/5xFz+Jrn9OeYSpw8YZ2gTinT2nd7O1gq9dc+vjYI2ekuc/X/\n"
                              "d0r+5JudYFdHpfPxwxNehWdN0VxIcBp7/brIDU8bLf3z9RK/9KmhCVM8SmrB1oLr\n"
                              "HAcyq1L4P+kiLrgp7ZTau9fP4t36ancN9RwzSq/qGevIP4VMu9ucfH8+7kapbAFZ\n"
                              "fwIDAQAB\n"
                              "-----END PUBLIC KEY-----\n";
static const char ec_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                             "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEXJ+8POd/uDUoR2DBNE3kklRLlwqu\n"
                             "Uc101MiLshoZpf0VUT94Kg4+6TlRvIX2325kuPVU9BgwJqKrbaJb77k+vQ==\n"
                             "-----END PUBLIC KEY-----\n";

/* 2026-12-01: the seeds expire in 2100. */
#define NOW_S INT64_C(1796083200)

static agg_jwt_keys keys;
static const agg_jwt_policy policy = {
    .issuer = "https://issuer.example",
    .audience = "fanout",
    .algorithms = AGG_JWT_RS256 | AGG_JWT_ES256,
    .leeway_s = 30,
    .customers_claim = "customers",
    .admin_scope = "analytics:all",
};

static EVP_PKEY *read_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (pkey == NULL)
        abort();
    return pkey;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    keys.n = 2;
    keys.keys = calloc(2, sizeof *keys.keys);
    if (keys.keys == NULL)
        abort();
    keys.keys[0] = (agg_jwt_key){.kid = strdup("a"), .pkey = read_key(rsa_pem), .alg = AGG_JWT_RS256};
    keys.keys[1] = (agg_jwt_key){.kid = strdup("e"), .pkey = read_key(ec_pem), .alg = AGG_JWT_ES256};
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so that reading past the token is a finding. */
    char *token = malloc(size > 0 ? size : 1);
    if (token == NULL)
        abort();
    memcpy(token, data, size);
    agg_jwt_claims claims;
    fo_error *err = agg_jwt_verify(&keys, &policy, token, size, NOW_S, &claims);
    if (err != NULL) {
        if (err->code != FO_STATUS_UNAUTHENTICATED)
            abort();
        /* A reason never repeats a token (the shortest real one is far longer than any reason's words). */
        if (size >= 64 && memmem(err->message, strlen(err->message), token, size) != NULL)
            abort();
    } else if (claims.subject == NULL) {
        abort();
    }
    fo_error_free(err);
    agg_jwt_claims_release(&claims);
    free(token);
    return 0;
}
