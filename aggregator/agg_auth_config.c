/* agg_auth_config: the config's "auth" section (see agg_auth_config.h). */
#include "agg_auth_config.h"

#include <string.h>

#include "agg_config.h"
#include "agg_jwt.h"
#include "fo_alloc.h"

#define MAX_LEEWAY_S 600

static const char *const auth_keys[] = {
    "issuer",
    "audience",
    "algorithms",
    "keys",
    "jwks",
    "leeway_s",
    "customers_claim",
    "admin_scope",
    "forward_subject_header",
    "open_methods",
    NULL,
};

/* An optional string member into *out (malloc'd). */
static fo_error *read_text(const fo_json_at *at, const json_t *obj, const char *key, char **out)
{
    fo_json_at k = fo_json_key(at, key);
    const char *text = NULL;
    fo_error *err = fo_json_string(&k, json_object_get(obj, key), &text);
    if (text != NULL)
        *out = fo_xstrdup(text);
    return err;
}

static fo_error *read_required(const fo_json_at *at, const json_t *obj, const char *key, char **out)
{
    fo_json_at k = fo_json_key(at, key);
    fo_error *err = fo_json_required(&k, json_object_get(obj, key));
    return err != NULL ? err : read_text(at, obj, key, out);
}

/* An array of strings, each checked by rule (NULL: any non-empty string), into a malloc'd list. */
static fo_error *read_list(const fo_json_at *at, const json_t *obj, const char *key, bool nonempty,
                           const char *(*rule)(const char *), char ***out, size_t *n_out)
{
    fo_json_at k = fo_json_key(at, key);
    const json_t *list = json_object_get(obj, key);
    size_t n = 0;
    fo_error *err = fo_json_array(&k, list, nonempty, "strings", &n);
    if (err != NULL || list == NULL)
        return err;
    *out = fo_xcalloc(n, sizeof **out);
    for (size_t i = 0; i < n; i++) {
        fo_json_at item = fo_json_index(&k, i);
        const char *text = NULL;
        err = fo_json_string(&item, json_array_get(list, i), &text);
        const char *broken = err == NULL && rule != NULL ? rule(text) : NULL;
        if (broken != NULL)
            err = fo_json_invalid(&item, json_array_get(list, i), "%s", broken);
        if (err != NULL)
            return err;
        (*out)[(*n_out)++] = fo_xstrdup(text);
    }
    return NULL;
}

static const char *algorithm_rule(const char *name)
{
    return agg_jwt_alg_parse(name, strlen(name)) != 0 ? NULL : "must be \"RS256\" or \"ES256\"";
}

