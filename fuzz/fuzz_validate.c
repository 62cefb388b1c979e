/*
 * fuzz_validate: any bytes as the aggregator receives a request body: unpacked as a
 * fanout.v1.AnalyticsRequest (bytes that do not unpack end there, as on the server), then
 * agg_validate_request against a fixed config of a few features with a small
 * max_features_per_request. Errors are expected; a crash, a leak, a sanitizer report or a broken
 * promise of agg_validate.h is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg_config.h"
#include "agg_validate.h"
#include "fanout/v1/aggregator.pb-c.h"
#include "fuzz_memfile.h"
#include "fuzz_target.h"

static const char config_json[] = "{\"max_features_per_request\": 8, \"default_policy\": \"FAIL_FAST\", \"features\": ["
                                  "{\"name\": \"listings\", \"target\": \"127.0.0.1:1\"},"
                                  "{\"name\": \"tours\", \"target\": \"127.0.0.1:2\"},"
                                  "{\"name\": \"offers\", \"target\": \"127.0.0.1:3\"},"
                                  "{\"name\": \"leads\", \"target\": \"127.0.0.1:4\"}]}";

static agg_config cfg;

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_memfile file;
    fuzz_memfile_open(&file);
    fuzz_memfile_set(&file, config_json, sizeof config_json - 1);
    fo_error *err = agg_config_load(file.path, no_env, &cfg);
    if (err != NULL)
        abort(); /* the fixed config is valid: a harness bug */
    return 0;
}

/* What agg_validate.h promises of a plan. */
static void check_plan(const Fanout__V1__AnalyticsRequest *req, const agg_plan *p)
{
    size_t want = req->n_features > 0 ? req->n_features : cfg.n_features;
    if (p->n_features != want || p->policy == FANOUT__V1__FAILURE_POLICY__FAILURE_POLICY_UNSPECIFIED)
        abort();
    for (size_t i = 0; i < p->n_features; i++) {
        const agg_plan_feature *f = &p->features[i];
        if (f->config_index < -1 || f->config_index >= (int)cfg.n_features)
            abort();
        if (f->config_index >= 0 && strcmp(cfg.features[f->config_index].name, f->name) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Fanout__V1__AnalyticsRequest *req = fanout__v1__analytics_request__unpack(NULL, size, data);
    if (req == NULL)
        return 0;
    agg_plan plan;
    fo_error *err = agg_validate_request(req, &cfg, &plan);
    if (err != NULL) {
        if (err->code != FO_STATUS_INVALID_ARGUMENT || plan.features != NULL || plan.n_features != 0)
            abort();
        fo_error_free(err);
    } else {
        check_plan(req, &plan);
    }
    agg_plan_release(&plan);
    fanout__v1__analytics_request__free_unpacked(req, NULL);
    return 0;
}
