/* cli_args: fanout-cli's flags, table-driven. */
#include "cli_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fo_time.h"

#define DEFAULT_TIMEOUT_US (10 * INT64_C(1000000))

typedef enum flag_id {
    F_HELP,
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
} flag_id;
#define FLAG_COUNT (F_SERVICE + 1)

#define FOR_QUERY (1u << CLI_QUERY)
#define FOR_HEALTH (1u << CLI_HEALTH)
#define FOR_ALL (FOR_QUERY | FOR_HEALTH)

static const struct flag {
    const char *name;
    flag_id id;
    bool takes_value;
    unsigned commands; /* FOR_* bits */
} flags[] = {
    {"--help", F_HELP, false, FOR_ALL},
    {"-h", F_HELP, false, FOR_ALL},
    {"--addr", F_ADDR, true, FOR_ALL},
    {"--timeout", F_TIMEOUT, true, FOR_ALL},
    {"--tls-ca", F_TLS_CA, true, FOR_ALL},
    {"--tls-cert", F_TLS_CERT, true, FOR_ALL},
    {"--tls-key", F_TLS_KEY, true, FOR_ALL},
    {"--metadata", F_METADATA, true, FOR_ALL},
    {"--customer", F_CUSTOMER, true, FOR_QUERY},
    {"--features", F_FEATURES, true, FOR_QUERY},
    {"--fail-fast", F_FAIL_FAST, false, FOR_QUERY},
    {"--stream", F_STREAM, false, FOR_QUERY},
    {"--window-start", F_WINDOW_START, true, FOR_QUERY},
    {"--window-end", F_WINDOW_END, true, FOR_QUERY},
    {"--format", F_FORMAT, true, FOR_QUERY},
    {"--service", F_SERVICE, true, FOR_HEALTH},
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
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno == ERANGE) {
        cli_usage_error("%s: \"%s\" is not Unix seconds (a whole number, 0 or more)", flag, value);
        return false;
    }
    *out = v;
    return true;
}

/* Splits a copy of "a,b,c" in place; an empty name is an error. */
static bool parse_features(cli_opts *o, const char *value)
{
    free(o->features_text);
    free(o->features);
    o->features_text = strdup(value);
    size_t n = 1;
    for (const char *c = value; *c != '\0'; c++)
        n += *c == ',';
    o->features = calloc(n, sizeof *o->features);
    if (o->features_text == NULL || o->features == NULL)
        abort();
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
    char *key = malloc(klen + 1);
    if (key == NULL)
        abort();
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
    o->md = realloc(o->md, (o->nmd + 1) * sizeof *o->md);
    if (o->md == NULL)
        abort();
    o->md[o->nmd++] = (fo_md){.key = key, .value = eq + 1, .value_len = strlen(eq + 1)};
    return true;
}

static bool parse_timeout(cli_opts *o, const char *value)
{
    if (!fo_duration_parse_us(value, &o->timeout_us) || o->timeout_us == 0) {
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

static bool apply_flag(cli_opts *o, const struct flag *f, const char *value)
{
    switch (f->id) {
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
        return parse_unix_seconds(f->name, value, &o->window_start);
    case F_WINDOW_END:
        return parse_unix_seconds(f->name, value, &o->window_end);
    case F_FORMAT:
        return parse_format(o, value);
    case F_SERVICE:
        o->service = value;
        return true;
    }
    abort();
}

/* --- the whole line ---------------------------------------------------------- */

static const struct flag *find_flag(const char *arg, size_t len)
{
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (strlen(flags[i].name) == len && strncmp(flags[i].name, arg, len) == 0)
            return &flags[i];
    }
    return NULL;
}

/* One flag at argv[*i], with its value as "--flag value" or "--flag=value"; marks it in seen. */
static bool parse_one(cli_opts *o, int argc, char **argv, int *i, bool *seen)
{
    const char *arg = argv[*i];
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    const struct flag *f = find_flag(arg, len);
    if (f == NULL) {
        cli_usage_error(arg[0] == '-' ? "unknown flag %s" : "unexpected argument \"%s\"", arg);
        return false;
    }
    if ((f->commands & (1u << o->command)) == 0) {
        cli_usage_error("%s does not apply to %s", f->name, command_names[o->command]);
        return false;
    }
    const char *value = NULL;
    if (f->takes_value && eq != NULL) {
        value = eq + 1;
    } else if (f->takes_value) {
        if (*i + 1 >= argc) {
            cli_usage_error("%s needs a value", f->name);
            return false;
        }
        value = argv[++*i];
    } else if (eq != NULL) {
        cli_usage_error("%s takes no value", f->name);
        return false;
    }
    seen[f->id] = true;
    return apply_flag(o, f, value);
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
    if (seen[F_WINDOW_START] != seen[F_WINDOW_END]) {
        cli_usage_error("--window-start and --window-end go together");
        return false;
    }
    if (seen[F_TLS_CERT] != seen[F_TLS_KEY]) {
        cli_usage_error("--tls-cert and --tls-key go together");
        return false;
    }
    if (seen[F_TLS_CERT] && !seen[F_TLS_CA]) {
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
    for (int i = 0; i < argc; i++) {
        if (!parse_one(out, argc, argv, &i, seen))
            return false;
    }
    return out->help || check_opts(out, seen);
}

void cli_args_free(cli_opts *o)
{
    for (size_t i = 0; i < o->nmd; i++)
        free((char *)o->md[i].key);
    free(o->md);
    free(o->features_text);
    free(o->features);
}
