/* bench_target: channels, packed requests and reply checks (see bench_target.h). */
#include "bench_target.h"
#include "fo_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanout/feature/v1/feature.pb-c.h"
#include "fanout/v1/aggregator.pb-c.h"

#define AGGREGATE_PATH "/fanout.v1.Aggregator/GetCustomerAnalytics"
#define DIRECT_PATH "/fanout.feature.v1.FeatureService/GetUsage"
/* Large enough for any reply; the + i per channel is what tells channels apart. */
#define BASE_MAX_MESSAGE_BYTES ((size_t)64 << 20)

static fo_error *open_channels(const bench_opts *o, bench_target *t)
{
    t->nchannels = (size_t)o->connections;
    t->channels = fo_xcalloc(t->nchannels, sizeof *t->channels);
    t->methods = fo_xcalloc(t->nchannels, sizeof *t->methods);
    const char *path = o->mode == BENCH_MODE_AGGREGATE ? AGGREGATE_PATH : DIRECT_PATH;
    for (size_t i = 0; i < t->nchannels; i++) {
        fo_channel_opts copts = {.max_message_bytes = BASE_MAX_MESSAGE_BYTES + i};
        fo_error *err = fo_channel_create(o->target, &copts, &t->channels[i]);
        if (err != NULL)
            return err;
        t->methods[i] = fo_channel_method(t->channels[i], path);
    }
    return NULL;
}

static fo_payload *pack_request(const bench_opts *o, char *customer_id)
{
    if (o->mode == BENCH_MODE_DIRECT) {
        Fanout__Feature__V1__UsageRequest ur = FANOUT__FEATURE__V1__USAGE_REQUEST__INIT;
        ur.customer_id = customer_id;
        return fo_payload_pack(&ur.base);
    }
    Fanout__V1__AnalyticsRequest ar = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    ar.customer_id = customer_id;
    ar.features = o->features;
    ar.n_features = o->nfeatures;
    return fo_payload_pack(&ar.base);
}

fo_error *bench_target_open(const bench_opts *o, bench_target *t)
{
    memset(t, 0, sizeof *t);
    t->mode = o->mode;
    fo_error *err = open_channels(o, t);
    if (err != NULL)
        return err;
    t->nrequests = (size_t)o->customers;
    t->requests = fo_xcalloc(t->nrequests, sizeof *t->requests);
    for (size_t i = 0; i < t->nrequests; i++) {
        char id[32];
        snprintf(id, sizeof id, "c-%zu", i);
        t->requests[i] = pack_request(o, id);
    }
    return NULL;
}

void bench_target_close(bench_target *t)
{
    for (size_t i = 0; i < t->nchannels; i++)
        fo_channel_destroy(t->channels[i]);
    for (size_t i = 0; i < t->nrequests; i++)
        fo_payload_free(t->requests[i]);
    free(t->channels);
    free(t->methods);
    free(t->requests);
    memset(t, 0, sizeof *t);
}

void bench_target_check(const bench_target *t, const fo_client_call *cc, bench_reply *out)
{
    *out = (bench_reply){.status = fo_client_call_status(cc)};
    if (t->mode == BENCH_MODE_DIRECT) {
        out->feature_calls = 1;
        return;
    }
    if (out->status != FO_STATUS_OK)
        return;
    Fanout__V1__AnalyticsResponse *resp =
        (Fanout__V1__AnalyticsResponse *)fo_client_call_unpack(cc, &fanout__v1__analytics_response__descriptor);
    if (resp == NULL) {
        /* Status OK with no parsable reply: the aggregator broke its contract. */
        out->status = FO_STATUS_DATA_LOSS;
        return;
    }
    out->feature_calls = (uint32_t)resp->n_results;
    out->failed_features = (uint32_t)resp->failed;
    fanout__v1__analytics_response__free_unpacked(resp, NULL);
}
