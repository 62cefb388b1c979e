/* agg_breaker: a feature's circuit breaker as lock-free atomic words (see agg_breaker.h). */
#include "agg_breaker.h"

#include <jansson.h>
#include <stdio.h>

#include "fo_log.h"

/* The state word: state 2 bits | probes 6 | successes 6 | level 6 | until_ms 44. */
#define W_STATE(w) ((agg_breaker_state)((w)&3u))
#define W_PROBES(w) ((unsigned)(((w) >> 2) & 63u))
#define W_OK(w) ((unsigned)(((w) >> 8) & 63u))
#define W_LEVEL(w) ((unsigned)(((w) >> 14) & 63u))
#define W_UNTIL(w) ((int64_t)((w) >> 20))
#define MAX_LEVEL 63u
#define UNTIL_MASK ((UINT64_C(1) << 44) - 1)

/* A bucket word: epoch 24 bits | calls 20 | failures 20; counts saturate. */
#define B_EPOCH(w) ((uint32_t)((w) >> 40))
#define B_CALLS(w) ((uint32_t)(((w) >> 20) & 0xFFFFFu))
#define B_FAILS(w) ((uint32_t)((w)&0xFFFFFu))
#define B_MAX 0xFFFFFu
#define EPOCH_MASK 0xFFFFFFu

static uint64_t make_word(agg_breaker_state s, unsigned probes, unsigned ok, unsigned level, int64_t until_ms)
{
    return (uint64_t)s | (uint64_t)probes << 2 | (uint64_t)ok << 8 | (uint64_t)level << 14 |
           ((uint64_t)until_ms & UNTIL_MASK) << 20;
}

static uint64_t make_bucket(uint32_t epoch, uint32_t calls, uint32_t fails)
{
    return (uint64_t)(epoch & EPOCH_MASK) << 40 | (uint64_t)calls << 20 | fails;
}

agg_breaker_cfg agg_breaker_cfg_default(void)
{
    return (agg_breaker_cfg){
        .enabled = true,
        .failure_ratio = 0.5,
        .min_calls = 20,
        .window_ms = 10000,
        .consecutive_failures = 5,
        .open_ms = 5000,
        .max_open_ms = 60000,
        .half_open_calls = 3,
        .count_app_errors = false,
    };
}

void agg_breaker_init(agg_breaker *b, const char *name, const agg_breaker_cfg *cfg)
{
    b->name = name;
    b->cfg = *cfg;
    atomic_init(&b->word, make_word(AGG_BREAKER_CLOSED, 0, 0, 0, 0));
    for (int i = 0; i < AGG_BREAKER_BUCKETS; i++)
        atomic_init(&b->buckets[i], 0);
    atomic_init(&b->consecutive, 0);
    atomic_init(&b->rng, (uint64_t)(uintptr_t)b);
}

int64_t agg_breaker_open_period_ms(const agg_breaker_cfg *cfg, unsigned level, uint64_t rnd)
{
    int64_t base = cfg->open_ms;
    for (unsigned i = 0; i < level && base < cfg->max_open_ms; i++)
        base *= 2;
    if (base > cfg->max_open_ms)
        base = cfg->max_open_ms;
    int64_t jitter = base / 5;
    int64_t period = base - (jitter > 0 ? (int64_t)(rnd % (uint64_t)(jitter + 1)) : 0);
    return period > 0 ? period : 1;
}

/* splitmix64 on a shared counter: jitter must differ between breakers and trips, not be secret. */
static uint64_t next_random(agg_breaker *b)
{
    uint64_t z = atomic_fetch_add(&b->rng, UINT64_C(0x9E3779B97F4A7C15)) + UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static const char *state_name(agg_breaker_state s)
{
    static const char *const names[] = {"closed", "open", "half_open"};
    return names[s];
}

/* One line per transition, written by the thread whose compare-and-swap made it. */
static void log_transition(const agg_breaker *b, agg_breaker_state from, uint64_t to_word, const char *why,
                           int64_t now_ms)
{
    agg_breaker_state to = W_STATE(to_word);
    fo_log_level level = to == AGG_BREAKER_OPEN ? FO_LOG_WARN : FO_LOG_INFO;
    if (!fo_log_enabled(level))
        return;
    json_t *line = json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "breaker", "feature", b->name, "from",
                             state_name(from), "to", state_name(to), "why", why);
    if (to == AGG_BREAKER_OPEN)
        json_object_set_new(line, "open_ms", json_integer(W_UNTIL(to_word) - now_ms));
    fo_log(level, line);
}

