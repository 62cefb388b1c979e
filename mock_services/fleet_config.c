/* fleet_config: reading and checking the fleet file. */
#include "fleet_config.h"
#include "fo_alloc.h"

#include <stdlib.h>
#include <string.h>

static bool is_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

/* The name: required, [a-z0-9_-]{1,64}, and unlike the names of entries before it. */
static fo_error *read_name(const fo_json_at *entry, const json_t *v, size_t i, const mock_fleet *fleet, char **out)
{
    fo_json_at at = fo_json_key(entry, "name");
    fo_error *err = fo_json_required(&at, v);
    if (err != NULL)
        return err;
    const char *name = json_is_string(v) ? json_string_value(v) : "";
    size_t len = json_is_string(v) ? json_string_length(v) : 0;
    bool ok = len > 0 && len <= MOCK_FLEET_NAME_MAX;
    for (size_t j = 0; ok && j < len; j++)
        ok = is_name_char(name[j]);
    if (!ok)
        return fo_json_invalid(&at, v, "must be 1 to %d characters of a-z, 0-9, '_' and '-'", MOCK_FLEET_NAME_MAX);
    for (size_t k = 0; k < i; k++) {
        if (strcmp(fleet->entries[k].name, name) == 0)
            return fo_json_error(&at, "duplicate feature name \"%s\"", name);
    }
    *out = fo_xstrdup(name);
    return NULL;
}

static fo_error *read_listen(const fo_json_at *entry, const json_t *v, char **out)
{
    fo_json_at at = fo_json_key(entry, "listen");
    if (v != NULL && (!json_is_string(v) || json_string_length(v) == 0))
        return fo_json_invalid(&at, v, "must be an address such as \"%s\"", MOCK_FLEET_DEFAULT_LISTEN);
    *out = fo_xstrdup(v != NULL ? json_string_value(v) : MOCK_FLEET_DEFAULT_LISTEN);
    return NULL;
}

/* Reads features[i] into fleet->entries[i]. */
static fo_error *read_entry(const fo_json_at *at, const json_t *v, size_t i, mock_fleet *fleet)
{
    static const char *const keys[] = {"name", "listen", "profile", "restart", NULL};
    mock_fleet_entry *e = &fleet->entries[i];
    fo_json_at restart = fo_json_key(at, "restart"), profile = fo_json_key(at, "profile");
    mock_profile_init(&e->profile);
    fo_error *err = fo_json_object(at, v, keys);
    if (err == NULL)
        err = read_name(at, json_object_get(v, "name"), i, fleet, &e->name);
    if (err == NULL)
        err = read_listen(at, json_object_get(v, "listen"), &e->listen);
    if (err == NULL)
        err = fo_json_bool(&restart, json_object_get(v, "restart"), &e->restart);
    const json_t *p = json_object_get(v, "profile");
    if (err == NULL && p != NULL)
        err = mock_profile_from_json(p, &profile, &e->profile);
    return err;
}

/* Checks the top level and reads every entry; on error fleet holds what was read so far. */
static fo_error *read_fleet(const json_t *root, const char *path, mock_fleet *fleet)
{
    static const char *const keys[] = {"features", NULL};
    fo_json_at top = fo_json_top(path, NULL), at = fo_json_key(&top, "features");
    if (!json_is_object(root))
        return fo_json_error(&top, "the top level must be an object");
    const json_t *features = json_object_get(root, "features");
    size_t n = 0;
    fo_error *err = fo_json_object(&top, root, keys);
    if (err == NULL)
        err = fo_json_required(&at, features);
    if (err == NULL)
        err = fo_json_array(&at, features, true, "feature objects", &n);
    if (err != NULL)
        return err;
    fleet->entries = fo_xcalloc(n, sizeof *fleet->entries);
    fleet->count = n;
    for (size_t i = 0; i < n; i++) {
        fo_json_at entry = fo_json_index(&at, i);
        err = read_entry(&entry, json_array_get(features, i), i, fleet);
        if (err != NULL)
            return err;
    }
    return NULL;
}

fo_error *mock_fleet_load(const char *path, mock_fleet *out)
{
    mock_fleet fleet = {0};
    json_t *root = NULL;
    fo_error *err = fo_json_load_file(path, &root);
    if (err == NULL)
        err = read_fleet(root, path, &fleet);
    json_decref(root);
    if (err != NULL)
        mock_fleet_release(&fleet);
    *out = fleet;
    return err;
}

fo_error *mock_fleet_check_unsupervised(const mock_fleet *f, const char *path)
{
    for (size_t i = 0; i < f->count; i++) {
        if (f->entries[i].restart)
            return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                            "%s: features[%zu].restart: feature \"%s\" asks to be restarted, but in one process "
                            "nothing supervises it (remove the key, or run each feature in its own process)",
                            path, i, f->entries[i].name);
    }
    return NULL;
}

void mock_fleet_release(mock_fleet *f)
{
    for (size_t i = 0; i < f->count; i++) {
        free(f->entries[i].name);
        free(f->entries[i].listen);
    }
    free(f->entries);
    *f = (mock_fleet){0};
}
