/* cli_args: fanout-cli's flags, with getopt_long like the other programs. */
#include "cli_args.h"
#include "fo_alloc.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fo_parse.h"

#define DEFAULT_TIMEOUT_US (10 * INT64_C(1000000))

/* getopt_long's value for each flag; past any character, so that none is mistaken for a short flag. */
typedef enum flag_id {
    F_HELP = 256,
    F_ADDR,
    F_TIMEOUT,
    F_TLS_CA,
    F_TLS_CERT,
    F_TLS_KEY,
    F_METADATA,
    F_CUSTOMER,
    F_FEATURES,
    F_FAIL_FAST,
    F_STREAM,
    F_WINDOW_START,
    F_WINDOW_END,
    F_FORMAT,
    F_SERVICE,
    F_TOKEN,
} flag_id;
#define FLAG_COUNT (F_TOKEN - F_HELP + 1)

#define FOR_QUERY (1u << CLI_QUERY)
#define FOR_HEALTH (1u << CLI_HEALTH)
#define FOR_ALL (FOR_QUERY | FOR_HEALTH)

static const struct option longopts[] = {
    {"help", no_argument, NULL, F_HELP},
    {"addr", required_argument, NULL, F_ADDR},
    {"timeout", required_argument, NULL, F_TIMEOUT},
    {"tls-ca", required_argument, NULL, F_TLS_CA},
    {"tls-cert", required_argument, NULL, F_TLS_CERT},
    {"tls-key", required_argument, NULL, F_TLS_KEY},
    {"metadata", required_argument, NULL, F_METADATA},
    {"customer", required_argument, NULL, F_CUSTOMER},
    {"features", required_argument, NULL, F_FEATURES},
    {"fail-fast", no_argument, NULL, F_FAIL_FAST},
    {"stream", no_argument, NULL, F_STREAM},
    {"window-start", required_argument, NULL, F_WINDOW_START},
    {"window-end", required_argument, NULL, F_WINDOW_END},
    {"format", required_argument, NULL, F_FORMAT},
    {"service", required_argument, NULL, F_SERVICE},
    {"token", required_argument, NULL, F_TOKEN},
    {NULL, 0, NULL, 0},
};

/* The commands (FOR_* bits) each flag applies to, by flag_id - F_HELP. */
static const unsigned flag_commands[FLAG_COUNT] = {
    [F_HELP - F_HELP] = FOR_ALL,         [F_ADDR - F_HELP] = FOR_ALL,       [F_TIMEOUT - F_HELP] = FOR_ALL,
    [F_TLS_CA - F_HELP] = FOR_ALL,       [F_TLS_CERT - F_HELP] = FOR_ALL,   [F_TLS_KEY - F_HELP] = FOR_ALL,
    [F_METADATA - F_HELP] = FOR_ALL,     [F_CUSTOMER - F_HELP] = FOR_QUERY, [F_FEATURES - F_HELP] = FOR_QUERY,
    [F_FAIL_FAST - F_HELP] = FOR_QUERY,  [F_STREAM - F_HELP] = FOR_QUERY,   [F_WINDOW_START - F_HELP] = FOR_QUERY,
    [F_WINDOW_END - F_HELP] = FOR_QUERY, [F_FORMAT - F_HELP] = FOR_QUERY,   [F_SERVICE - F_HELP] = FOR_HEALTH,
    [F_TOKEN - F_HELP] = FOR_ALL,
};

static const char *const command_names[] = {[CLI_QUERY] = "query", [CLI_HEALTH] = "health"};

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fanout-cli: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\nRun 'fanout-cli --help' for usage.\n", stderr);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

bool cli_args_command(const char *word, cli_command *out)
{
    for (size_t i = 0; i < sizeof command_names / sizeof command_names[0]; i++) {
        if (strcmp(word, command_names[i]) == 0) {
            *out = (cli_command)i;
            return true;
        }
    }
    return false;
}

/* --- values ------------------------------------------------------------------ */

static bool parse_unix_seconds(const char *flag, const char *value, int64_t *out)
{
    if (fo_parse_int(value, 0, INT64_MAX, out) != FO_PARSE_OK) {
        cli_usage_error("%s: \"%s\" is not Unix seconds (a whole number, 0 or more)", flag, value);
        return false;
    }
    return true;
}

