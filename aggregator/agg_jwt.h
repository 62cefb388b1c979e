/*
 * agg_jwt: verification of a compact JSON Web Token (RFC 7519) against a set
 * of public keys and a policy, with OpenSSL's EVP doing the signature check.
 *
 * The algorithm is pinned by the policy and by the key, never taken from the
 * token: a token's "alg" must be one the policy allows and the one the chosen
 * key is for, so "none", HS256 signed with a public key as the secret, or an
 * RSA token presented for an EC key are all refused. A token names its key
 * by "kid"; without one every key of its algorithm is tried.
 *
 * Every refusal is FO_STATUS_UNAUTHENTICATED with a short reason that is
 * safe to send to the caller ("expired", "bad signature", ...): it never
 * contains the token.
 */
#ifndef AGG_JWT_H
#define AGG_JWT_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_error.h"

/* The signature algorithms, as bits of a set. */
typedef enum agg_jwt_alg {
    AGG_JWT_RS256 = 1u << 0, /* RSASSA-PKCS1-v1_5 with SHA-256, RSA keys of 2048 bits or more */
    AGG_JWT_ES256 = 1u << 1, /* ECDSA on P-256 with SHA-256 */
} agg_jwt_alg;

/* "RS256" → AGG_JWT_RS256; 0 for any other name. */
agg_jwt_alg agg_jwt_alg_parse(const char *name, size_t len);

/* One verification key: the algorithm follows from its type. */
typedef struct agg_jwt_key {
    char *kid; /* never NULL */
    EVP_PKEY *pkey;
    agg_jwt_alg alg;
} agg_jwt_key;

typedef struct agg_jwt_keys {
    agg_jwt_key *keys;
    size_t n;
} agg_jwt_keys;

typedef struct agg_jwt_policy {
    const char *issuer;          /* "iss" must equal it */
    const char *audience;        /* "aud" must be it or an array holding it */
    unsigned algorithms;         /* a set of agg_jwt_alg */
    int64_t leeway_s;            /* tolerated clock skew for "exp" and "nbf" */
    const char *customers_claim; /* the claim listing the readable customers */
    const char *admin_scope;     /* NULL: none; else a "scope" word that means every customer */
} agg_jwt_policy;

/* What a verified token grants. */
typedef struct agg_jwt_claims {
    char *subject; /* "sub"; set as soon as the signature verified, even if a later check fails */
    bool admin;
    char **customers;
    size_t n_customers;
    int64_t expires_s; /* "exp", Unix seconds */
} agg_jwt_claims;

/* Tokens longer than this are refused unread. */
#define AGG_JWT_MAX_LEN 8192

/*
 * Verifies token[0..len) at Unix time now_s. NULL: out holds the claims.
 * Either way the caller releases out (it is zeroed first).
 */
fo_error *agg_jwt_verify(const agg_jwt_keys *keys, const agg_jwt_policy *policy, const char *token, size_t len,
                         int64_t now_s, agg_jwt_claims *out);
void agg_jwt_claims_release(agg_jwt_claims *c);
/* A deep copy of from into *to. */
void agg_jwt_claims_copy(const agg_jwt_claims *from, agg_jwt_claims *to);
/* True when c may read customer. */
bool agg_jwt_claims_allow(const agg_jwt_claims *c, const char *customer);

#endif
