/* fleet_config: reading and checking the fleet file. */
#include "fleet_config.h"
#include "fo_alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for a value quoted in a message. */
#define DESCRIBE_MAX 80

static bool is_name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

/* The name: required, [a-z0-9_-]{1,64}, and unlike the names of entries before it. */
static fo_error *read_name(const json_t *v, const char *path, size_t i, const mock_fleet *fleet, char **out)
{
    char got[DESCRIBE_MAX];
    if (v == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: features[%zu]: missing key \"name\"", path, i);
    mock_json_describe(v, got, sizeof got);
    if (!json_is_string(v))
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: features[%zu].name: expected a string, got %s", path, i, got);
    const char *name = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len > MOCK_FLEET_NAME_MAX)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: features[%zu].name: %s must be 1 to %d characters long", path,
                        i, got, MOCK_FLEET_NAME_MAX);
    for (size_t j = 0; j < len; j++) {
        if (!is_name_char(name[j]))
            return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                            "%s: features[%zu].name: %s may only hold a-z, 0-9, '_' and '-'", path, i, got);
    }
    for (size_t k = 0; k < i; k++) {
        if (strcmp(fleet->entries[k].name, name) == 0)
            return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: features[%zu].name: duplicate feature name %s", path, i,
                            got);
    }
    *out = fo_xstrdup(name);
    return NULL;
}

static fo_error *read_listen(const json_t *v, const char *path, size_t i, char **out)
{
    char got[DESCRIBE_MAX];
    if (v == NULL) {
        *out = fo_xstrdup(MOCK_FLEET_DEFAULT_LISTEN);
        return NULL;
    }
    mock_json_describe(v, got, sizeof got);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                        "%s: features[%zu].listen: expected an address such as \"%s\", got %s", path, i,
                        MOCK_FLEET_DEFAULT_LISTEN, got);
    *out = fo_xstrdup(json_string_value(v));
    return NULL;
}

static fo_error *read_restart(const json_t *v, const char *path, size_t i, bool *out)
{
    char got[DESCRIBE_MAX];
    if (v == NULL)
        return NULL;
    if (!json_is_boolean(v)) {
        mock_json_describe(v, got, sizeof got);
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: features[%zu].restart: expected true or false, got %s", path,
                        i, got);
    }
    *out = json_is_true(v);
    return NULL;
}

static fo_error *read_profile(const json_t *v, const char *path, size_t i, mock_profile *out)
{
    mock_profile_init(out);
    if (v == NULL)
        return NULL;
    char *where;
    if (asprintf(&where, "%s: features[%zu].profile", path, i) < 0)
        abort();
    fo_error *err = mock_profile_from_json(v, where, out);
    free(where);
    return err;
}

/* Reads features[i] into fleet->entries[i]. */
static fo_error *read_entry(const json_t *v, const char *path, size_t i, mock_fleet *fleet)
{
    static const char *const keys[] = {"name", "listen", "profile", "restart", NULL};
    char got[DESCRIBE_MAX];
    mock_fleet_entry *e = &fleet->entries[i];
    if (!json_is_object(v)) {
        mock_json_describe(v, got, sizeof got);
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: features[%zu]: expected an object, got %s", path, i, got);
    }
    const char *unknown = mock_json_unknown_key(v, keys);
    if (unknown != NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: features[%zu]: unknown key \"%s\"", path, i, unknown);
    fo_error *err = read_name(json_object_get(v, "name"), path, i, fleet, &e->name);
    if (err == NULL)
        err = read_listen(json_object_get(v, "listen"), path, i, &e->listen);
    if (err == NULL)
        err = read_restart(json_object_get(v, "restart"), path, i, &e->restart);
    if (err == NULL)
        err = read_profile(json_object_get(v, "profile"), path, i, &e->profile);
    return err;
}

/* Checks the top level and reads every entry; on error fleet holds what was read so far. */
static fo_error *read_fleet(const json_t *root, const char *path, mock_fleet *fleet)
{
    static const char *const keys[] = {"features", NULL};
    char got[DESCRIBE_MAX];
    if (!json_is_object(root))
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: expected an object at the top level", path);
    const char *unknown = mock_json_unknown_key(root, keys);
    if (unknown != NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: unknown key \"%s\"", path, unknown);
    const json_t *features = json_object_get(root, "features");
    if (features == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: missing key \"features\"", path);
    if (!json_is_array(features)) {
        mock_json_describe(features, got, sizeof got);
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: features: expected an array, got %s", path, got);
    }
    size_t n = json_array_size(features);
    if (n == 0)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: features: is empty, a fleet needs at least one feature", path);
    fleet->entries = fo_xcalloc(n, sizeof *fleet->entries);
    fleet->count = n;
    for (size_t i = 0; i < n; i++) {
        fo_error *err = read_entry(json_array_get(features, i), path, i, fleet);
        if (err != NULL)
            return err;
    }
    return NULL;
}

fo_error *mock_fleet_load(const char *path, mock_fleet *out)
{
    fo_error *err = NULL;
    mock_fleet fleet = {0};
    json_t *root = NULL;
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: %s", path, strerror(errno));
        goto done;
    }
    json_error_t jerr;
    /* Without JSON_ALLOW_NUL, no string in the file holds a NUL. */
    root = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
    int read_errno = errno;
    /* A read error (say, path is a directory) is about the file, not its JSON. */
    if (ferror(fp))
        err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s: %s", path, strerror(read_errno));
    else if (root == NULL)
        err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    else
        err = read_fleet(root, path, &fleet);
    fclose(fp);
done:
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
