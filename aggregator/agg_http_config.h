/*
 * agg_http_config: the HTTP/JSON face's keys in the aggregator's config.
 *
 *   "http_listen": "0.0.0.0:8080"   the listener, "host:port" or "[v6]:port"
 *                                    (port 0 picks one); absent: no HTTP face.
 *                                    FANOUT_HTTP_LISTEN overrides it.
 *   "cors_origins": ["https://app.example"]   origins whose pages may call
 *                                    the API from a browser ("*": any);
 *                                    absent or empty: no CORS headers.
 *
 * The body size limit is max_message_bytes, the gRPC face's; TLS is the
 * gRPC listener's "tls" (its certificate and key).
 */
#ifndef AGG_HTTP_CONFIG_H
#define AGG_HTTP_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "fo_error.h"
#include "fo_json.h"

typedef struct agg_http_config {
    char *listen; /* NULL: off */
    char **cors_origins;
    size_t n_cors_origins;
} agg_http_config;

/* cors_origins; listen is agg_config's to read, with the other listen addresses. */
fo_error *agg_http_config_read(const fo_json_at *top, const json_t *root, agg_http_config *out);
void agg_http_config_release(agg_http_config *c);
/* The origin to echo in Access-Control-Allow-Origin ("*" or origin itself), or NULL when it is not allowed. */
const char *agg_http_config_cors(const agg_http_config *c, const char *origin);

#endif
