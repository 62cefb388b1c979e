/* fo_parse: strict numbers from text (see fo_parse.h). */
#include "fo_parse.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The number of leading decimal digits of s. */
static size_t digits_at(const char *s) { return strspn(s, "0123456789"); }

/* The value of the n digits at s, or false past UINT64_MAX. */
static bool digits_value(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

fo_parse_result fo_parse_uint(const char *text, uint64_t hi, uint64_t *out)
{
    size_t n = digits_at(text);
    if (n == 0 || text[n] != '\0')
        return FO_PARSE_SYNTAX;
    uint64_t v;
    if (!digits_value(text, n, &v) || v > hi)
        return FO_PARSE_RANGE;
    *out = v;
    return FO_PARSE_OK;
}

fo_parse_result fo_parse_int(const char *text, int64_t lo, int64_t hi, int64_t *out)
{
    bool negative = text[0] == '-';
    uint64_t mag;
    /* INT64_MIN's magnitude is one more than INT64_MAX's. */
    fo_parse_result r = fo_parse_uint(text + negative, (uint64_t)INT64_MAX + (uint64_t)negative, &mag);
    if (r != FO_PARSE_OK)
        return r;
    /* mag - 1 fits an int64_t even for INT64_MIN; no unsigned-to-signed wrap needed. */
    int64_t v = negative && mag > 0 ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
    if (v < lo || v > hi)
        return FO_PARSE_RANGE;
    *out = v;
    return FO_PARSE_OK;
}

fo_parse_result fo_parse_duration_us(const char *text, int64_t *out_us)
{
    static const struct {
        const char *suffix;
        double us;
    } units[] = {
        {"us", 1.0}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}, {"", 1e3},
    };
    size_t n = digits_at(text);
    if (n == 0)
        return FO_PARSE_SYNTAX;
    if (text[n] == '.') {
        size_t frac = digits_at(text + n + 1);
        if (frac == 0)
            return FO_PARSE_SYNTAX;
        n += 1 + frac;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(text + n, units[i].suffix) != 0)
            continue;
        /* The text up to n is plain decimal, which strtod reads exactly as far. */
        double us = strtod(text, NULL) * units[i].us;
        if (!(us < 9.2e18))
            return FO_PARSE_RANGE;
        *out_us = (int64_t)llround(us);
        return FO_PARSE_OK;
    }
    return FO_PARSE_SYNTAX;
}

fo_parse_result fo_parse_size(const char *text, uint64_t hi, uint64_t *out)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } units[] = {{"", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}};
    size_t n = digits_at(text);
    if (n == 0)
        return FO_PARSE_SYNTAX;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(text + n, units[i].suffix) != 0)
            continue;
        uint64_t v;
        if (!digits_value(text, n, &v) || v > hi >> units[i].shift)
            return FO_PARSE_RANGE;
        *out = v << units[i].shift;
        return FO_PARSE_OK;
    }
    return FO_PARSE_SYNTAX;
}
