/*
 * agg_auth_cache: one worker's verified tokens, so that a client sending the
 * same token call after call pays for its signature check once: a
 * verification costs a sizeable part of an aggregate's CPU, a hit about a
 * microsecond (README, Authentication).
 *
 * Keyed by the SHA-256 of the whole token, so only the very same bytes hit;
 * an entry serves until the token's exp plus the leeway, and then is
 * verified (and refused) afresh. Only tokens that verified are kept: a forged
 * one is checked every time. Direct-mapped with a fixed number of slots (a
 * new token takes its slot's place), one cache per worker and so no lock.
 */
#ifndef AGG_AUTH_CACHE_H
#define AGG_AUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg_jwt.h"

#define AGG_AUTH_CACHE_SLOTS 1024
#define AGG_AUTH_HASH_LEN 32

typedef struct agg_auth_cache_slot {
    bool used;
    uint8_t hash[AGG_AUTH_HASH_LEN];
    agg_jwt_claims claims;
} agg_auth_cache_slot;

typedef struct agg_auth_cache {
    agg_auth_cache_slot *slots; /* AGG_AUTH_CACHE_SLOTS, allocated on first use */
} agg_auth_cache;

/* The SHA-256 of token[0..len). */
void agg_auth_cache_hash(const char *token, size_t len, uint8_t hash[AGG_AUTH_HASH_LEN]);
/* True with a copy of the claims in *out when the token is cached and good at now_s. */
bool agg_auth_cache_get(const agg_auth_cache *c, const uint8_t hash[AGG_AUTH_HASH_LEN], int64_t now_s, int64_t leeway_s,
                        agg_jwt_claims *out);
/* Keeps a copy of claims, which verified. */
void agg_auth_cache_put(agg_auth_cache *c, const uint8_t hash[AGG_AUTH_HASH_LEN], const agg_jwt_claims *claims);
void agg_auth_cache_release(agg_auth_cache *c);

#endif
