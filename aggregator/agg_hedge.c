/* agg_hedge: the hedge delay, fixed or from a decaying latency histogram (see agg_hedge.h). */
#include "agg_hedge.h"

#include <math.h>

/* The lower edge of bucket 1; bucket 0 holds everything faster. */
#define FIRST_EDGE_US 50.0
#define BUCKETS_PER_DOUBLING 4

static int bucket_of(int64_t us)
{
    if (us <= FIRST_EDGE_US)
        return 0;
    double b = floor(BUCKETS_PER_DOUBLING * log2((double)us / FIRST_EDGE_US)) + 1;
    return b >= AGG_LATENCY_BUCKETS ? AGG_LATENCY_BUCKETS - 1 : (int)b;
}

static double upper_edge_us(int bucket) { return FIRST_EDGE_US * exp2((double)bucket / BUCKETS_PER_DOUBLING); }

void agg_latency_record(agg_latency *h, int64_t us)
{
    h->counts[bucket_of(us)]++;
    if (++h->total < AGG_LATENCY_DECAY_AT)
        return;
    /* Halving keeps the shape and lets newer calls outweigh older ones. */
    h->total = 0;
    for (int i = 0; i < AGG_LATENCY_BUCKETS; i++) {
        h->counts[i] /= 2;
        h->total += h->counts[i];
    }
}

int64_t agg_latency_quantile_us(const agg_latency *h, double q)
{
    if (h->total < AGG_LATENCY_MIN_SAMPLES)
        return -1;
    /* The bucket holding the rank, then linearly within it: a bucket's upper edge would overshoot by up to a fifth. */
    double rank = q * h->total;
    uint32_t below = 0;
    for (int i = 0; i < AGG_LATENCY_BUCKETS; i++) {
        if (below + h->counts[i] >= rank && h->counts[i] > 0) {
            double lo = i == 0 ? 0 : upper_edge_us(i - 1), hi = upper_edge_us(i);
            return (int64_t)ceil(lo + (hi - lo) * (rank - below) / h->counts[i]);
        }
        below += h->counts[i];
    }
    return (int64_t)ceil(upper_edge_us(AGG_LATENCY_BUCKETS - 1));
}

int64_t agg_hedge_delay_us(const agg_hedge_cfg *cfg, const agg_latency *h)
{
    switch (cfg->mode) {
    case AGG_HEDGE_OFF:
        return -1;
    case AGG_HEDGE_FIXED:
        return cfg->after_ms * 1000;
    case AGG_HEDGE_ADAPTIVE:
        break;
    }
    int64_t q = agg_latency_quantile_us(h, cfg->quantile);
    int64_t lo = cfg->min_ms * 1000, hi = cfg->max_ms * 1000;
    if (q < 0 || q > hi)
        return hi;
    return q < lo ? lo : q;
}

void agg_hedge_sent(agg_hedge_wins *w)
{
    if (++w->sent < AGG_HEDGE_WINS_DECAY_AT)
        return;
    w->sent /= 2;
    w->won /= 2;
}

void agg_hedge_won(agg_hedge_wins *w)
{
    if (w->won < w->sent)
        w->won++;
}

bool agg_hedge_pays(const agg_hedge_cfg *cfg, agg_hedge_wins *w)
{
    if (cfg->mode != AGG_HEDGE_ADAPTIVE || w->sent < AGG_HEDGE_WINS_MIN_SENT ||
        w->won * AGG_HEDGE_MIN_WIN_RATIO >= w->sent)
        return true;
    if (++w->held < AGG_HEDGE_PROBE_EVERY)
        return false;
    w->held = 0;
    return true;
}