/* Opens from the state in `seen`, with backoff level `level`; false when another thread changed it first. */
static bool trip(agg_breaker *b, uint64_t seen, unsigned level, const char *why, int64_t now_ms)
{
    int64_t until = now_ms + agg_breaker_open_period_ms(&b->cfg, level, next_random(b));
    uint64_t open = make_word(AGG_BREAKER_OPEN, 0, 0, level, until);
    if (!atomic_compare_exchange_strong(&b->word, &seen, open))
        return false;
    log_transition(b, W_STATE(seen), open, why, now_ms);
    return true;
}

static void close_breaker(agg_breaker *b, uint64_t seen, int64_t now_ms)
{
    uint64_t closed = make_word(AGG_BREAKER_CLOSED, 0, 0, 0, 0);
    if (!atomic_compare_exchange_strong(&b->word, &seen, closed))
        return;
    /* A fresh start: what led to the trip must not trip it again. */
    for (int i = 0; i < AGG_BREAKER_BUCKETS; i++)
        atomic_store(&b->buckets[i], 0);
    atomic_store(&b->consecutive, 0);
    log_transition(b, AGG_BREAKER_HALF_OPEN, closed, "the probes succeeded", now_ms);
}

agg_breaker_ticket agg_breaker_admit(agg_breaker *b, int64_t now_ms)
{
    if (b == NULL)
        return (agg_breaker_ticket){AGG_BREAKER_NONE, 0};
    uint64_t w = atomic_load(&b->word);
    for (;;) {
        agg_breaker_state s = W_STATE(w);
        if (s == AGG_BREAKER_CLOSED)
            return (agg_breaker_ticket){AGG_BREAKER_PASS, 0};
        if (s == AGG_BREAKER_OPEN && now_ms < W_UNTIL(w))
            return (agg_breaker_ticket){AGG_BREAKER_REFUSED, 0};
        if (s == AGG_BREAKER_HALF_OPEN && W_PROBES(w) >= (unsigned)b->cfg.half_open_calls)
            return (agg_breaker_ticket){AGG_BREAKER_REFUSED, 0};
        /* OPEN and over, or HALF_OPEN with a probe left: take one. */
        uint64_t next = make_word(AGG_BREAKER_HALF_OPEN, W_PROBES(w) + 1, s == AGG_BREAKER_OPEN ? 0 : W_OK(w),
                                  W_LEVEL(w), W_UNTIL(w));
        if (atomic_compare_exchange_weak(&b->word, &w, next)) {
            if (s == AGG_BREAKER_OPEN)
                log_transition(b, s, next, "the open period is over", now_ms);
            return (agg_breaker_ticket){AGG_BREAKER_PROBE, (uint64_t)W_UNTIL(w)};
        }
    }
}

/* Adds one call to the current bucket; returns the window's totals. */
static void window_add(agg_breaker *b, bool failed, int64_t now_ms, uint32_t *calls, uint32_t *fails)
{
    int64_t width = b->cfg.window_ms / AGG_BREAKER_BUCKETS > 0 ? b->cfg.window_ms / AGG_BREAKER_BUCKETS : 1;
    uint32_t epoch = (uint32_t)((now_ms / width) & EPOCH_MASK);
    _Atomic uint64_t *slot = &b->buckets[(now_ms / width) % AGG_BREAKER_BUCKETS];
    uint64_t w = atomic_load(slot);
    uint64_t next;
    do {
        uint32_t c = B_EPOCH(w) == epoch ? B_CALLS(w) : 0, f = B_EPOCH(w) == epoch ? B_FAILS(w) : 0;
        next = make_bucket(epoch, c < B_MAX ? c + 1 : c, failed && f < B_MAX ? f + 1 : f);
    } while (!atomic_compare_exchange_weak(slot, &w, next));
    *calls = *fails = 0;
    for (int i = 0; i < AGG_BREAKER_BUCKETS; i++) {
        uint64_t bw = atomic_load(&b->buckets[i]);
        if (((epoch - B_EPOCH(bw)) & EPOCH_MASK) < AGG_BREAKER_BUCKETS) {
            *calls += B_CALLS(bw);
            *fails += B_FAILS(bw);
        }
    }
}

