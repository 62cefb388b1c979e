/* fo_trace: W3C traceparent parsing and ids (see fo_trace.h). */
#include "fo_trace.h"

#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <threads.h>

#include "fo_time.h"

static bool lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

static bool all_zero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '0')
            return false;
    }
    return true;
}

static unsigned hex_byte(const char *s)
{
    unsigned v = 0;
    for (int i = 0; i < 2; i++)
        v = v * 16 + (unsigned)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
    return v;
}

bool fo_trace_parse(const char *value, size_t len, fo_trace_parent *out)
{
    /* Offsets in the 00 layout: version 0, trace id 3, parent id 36, flags 53. */
    if (value == NULL || len < FO_TRACEPARENT_LEN || !lower_hex(value, 2) || value[2] != '-' || value[35] != '-' ||
        value[52] != '-')
        return false;
    bool v00 = value[0] == '0' && value[1] == '0';
    if (value[0] == 'f' && value[1] == 'f')
        return false;
    /* Version 00 is exactly 55 characters; a later one may go on, after a dash. */
    if (len > FO_TRACEPARENT_LEN && (v00 || value[FO_TRACEPARENT_LEN] != '-'))
        return false;
    const char *trace_id = value + 3, *parent_id = value + 36, *flags = value + 53;
    if (!lower_hex(trace_id, FO_TRACE_ID_HEX) || all_zero(trace_id, FO_TRACE_ID_HEX) ||
        !lower_hex(parent_id, FO_SPAN_ID_HEX) || all_zero(parent_id, FO_SPAN_ID_HEX) || !lower_hex(flags, 2))
        return false;
    memcpy(out->trace_id, trace_id, FO_TRACE_ID_HEX);
    out->trace_id[FO_TRACE_ID_HEX] = '\0';
    memcpy(out->parent_id, parent_id, FO_SPAN_ID_HEX);
    out->parent_id[FO_SPAN_ID_HEX] = '\0';
    out->flags = (uint8_t)(hex_byte(flags) & FO_TRACE_SAMPLED);
    return true;
}

/* xoshiro256** per thread: ids must be unique and unguessable enough, not secret. */
static thread_local uint64_t rng[4];
static thread_local bool rng_ready;

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void rng_seed(void)
{
    if (getrandom(rng, sizeof rng, 0) != (ssize_t)sizeof rng) {
        /* No kernel entropy (a very old kernel): the clock and the thread's address still differ per thread. */
        uint64_t z = (uint64_t)fo_now_ns() ^ (uint64_t)(uintptr_t)&rng;
        for (int i = 0; i < 4; i++) {
            z += 0x9E3779B97F4A7C15u;
            rng[i] = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9u;
        }
    }
    if ((rng[0] | rng[1] | rng[2] | rng[3]) == 0)
        rng[0] = 1; /* the one state xoshiro never leaves */
    rng_ready = true;
}

static uint64_t rng_next(void)
{
    if (!rng_ready)
        rng_seed();
    uint64_t result = rotl(rng[1] * 5, 7) * 9;
    uint64_t t = rng[1] << 17;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 45);
    return result;
}

/* v as 16 lowercase hex digits: by hand, as printf costs more than the rest of an id (several per aggregate). */
static void hex16(uint64_t v, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = digits[v & 0xf];
}

/* n16 random 16-digit groups into out, NUL-terminated, never all zero. */
static void random_hex(char *out, int n16)
{
    bool zero;
    do {
        zero = true;
        for (int i = 0; i < n16; i++) {
            uint64_t v = rng_next();
            zero = zero && v == 0;
            hex16(v, out + 16 * i);
        }
    } while (zero);
    out[16 * n16] = '\0';
}

void fo_trace_new_trace_id(char out[FO_TRACE_ID_HEX + 1]) { random_hex(out, 2); }

void fo_trace_new_span_id(char out[FO_SPAN_ID_HEX + 1]) { random_hex(out, 1); }

void fo_trace_format(const char *trace_id, const char *span_id, uint8_t flags, char out[FO_TRACEPARENT_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    memcpy(out, "00-", 3);
    memcpy(out + 3, trace_id, FO_TRACE_ID_HEX);
    out[35] = '-';
    memcpy(out + 36, span_id, FO_SPAN_ID_HEX);
    out[52] = '-';
    out[53] = digits[flags >> 4];
    out[54] = digits[flags & 0xf];
    out[FO_TRACEPARENT_LEN] = '\0';
}
