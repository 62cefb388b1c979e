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

/* The extra attempts counted so far in the bucket of now. */
static uint64_t current_extras(agg_budget *b, int64_t now_ms)
{
    uint64_t period = (uint64_t)(now_ms / b->bucket_ms);
    uint64_t w = atomic_load_explicit(&b->buckets[period % AGG_BUDGET_BUCKETS], memory_order_relaxed);
    return W_PERIOD(w) == W_PERIOD(make_word(period, 0, 0)) ? W_EXTRAS(w) : 0;
}

bool agg_budget_try_extra(agg_budget *b, int64_t now_ms)
{
    agg_budget_counts c = agg_budget_window(b, now_ms);
    double share = (double)c.firsts * b->cfg.percent / 100.0;
    /* The floor is a rate, not a reserve: a burst never gets more than per_second's share of a bucket. */
    double floor = b->cfg.per_second * (double)b->bucket_ms / 1000.0;
    if ((double)(c.extras + 1) > share && (double)(current_extras(b, now_ms) + 1) > floor)
        return false;
    add(b, now_ms, 0, 1);
    return true;
}
