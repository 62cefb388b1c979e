/*
 * agg_auth_config: the "auth" section of the aggregator's config, read into
 * plain C values with the rest of the file (agg_config). No key file is
 * opened here: agg_auth reads them when the service starts, and refuses to
 * start on one it cannot read.
 *
 *   "auth": {"issuer": "https://issuer.example", "audience": "fanout",
 *            "algorithms": ["RS256", "ES256"], "keys": ["keys/a.pub.pem"],
 *            "jwks": "keys/jwks.json", "leeway_s": 30, "customers_claim": "customers",
 *            "admin_scope": "analytics:all", "forward_subject_header": "x-fanout-subject",
 *            "open_methods": ["grpc.health.v1.Health/Check"]}
 *
 * issuer, audience, algorithms and at least one of keys and jwks are
 * required. Without open_methods, health checks and reflection are open;
 * with it, exactly the methods it names are. The Aggregator's own methods
 * always need a token (they cannot be listed).
 */
#ifndef AGG_AUTH_CONFIG_H
#define AGG_AUTH_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_error.h"
#include "fo_json.h"

typedef struct agg_auth_config {
    bool enabled; /* the section is there */
    char *issuer;
    char *audience;
    unsigned algorithms; /* a set of agg_jwt_alg */
    char **keys;         /* PEM files, resolved against the config's directory */
    size_t n_keys;
    char *jwks; /* NULL: none */
    int64_t leeway_s;
    char *customers_claim;
    char *admin_scope;            /* NULL: no scope grants every customer */
    char *forward_subject_header; /* NULL: the subject is not forwarded */
    char **open_methods;          /* "/grpc.health.v1.Health/Check", as gRPC paths */
    size_t n_open_methods;
    bool open_methods_set; /* false: health and reflection are open */
} agg_auth_config;

/*
 * Reads root's "auth" into *out (left disabled when absent); dir ("conf/" or
 * NULL) resolves relative key paths. The caller releases *out also on error.
 */
fo_error *agg_auth_config_read(const fo_json_at *top, const json_t *root, const char *dir, agg_auth_config *out);
void agg_auth_config_release(agg_auth_config *c);

#endif
