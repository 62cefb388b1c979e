/* bench_opts: fanout-bench's command line (see bench_opts.h). */
#include "bench_opts.h"
#include "fo_alloc.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fo_parse.h"

/* Ceilings that keep a mistyped figure from exhausting the machine. */
#define MAX_CONCURRENCY 100000
#define MAX_CONNECTIONS 1024
#define MAX_CUSTOMERS 10000000

static void usage(FILE *to)
{
    fprintf(to, "usage: fanout-bench --target ADDR [--mode aggregate|direct] [-c N] [--connections K]\n"
                "                    [--warmup DUR] [--warmup-requests N] [--duration DUR] [--requests N]\n"
                "                    [--timeout DUR] [--customers N] [--seed N] [--features a,b,...]\n"
                "                    [--metadata KEY=VALUE]... [--pid NAME=PID[,PID...]]... [--label TEXT]\n"
                "                    [--token JWT]\n"
                "                    [--format both|json|table]\n"
                "A closed loop: N calls in flight, each answered call replaced by a new one. The warm-up\n"
                "ends after DUR or N calls, whichever comes first; so does the measured window.\n");
}

static int bad(const char *opt, const char *value, const char *expected)
{
    fprintf(stderr, "fanout-bench: %s: expected %s, got \"%s\"\n", opt, expected, value);
    return 2;
}

static int parse_long(const char *opt, const char *text, long min, long max, long *out)
{
    int64_t v;
    if (fo_parse_int(text, min, max, &v) != FO_PARSE_OK) {
        char expected[64];
        snprintf(expected, sizeof expected, "an integer from %ld to %ld", min, max);
        return bad(opt, text, expected);
    }
    *out = (long)v;
    return 0;
}

static int parse_count(const char *opt, const char *text, uint64_t *out)
{
    if (fo_parse_uint(text, UINT64_MAX, out) != FO_PARSE_OK)
        return bad(opt, text, "a count");
    return 0;
}

static int parse_duration(const char *opt, const char *text, int64_t *out_us)
{
    if (fo_parse_duration_us(text, out_us) != FO_PARSE_OK)
        return bad(opt, text, "a duration such as 500ms or 10s");
    return 0;
}

