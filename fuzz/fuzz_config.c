/*
 * fuzz_config: agg_config_load on any bytes. The input is the config file up to its first NUL
 * byte; what follows the NUL is the environment, NUL-separated NAME=VALUE entries (so the
 * FANOUT_* overrides are fuzzed too, and JSON seeds stay plain text). Errors are expected; a
 * crash, a leak, a sanitizer report or a broken promise of agg_config.h is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg_config.h"
#include "fuzz_memfile.h"
#include "fuzz_target.h"

#define MAX_ENV 32

static fuzz_memfile file;
/* This input's environment: NUL-terminated entries inside env_block. */
static char *env_block;
static const char *env[MAX_ENV];
static size_t n_env;

static const char *fake_getenv(const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n_env; i++) {
        if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
            return env[i] + len + 1;
    }
    return NULL;
}

/* Splits bytes[0..len) into NUL-terminated entries; the block is kept until the next input. */
static void set_env(const uint8_t *bytes, size_t len)
{
    free(env_block);
    env_block = malloc(len + 1);
    if (env_block == NULL)
        abort();
    memcpy(env_block, bytes, len);
    env_block[len] = '\0';
    n_env = 0;
    for (char *p = env_block; p < env_block + len && n_env < MAX_ENV; p += strlen(p) + 1)
        env[n_env++] = p;
}

/* What agg_config.h promises of a loaded config; abort() makes a broken promise a finding. */
static void check_config(const agg_config *c)
{
    if (c->listen == NULL || c->workers < 1 || c->workers > 64 || c->n_features < 1 ||
        c->max_features_per_request < 1 || c->max_in_flight < 1 || c->shutdown_grace_ms < 0)
        abort();
    for (size_t i = 0; i < c->n_features; i++) {
        const agg_feature_config *f = &c->features[i];
        if (f->name == NULL || f->target == NULL || f->timeout_ms < 1 ||
            agg_config_feature_index(c, f->name, strlen(f->name)) != (int)i)
            abort();
        if (f->tls.enabled && f->tls.ca == NULL)
            abort();
        if ((f->tls.cert == NULL) != (f->tls.key == NULL))
            abort();
    }
    if (c->tls.enabled && (c->tls.cert == NULL || c->tls.key == NULL))
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_memfile_open(&file);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t file_len = nul != NULL ? (size_t)(nul - data) : size;
    fuzz_memfile_set(&file, data, file_len);
    set_env(nul != NULL ? nul + 1 : data + size, nul != NULL ? size - file_len - 1 : 0);

    agg_config c;
    fo_error *err = agg_config_load(file.path, fake_getenv, &c);
    if (err != NULL) {
        /* Every error names the file first, and leaves the config empty. */
        if (err->code != FO_STATUS_INVALID_ARGUMENT || strncmp(err->message, file.path, strlen(file.path)) != 0 ||
            c.features != NULL || c.listen != NULL)
            abort();
        fo_error_free(err);
    } else {
        check_config(&c);
    }
    agg_config_release(&c);
    return 0;
}
