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

void fo_log_set_level(fo_log_level level) { atomic_store(&min_level, (int)level); }

bool fo_log_enabled(fo_log_level level) { return (int)level >= atomic_load_explicit(&min_level, memory_order_relaxed); }

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

/* Long lines fall back to a malloc'd dump; a request's line fits easily. */
#define LINE_BUF 2048

/*
 * Writes obj as one line, with head (NULL, or members such as
 * "time":...,"level":"info") before its own members: spliced into the
 * dump, so that no second object is built per line.
 */
static void write_line(FILE *to, const char *head, json_t *obj)
{
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
    char buf[LINE_BUF];
    char *text = buf;
    size_t n = json_dumpb(obj, buf, sizeof buf, flags);
    if (n > sizeof buf) {
        text = json_dumps(obj, flags);
        n = text != NULL ? strlen(text) : 0;
    }
    json_decref(obj);
    if (n < 2)
        return;
    flockfile(to);
    fputc('{', to);
    if (head != NULL) {
        fputs(head, to);
        if (n > 2)
            fputc(',', to);
    }
    fwrite(text + 1, 1, n - 1, to); /* obj's members and closing brace */
    fputc('\n', to);
    fflush(to);
    funlockfile(to);
    if (text != buf)
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
    char when[40], head[96];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(head, sizeof head, "\"time\":\"%s.%06ldZ\",\"level\":\"%s\"", when, ts.tv_nsec / 1000, level_names[level]);
    write_line(level >= FO_LOG_WARN ? stderr : stdout, head, obj);
}

void fo_log_event(json_t *obj) { write_line(stdout, NULL, obj); }
