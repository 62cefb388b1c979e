/*
 * fo_parse: strict text to numbers, for flags, environment variables, header
 * values and integers written as JSON strings.
 *
 * Strict means the whole text and nothing else: no blanks, no '+', no hex, no
 * trailing garbage ("10x"), and no value past the bounds or the type (an
 * overflow is out of range, never wrapped or clamped). The parsers only say
 * what went wrong; each caller words its own message, naming its flag or key.
 */
#ifndef FO_PARSE_H
#define FO_PARSE_H

#include <stdint.h>

typedef enum fo_parse_result {
    FO_PARSE_OK,
    FO_PARSE_SYNTAX, /* not text of the kind asked for */
    FO_PARSE_RANGE,  /* the right kind, but past the bounds */
} fo_parse_result;

/* A decimal integer, "-?[0-9]+", in [lo, hi]. */
fo_parse_result fo_parse_int(const char *text, int64_t lo, int64_t hi, int64_t *out);
/* A decimal integer without sign, "[0-9]+", at most hi. */
fo_parse_result fo_parse_uint(const char *text, uint64_t hi, uint64_t *out);
/*
 * A duration, "[0-9]+(.[0-9]+)?" and a unit: us, ms, s, m or h; a bare number
 * is milliseconds. "300ms", "2s", "1.5s", "1m" and "0" are durations, "-1s",
 * "3 s" and "1e3s" are not. *out_us is in microseconds, rounded.
 */
fo_parse_result fo_parse_duration_us(const char *text, int64_t *out_us);
/* A size in bytes: "[0-9]+" and an optional unit, KiB, MiB or GiB ("512KiB", "8MiB"), at most hi. */
fo_parse_result fo_parse_size(const char *text, uint64_t hi, uint64_t *out);

#endif
