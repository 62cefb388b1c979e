/* agg_retry: retryable failures and the jittered backoff (see agg_retry.h). */
#include "agg_retry.h"

#include <threads.h>

#include "fo_time.h"

bool agg_retry_wanted(agg_code_set retry_on, fo_status code, bool had_reply)
{
    if (had_reply || code <= FO_STATUS_OK || code >= FO_STATUS_COUNT)
        return false;
    if (code == FO_STATUS_CANCELLED || code == FO_STATUS_DEADLINE_EXCEEDED)
        return false;
    return (retry_on & ((agg_code_set)1 << code)) != 0;
}

int64_t agg_retry_backoff_us(int retry, uint64_t rnd)
{
    int64_t b = AGG_RETRY_BASE_US;
    for (int i = 0; i < retry && b < AGG_RETRY_CAP_US; i++)
        b *= 2;
    if (b > AGG_RETRY_CAP_US)
        b = AGG_RETRY_CAP_US;
    return b / 2 + (int64_t)(rnd % (uint64_t)(b / 2 + 1));
}

uint64_t agg_retry_random(void)
{
    /* splitmix64 per thread: each worker draws its own jitter without sharing a word. */
    static thread_local uint64_t state;
    if (state == 0)
        state = (uint64_t)fo_now_ns() | 1;
    uint64_t z = (state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}
