/* fo_log: JSON log lines. */
#include "fo_log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static atomic_int min_level = FO_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void fo_log_set_level(fo_log_level level)
{
    atomic_store(&min_level, (int)level);
}

bool fo_log_enabled(fo_log_level level)
{
    return (int)level >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

bool fo_log_level_parse(const char *text, fo_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(text, level_names[i]) == 0) {
            *out = (fo_log_level)i;
            return true;
        }
    }
    if (strcasecmp(text, "warning") == 0) {
        *out = FO_LOG_WARN;
        return true;
    }
    return false;
}

static void write_line(FILE *to, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (text == NULL)
        return;
    flockfile(to);
    fputs(text, to);
    fputc('\n', to);
    fflush(to);
    funlockfile(to);
    free(text);
}

void fo_log(fo_log_level level, json_t *obj)
{
    if (!fo_log_enabled(level)) {
        json_decref(obj);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%06ldZ", ts.tv_nsec / 1000);
    json_t *line = json_pack("{s:s, s:s}", "time", when, "level", level_names[level]);
    json_object_update(line, obj);
    json_decref(obj);
    write_line(level >= FO_LOG_WARN ? stderr : stdout, line);
}

void fo_log_event(json_t *obj)
{
    write_line(stdout, obj);
}
