/* agg_jwt: JSON Web Token verification (see agg_jwt.h). */
#include "agg_jwt.h"

#include <jansson.h>
#include <math.h>
#include <openssl/ecdsa.h>
#include <string.h>

#include "fo_alloc.h"
#include "fo_base64.h"

/* P-256: r and s are 32 bytes each in a JWS signature (RFC 7518 3.4). */
#define ES256_HALF 32

#define REFUSE(...) FO_ERROR(FO_STATUS_UNAUTHENTICATED, __VA_ARGS__)

agg_jwt_alg agg_jwt_alg_parse(const char *name, size_t len)
{
    if (len == 5 && memcmp(name, "RS256", 5) == 0)
        return AGG_JWT_RS256;
    if (len == 5 && memcmp(name, "ES256", 5) == 0)
        return AGG_JWT_ES256;
    return 0;
}

/* The three dot-separated parts of a compact token. */
typedef struct jwt_parts {
    const char *header, *payload, *signature;
    size_t header_len, payload_len, signature_len;
} jwt_parts;

static bool split(const char *token, size_t len, jwt_parts *p)
{
    const char *dot1 = memchr(token, '.', len);
    if (dot1 == NULL)
        return false;
    const char *rest = dot1 + 1;
    const char *dot2 = memchr(rest, '.', len - (size_t)(rest - token));
    if (dot2 == NULL)
        return false;
    const char *sig = dot2 + 1;
    *p = (jwt_parts){
        .header = token,
        .header_len = (size_t)(dot1 - token),
        .payload = rest,
        .payload_len = (size_t)(dot2 - rest),
        .signature = sig,
        .signature_len = len - (size_t)(sig - token),
    };
    return p->header_len > 0 && p->payload_len > 0 && memchr(sig, '.', p->signature_len) == NULL;
}

/* A base64url part that must be a JSON object; NULL when it is not. */
static json_t *decode_object(const char *text, size_t len)
{
    uint8_t *raw;
    size_t raw_len;
    if (!fo_base64_decode(text, len, &raw, &raw_len))
        return NULL;
    json_t *obj = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (obj != NULL && !json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* JWS carries ECDSA as r || s; OpenSSL verifies the DER of ECDSA-Sig-Value. */
static bool es256_to_der(const uint8_t *sig, size_t len, uint8_t **der, size_t *der_len)
{
    if (len != 2 * ES256_HALF)
        return false;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, ES256_HALF, NULL);
    BIGNUM *sv = BN_bin2bn(sig + ES256_HALF, ES256_HALF, NULL);
    if (s == NULL || r == NULL || sv == NULL || ECDSA_SIG_set0(s, r, sv) != 1) {
        BN_free(r);
        BN_free(sv);
        ECDSA_SIG_free(s);
        return false;
    }
    unsigned char *out = NULL;
    int n = i2d_ECDSA_SIG(s, &out);
    ECDSA_SIG_free(s);
    if (n <= 0)
        return false;
    *der = out;
    *der_len = (size_t)n;
    return true;
}

/* The signature over "header.payload" with one key. */
static bool signature_ok(const agg_jwt_key *key, const jwt_parts *p, const uint8_t *sig, size_t sig_len)
{
    uint8_t *der = NULL;
    size_t der_len = sig_len;
    if (key->alg == AGG_JWT_ES256 && !es256_to_der(sig, sig_len, &der, &der_len))
        return false;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
              EVP_DigestVerify(ctx, der != NULL ? der : sig, der_len, (const unsigned char *)p->header,
                               p->header_len + 1 + p->payload_len) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok;
}

/* The key named by kid, or every key of alg in turn when there is no kid. */
static fo_error *check_signature(const agg_jwt_keys *keys, const json_t *header, agg_jwt_alg alg, const jwt_parts *p)
{
    const json_t *kid = json_object_get(header, "kid");
    if (kid != NULL && !json_is_string(kid))
        return REFUSE("malformed token: kid is not a string");
    uint8_t *sig;
    size_t sig_len;
    if (!fo_base64_decode(p->signature, p->signature_len, &sig, &sig_len))
        return REFUSE("malformed token: signature is not base64url");
    bool known = false, ok = false;
    for (size_t i = 0; i < keys->n && !ok; i++) {
        const agg_jwt_key *k = &keys->keys[i];
        if (kid != NULL && strcmp(k->kid, json_string_value(kid)) != 0)
            continue;
        known = true;
        ok = k->alg == alg && signature_ok(k, p, sig, sig_len);
    }
    free(sig);
    if (!known && kid != NULL)
        return REFUSE("unknown key id");
    return ok ? NULL : REFUSE("bad signature");
}

/* The header: an allowed algorithm, nothing we would have to understand, then the signature. */
static fo_error *check_header(const agg_jwt_keys *keys, const agg_jwt_policy *policy, const jwt_parts *p)
{
    json_t *header = decode_object(p->header, p->header_len);
    if (header == NULL)
        return REFUSE("malformed token: header is not a base64url JSON object");
    const json_t *name = json_object_get(header, "alg");
    agg_jwt_alg alg = json_is_string(name) ? agg_jwt_alg_parse(json_string_value(name), json_string_length(name)) : 0;
    fo_error *err = NULL;
    if ((alg & policy->algorithms) == 0)
        err = REFUSE("algorithm not allowed");
    else if (json_object_get(header, "crit") != NULL)
        err = REFUSE("unsupported critical header");
    else
        err = check_signature(keys, header, alg, p);
    json_decref(header);
    return err;
}

/* A NumericDate claim: absent is fine (*present false), anything but a finite number is not. */
static bool numeric_date(const json_t *payload, const char *claim, bool *present, int64_t *out)
{
    const json_t *v = json_object_get(payload, claim);
    *present = v != NULL;
    if (v == NULL)
        return true;
    if (!json_is_number(v))
        return false;
    double d = json_number_value(v);
    if (!isfinite(d) || d < -9e15 || d > 9e15)
        return false;
    *out = (int64_t)floor(d);
    return true;
}

static fo_error *check_times(const json_t *payload, const agg_jwt_policy *policy, int64_t now_s, agg_jwt_claims *out)
{
    bool has_exp, has_nbf;
    int64_t nbf = 0;
    if (!numeric_date(payload, "exp", &has_exp, &out->expires_s) || !numeric_date(payload, "nbf", &has_nbf, &nbf))
        return REFUSE("malformed token: exp or nbf is not a number");
    if (!has_exp)
        return REFUSE("token has no expiry (exp)");
    if (now_s > out->expires_s + policy->leeway_s)
        return REFUSE("token expired");
    if (has_nbf && now_s + policy->leeway_s < nbf)
        return REFUSE("token not yet valid");
    return NULL;
}

static bool audience_ok(const json_t *aud, const char *audience)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), audience) == 0;
    size_t i;
    const json_t *v;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), audience) == 0)
            return true;
    }
    return false;
}

