/* agg_hedge_config: reads "hedge", "extra_attempts_budget" and "retry_on" (see agg_hedge_config.h). */
#include "agg_hedge_config.h"

#define MAX_MS 3600000

static const char *const hedge_keys[] = {"after_ms", "quantile", "min_ms", "max_ms", "max_attempts", NULL};
static const char *const budget_keys[] = {"percent", "per_second", "window_ms", NULL};

agg_hedge_cfg agg_hedge_cfg_off(void)
{
    return (agg_hedge_cfg){.mode = AGG_HEDGE_OFF, .quantile = 0.95, .min_ms = 2, .max_ms = 500, .max_attempts = 1};
}

/* The adaptive keys, which a fixed delay leaves no use for. */
static fo_error *read_adaptive(const fo_json_at *at, const json_t *v, agg_hedge_cfg *c)
{
    fo_json_at k = fo_json_key(at, "quantile");
    fo_error *err = fo_json_number(&k, json_object_get(v, "quantile"), 0.5, 0.999, &c->quantile);
    k = fo_json_key(at, "min_ms");
    if (err == NULL)
        err = fo_json_duration_ms(&k, json_object_get(v, "min_ms"), 0, MAX_MS, &c->min_ms);
    k = fo_json_key(at, "max_ms");
    if (err == NULL)
        err = fo_json_duration_ms(&k, json_object_get(v, "max_ms"), 1, MAX_MS, &c->max_ms);
    if (err == NULL && c->max_ms < c->min_ms)
        err = fo_json_error(&k, "must be at least min_ms (%lld), got %lld", (long long)c->min_ms, (long long)c->max_ms);
    return err;
}

static fo_error *read_fields(const fo_json_at *at, const json_t *v, agg_hedge_cfg *c)
{
    int64_t attempts = 2;
    fo_json_at k = fo_json_key(at, "max_attempts");
    fo_error *err = fo_json_int(&k, json_object_get(v, "max_attempts"), 2, AGG_HEDGE_MAX_ATTEMPTS, &attempts);
    c->max_attempts = (int)attempts;
    const json_t *after = json_object_get(v, "after_ms");
    if (err != NULL || after == NULL) {
        c->mode = AGG_HEDGE_ADAPTIVE;
        return err != NULL ? err : read_adaptive(at, v, c);
    }
    c->mode = AGG_HEDGE_FIXED;
    static const char *const adaptive_only[] = {"quantile", "min_ms", "max_ms"};
    for (size_t i = 0; i < sizeof adaptive_only / sizeof *adaptive_only; i++) {
        k = fo_json_key(at, adaptive_only[i]);
        if (json_object_get(v, adaptive_only[i]) != NULL)
            return fo_json_error(&k, "not with after_ms: a hedge waits a fixed delay (after_ms) or a quantile of "
                                     "the feature's latency (quantile, min_ms, max_ms), not both");
    }
    k = fo_json_key(at, "after_ms");
    return fo_json_duration_ms(&k, after, 0, MAX_MS, &c->after_ms);
}

fo_error *agg_hedge_config_read(const fo_json_at *at, const json_t *v, const agg_hedge_cfg *defaults,
                                agg_hedge_cfg *out)
{
    *out = v == NULL ? *defaults : agg_hedge_cfg_off();
    if (v == NULL || json_is_false(v))
        return NULL;
    if (json_is_true(v)) {
        out->mode = AGG_HEDGE_ADAPTIVE;
        out->max_attempts = 2;
        return NULL;
    }
    if (!json_is_object(v))
        return fo_json_invalid(at, v, "must be an object of hedge settings, true or false");
    fo_error *err = fo_json_object(at, v, hedge_keys);
    return err != NULL ? err : read_fields(at, v, out);
}

fo_error *agg_budget_config_read(const fo_json_at *at, const json_t *v, agg_budget_cfg *out)
{
    *out = (agg_budget_cfg){.percent = 5, .per_second = 10, .window_ms = 10000};
    if (v == NULL)
        return NULL;
    fo_error *err = fo_json_object(at, v, budget_keys);
    if (err == NULL && !json_is_object(v))
        err = fo_json_invalid(at, v, "must be an object with percent, per_second and window_ms");
    fo_json_at k = fo_json_key(at, "percent");
    if (err == NULL)
        err = fo_json_number(&k, json_object_get(v, "percent"), 0, 100, &out->percent);
    k = fo_json_key(at, "per_second");
    if (err == NULL)
        err = fo_json_number(&k, json_object_get(v, "per_second"), 0, 1000000, &out->per_second);
    k = fo_json_key(at, "window_ms");
    if (err == NULL)
        err = fo_json_duration_ms(&k, json_object_get(v, "window_ms"), 1000, 600000, &out->window_ms);
    return err;
}

fo_error *agg_retry_config_read(const fo_json_at *at, const json_t *v, agg_code_set *out)
{
    *out = (agg_code_set)1 << FO_STATUS_UNAVAILABLE;
    if (v == NULL)
        return NULL;
    size_t n = 0;
    fo_error *err = fo_json_array(at, v, false, "status code names", &n);
    if (err != NULL)
        return err;
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        fo_json_at item = fo_json_index(at, i);
        const json_t *e = json_array_get(v, i);
        fo_status code;
        if (!json_is_string(e) || !fo_status_parse(json_string_value(e), &code))
            return fo_json_invalid(&item, e, "must be a gRPC status code name such as \"UNAVAILABLE\"");
        /* OK is no failure; a passed deadline or our own cancellation leave no room for another call. */
        if (code == FO_STATUS_OK || code == FO_STATUS_CANCELLED || code == FO_STATUS_DEADLINE_EXCEEDED)
            return fo_json_invalid(&item, e, "cannot be retried");
        *out |= (agg_code_set)1 << code;
    }
    return NULL;
}
