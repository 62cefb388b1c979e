/* agg_breaker_config: reads a "breaker" setting over its defaults (see agg_breaker_config.h). */
#include "agg_breaker_config.h"

#define MAX_MS 3600000

static const char *const breaker_keys[] = {
    "failure_ratio",   "min_calls",        "window_ms", "consecutive_failures", "open_ms", "max_open_ms",
    "half_open_calls", "count_app_errors", NULL,
};

static fo_error *read_fields(const fo_json_at *at, const json_t *v, agg_breaker_cfg *c)
{
    fo_json_at k = fo_json_key(at, "failure_ratio");
    fo_error *err = fo_json_number(&k, json_object_get(v, "failure_ratio"), 0.01, 1.0, &c->failure_ratio);
    k = fo_json_key(at, "min_calls");
    if (err == NULL)
        err = fo_json_int(&k, json_object_get(v, "min_calls"), 1, 1000000, &c->min_calls);
    k = fo_json_key(at, "window_ms");
    if (err == NULL)
        err = fo_json_duration_ms(&k, json_object_get(v, "window_ms"), 10, MAX_MS, &c->window_ms);
    k = fo_json_key(at, "consecutive_failures");
    if (err == NULL)
        err = fo_json_int(&k, json_object_get(v, "consecutive_failures"), 0, 1000000, &c->consecutive_failures);
    k = fo_json_key(at, "open_ms");
    if (err == NULL)
        err = fo_json_duration_ms(&k, json_object_get(v, "open_ms"), 1, MAX_MS, &c->open_ms);
    k = fo_json_key(at, "max_open_ms");
    if (err == NULL)
        err = fo_json_duration_ms(&k, json_object_get(v, "max_open_ms"), 1, MAX_MS, &c->max_open_ms);
    k = fo_json_key(at, "half_open_calls");
    if (err == NULL)
        err = fo_json_int(&k, json_object_get(v, "half_open_calls"), 1, AGG_BREAKER_MAX_PROBES, &c->half_open_calls);
    k = fo_json_key(at, "count_app_errors");
    if (err == NULL)
        err = fo_json_bool(&k, json_object_get(v, "count_app_errors"), &c->count_app_errors);
    return err;
}

fo_error *agg_breaker_config_read(const fo_json_at *at, const json_t *v, const agg_breaker_cfg *defaults,
                                  agg_breaker_cfg *out)
{
    *out = *defaults;
    if (v == NULL || json_is_true(v)) {
        out->enabled = out->enabled || v != NULL;
        return NULL;
    }
    if (json_is_false(v)) {
        out->enabled = false;
        return NULL;
    }
    if (!json_is_object(v))
        return fo_json_invalid(at, v, "must be an object of breaker settings, true or false");
    fo_error *err = fo_json_object(at, v, breaker_keys);
    if (err == NULL)
        err = read_fields(at, v, out);
    out->enabled = true;
    fo_json_at max = fo_json_key(at, "max_open_ms");
    if (err == NULL && out->max_open_ms < out->open_ms)
        err = fo_json_error(&max, "must be at least open_ms (%lld), got %lld", (long long)out->open_ms,
                            (long long)out->max_open_ms);
    return err;
}
