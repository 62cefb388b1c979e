/* agg_http_config: cors_origins (http_listen is read with the other listen addresses, in agg_config.c). */
#include "agg_http_config.h"

#include <stdlib.h>
#include <string.h>

#include "fo_alloc.h"

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

fo_error *agg_http_config_read(const fo_json_at *top, const json_t *root, agg_http_config *out)
{
    return read_cors(top, root, out);
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
