/* fo_error: status codes, their names, and errors that remember their origin. */
#include "fo_error.h"
#include "fo_alloc.h"
#include "fo_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const status_names[FO_STATUS_COUNT] = {
    "OK",        "CANCELLED",       "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS",  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",    "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED",
};

fo_error *fo_error_new_at(fo_status code, const char *file, int line, const char *fmt, ...)
{
    fo_error *e = fo_xmalloc(sizeof *e);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    e->message = fo_xmalloc((size_t)(n < 0 ? 0 : n) + 1);
    va_start(ap, fmt);
    vsnprintf(e->message, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
    va_end(ap);
    e->code = code;
    e->file = file;
    e->line = line;
    return e;
}

fo_error *fo_error_copy(const fo_error *e)
{
    fo_error *c = fo_error_new_at(e->code, e->file, e->line, "%s", e->message);
    return c;
}

void fo_error_free(fo_error *e)
{
    if (e == NULL)
        return;
    free(e->message);
    free(e);
}

const char *fo_status_name(int code)
{
    if (code < 0 || code >= FO_STATUS_COUNT)
        return "UNKNOWN";
    return status_names[code];
}

bool fo_status_parse(const char *text, fo_status *out)
{
    if (text == NULL || *text == '\0')
        return false;
    for (int i = 0; i < FO_STATUS_COUNT; i++) {
        if (strcasecmp(text, status_names[i]) == 0) {
            *out = (fo_status)i;
            return true;
        }
    }
    int64_t v;
    if (fo_parse_int(text, 0, FO_STATUS_COUNT - 1, &v) != FO_PARSE_OK)
        return false;
    *out = (fo_status)v;
    return true;
}
