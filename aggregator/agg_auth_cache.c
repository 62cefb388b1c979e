/* agg_auth_cache: verified tokens by hash, per worker (see agg_auth_cache.h). */
#include "agg_auth_cache.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "fo_alloc.h"

void agg_auth_cache_hash(const char *token, size_t len, uint8_t hash[AGG_AUTH_HASH_LEN])
{
    SHA256((const unsigned char *)token, len, hash);
}

static size_t slot_of(const uint8_t hash[AGG_AUTH_HASH_LEN])
{
    uint32_t h;
    memcpy(&h, hash, sizeof h);
    return h % AGG_AUTH_CACHE_SLOTS;
}

bool agg_auth_cache_get(const agg_auth_cache *c, const uint8_t hash[AGG_AUTH_HASH_LEN], int64_t now_s, int64_t leeway_s,
                        agg_jwt_claims *out)
{
    if (c->slots == NULL)
        return false;
    const agg_auth_cache_slot *s = &c->slots[slot_of(hash)];
    if (!s->used || memcmp(s->hash, hash, AGG_AUTH_HASH_LEN) != 0 || now_s > s->claims.expires_s + leeway_s)
        return false;
    agg_jwt_claims_copy(&s->claims, out);
    return true;
}

void agg_auth_cache_put(agg_auth_cache *c, const uint8_t hash[AGG_AUTH_HASH_LEN], const agg_jwt_claims *claims)
{
    if (c->slots == NULL)
        c->slots = fo_xcalloc(AGG_AUTH_CACHE_SLOTS, sizeof *c->slots);
    agg_auth_cache_slot *s = &c->slots[slot_of(hash)];
    agg_jwt_claims_release(&s->claims);
    s->used = true;
    memcpy(s->hash, hash, AGG_AUTH_HASH_LEN);
    agg_jwt_claims_copy(claims, &s->claims);
}

void agg_auth_cache_release(agg_auth_cache *c)
{
    for (size_t i = 0; c->slots != NULL && i < AGG_AUTH_CACHE_SLOTS; i++)
        agg_jwt_claims_release(&c->slots[i].claims);
    free(c->slots);
    c->slots = NULL;
}
