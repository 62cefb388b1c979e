/* fo_time: monotonic deadlines. */
#include "fo_time.h"

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
