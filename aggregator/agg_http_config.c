/* agg_http_config: http_listen (FANOUT_HTTP_LISTEN) and cors_origins. */
#include "agg_http_config.h"

#include <stdlib.h>
#include <string.h>

#include "fo_alloc.h"
#include "fo_parse.h"

#define HTTP_LISTEN_ENV "FANOUT_HTTP_LISTEN"

/* "host:port" with a port of 0 to 65535; the host is checked when the listener binds. */
static fo_error *check_listen(const fo_json_at *at, const json_t *v, const char *text)
{
    const char *colon = strrchr(text, ':');
    int64_t port;
    if (colon == NULL || fo_parse_int(colon + 1, 0, 65535, &port) != FO_PARSE_OK)
        return fo_json_invalid(at, v, "must be host:port with a port from 0 to 65535");
    return NULL;
}

static fo_error *read_listen(const fo_json_at *top, const json_t *root, const char *(*getenv_fn)(const char *),
                             agg_http_config *out)
{
    const char *env = getenv_fn(HTTP_LISTEN_ENV);
    bool from_env = env != NULL && env[0] != '\0';
    json_t *env_json = from_env ? json_string(env) : NULL;
    fo_json_at at = from_env ? fo_json_top(HTTP_LISTEN_ENV, NULL) : fo_json_key(top, "http_listen");
    const json_t *v = from_env ? env_json : json_object_get(root, "http_listen");
    const char *text = NULL;
    fo_error *err = NULL;
    if (v != NULL) {
        err = fo_json_string(&at, v, &text);
        if (err == NULL)
            err = check_listen(&at, v, text);
        if (err == NULL)
            out->listen = fo_xstrdup(text);
    }
    json_decref(env_json);
    return err;
}

static fo_error *read_cors(const fo_json_at *top, const json_t *root, agg_http_config *out)
{
    const json_t *list = json_object_get(root, "cors_origins");
    if (list == NULL)
        return NULL;
    fo_json_at at = fo_json_key(top, "cors_origins");
    size_t n = 0;
    fo_error *err = fo_json_array(&at, list, false, "origins", &n);
    if (err != NULL)
        return err;
    out->cors_origins = fo_xcalloc(n + 1, sizeof *out->cors_origins);
    for (size_t i = 0; i < n; i++) {
        fo_json_at item = fo_json_index(&at, i);
        const char *origin;
        err = fo_json_string(&item, json_array_get(list, i), &origin);
        if (err != NULL)
            return err;
        out->cors_origins[out->n_cors_origins++] = fo_xstrdup(origin);
    }
    return NULL;
}

fo_error *agg_http_config_read(const fo_json_at *top, const json_t *root, const char *(*getenv_fn)(const char *),
                               agg_http_config *out)
{
    fo_error *err = read_listen(top, root, getenv_fn, out);
    if (err == NULL)
        err = read_cors(top, root, out);
    return err;
}

void agg_http_config_release(agg_http_config *c)
{
    free(c->listen);
    for (size_t i = 0; i < c->n_cors_origins; i++)
        free(c->cors_origins[i]);
    free(c->cors_origins);
    memset(c, 0, sizeof *c);
}

const char *agg_http_config_cors(const agg_http_config *c, const char *origin)
{
    if (origin == NULL)
        return NULL;
    for (size_t i = 0; i < c->n_cors_origins; i++) {
        if (strcmp(c->cors_origins[i], "*") == 0)
            return "*";
        if (strcmp(c->cors_origins[i], origin) == 0)
            return origin;
    }
    return NULL;
}