/* "package.Service/Method"; the Aggregator's own methods are never open. */
static const char *method_rule(const char *name)
{
    const char *slash = strchr(name, '/');
    if (name[0] == '/' || slash == NULL || slash == name || slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
        return "must be \"package.Service/Method\"";
    if (strncmp(name, "fanout.v1.Aggregator/", 21) == 0)
        return "the Aggregator's methods always need a token";
    return NULL;
}

static fo_error *read_algorithms(const fo_json_at *at, const json_t *obj, agg_auth_config *c)
{
    char **names = NULL;
    size_t n = 0;
    fo_json_at k = fo_json_key(at, "algorithms");
    fo_error *err = fo_json_required(&k, json_object_get(obj, "algorithms"));
    if (err == NULL)
        err = read_list(at, obj, "algorithms", true, algorithm_rule, &names, &n);
    for (size_t i = 0; i < n; i++) {
        c->algorithms |= agg_jwt_alg_parse(names[i], strlen(names[i]));
        free(names[i]);
    }
    free(names);
    return err;
}

static fo_error *read_key_files(const fo_json_at *at, const json_t *obj, const char *dir, agg_auth_config *c)
{
    fo_error *err = read_list(at, obj, "keys", true, NULL, &c->keys, &c->n_keys);
    for (size_t i = 0; i < c->n_keys; i++) {
        char *resolved = agg_config_resolve(dir, c->keys[i]);
        free(c->keys[i]);
        c->keys[i] = resolved;
    }
    if (err == NULL)
        err = read_text(at, obj, "jwks", &c->jwks);
    if (c->jwks != NULL) {
        char *resolved = agg_config_resolve(dir, c->jwks);
        free(c->jwks);
        c->jwks = resolved;
    }
    if (err == NULL && c->n_keys == 0 && c->jwks == NULL)
        err = fo_json_error(at, "keys or jwks is required: without keys no token can be verified");
    return err;
}

static fo_error *read_subject_header(const fo_json_at *at, const json_t *obj, agg_auth_config *c)
{
    fo_json_at k = fo_json_key(at, "forward_subject_header");
    const json_t *v = json_object_get(obj, "forward_subject_header");
    if (v == NULL)
        return NULL;
    const char *rule = agg_config_header_rule(v);
    if (rule == NULL && strcmp(json_string_value(v), "authorization") == 0)
        rule = "must not be \"authorization\"";
    if (rule != NULL)
        return fo_json_invalid(&k, v, "%s", rule);
    c->forward_subject_header = fo_xstrdup(json_string_value(v));
    return NULL;
}

/* Method names as the server sees their paths: a leading slash. */
static fo_error *read_open_methods(const fo_json_at *at, const json_t *obj, agg_auth_config *c)
{
    fo_error *err = read_list(at, obj, "open_methods", false, method_rule, &c->open_methods, &c->n_open_methods);
    c->open_methods_set = json_object_get(obj, "open_methods") != NULL;
    for (size_t i = 0; i < c->n_open_methods; i++) {
        size_t n = strlen(c->open_methods[i]);
        char *path = fo_xmalloc(n + 2);
        path[0] = '/';
        memcpy(path + 1, c->open_methods[i], n + 1);
        free(c->open_methods[i]);
        c->open_methods[i] = path;
    }
    return err;
}

fo_error *agg_auth_config_read(const fo_json_at *top, const json_t *root, const char *dir, agg_auth_config *out)
{
    const json_t *obj = json_object_get(root, "auth");
    if (obj == NULL)
        return NULL;
    fo_json_at at = fo_json_key(top, "auth");
    out->enabled = true;
    out->leeway_s = 30;
    out->customers_claim = fo_xstrdup("customers");
    fo_error *err = fo_json_object(&at, obj, auth_keys);
    if (err == NULL)
        err = read_required(&at, obj, "issuer", &out->issuer);
    if (err == NULL)
        err = read_required(&at, obj, "audience", &out->audience);
    if (err == NULL)
        err = read_algorithms(&at, obj, out);
    if (err == NULL)
        err = read_key_files(&at, obj, dir, out);
    fo_json_at leeway = fo_json_key(&at, "leeway_s");
    if (err == NULL)
        err = fo_json_int(&leeway, json_object_get(obj, "leeway_s"), 0, MAX_LEEWAY_S, &out->leeway_s);
    char *claim = NULL;
    if (err == NULL)
        err = read_text(&at, obj, "customers_claim", &claim);
    if (claim != NULL) {
        free(out->customers_claim);
        out->customers_claim = claim;
    }
    if (err == NULL)
        err = read_text(&at, obj, "admin_scope", &out->admin_scope);
    if (err == NULL)
        err = read_subject_header(&at, obj, out);
    if (err == NULL)
        err = read_open_methods(&at, obj, out);
    return err;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void agg_auth_config_release(agg_auth_config *c)
{
    free(c->issuer);
    free(c->audience);
    free_list(c->keys, c->n_keys);
    free(c->jwks);
    free(c->customers_claim);
    free(c->admin_scope);
    free(c->forward_subject_header);
    free_list(c->open_methods, c->n_open_methods);
    memset(c, 0, sizeof *c);
}
