/* agg_auth: bearer tokens and per-customer authorization (see agg_auth.h). */
#include "agg_auth.h"

#include <strings.h>

#include "agg_auth_keys.h"
#include "agg_service.h"
#include "fo_alloc.h"
#include "fo_log.h"
#include "fo_time.h"

#define AUTHORIZATION_HEADER "authorization"
#define BEARER "Bearer "

/* Health checking and both reflection versions: open unless open_methods says otherwise. */
static const char *const default_open_prefixes[] = {"/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.",
                                                    "/grpc.reflection.v1.", NULL};

fo_error *agg_auth_create(const agg_auth_config *cfg, int workers, agg_auth **out)
{
    *out = NULL;
    if (!cfg->enabled)
        return NULL;
    agg_auth *a = fo_xcalloc(1, sizeof *a);
    a->cfg = cfg;
    a->policy = (agg_jwt_policy){
        .issuer = cfg->issuer,
        .audience = cfg->audience,
        .algorithms = cfg->algorithms,
        .leeway_s = cfg->leeway_s,
        .customers_claim = cfg->customers_claim,
        .admin_scope = cfg->admin_scope,
    };
    a->n_caches = workers;
    a->caches = fo_xcalloc((size_t)workers, sizeof *a->caches);
    atomic_init(&a->unauthenticated, 0);
    atomic_init(&a->denied, 0);
    fo_error *err = agg_auth_keys_load(cfg->keys, cfg->n_keys, cfg->jwks, &a->keys);
    if (err != NULL) {
        agg_auth_destroy(a);
        return err;
    }
    *out = a;
    return NULL;
}

void agg_auth_destroy(agg_auth *a)
{
    if (a == NULL)
        return;
    agg_auth_keys_release(&a->keys);
    for (int i = 0; i < a->n_caches; i++)
        agg_auth_cache_release(&a->caches[i]);
    free(a->caches);
    free(a);
}

/* Counts and logs a refusal, then hands it back. */
static fo_error *refused(agg_auth *a, fo_error *err, const char *method, const char *subject)
{
    atomic_long *counter = err->code == FO_STATUS_PERMISSION_DENIED ? &a->denied : &a->unauthenticated;
    long n = atomic_fetch_add(counter, 1) + 1;
    if (fo_log_enabled(FO_LOG_WARN))
        fo_log(FO_LOG_WARN, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:I}", "event", "auth_refused", "method", method,
                                      "status", fo_status_name((int)err->code), "reason", err->message, "subject",
                                      subject, "refused", (json_int_t)n));
    return err;
}

/* The token of "Bearer <token>" (the scheme is case-insensitive, RFC 7235). */
static fo_error *bearer_token(const char *value, size_t n, const char **token, size_t *len)
{
    if (value == NULL)
        return FO_ERROR(FO_STATUS_UNAUTHENTICATED, "missing bearer token");
    size_t scheme = sizeof BEARER - 1;
    if (n <= scheme || strncasecmp(value, BEARER, scheme) != 0)
        return FO_ERROR(FO_STATUS_UNAUTHENTICATED, "authorization is not a Bearer token");
    *token = value + scheme;
    *len = n - scheme;
    while (*len > 0 && **token == ' ') {
        (*token)++;
        (*len)--;
    }
    return NULL;
}

/* A token verified before, from the worker's cache, or a verification whose success is cached. */
static fo_error *verify(agg_auth *a, int worker, const char *token, size_t len, agg_jwt_claims *claims)
{
    int64_t now = fo_unix_now();
    agg_auth_cache *cache = worker >= 0 && worker < a->n_caches && len <= AGG_JWT_MAX_LEN ? &a->caches[worker] : NULL;
    uint8_t hash[AGG_AUTH_HASH_LEN];
    if (cache != NULL) {
        agg_auth_cache_hash(token, len, hash);
        if (agg_auth_cache_get(cache, hash, now, a->policy.leeway_s, claims))
            return NULL;
    }
    fo_error *err = agg_jwt_verify(&a->keys, &a->policy, token, len, now, claims);
    if (err == NULL && cache != NULL)
        agg_auth_cache_put(cache, hash, claims);
    return err;
}

fo_error *agg_auth_authenticate_value(agg_auth *a, int worker, const char *authorization, size_t n, const char *method,
                                      agg_jwt_claims *claims)
{
    memset(claims, 0, sizeof *claims);
    if (a == NULL)
        return NULL;
    const char *token = NULL;
    size_t len = 0;
    fo_error *err = bearer_token(authorization, n, &token, &len);
    if (err == NULL)
        err = verify(a, worker, token, len, claims);
    return err != NULL ? refused(a, err, method, claims->subject) : NULL;
}

fo_error *agg_auth_authenticate(agg_auth *a, fo_server_call *call, const char *method, agg_jwt_claims *claims)
{
    size_t n = 0;
    const char *value = fo_server_call_metadata(call, AUTHORIZATION_HEADER, &n);
    return agg_auth_authenticate_value(a, fo_server_call_worker(call), value, n, method, claims);
}

fo_error *agg_auth_authorize(agg_auth *a, const agg_jwt_claims *claims, const char *customer, const char *method)
{
    if (a == NULL || agg_jwt_claims_allow(claims, customer))
        return NULL;
    return refused(a, FO_ERROR(FO_STATUS_PERMISSION_DENIED, "%s may not read customer %s", claims->subject, customer),
                   method, claims->subject);
}

static bool is_open(const agg_auth_config *cfg, const char *path)
{
    if (cfg->open_methods_set) {
        for (size_t i = 0; i < cfg->n_open_methods; i++) {
            if (strcmp(cfg->open_methods[i], path) == 0)
                return true;
        }
        return false;
    }
    for (const char *const *p = default_open_prefixes; *p != NULL; p++) {
        if (strncmp(path, *p, strlen(*p)) == 0)
            return true;
    }
    return false;
}

fo_error *agg_auth_admit(fo_server_call *call, const char *path, void *ctx)
{
    agg_auth *a = ctx;
    /* The Aggregator's handlers authorize by customer themselves, once the request is read. */
    if (a == NULL || strcmp(path, AGG_GET_PATH) == 0 || strcmp(path, AGG_STREAM_PATH) == 0 || is_open(a->cfg, path))
        return NULL;
    agg_jwt_claims claims;
    fo_error *err = agg_auth_authenticate(a, call, path, &claims);
    agg_jwt_claims_release(&claims);
    return err;
}
