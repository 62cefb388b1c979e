/*
 * fleet_config: the fleet file, which lists the mock feature services to run
 * and how each one misbehaves on its own.
 *
 *     { "features": [ { "name": "listings", "listen": "127.0.0.1:0",
 *                       "profile": {...}, "restart": false }, ... ] }
 *
 * Only "name" is required. Duplicate keys, unknown keys and duplicate names
 * are errors, so a typo cannot silently fall back to a default.
 */
#ifndef FLEET_CONFIG_H
#define FLEET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "fo_error.h"
#include "mock_profile.h"

/* Feature names are [a-z0-9_-], 1 to this many bytes. */
#define MOCK_FLEET_NAME_MAX 64
#define MOCK_FLEET_DEFAULT_LISTEN "127.0.0.1:0"

typedef struct mock_fleet_entry {
    char *name;   /* owned */
    char *listen; /* owned; host:port, port 0 picks a free one */
    mock_profile profile;
    bool restart; /* restart the child when it dies; default false */
} mock_fleet_entry;

typedef struct mock_fleet {
    size_t count;              /* at least 1 once loaded */
    mock_fleet_entry *entries; /* owned, in file order */
} mock_fleet;

/*
 * Reads the fleet file at path into out. On error (FO_STATUS_INVALID_ARGUMENT,
 * with a message naming the file, the line:column or JSON path, and the bad
 * key or value) out is all zero.
 */
fo_error *mock_fleet_load(const char *path, mock_fleet *out);

/*
 * For a layout without a supervisor (mock_services --one-process): an entry
 * with "restart": true is an error (FO_STATUS_INVALID_ARGUMENT, naming path,
 * the entry, its feature and the key), since nothing could restart it.
 */
fo_error *mock_fleet_check_unsupervised(const mock_fleet *f, const char *path);

/* Frees what f owns and zeroes it. */
void mock_fleet_release(mock_fleet *f);

#endif
