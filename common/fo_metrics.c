/* fo_metrics: the registry, the per-thread shards and the text exposition (fo_metrics.h). */
#include "fo_metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "fo_alloc.h"

#define CACHE_LINE 64

typedef enum family_type {
    FAMILY_COUNTER,
    FAMILY_HISTOGRAM,
} family_type;

typedef struct series {
    /* NULL until a reserved series is named (fo_metrics_series_name): not rendered till then. */
    _Atomic(char **) label_values;
    size_t first_slot; /* counter: its value; histogram: n_bounds + 1 buckets, then the sum */
} series;

struct fo_metric_family {
    fo_metrics *m;
    family_type type;
    const char *name;
    const char *help;
    const char *const *label_names;
    size_t n_labels;
    uint64_t *bounds;
    size_t n_bounds;
    double scale;
    series *series;
    size_t n_series;
};

typedef struct collector {
    fo_metrics_collector *fn;
    void *ctx;
} collector;

struct fo_metrics {
    uint64_t id; /* tells a thread's cached shard of an earlier registry from this one's */
    fo_metric_family **families;
    size_t n_families;
    collector *collectors;
    size_t n_collectors;
    size_t n_slots;
    size_t stride; /* slots per shard, rounded up to whole cache lines */
    unsigned n_shards;
    _Atomic uint64_t *values; /* n_shards * stride, cache-line aligned */
    atomic_uint next_shard;
};

struct fo_metrics_out {
    char *buf;
    size_t len, cap;
};

static atomic_uint_fast64_t registry_ids = 1;

/* The calling thread's shard of the registry it last counted into. */
static thread_local struct {
    uint64_t id;
    _Atomic uint64_t *shard;
} tl_shard;

fo_metrics *fo_metrics_create(void)
{
    fo_metrics *m = fo_xcalloc(1, sizeof *m);
    m->id = atomic_fetch_add(&registry_ids, 1);
    return m;
}

static char **copy_labels(const fo_metric_family *f, const char *const *label_values)
{
    char **copy = fo_xcalloc(f->n_labels + 1, sizeof *copy); /* never NULL, even without labels */
    for (size_t l = 0; l < f->n_labels; l++)
        copy[l] = fo_xstrdup(label_values[l]);
    return copy;
}

static void free_labels(const fo_metric_family *f, char **labels)
{
    if (labels == NULL)
        return;
    for (size_t l = 0; l < f->n_labels; l++)
        free(labels[l]);
    free(labels);
}

void fo_metrics_destroy(fo_metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_families; i++) {
        fo_metric_family *f = m->families[i];
        for (size_t s = 0; s < f->n_series; s++)
            free_labels(f, atomic_load(&f->series[s].label_values));
        free(f->series);
        free(f->bounds);
        free(f);
    }
    free(m->families);
    free(m->collectors);
    free((void *)m->values);
    free(m);
}

static fo_metric_family *family_add(fo_metrics *m, family_type type, const char *name, const char *help,
                                    const char *const *label_names)
{
    fo_metric_family *f = fo_xcalloc(1, sizeof *f);
    f->m = m;
    f->type = type;
    f->name = name;
    f->help = help;
    f->label_names = label_names;
    while (label_names != NULL && label_names[f->n_labels] != NULL)
        f->n_labels++;
    m->families = fo_xrealloc(m->families, (m->n_families + 1) * sizeof *m->families);
    m->families[m->n_families++] = f;
    return f;
}

fo_metric_family *fo_metrics_counter(fo_metrics *m, const char *name, const char *help, const char *const *label_names)
{
    return family_add(m, FAMILY_COUNTER, name, help, label_names);
}

fo_metric_family *fo_metrics_histogram(fo_metrics *m, const char *name, const char *help,
                                       const char *const *label_names, const uint64_t *bounds, size_t n_bounds,
                                       double scale)
{
    fo_metric_family *f = family_add(m, FAMILY_HISTOGRAM, name, help, label_names);
    f->bounds = fo_xmalloc(n_bounds * sizeof *f->bounds);
    memcpy(f->bounds, bounds, n_bounds * sizeof *f->bounds);
    f->n_bounds = n_bounds;
    f->scale = scale;
    return f;
}