/* True when the space-separated scope list holds word. */
static bool scope_has(const char *scope, const char *word)
{
    size_t wl = strlen(word);
    for (const char *s = scope; *s != '\0';) {
        size_t n = strcspn(s, " ");
        if (n == wl && memcmp(s, word, wl) == 0)
            return true;
        s += n;
        s += strspn(s, " ");
    }
    return false;
}

static fo_error *read_grants(const json_t *payload, const agg_jwt_policy *policy, agg_jwt_claims *out)
{
    const json_t *scope = json_object_get(payload, "scope");
    if (scope != NULL && !json_is_string(scope))
        return REFUSE("malformed token: scope is not a string");
    out->admin =
        policy->admin_scope != NULL && scope != NULL && scope_has(json_string_value(scope), policy->admin_scope);
    const json_t *list = json_object_get(payload, policy->customers_claim);
    if (list == NULL)
        return NULL;
    if (!json_is_array(list))
        return REFUSE("malformed token: the customers claim is not an array");
    out->customers = fo_xcalloc(json_array_size(list), sizeof *out->customers);
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v)
    {
        if (!json_is_string(v))
            return REFUSE("malformed token: the customers claim holds a non-string");
        out->customers[out->n_customers++] = fo_xstrdup(json_string_value(v));
    }
    return NULL;
}

/* The claims of a payload whose signature verified. */
static fo_error *check_payload(const json_t *payload, const agg_jwt_policy *policy, int64_t now_s, agg_jwt_claims *out)
{
    const json_t *sub = json_object_get(payload, "sub");
    if (!json_is_string(sub) || json_string_length(sub) == 0 ||
        strlen(json_string_value(sub)) != json_string_length(sub))
        return REFUSE("token has no subject (sub)");
    out->subject = fo_xstrdup(json_string_value(sub));
    const json_t *iss = json_object_get(payload, "iss");
    if (!json_is_string(iss) || strcmp(json_string_value(iss), policy->issuer) != 0)
        return REFUSE("wrong issuer");
    if (!audience_ok(json_object_get(payload, "aud"), policy->audience))
        return REFUSE("wrong audience");
    fo_error *err = check_times(payload, policy, now_s, out);
    return err != NULL ? err : read_grants(payload, policy, out);
}

fo_error *agg_jwt_verify(const agg_jwt_keys *keys, const agg_jwt_policy *policy, const char *token, size_t len,
                         int64_t now_s, agg_jwt_claims *out)
{
    memset(out, 0, sizeof *out);
    jwt_parts p;
    if (len > AGG_JWT_MAX_LEN)
        return REFUSE("malformed token: longer than %d bytes", AGG_JWT_MAX_LEN);
    if (!split(token, len, &p))
        return REFUSE("malformed token: not three base64url parts");
    fo_error *err = check_header(keys, policy, &p);
    if (err != NULL)
        return err;
    json_t *payload = decode_object(p.payload, p.payload_len);
    if (payload == NULL)
        return REFUSE("malformed token: payload is not a base64url JSON object");
    err = check_payload(payload, policy, now_s, out);
    json_decref(payload);
    return err;
}

void agg_jwt_claims_release(agg_jwt_claims *c)
{
    for (size_t i = 0; i < c->n_customers; i++)
        free(c->customers[i]);
    free(c->customers);
    free(c->subject);
    memset(c, 0, sizeof *c);
}

void agg_jwt_claims_copy(const agg_jwt_claims *from, agg_jwt_claims *to)
{
    *to = *from;
    to->subject = from->subject != NULL ? fo_xstrdup(from->subject) : NULL;
    to->customers = fo_xcalloc(from->n_customers, sizeof *to->customers);
    for (size_t i = 0; i < from->n_customers; i++)
        to->customers[i] = fo_xstrdup(from->customers[i]);
}

bool agg_jwt_claims_allow(const agg_jwt_claims *c, const char *customer)
{
    if (c->admin)
        return true;
    for (size_t i = 0; i < c->n_customers; i++) {
        if (strcmp(c->customers[i], customer) == 0)
            return true;
    }
    return false;
}
