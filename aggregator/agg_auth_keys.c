/* agg_auth_keys: PEM and JWKS verification keys into OpenSSL (see agg_auth_keys.h). */
#include "agg_auth_keys.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <string.h>

#include "fo_alloc.h"
#include "fo_base64.h"
#include "fo_file.h"
#include "fo_json.h"

#define MIN_RSA_BITS 2048
#define P256_COORD 32

/* The algorithm a key verifies, or 0 when it is of no kind we accept. */
static agg_jwt_alg key_alg(EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return EVP_PKEY_get_bits(pkey) >= MIN_RSA_BITS ? AGG_JWT_RS256 : 0;
    char group[64];
    if (EVP_PKEY_is_a(pkey, "EC") && EVP_PKEY_get_group_name(pkey, group, sizeof group, NULL) == 1 &&
        strcmp(group, "prime256v1") == 0)
        return AGG_JWT_ES256;
    return 0;
}

/* Takes pkey; an error naming the origin when its kid is taken or its kind is refused. */
static fo_error *add_key(agg_jwt_keys *k, const char *origin, const char *kid, EVP_PKEY *pkey)
{
    agg_jwt_alg alg = key_alg(pkey);
    fo_error *err = NULL;
    if (alg == 0)
        err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: key \"%s\": only RSA keys of %d bits or more and P-256 EC keys",
                       origin, kid, MIN_RSA_BITS);
    for (size_t i = 0; i < k->n && err == NULL; i++) {
        if (strcmp(k->keys[i].kid, kid) == 0)
            err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: key id \"%s\" is given twice", origin, kid);
    }
    if (err != NULL) {
        EVP_PKEY_free(pkey);
        return err;
    }
    k->keys = fo_xrealloc(k->keys, (k->n + 1) * sizeof *k->keys);
    k->keys[k->n++] = (agg_jwt_key){.kid = fo_xstrdup(kid), .pkey = pkey, .alg = alg};
    return NULL;
}

/* "keys/a.pub.pem" → "a". */
static char *pem_kid(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".pem") == 0)
        n -= 4;
    if (n > 4 && strncmp(base + n - 4, ".pub", 4) == 0)
        n -= 4;
    return fo_xstrndup(base, n);
}

