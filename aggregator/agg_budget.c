/* agg_budget: the extra-attempt budget of one feature, lock-free (see agg_budget.h). */
#include "agg_budget.h"

/* A bucket's word: its period (mod 2^24), then its first attempts (24 bits), then its extra attempts (16 bits). */
#define PERIOD_BITS 24
#define FIRSTS_BITS 24
#define EXTRAS_BITS 16
#define FIRSTS_MAX ((UINT64_C(1) << FIRSTS_BITS) - 1)
#define EXTRAS_MAX ((UINT64_C(1) << EXTRAS_BITS) - 1)
#define W_PERIOD(w) ((w) >> (FIRSTS_BITS + EXTRAS_BITS))
#define W_FIRSTS(w) (((w) >> EXTRAS_BITS) & FIRSTS_MAX)
#define W_EXTRAS(w) ((w)&EXTRAS_MAX)

static uint64_t make_word(uint64_t period, uint64_t firsts, uint64_t extras)
{
    return ((period & ((UINT64_C(1) << PERIOD_BITS) - 1)) << (FIRSTS_BITS + EXTRAS_BITS)) | (firsts << EXTRAS_BITS) |
           extras;
}

void agg_budget_init(agg_budget *b, const agg_budget_cfg *cfg)
{
    b->cfg = *cfg;
    b->bucket_ms = cfg->window_ms / AGG_BUDGET_BUCKETS > 0 ? cfg->window_ms / AGG_BUDGET_BUCKETS : 1;
    /* Period 0 is a real period, so start every bucket one window in the past. */
    for (int i = 0; i < AGG_BUDGET_BUCKETS; i++)
        atomic_init(&b->buckets[i], make_word((uint64_t)-AGG_BUDGET_BUCKETS, 0, 0));
}

/* Adds to the current period's bucket, starting it afresh when it still holds an older period. */
static void add(agg_budget *b, int64_t now_ms, uint64_t firsts, uint64_t extras)
{
    uint64_t period = (uint64_t)(now_ms / b->bucket_ms);
    _Atomic uint64_t *slot = &b->buckets[period % AGG_BUDGET_BUCKETS];
    uint64_t seen = atomic_load_explicit(slot, memory_order_relaxed);
    uint64_t next;
    do {
        bool current = W_PERIOD(seen) == W_PERIOD(make_word(period, 0, 0));
        uint64_t f = (current ? W_FIRSTS(seen) : 0) + firsts;
        uint64_t e = (current ? W_EXTRAS(seen) : 0) + extras;
        next = make_word(period, f < FIRSTS_MAX ? f : FIRSTS_MAX, e < EXTRAS_MAX ? e : EXTRAS_MAX);
    } while (!atomic_compare_exchange_weak_explicit(slot, &seen, next, memory_order_relaxed, memory_order_relaxed));
}

agg_budget_counts agg_budget_window(agg_budget *b, int64_t now_ms)
{
    uint64_t period = (uint64_t)(now_ms / b->bucket_ms);
    agg_budget_counts c = {0, 0};
    for (uint64_t back = 0; back < AGG_BUDGET_BUCKETS; back++) {
        uint64_t p = period - back;
        uint64_t w = atomic_load_explicit(&b->buckets[p % AGG_BUDGET_BUCKETS], memory_order_relaxed);
        if (W_PERIOD(w) != W_PERIOD(make_word(p, 0, 0)))
            continue;
        c.firsts += W_FIRSTS(w);
        c.extras += W_EXTRAS(w);
    }
    return c;
}

void agg_budget_first(agg_budget *b, int64_t now_ms) { add(b, now_ms, 1, 0); }

/*
 * The share of the window's first attempts plus the floor's rate over the
 * window, as Finagle's retry budget adds its minimum retries per second to its
 * share of requests. The floor is what lets a quiet service hedge at all, and
 * on a busy one it is headroom: a hedge at a feature's p95 asks for about the
 * 5% share itself, and a budget with none left would refuse hedges at random,
 * leaving the slowest calls of the tail without one.
 */
bool agg_budget_try_extra(agg_budget *b, int64_t now_ms)
{
    agg_budget_counts c = agg_budget_window(b, now_ms);
    double window_s = (double)(b->bucket_ms * AGG_BUDGET_BUCKETS) / 1000.0;
    double allowed = (double)c.firsts * b->cfg.percent / 100.0 + b->cfg.per_second * window_s;
    if ((double)(c.extras + 1) > allowed)
        return false;
    add(b, now_ms, 0, 1);
    return true;
}
