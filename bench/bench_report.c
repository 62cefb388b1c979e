/* bench_report: JSON line and table (see bench_report.h). */
#include "bench_report.h"

#include <jansson.h>
#include <stdlib.h>

#include "fo_error.h"

/* Significant digits in the JSON line: plenty for figures this noisy. */
#define JSON_DIGITS 7

static const double quantiles[] = {0.5, 0.9, 0.99, 0.999};
static const char *const quantile_names[] = {"p50", "p90", "p99", "p99.9"};
#define N_QUANTILES (sizeof quantiles / sizeof *quantiles)

static double per_second(const bench_result *r)
{
    return r->window_ns > 0 ? (double)r->calls * 1e9 / (double)r->window_ns : 0.0;
}

/* CPU seconds over the window, as microseconds per answered call. */
static double us_per_call(double cpu_s, const bench_result *r)
{
    return r->calls ? cpu_s * 1e6 / (double)r->calls : 0.0;
}

static double us(int64_t ns) { return (double)ns / 1e3; }

static uint64_t error_count(const bench_result *r) { return r->calls - r->by_status[FO_STATUS_OK]; }

static void set(json_t *obj, const char *key, json_t *value) { json_object_set_new(obj, key, value); }

static json_t *latency_json(const bench_result *r)
{
    json_t *lat = json_object();
    for (size_t i = 0; i < N_QUANTILES; i++)
        set(lat, quantile_names[i], json_real(us(bench_hist_quantile(&r->latency, quantiles[i]))));
    set(lat, "max", json_real(us(r->latency.max_ns)));
    set(lat, "min", json_real(us(r->latency.min_ns)));
    set(lat, "mean", json_real(bench_hist_mean(&r->latency) / 1e3));
    return lat;
}

static json_t *errors_json(const bench_result *r)
{
    json_t *errors = json_object();
    for (int code = 1; code < FO_STATUS_COUNT; code++) {
        if (r->by_status[code] > 0)
            set(errors, fo_status_name(code), json_integer((json_int_t)r->by_status[code]));
    }
    return errors;
}

static json_t *group_json(const bench_proc_group *g, const bench_result *r)
{
    json_t *pids = json_array();
    for (size_t i = 0; i < g->npids; i++)
        json_array_append_new(pids, json_integer(g->pids[i]));
    double cpu_s = g->end.cpu_s - g->start.cpu_s;
    json_t *obj = json_object();
    set(obj, "pids", pids);
    set(obj, "ok", json_boolean(g->start.ok && g->end.ok));
    set(obj, "cpu_s", json_real(cpu_s));
    set(obj, "cpu_us_per_req", json_real(us_per_call(cpu_s, r)));
    set(obj, "rss_start_kb", json_integer(g->start.rss_kb));
    set(obj, "rss_kb", json_integer(g->end.rss_kb));
    set(obj, "hwm_kb", json_integer(g->end.hwm_kb));
    return obj;
}

static void write_json(FILE *to, const bench_opts *o, const bench_result *r)
{
    json_t *root = json_object();
    if (o->label != NULL)
        set(root, "label", json_string(o->label));
    set(root, "mode", json_string(o->mode == BENCH_MODE_AGGREGATE ? "aggregate" : "direct"));
    set(root, "target", json_string(o->target));
    set(root, "concurrency", json_integer(o->concurrency));
    set(root, "connections", json_integer(o->connections));
    set(root, "window_s", json_real((double)r->window_ns / 1e9));
    set(root, "warmup_s", json_real((double)r->warmup_ns / 1e9));
    set(root, "warmup_calls", json_integer((json_int_t)r->warmup_calls));
    set(root, "requests", json_integer((json_int_t)r->calls));
    set(root, "ok", json_integer((json_int_t)r->by_status[FO_STATUS_OK]));
    set(root, "errors", errors_json(r));
    set(root, "partial", json_integer((json_int_t)r->partial));
    set(root, "failed_features", json_integer((json_int_t)r->failed_features));
    set(root, "feature_calls", json_integer((json_int_t)r->feature_calls));
    set(root, "rps", json_real(per_second(r)));
    set(root, "latency_us", latency_json(r));
    set(root, "bench_cpu_us_per_req", json_real(us_per_call(r->self_cpu_s, r)));
    set(root, "bench_rss_kb", json_integer(r->self_rss_kb));
    json_t *procs = json_object();
    for (size_t i = 0; i < o->ngroups; i++)
        set(procs, o->groups[i].name, group_json(&o->groups[i], r));
    set(root, "procs", procs);
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(JSON_DIGITS));
    json_decref(root);
    if (text == NULL)
        abort();
    fprintf(to, "%s\n", text);
    free(text);
}

static void write_errors(FILE *to, const bench_result *r)
{
    if (error_count(r) == 0)
        return;
    fprintf(to, "  errors     ");
    for (int code = 1; code < FO_STATUS_COUNT; code++) {
        if (r->by_status[code] > 0)
            fprintf(to, " %s %llu", fo_status_name(code), (unsigned long long)r->by_status[code]);
    }
    fprintf(to, "\n");
}

static void write_group(FILE *to, const bench_proc_group *g, const bench_result *r)
{
    const char *note = g->start.ok && g->end.ok ? "" : "  (a pid could not be read)";
    fprintf(to, "  %-10s  cpu %8.1f us/req   rss %7.1f MB (%+.1f MB)   peak %7.1f MB   %zu pid%s%s\n", g->name,
            us_per_call(g->end.cpu_s - g->start.cpu_s, r), (double)g->end.rss_kb / 1024.0,
            (double)(g->end.rss_kb - g->start.rss_kb) / 1024.0, (double)g->end.hwm_kb / 1024.0, g->npids,
            g->npids == 1 ? "" : "s", note);
}

static void write_table(FILE *to, const bench_opts *o, const bench_result *r)
{
    fprintf(to, "fanout-bench %s %s  -c %d  connections %d  window %.2f s after %llu warm-up calls\n",
            o->mode == BENCH_MODE_AGGREGATE ? "aggregate" : "direct", o->target, o->concurrency, o->connections,
            (double)r->window_ns / 1e9, (unsigned long long)r->warmup_calls);
    fprintf(to, "  requests    %llu (%llu ok, %llu errors, %llu partial)   %.1f req/s\n", (unsigned long long)r->calls,
            (unsigned long long)r->by_status[FO_STATUS_OK], (unsigned long long)error_count(r),
            (unsigned long long)r->partial, per_second(r));
    fprintf(to, "  latency ms ");
    for (size_t i = 0; i < N_QUANTILES; i++)
        fprintf(to, " %s %.3f ", quantile_names[i], us(bench_hist_quantile(&r->latency, quantiles[i])) / 1e3);
    fprintf(to, " max %.3f  mean %.3f\n", us(r->latency.max_ns) / 1e3, bench_hist_mean(&r->latency) / 1e6);
    write_errors(to, r);
    for (size_t i = 0; i < o->ngroups; i++)
        write_group(to, &o->groups[i], r);
    fprintf(to, "  %-10s  cpu %8.1f us/req   rss %7.1f MB\n", "bench", us_per_call(r->self_cpu_s, r),
            (double)r->self_rss_kb / 1024.0);
}

void bench_report_write(FILE *to, const bench_opts *o, const bench_result *r)
{
    if (o->format != BENCH_FORMAT_TABLE)
        write_json(to, o, r);
    if (o->format != BENCH_FORMAT_JSON)
        write_table(to, o, r);
    fflush(to);
}
