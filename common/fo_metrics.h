/*
 * fo_metrics: counters and histograms for the Prometheus text exposition
 * format (version 0.0.4), with no lock on the hot path.
 *
 * Families and their series (one per label-value combination) are declared
 * at start-up, then fo_metrics_seal fixes them: labels never come from a
 * request, so the cardinality is known before the first call. Each thread
 * that counts gets a block of its own (a shard, cache-line aligned, claimed
 * on the thread's first increment), and adds to it with relaxed atomics;
 * the scrape sums the shards with relaxed loads, so a figure may be a few
 * increments stale but is never torn. More threads than shards share the
 * last one, which stays correct (the adds are atomic), only slower.
 *
 * Values are unsigned integers in a family's own unit (microseconds, say);
 * the exposition multiplies them by the family's scale (1e-6 for seconds),
 * so a histogram's bounds are given in the base unit and kept as integers.
 *
 * What is read rather than counted (gauges: calls in flight, a breaker's
 * state, the process's figures) is written at scrape time by collectors,
 * through fo_metrics_out_family and fo_metrics_out_sample.
 */
#ifndef FO_METRICS_H
#define FO_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fo_metrics fo_metrics;
typedef struct fo_metric_family fo_metric_family;
/* The text being rendered, for collectors. */
typedef struct fo_metrics_out fo_metrics_out;

/* A series, as fo_metrics_series returned it. */
typedef size_t fo_metric_series;

fo_metrics *fo_metrics_create(void);
void fo_metrics_destroy(fo_metrics *m);

/*
 * Declares a counter (name ends in _total) or a histogram; label_names is
 * NULL-terminated (NULL: no labels). A histogram's bounds are ascending, in
 * the family's unit; +Inf is implied. The strings are borrowed: they must
 * outlive m. Before fo_metrics_seal only.
 */
fo_metric_family *fo_metrics_counter(fo_metrics *m, const char *name, const char *help, const char *const *label_names);
fo_metric_family *fo_metrics_histogram(fo_metrics *m, const char *name, const char *help,
                                       const char *const *label_names, const uint64_t *bounds, size_t n_bounds,
                                       double scale);
/* A series of f, one value per label name (copied). Before fo_metrics_seal only. */
fo_metric_series fo_metrics_series(fo_metric_family *f, const char *const *label_values);
/*
 * A series of f whose label values are not known yet (a feature a config
 * reload will add): it counts like any other but is not rendered until
 * fo_metrics_series_name names it. Before fo_metrics_seal only.
 */
fo_metric_series fo_metrics_series_reserve(fo_metric_family *f);
/* Names a reserved series of f once, any time, from any thread; false if it already had a name. */
bool fo_metrics_series_name(fo_metric_family *f, fo_metric_series s, const char *const *label_values);

typedef void fo_metrics_collector(fo_metrics_out *out, void *ctx);
/* Runs fn at every scrape, after the families; ctx must outlive m. Before fo_metrics_seal only. */
void fo_metrics_add_collector(fo_metrics *m, fo_metrics_collector *fn, void *ctx);

/* Fixes the families and gives shards blocks of values: one per thread that counts, ideally. */
void fo_metrics_seal(fo_metrics *m, unsigned shards);

/* The hot path: the calling thread's shard. */
void fo_metrics_add(fo_metrics *m, fo_metric_series s, uint64_t n);
void fo_metrics_observe(fo_metrics *m, const fo_metric_family *h, fo_metric_series s, uint64_t value);

/* The exposition of every family and collector; the caller frees it. Any thread. */
char *fo_metrics_render(fo_metrics *m, size_t *len);

/* For collectors: a family's HELP and TYPE lines ("gauge", "counter"), then its samples. */
void fo_metrics_out_family(fo_metrics_out *out, const char *name, const char *help, const char *type);
/* One sample; label_names NULL-terminated (NULL: none), label values escaped here. */
void fo_metrics_out_sample(fo_metrics_out *out, const char *name, const char *const *label_names,
                           const char *const *label_values, double value);

/* The content type of the exposition. */
#define FO_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
