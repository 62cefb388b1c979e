/* fo_time: monotonic deadlines and duration parsing. */
#include "fo_time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t fo_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

int64_t fo_unix_now(void) { return (int64_t)time(NULL); }

int64_t fo_deadline_in_ms(int64_t ms)
{
    int64_t now = fo_now_ns();
    if (ms < 0)
        return now;
    if (ms > (FO_DEADLINE_NONE - now) / FO_NS_PER_MS)
        return FO_DEADLINE_NONE;
    return now + ms * FO_NS_PER_MS;
}

bool fo_duration_parse_us(const char *text, int64_t *out_us)
{
    static const struct {
        const char *suffix;
        double us;
    } units[] = {
        {"us", 1.0}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}, {"", 1e3},
    };
    if (text == NULL || *text == '\0' || *text == '-' || *text == '+')
        return false;
    char *end;
    double v = strtod(text, &end);
    if (end == text || !isfinite(v) || v < 0)
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            double us = v * units[i].us;
            if (us > 9.2e18)
                return false;
            *out_us = (int64_t)llround(us);
            return true;
        }
    }
    return false;
}