static fo_error *load_pem(agg_jwt_keys *k, const char *path)
{
    char *text;
    fo_error *err = fo_read_file(path, &text);
    if (err != NULL)
        return err;
    BIO *bio = BIO_new_mem_buf(text, -1);
    EVP_PKEY *pkey = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    free(text);
    if (pkey == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: not a PEM public key (\"BEGIN PUBLIC KEY\")", path);
    char *kid = pem_kid(path);
    err = add_key(k, path, kid, pkey);
    free(kid);
    return err;
}

/* A base64url member of a JWK: its bytes in *out (malloc'd). */
static fo_error *jwk_bytes(const fo_json_at *jwk, const json_t *obj, const char *name, uint8_t **out, size_t *len)
{
    fo_json_at at = fo_json_key(jwk, name);
    const json_t *v = json_object_get(obj, name);
    const char *text = NULL;
    fo_error *err = fo_json_required(&at, v);
    if (err == NULL)
        err = fo_json_string(&at, v, &text);
    if (err == NULL && !fo_base64_decode(text, strlen(text), out, len))
        err = fo_json_invalid(&at, v, "must be base64url");
    return err;
}

/* Builds the key of type name ("RSA", "EC") from params; NULL when OpenSSL refuses them. */
static EVP_PKEY *from_params(const char *name, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
    EVP_PKEY *pkey = NULL;
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static fo_error *jwk_rsa(const fo_json_at *at, const json_t *jwk, EVP_PKEY **out)
{
    uint8_t *n = NULL, *e = NULL;
    size_t nl = 0, el = 0;
    fo_error *err = jwk_bytes(at, jwk, "n", &n, &nl);
    if (err == NULL)
        err = jwk_bytes(at, jwk, "e", &e, &el);
    if (err == NULL) {
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
        if (bld != NULL && bn != NULL && be != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1)
            *out = from_params("RSA", bld);
        OSSL_PARAM_BLD_free(bld);
        BN_free(bn);
        BN_free(be);
        if (*out == NULL)
            err = fo_json_error(at, "not a valid RSA public key");
    }
    free(n);
    free(e);
    return err;
}

static fo_error *jwk_ec(const fo_json_at *at, const json_t *jwk, EVP_PKEY **out)
{
    const json_t *crv = json_object_get(jwk, "crv");
    fo_json_at crv_at = fo_json_key(at, "crv");
    if (!json_is_string(crv) || strcmp(json_string_value(crv), "P-256") != 0)
        return fo_json_invalid(&crv_at, crv, "must be \"P-256\"");
    uint8_t *x = NULL, *y = NULL;
    size_t xl = 0, yl = 0;
    fo_error *err = jwk_bytes(at, jwk, "x", &x, &xl);
    if (err == NULL)
        err = jwk_bytes(at, jwk, "y", &y, &yl);
    if (err == NULL && xl == P256_COORD && yl == P256_COORD) {
        /* The uncompressed point: 0x04 || x || y. */
        uint8_t point[1 + 2 * P256_COORD] = {0x04};
        memcpy(point + 1, x, P256_COORD);
        memcpy(point + 1 + P256_COORD, y, P256_COORD);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        if (bld != NULL && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point) == 1)
            *out = from_params("EC", bld);
        OSSL_PARAM_BLD_free(bld);
    }
    if (err == NULL && *out == NULL)
        err = fo_json_error(at, "not a valid P-256 public key");
    free(x);
    free(y);
    return err;
}

static fo_error *load_jwk(agg_jwt_keys *k, const char *path, const fo_json_at *at, const json_t *jwk)
{
    /* Other members (alg, use, x5c, ...) are allowed: JWKS files come from identity providers. */
    fo_error *err = fo_json_object(at, jwk, NULL);
    fo_json_at kid_at = fo_json_key(at, "kid"), kty_at = fo_json_key(at, "kty");
    const char *kid = NULL, *kty = NULL;
    if (err == NULL)
        err = fo_json_required(&kid_at, json_object_get(jwk, "kid"));
    if (err == NULL)
        err = fo_json_string(&kid_at, json_object_get(jwk, "kid"), &kid);
    if (err == NULL)
        err = fo_json_string(&kty_at, json_object_get(jwk, "kty"), &kty);
    EVP_PKEY *pkey = NULL;
    if (err == NULL && kty != NULL && strcmp(kty, "RSA") == 0)
        err = jwk_rsa(at, jwk, &pkey);
    else if (err == NULL && kty != NULL && strcmp(kty, "EC") == 0)
        err = jwk_ec(at, jwk, &pkey);
    else if (err == NULL)
        err = fo_json_invalid(&kty_at, json_object_get(jwk, "kty"), "must be \"RSA\" or \"EC\"");
    if (err == NULL)
        err = add_key(k, path, kid, pkey);
    return err;
}

static fo_error *load_jwks(agg_jwt_keys *k, const char *path)
{
    json_t *root = NULL;
    fo_error *err = fo_json_load_file(path, &root);
    fo_json_at top = fo_json_top(path, NULL);
    fo_json_at at = fo_json_key(&top, "keys");
    const json_t *list = json_object_get(root, "keys");
    size_t n = 0;
    if (err == NULL && !json_is_object(root))
        err = fo_json_error(&top, "a JWKS file is a JSON object");
    if (err == NULL)
        err = fo_json_required(&at, list);
    if (err == NULL)
        err = fo_json_array(&at, list, true, "JWK objects", &n);
    for (size_t i = 0; i < n && err == NULL; i++) {
        fo_json_at item = fo_json_index(&at, i);
        err = load_jwk(k, path, &item, json_array_get(list, i));
    }
    json_decref(root);
    return err;
}

fo_error *agg_auth_keys_load(char *const *pem_files, size_t n_pem, const char *jwks, agg_jwt_keys *out)
{
    memset(out, 0, sizeof *out);
    fo_error *err = NULL;
    for (size_t i = 0; i < n_pem && err == NULL; i++)
        err = load_pem(out, pem_files[i]);
    if (err == NULL && jwks != NULL)
        err = load_jwks(out, jwks);
    return err;
}

void agg_auth_keys_release(agg_jwt_keys *k)
{
    for (size_t i = 0; i < k->n; i++) {
        free(k->keys[i].kid);
        EVP_PKEY_free(k->keys[i].pkey);
    }
    free(k->keys);
    memset(k, 0, sizeof *k);
}