/* Splits "a,b,c" into a fresh array of fresh strings. */
static int parse_features(const char *text, bench_opts *o)
{
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    o->features = fo_xcalloc(cap, sizeof *o->features);
    for (const char *p = text;;) {
        size_t len = strcspn(p, ",");
        if (len == 0)
            return bad("--features", text, "comma-separated feature names");
        o->features[o->nfeatures++] = fo_xstrndup(p, len);
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

static int add_metadata(char *text, bench_opts *o)
{
    char *eq = strchr(text, '=');
    if (eq == NULL || eq == text)
        return bad("--metadata", text, "KEY=VALUE");
    o->md = fo_xrealloc(o->md, (o->nmd + 1) * sizeof *o->md);
    *eq = '\0';
    o->md[o->nmd++] = (fo_md){.key = text, .value = eq + 1, .value_len = strlen(eq + 1)};
    return 0;
}

/* "authorization: Bearer JWT", as a client of an aggregator with auth sends it. */
static int add_token(const char *token, bench_opts *o)
{
    size_t n = strlen("Bearer ") + strlen(token) + 1;
    free(o->bearer);
    o->bearer = fo_xmalloc(n);
    snprintf(o->bearer, n, "Bearer %s", token);
    o->md = fo_xrealloc(o->md, (o->nmd + 1) * sizeof *o->md);
    o->md[o->nmd++] = (fo_md){.key = "authorization", .value = o->bearer, .value_len = n - 1};
    return 0;
}

static int add_group(const char *text, bench_opts *o)
{
    o->groups = fo_xrealloc(o->groups, (o->ngroups + 1) * sizeof *o->groups);
    fo_error *err = bench_proc_group_parse(text, &o->groups[o->ngroups]);
    if (err != NULL) {
        fprintf(stderr, "fanout-bench: %s\n", err->message);
        fo_error_free(err);
        return 2;
    }
    o->ngroups++;
    return 0;
}

static int parse_mode(const char *text, bench_opts *o)
{
    if (strcmp(text, "aggregate") == 0)
        o->mode = BENCH_MODE_AGGREGATE;
    else if (strcmp(text, "direct") == 0)
        o->mode = BENCH_MODE_DIRECT;
    else
        return bad("--mode", text, "aggregate or direct");
    return 0;
}

static int parse_format(const char *text, bench_opts *o)
{
    if (strcmp(text, "both") == 0)
        o->format = BENCH_FORMAT_BOTH;
    else if (strcmp(text, "json") == 0)
        o->format = BENCH_FORMAT_JSON;
    else if (strcmp(text, "table") == 0)
        o->format = BENCH_FORMAT_TABLE;
    else
        return bad("--format", text, "both, json or table");
    return 0;
}

static int parse_one(int ch, char *arg, bench_opts *o)
{
    long v = 0;
    int rc = 0;
    switch (ch) {
    case 'm':
        return parse_mode(arg, o);
    case 't':
        o->target = arg;
        return 0;
    case 'L':
        o->label = arg;
        return 0;
    case 'c':
        rc = parse_long("-c", arg, 1, MAX_CONCURRENCY, &v);
        o->concurrency = (int)v;
        return rc;
    case 'k':
        rc = parse_long("--connections", arg, 1, MAX_CONNECTIONS, &v);
        o->connections = (int)v;
        return rc;
    case 'u':
        rc = parse_long("--customers", arg, 1, MAX_CUSTOMERS, &v);
        o->customers = (int)v;
        return rc;
    case 's':
        return parse_count("--seed", arg, &o->seed);
    case 'w':
        return parse_duration("--warmup", arg, &o->warmup_us);
    case 'W':
        return parse_count("--warmup-requests", arg, &o->warmup_requests);
    case 'd':
        return parse_duration("--duration", arg, &o->duration_us);
    case 'n':
        return parse_count("--requests", arg, &o->requests);
    case 'T':
        return parse_duration("--timeout", arg, &o->timeout_us);
    case 'f':
        return parse_features(arg, o);
    case 'M':
        return add_metadata(arg, o);
    case 'J':
        return add_token(arg, o);
    case 'p':
        return add_group(arg, o);
    case 'F':
        return parse_format(arg, o);
    case 'h':
        usage(stdout);
        exit(0);
    default:
        usage(stderr);
        return 2;
    }
}

static int check(const bench_opts *o)
{
    if (o->target == NULL) {
        fprintf(stderr, "fanout-bench: --target ADDR is required\n");
        return 2;
    }
    if (o->duration_us <= 0) {
        fprintf(stderr, "fanout-bench: --duration must be more than 0\n");
        return 2;
    }
    if (o->timeout_us <= 0) {
        fprintf(stderr, "fanout-bench: --timeout must be more than 0\n");
        return 2;
    }
    if (o->mode == BENCH_MODE_DIRECT && o->nfeatures > 0) {
        fprintf(stderr, "fanout-bench: --features applies to --mode aggregate only\n");
        return 2;
    }
    return 0;
}

int bench_opts_parse(int argc, char **argv, bench_opts *o)
{
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"target", required_argument, NULL, 't'},
        {"label", required_argument, NULL, 'L'},
        {"concurrency", required_argument, NULL, 'c'},
        {"connections", required_argument, NULL, 'k'},
        {"customers", required_argument, NULL, 'u'},
        {"seed", required_argument, NULL, 's'},
        {"warmup", required_argument, NULL, 'w'},
        {"warmup-requests", required_argument, NULL, 'W'},
        {"duration", required_argument, NULL, 'd'},
        {"requests", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 'T'},
        {"features", required_argument, NULL, 'f'},
        {"metadata", required_argument, NULL, 'M'},
        {"token", required_argument, NULL, 'J'},
        {"pid", required_argument, NULL, 'p'},
        {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (bench_opts){
        .mode = BENCH_MODE_AGGREGATE,
        .concurrency = 1,
        .connections = 1,
        .customers = 1000,
        .seed = 1,
        .warmup_us = 2 * 1000000,
        .duration_us = 10 * 1000000,
        .timeout_us = 10 * 1000000,
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "c:n:h", longopts, NULL)) != -1) {
        int rc = parse_one(ch, optarg, o);
        if (rc != 0)
            return rc;
    }
    if (optind < argc) {
        fprintf(stderr, "fanout-bench: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    return check(o);
}

void bench_opts_release(bench_opts *o)
{
    for (size_t i = 0; i < o->nfeatures; i++)
        free(o->features[i]);
    free(o->features);
    free(o->md);
    free(o->bearer);
    for (size_t i = 0; i < o->ngroups; i++)
        bench_proc_group_release(&o->groups[i]);
    free(o->groups);
}