static fo_metric_series series_add(fo_metric_family *f, char **labels)
{
    f->series = fo_xrealloc(f->series, (f->n_series + 1) * sizeof *f->series);
    series *s = &f->series[f->n_series++];
    atomic_init(&s->label_values, labels);
    s->first_slot = f->m->n_slots;
    f->m->n_slots += f->type == FAMILY_HISTOGRAM ? f->n_bounds + 2 : 1;
    return s->first_slot;
}

fo_metric_series fo_metrics_series(fo_metric_family *f, const char *const *label_values)
{
    return series_add(f, copy_labels(f, label_values));
}

fo_metric_series fo_metrics_series_reserve(fo_metric_family *f) { return series_add(f, NULL); }

bool fo_metrics_series_name(fo_metric_family *f, fo_metric_series s, const char *const *label_values)
{
    for (size_t i = 0; i < f->n_series; i++) {
        if (f->series[i].first_slot != s)
            continue;
        char **copy = copy_labels(f, label_values), **unnamed = NULL;
        /* Release: a scrape that sees the pointer sees the strings. */
        if (atomic_compare_exchange_strong_explicit(&f->series[i].label_values, &unnamed, copy, memory_order_release,
                                                    memory_order_relaxed))
            return true;
        free_labels(f, copy);
        return false;
    }
    return false;
}

void fo_metrics_add_collector(fo_metrics *m, fo_metrics_collector *fn, void *ctx)
{
    m->collectors = fo_xrealloc(m->collectors, (m->n_collectors + 1) * sizeof *m->collectors);
    m->collectors[m->n_collectors++] = (collector){fn, ctx};
}

void fo_metrics_seal(fo_metrics *m, unsigned shards)
{
    size_t per_line = CACHE_LINE / sizeof(uint64_t);
    m->stride = (m->n_slots + per_line - 1) / per_line * per_line;
    if (m->stride == 0)
        m->stride = per_line;
    m->n_shards = shards > 0 ? shards : 1;
    size_t bytes = m->stride * m->n_shards * sizeof(uint64_t);
    m->values = aligned_alloc(CACHE_LINE, bytes);
    if (m->values == NULL)
        abort();
    for (size_t i = 0; i < m->stride * m->n_shards; i++)
        atomic_init(&m->values[i], 0);
    atomic_init(&m->next_shard, 0);
}

/* The first increment of a thread claims the next shard; the last one is shared by any beyond. */
static _Atomic uint64_t *shard_of(fo_metrics *m)
{
    if (tl_shard.id != m->id) {
        unsigned i = atomic_fetch_add_explicit(&m->next_shard, 1, memory_order_relaxed);
        if (i >= m->n_shards)
            i = m->n_shards - 1;
        tl_shard.id = m->id;
        tl_shard.shard = m->values + (size_t)i * m->stride;
    }
    return tl_shard.shard;
}

void fo_metrics_add(fo_metrics *m, fo_metric_series s, uint64_t n)
{
    atomic_fetch_add_explicit(&shard_of(m)[s], n, memory_order_relaxed);
}

void fo_metrics_observe(fo_metrics *m, const fo_metric_family *h, fo_metric_series s, uint64_t value)
{
    size_t b = 0;
    while (b < h->n_bounds && value > h->bounds[b])
        b++;
    _Atomic uint64_t *shard = shard_of(m);
    atomic_fetch_add_explicit(&shard[s + b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&shard[s + h->n_bounds + 1], value, memory_order_relaxed);
}

/* --- the exposition --------------------------------------------------------- */

static void out_reserve(fo_metrics_out *o, size_t more)
{
    if (o->len + more + 1 <= o->cap)
        return;
    while (o->len + more + 1 > o->cap)
        o->cap = o->cap ? o->cap * 2 : 4096;
    o->buf = fo_xrealloc(o->buf, o->cap);
}

static void out_text(fo_metrics_out *o, const char *s, size_t n)
{
    out_reserve(o, n);
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void out_str(fo_metrics_out *o, const char *s) { out_text(o, s, strlen(s)); }

/* HELP text escapes \ and newline; a label value " as well. */
static void out_escaped(fo_metrics_out *o, const char *s, bool quotes)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            out_str(o, "\\\\");
        else if (*s == '\n')
            out_str(o, "\\n");
        else if (*s == '"' && quotes)
            out_str(o, "\\\"");
        else
            out_text(o, s, 1);
    }
}

