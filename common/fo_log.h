/*
 * fo_log: one JSON object per line. Events go to stdout (the first stdout
 * line of every binary is its "listening" event, which tools wait for);
 * warnings and errors go to stderr. Each line is written with one call, so
 * lines from different threads never interleave.
 */
#ifndef FO_LOG_H
#define FO_LOG_H

#include <jansson.h>
#include <stdbool.h>

typedef enum fo_log_level {
    FO_LOG_DEBUG,
    FO_LOG_INFO,
    FO_LOG_WARN,
    FO_LOG_ERROR,
} fo_log_level;

void fo_log_set_level(fo_log_level level);
bool fo_log_enabled(fo_log_level level);
/* "debug", "info", "warn"/"warning", "error"; false for anything else. */
bool fo_log_level_parse(const char *text, fo_log_level *out);

/* Adds "time" (RFC 3339, UTC, microseconds) and "level", then writes obj (stolen). */
void fo_log(fo_log_level level, json_t *obj);
/* Writes obj (stolen) to stdout exactly as it is: for the "listening" line. */
void fo_log_event(json_t *obj);

#endif