/* Splits a copy of "a,b,c" in place; an empty name is an error. */
static bool parse_features(cli_opts *o, const char *value)
{
    free(o->features_text);
    free(o->features);
    o->features_text = fo_xstrdup(value);
    size_t n = 1;
    for (const char *c = value; *c != '\0'; c++)
        n += *c == ',';
    o->features = fo_xcalloc(n, sizeof *o->features);
    o->nfeatures = 0;
    char *name = o->features_text;
    for (;;) {
        char *comma = strchr(name, ',');
        if (comma != NULL)
            *comma = '\0';
        if (*name == '\0') {
            cli_usage_error("--features: \"%s\" has an empty feature name", value);
            return false;
        }
        o->features[o->nfeatures++] = name;
        if (comma == NULL)
            return true;
        name = comma + 1;
    }
}

/* gRPC metadata keys are lower-case HTTP/2 header names; capitals are folded like other gRPC clients do. */
static bool parse_metadata(cli_opts *o, const char *value)
{
    const char *eq = strchr(value, '=');
    if (eq == NULL || eq == value) {
        cli_usage_error("--metadata: \"%s\" is not KEY=VALUE", value);
        return false;
    }
    size_t klen = (size_t)(eq - value);
    char *key = fo_xmalloc(klen + 1);
    for (size_t i = 0; i < klen; i++) {
        char c = value[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
            free(key);
            cli_usage_error("--metadata: key \"%.*s\" may hold only letters, digits, '-', '_' and '.'", (int)klen,
                            value);
            return false;
        }
        key[i] = c;
    }
    key[klen] = '\0';
    o->md = fo_xrealloc(o->md, (o->nmd + 1) * sizeof *o->md);
    o->md[o->nmd++] = (fo_md){.key = key, .value = eq + 1, .value_len = strlen(eq + 1)};
    return true;
}

/* The token (--token, else FANOUT_TOKEN) as "authorization: Bearer <token>". */
static void add_bearer(cli_opts *o, const char *token)
{
    if (token == NULL || token[0] == '\0')
        return;
    size_t n = strlen("Bearer ") + strlen(token) + 1;
    o->bearer = fo_xmalloc(n);
    snprintf(o->bearer, n, "Bearer %s", token);
    o->md = fo_xrealloc(o->md, (o->nmd + 1) * sizeof *o->md);
    o->md[o->nmd++] = (fo_md){.key = fo_xstrdup("authorization"), .value = o->bearer, .value_len = n - 1};
}

static bool parse_timeout(cli_opts *o, const char *value)
{
    if (fo_parse_duration_us(value, &o->timeout_us) != FO_PARSE_OK || o->timeout_us == 0) {
        cli_usage_error("--timeout: \"%s\" is not a positive duration (e.g. 500ms, 2s, 1m)", value);
        return false;
    }
    return true;
}

static bool parse_format(cli_opts *o, const char *value)
{
    if (strcmp(value, "json") == 0) {
        o->format = CLI_FORMAT_JSON;
    } else if (strcmp(value, "summary") == 0) {
        o->format = CLI_FORMAT_SUMMARY;
    } else {
        cli_usage_error("--format: \"%s\" is neither json nor summary", value);
        return false;
    }
    return true;
}

static bool apply_flag(cli_opts *o, flag_id id, const char *value)
{
    switch (id) {
    case F_HELP:
        o->help = true;
        return true;
    case F_ADDR:
        o->addr = value;
        return true;
    case F_TIMEOUT:
        return parse_timeout(o, value);
    case F_TLS_CA:
        o->channel.tls_ca = value;
        return true;
    case F_TLS_CERT:
        o->channel.tls_cert = value;
        return true;
    case F_TLS_KEY:
        o->channel.tls_key = value;
        return true;
    case F_METADATA:
        return parse_metadata(o, value);
    case F_TOKEN:
        o->token = value;
        return true;
    case F_CUSTOMER:
        o->customer = value;
        return true;
    case F_FEATURES:
        return parse_features(o, value);
    case F_FAIL_FAST:
        o->fail_fast = true;
        return true;
    case F_STREAM:
        o->stream = true;
        return true;
    case F_WINDOW_START:
        return parse_unix_seconds("--window-start", value, &o->window_start);
    case F_WINDOW_END:
        return parse_unix_seconds("--window-end", value, &o->window_end);
    case F_FORMAT:
        return parse_format(o, value);
    case F_SERVICE:
        o->service = value;
        return true;
    }
    abort();
}

