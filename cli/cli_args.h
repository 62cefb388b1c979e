/*
 * cli_args: fanout-cli's command line, parsed and checked. Every mistake is
 * a usage error (exit status 2) whose message names the flag and the value.
 */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_rpc.h"

/* Exit statuses of fanout-cli. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILED = 1, /* the call failed, or health is not SERVING */
    CLI_EXIT_USAGE = 2,
};

typedef enum cli_command {
    CLI_QUERY,
    CLI_HEALTH,
} cli_command;

typedef enum cli_format {
    CLI_FORMAT_JSON,
    CLI_FORMAT_SUMMARY,
} cli_format;

typedef struct cli_opts {
    cli_command command;
    bool help;
    /* every command */
    const char *addr;
    int64_t timeout_us;
    fo_channel_opts channel; /* TLS files */
    fo_md *md;               /* keys lower-cased copies, values in argv */
    size_t nmd;
    const char *token; /* --token, in argv */
    char *bearer;      /* "Bearer <token>", the value of md's authorization entry */
    /* query */
    const char *customer;
    char *features_text; /* a copy of --features, split in place */
    char **features;
    size_t nfeatures;
    bool fail_fast;
    bool stream;
    int64_t window_start;
    int64_t window_end;
    cli_format format;
    /* health */
    const char *service;
} cli_opts;

/* The command word ("query", "health"); false for anything else. */
bool cli_args_command(const char *word, cli_command *out);

/*
 * Parses the flags after the command word into *out (which the caller frees
 * with cli_args_free either way). argv[0] is the command word itself, where
 * getopt_long expects a program name. On a usage error prints it to stderr and
 * returns false. With --help, returns true without checking required flags.
 */
bool cli_args_parse(cli_command command, int argc, char **argv, cli_opts *out);
void cli_args_free(cli_opts *o);

/* Prints "fanout-cli: <what>" and the pointer to --help to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
