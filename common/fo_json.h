/*
 * fo_json: the one strict reader of JSON documents (configuration, fleet,
 * profile and scenario files), on jansson.
 *
 * Strict means a typo never falls back to a default: duplicate keys, unknown
 * keys, wrong types and values out of range are all errors. Every error is
 * FO_STATUS_INVALID_ARGUMENT and names the document, the path inside it, the
 * rule and the value: "agg.json: features[2].timeout_ms: must be an integer
 * from 1 to 3600000, got -5". Syntax errors give "agg.json:3:14: <jansson's
 * text>".
 *
 * A getter takes the place of a value (fo_json_at) and the value itself,
 * NULL when it is absent: an absent value leaves *out alone and is no error,
 * so a default set beforehand stays; fo_json_required() makes absence one.
 */
#ifndef FO_JSON_H
#define FO_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_error.h"

/* Room for "fleet.features[4095].profile.latency_ms.p50" and long unknown keys; longer paths are cut, visibly. */
#define FO_JSON_PATH_MAX 96

/* Where a value is, for messages. */
typedef struct fo_json_at {
    const char *origin;          /* the file or flag, first in every message; NULL for none */
    char path[FO_JSON_PATH_MAX]; /* "features[2].timeout_ms"; "" at the top level */
} fo_json_at;

/* The top level of origin, or a place named path in it (an environment variable, say). */
fo_json_at fo_json_top(const char *origin, const char *path);
fo_json_at fo_json_key(const fo_json_at *parent, const char *key);
fo_json_at fo_json_index(const fo_json_at *parent, size_t i);

/* "origin: path: <what>". */
fo_error *fo_json_error(const fo_json_at *at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "origin: path: <rule>, got <value as compact JSON, cut short when long>". */
fo_error *fo_json_invalid(const fo_json_at *at, const json_t *got, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The document at path (duplicate keys refused) into *out, which the caller decrefs. */
fo_error *fo_json_load_file(const char *path, json_t **out);
/* The same for text that came from origin (a flag, say). */
fo_error *fo_json_load_text(const char *origin, const char *text, json_t **out);

/* "required" when v is absent. */
fo_error *fo_json_required(const fo_json_at *at, const json_t *v);
/*
 * An object whose keys are all in keys (NULL-terminated; NULL when another
 * reader checks them); an unknown key is named by its path: "tls.colour: unknown key".
 */
fo_error *fo_json_object(const fo_json_at *at, const json_t *v, const char *const *keys);
/* An array, with at least one element when nonempty; of names the elements in the message. */
fo_error *fo_json_array(const fo_json_at *at, const json_t *v, bool nonempty, const char *of, size_t *n);
/* A non-empty string without NUL; *out points into v. */
fo_error *fo_json_string(const fo_json_at *at, const json_t *v, const char **out);
fo_error *fo_json_int(const fo_json_at *at, const json_t *v, int64_t lo, int64_t hi, int64_t *out);
fo_error *fo_json_number(const fo_json_at *at, const json_t *v, double lo, double hi, double *out);
/* Milliseconds from lo to hi: an integer, or a duration text such as "300ms", "2s" or "1m" (fo_parse's). */
fo_error *fo_json_duration_ms(const fo_json_at *at, const json_t *v, int64_t lo, int64_t hi, int64_t *out);
fo_error *fo_json_bool(const fo_json_at *at, const json_t *v, bool *out);
/* One of names (NULL-terminated); *index is its position. */
fo_error *fo_json_choice(const fo_json_at *at, const json_t *v, const char *const *names, size_t *index);

#endif