/* --- the whole line ---------------------------------------------------------- */

/* The flag getopt_long has just reported as a mistake, as typed ("--addr=x" shown as "--addr"). */
static const char *flag_as_typed(char **argv, char *buf, size_t cap)
{
    const char *arg = argv[optind - 1];
    size_t len = strcspn(arg, "=");
    snprintf(buf, cap, "%.*s", (int)len, arg);
    return buf;
}

/* One flag from getopt_long; marks it in seen. */
static bool parse_one(cli_opts *o, int ch, char **argv, bool *seen)
{
    char typed[64];
    if (ch == ':') {
        cli_usage_error("%s needs a value", flag_as_typed(argv, typed, sizeof typed));
        return false;
    }
    if (ch == '?') {
        /* optopt names a known long flag given a value it does not take; 0 an unknown one. */
        if (optopt >= F_HELP)
            cli_usage_error("%s takes no value", flag_as_typed(argv, typed, sizeof typed));
        else if (optopt != 0)
            cli_usage_error("unknown flag -%c", optopt);
        else
            cli_usage_error("unknown flag %s", flag_as_typed(argv, typed, sizeof typed));
        return false;
    }
    flag_id id = ch == 'h' ? F_HELP : (flag_id)ch;
    if ((flag_commands[id - F_HELP] & (1u << o->command)) == 0) {
        /* longopts lists the flags in flag_id order. */
        cli_usage_error("--%s does not apply to %s", longopts[id - F_HELP].name, command_names[o->command]);
        return false;
    }
    seen[id - F_HELP] = true;
    return apply_flag(o, id, optarg);
}

/* A TLS file flag names a readable file; checked here so that the error names the flag. */
static bool check_readable(const char *flag, const char *path)
{
    if (path == NULL || access(path, R_OK) == 0)
        return true;
    cli_usage_error("%s: cannot read \"%s\": %s", flag, path, strerror(errno));
    return false;
}

/* What no single flag can check: required flags and flags that go together. */
static bool check_opts(const cli_opts *o, const bool *seen)
{
    if (o->addr == NULL || o->addr[0] == '\0') {
        cli_usage_error("--addr HOST:PORT is required");
        return false;
    }
    if (o->command == CLI_QUERY && (o->customer == NULL || o->customer[0] == '\0')) {
        cli_usage_error("--customer ID is required");
        return false;
    }
    if (seen[F_WINDOW_START - F_HELP] != seen[F_WINDOW_END - F_HELP]) {
        cli_usage_error("--window-start and --window-end go together");
        return false;
    }
    if (seen[F_TLS_CERT - F_HELP] != seen[F_TLS_KEY - F_HELP]) {
        cli_usage_error("--tls-cert and --tls-key go together");
        return false;
    }
    if (seen[F_TLS_CERT - F_HELP] && !seen[F_TLS_CA - F_HELP]) {
        cli_usage_error("--tls-cert needs --tls-ca");
        return false;
    }
    return check_readable("--tls-ca", o->channel.tls_ca) && check_readable("--tls-cert", o->channel.tls_cert) &&
           check_readable("--tls-key", o->channel.tls_key);
}

bool cli_args_parse(cli_command command, int argc, char **argv, cli_opts *out)
{
    memset(out, 0, sizeof *out);
    out->command = command;
    out->timeout_us = DEFAULT_TIMEOUT_US;
    out->format = CLI_FORMAT_JSON;
    bool seen[FLAG_COUNT] = {false};
    /* getopt_long's own messages would name the command as the program: ours name fanout-cli. */
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (!parse_one(out, ch, argv, seen))
            return false;
    }
    if (optind < argc) {
        cli_usage_error("unexpected argument \"%s\"", argv[optind]);
        return false;
    }
    add_bearer(out, out->token != NULL ? out->token : getenv("FANOUT_TOKEN"));
    return out->help || check_opts(out, seen);
}

void cli_args_free(cli_opts *o)
{
    for (size_t i = 0; i < o->nmd; i++)
        free((char *)o->md[i].key);
    free(o->md);
    free(o->bearer);
    free(o->features_text);
    free(o->features);
}