static void record_closed(agg_breaker *b, bool failed, int64_t now_ms)
{
    uint32_t calls, fails;
    window_add(b, failed, now_ms, &calls, &fails);
    if (!failed) {
        atomic_store(&b->consecutive, 0);
        return;
    }
    unsigned in_row = atomic_fetch_add(&b->consecutive, 1) + 1;
    uint64_t w = atomic_load(&b->word);
    if (W_STATE(w) != AGG_BREAKER_CLOSED)
        return;
    char why[96];
    if (b->cfg.consecutive_failures > 0 && in_row >= (uint64_t)b->cfg.consecutive_failures)
        snprintf(why, sizeof why, "%u failures in a row", in_row);
    else if (calls >= (uint64_t)b->cfg.min_calls && fails >= b->cfg.failure_ratio * calls)
        snprintf(why, sizeof why, "%u failures in %u calls", fails, calls);
    else
        return;
    trip(b, w, 0, why, now_ms);
}

static void record_probe(agg_breaker *b, uint64_t round, agg_breaker_verdict v, int64_t now_ms)
{
    uint64_t w = atomic_load(&b->word);
    for (;;) {
        if (W_STATE(w) != AGG_BREAKER_HALF_OPEN || (uint64_t)W_UNTIL(w) != round)
            return; /* a verdict from an earlier round */
        if (v == AGG_BREAKER_FAILURE) {
            unsigned level = W_LEVEL(w) < MAX_LEVEL ? W_LEVEL(w) + 1 : MAX_LEVEL;
            if (trip(b, w, level, "a probe failed", now_ms))
                return;
            w = atomic_load(&b->word);
            continue;
        }
        if (v == AGG_BREAKER_SUCCESS && W_OK(w) + 1 >= (unsigned)b->cfg.half_open_calls) {
            close_breaker(b, w, now_ms);
            return;
        }
        /* A success short of the count, or no verdict: the probe's slot goes back. */
        uint64_t next = v == AGG_BREAKER_SUCCESS
                            ? make_word(AGG_BREAKER_HALF_OPEN, W_PROBES(w), W_OK(w) + 1, W_LEVEL(w), W_UNTIL(w))
                            : make_word(AGG_BREAKER_HALF_OPEN, W_PROBES(w) - 1, W_OK(w), W_LEVEL(w), W_UNTIL(w));
        if (atomic_compare_exchange_weak(&b->word, &w, next))
            return;
    }
}

void agg_breaker_record(agg_breaker *b, agg_breaker_ticket t, agg_breaker_verdict v, int64_t now_ms)
{
    if (b == NULL)
        return;
    if (t.pass == AGG_BREAKER_PASS && v != AGG_BREAKER_NO_VERDICT)
        record_closed(b, v == AGG_BREAKER_FAILURE, now_ms);
    else if (t.pass == AGG_BREAKER_PROBE)
        record_probe(b, t.round, v, now_ms);
}

agg_breaker_verdict agg_breaker_verdict_of(const agg_breaker_cfg *cfg, Fanout__V1__ErrorKind kind)
{
    switch (kind) {
    case FANOUT__V1__ERROR_KIND__ERROR_KIND_UNSPECIFIED:
        return AGG_BREAKER_SUCCESS;
    case FANOUT__V1__ERROR_KIND__DEADLINE:
    case FANOUT__V1__ERROR_KIND__UNAVAILABLE:
    case FANOUT__V1__ERROR_KIND__MALFORMED_RESPONSE:
        return AGG_BREAKER_FAILURE;
    case FANOUT__V1__ERROR_KIND__BACKEND_ERROR:
        return cfg->count_app_errors ? AGG_BREAKER_FAILURE : AGG_BREAKER_SUCCESS;
    default:
        return AGG_BREAKER_NO_VERDICT;
    }
}

agg_breaker_state agg_breaker_state_now(const agg_breaker *b) { return W_STATE(atomic_load(&b->word)); }

int64_t agg_breaker_open_until_ms(const agg_breaker *b)
{
    uint64_t w = atomic_load(&b->word);
    return W_STATE(w) == AGG_BREAKER_OPEN ? W_UNTIL(w) : 0;
}
