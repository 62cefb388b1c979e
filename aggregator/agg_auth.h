/*
 * agg_auth: who may read which customer. A call carries a bearer token
 * ("authorization: Bearer <JWT>"), verified by agg_jwt against the keys the
 * config names; the token's customers claim (or the admin scope) says which
 * customers its subject may read.
 *
 * On the Aggregator's methods the request is authenticated before its
 * message is read (no valid token: UNAUTHENTICATED) and authorized once its
 * customer is known (another customer: PERMISSION_DENIED), both before any
 * feature is called. Every other method (health, reflection) goes through
 * agg_auth_admit, the server's admission hook: open unless the config's
 * open_methods leaves it out, and then it needs a valid token.
 *
 * Refusals are counted and logged with the token's subject when its
 * signature verified, never with the token. The keys are read by
 * agg_auth_create (at start, and for each reload's new generation: a key
 * file that cannot be read refuses the reload, and the old keys stay), and
 * are only read afterwards: the workers share them.
 * Verified tokens are remembered per worker (agg_auth_cache), so a client
 * that sends the same token again costs a hash, not a signature check.
 */
#ifndef AGG_AUTH_H
#define AGG_AUTH_H

#include <stdatomic.h>

#include "agg_auth_cache.h"
#include "agg_auth_config.h"
#include "agg_jwt.h"
#include "fo_server.h"

typedef struct agg_auth {
    const agg_auth_config *cfg;
    agg_jwt_keys keys;
    agg_jwt_policy policy;
    agg_auth_cache *caches; /* one per worker, used by its thread only */
    int n_caches;
    atomic_long unauthenticated; /* refusals, for the log lines */
    atomic_long denied;
} agg_auth;

/*
 * *out is NULL when cfg is disabled. An error names the key file that could
 * not be read or parsed. cfg must outlive *out; workers is the server's.
 */
fo_error *agg_auth_create(const agg_auth_config *cfg, int workers, agg_auth **out);
void agg_auth_destroy(agg_auth *a);

/* The call's token into *claims (released by the caller either way); a NULL a admits everyone. */
fo_error *agg_auth_authenticate(agg_auth *a, fo_server_call *call, const char *method, agg_jwt_claims *claims);
/* The same for an authorization header's value (NULL: none) from any face, on worker's thread. */
fo_error *agg_auth_authenticate_value(agg_auth *a, int worker, const char *authorization, size_t n, const char *method,
                                      agg_jwt_claims *claims);
/* PERMISSION_DENIED unless claims may read customer; a NULL a admits everyone. */
fo_error *agg_auth_authorize(agg_auth *a, const agg_jwt_claims *claims, const char *customer, const char *method);
/* An fo_admit_fn for every method but the Aggregator's (ctx: the agg_auth, or NULL). */
fo_error *agg_auth_admit(fo_server_call *call, const char *path, void *ctx);

#endif
