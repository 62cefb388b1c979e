/* agg_deadline: the reserve arithmetic of the early answer (see agg_deadline.h). */
#include "agg_deadline.h"

#include "fo_time.h"

int64_t agg_deadline_cut_ns(int64_t now_ns, int64_t deadline_ns, int64_t reserve_ms, int64_t longest_timeout_ms)
{
    if (deadline_ns == FO_DEADLINE_NONE || reserve_ms <= 0 || deadline_ns <= now_ns)
        return FO_DEADLINE_NONE;
    int64_t budget_ns = deadline_ns - now_ns;
    if (budget_ns < AGG_DEADLINE_MIN_BUDGET_MS * FO_NS_PER_MS)
        return FO_DEADLINE_NONE;
    int64_t reserve_ns = reserve_ms < INT64_MAX / FO_NS_PER_MS ? reserve_ms * FO_NS_PER_MS : INT64_MAX;
    if (reserve_ns > budget_ns / 4)
        reserve_ns = budget_ns / 4;
    int64_t cut_ns = deadline_ns - reserve_ns;
    /* Every feature call ends by its own timeout first: nothing to cut. */
    if (longest_timeout_ms < (cut_ns - now_ns) / FO_NS_PER_MS)
        return FO_DEADLINE_NONE;
    return cut_ns;
}