static void out_value(fo_metrics_out *o, double v)
{
    char num[40];
    if (isnan(v))
        snprintf(num, sizeof num, "NaN");
    else if (isinf(v))
        snprintf(num, sizeof num, v > 0 ? "+Inf" : "-Inf");
    else if (fabs(v) < 9e15 && v == (double)(int64_t)v)
        snprintf(num, sizeof num, "%lld", (long long)v);
    else
        snprintf(num, sizeof num, "%.15g", v);
    out_str(o, num);
}

void fo_metrics_out_family(fo_metrics_out *out, const char *name, const char *help, const char *type)
{
    out_str(out, "# HELP ");
    out_str(out, name);
    out_str(out, " ");
    out_escaped(out, help, false);
    out_str(out, "\n# TYPE ");
    out_str(out, name);
    out_str(out, " ");
    out_str(out, type);
    out_str(out, "\n");
}

/* name{a="x",b="y",extra="v"} value; extra_name NULL: no extra label. */
static void out_sample_with(fo_metrics_out *o, const char *name, const char *suffix, const char *const *names,
                            const char *const *values, const char *extra_name, const char *extra_value, double v)
{
    out_str(o, name);
    out_str(o, suffix);
    size_t n = 0;
    while (names != NULL && names[n] != NULL)
        n++;
    if (n > 0 || extra_name != NULL) {
        out_str(o, "{");
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                out_str(o, ",");
            out_str(o, names[i]);
            out_str(o, "=\"");
            out_escaped(o, values[i], true);
            out_str(o, "\"");
        }
        if (extra_name != NULL) {
            out_str(o, n > 0 ? "," : "");
            out_str(o, extra_name);
            out_str(o, "=\"");
            out_str(o, extra_value);
            out_str(o, "\"");
        }
        out_str(o, "}");
    }
    out_str(o, " ");
    out_value(o, v);
    out_str(o, "\n");
}

void fo_metrics_out_sample(fo_metrics_out *out, const char *name, const char *const *label_names,
                           const char *const *label_values, double value)
{
    out_sample_with(out, name, "", label_names, label_values, NULL, NULL, value);
}

static uint64_t sum_slot(const fo_metrics *m, size_t slot)
{
    uint64_t total = 0;
    for (unsigned sh = 0; sh < m->n_shards; sh++)
        total += atomic_load_explicit(&m->values[(size_t)sh * m->stride + slot], memory_order_relaxed);
    return total;
}

static void render_histogram_series(fo_metrics_out *o, const fo_metrics *m, const fo_metric_family *f, const series *s,
                                    const char *const *values)
{
    uint64_t cumulative = 0;
    char le[40];
    for (size_t b = 0; b <= f->n_bounds; b++) {
        cumulative += sum_slot(m, s->first_slot + b);
        if (b < f->n_bounds)
            snprintf(le, sizeof le, "%.15g", (double)f->bounds[b] * f->scale);
        else
            snprintf(le, sizeof le, "+Inf");
        out_sample_with(o, f->name, "_bucket", f->label_names, values, "le", le, (double)cumulative);
    }
    double sum = (double)sum_slot(m, s->first_slot + f->n_bounds + 1) * f->scale;
    out_sample_with(o, f->name, "_sum", f->label_names, values, NULL, NULL, sum);
    out_sample_with(o, f->name, "_count", f->label_names, values, NULL, NULL, (double)cumulative);
}

static void render_family(fo_metrics_out *o, const fo_metrics *m, const fo_metric_family *f)
{
    fo_metrics_out_family(o, f->name, f->help, f->type == FAMILY_HISTOGRAM ? "histogram" : "counter");
    for (size_t i = 0; i < f->n_series; i++) {
        const series *s = &f->series[i];
        const char *const *values =
            (const char *const *)atomic_load_explicit((_Atomic(char **) *)&s->label_values, memory_order_acquire);
        if (values == NULL)
            continue; /* reserved, not named yet */
        if (f->type == FAMILY_HISTOGRAM)
            render_histogram_series(o, m, f, s, values);
        else
            fo_metrics_out_sample(o, f->name, f->label_names, values, (double)sum_slot(m, s->first_slot));
    }
}

char *fo_metrics_render(fo_metrics *m, size_t *len)
{
    fo_metrics_out o = {0};
    out_reserve(&o, 0);
    o.buf[0] = '\0';
    for (size_t i = 0; i < m->n_families; i++)
        render_family(&o, m, m->families[i]);
    for (size_t i = 0; i < m->n_collectors; i++)
        m->collectors[i].fn(&o, m->collectors[i].ctx);
    *len = o.len;
    return o.buf;
}
