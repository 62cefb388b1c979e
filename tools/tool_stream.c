/* tool_stream: StreamCustomerAnalytics read to its end on a private loop. */
#include "tool_stream.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fo_client_stream.h"
#include "fo_loop.h"
#include "fo_rpc.h"
#include "fo_time.h"
#include "tool_rpc.h"

#define STREAM_PATH "/fanout.v1.Aggregator/StreamCustomerAnalytics"
#define FAILED_FEATURE_TRAILER "fanout-failed-feature"

/* One call in progress: where its results go and when it started. */
typedef struct stream_run {
    tool_stream_result *out;
    int64_t started_ns;
    bool done;
} stream_run;

static void append(tool_stream_result *out, Fanout__V1__FeatureResult *res, int64_t arrival_ms)
{
    out->results = realloc(out->results, (out->n + 1) * sizeof *out->results);
    out->arrival_ms = realloc(out->arrival_ms, (out->n + 1) * sizeof *out->arrival_ms);
    if (out->results == NULL || out->arrival_ms == NULL)
        abort();
    out->results[out->n] = res;
    out->arrival_ms[out->n] = arrival_ms;
    out->n++;
}

/* The stream's message lives only during this call, so the result keeps its own copy, unpacked from the bytes. */
static void on_message(fo_client_stream *cs, const ProtobufCMessage *msg, void *ud)
{
    (void)msg;
    stream_run *run = ud;
    size_t len;
    const void *bytes = fo_client_stream_bytes(cs, &len);
    append(run->out, fanout__v1__feature_result__unpack(NULL, len, bytes),
           (fo_now_ns() - run->started_ns) / FO_NS_PER_MS);
}

static void on_done(fo_client_stream *cs, void *ud)
{
    stream_run *run = ud;
    tool_stream_result *out = run->out;
    out->elapsed_ms = (fo_now_ns() - run->started_ns) / FO_NS_PER_MS;
    out->status = fo_client_stream_status(cs);
    out->message = strdup(fo_client_stream_message(cs));
    size_t len = 0;
    const char *failed = fo_client_stream_trailer(cs, FAILED_FEATURE_TRAILER, &len);
    out->failed_feature = tool_rpc_strdup_md(failed, len);
    run->done = true;
}

static void set_error(tool_stream_result *out, fo_error *err)
{
    out->status = err->code;
    out->message = strdup(err->message);
    fo_error_free(err);
}

void tool_stream_analytics(const char *target, const Fanout__V1__AnalyticsRequest *req, int64_t deadline_ms,
                           const char *mock_fault, tool_stream_result *out)
{
    memset(out, 0, sizeof *out);
    fo_channel *ch = NULL;
    fo_error *err = fo_channel_create(target, NULL, &ch);
    if (err != NULL) {
        set_error(out, err);
        return;
    }
    fo_loop *loop = fo_loop_create();
    fo_payload *payload = fo_payload_pack(&req->base);
    fo_md md = {.key = "x-mock-fault", .value = mock_fault, .value_len = mock_fault ? strlen(mock_fault) : 0};
    fo_call_spec spec = {
        .channel = ch,
        .path = STREAM_PATH,
        .loop = loop,
        .deadline_ns = fo_deadline_in_ms(deadline_ms),
        .md = &md,
        .nmd = mock_fault ? 1 : 0,
        .request = payload,
    };
    stream_run run = {.out = out, .started_ns = fo_now_ns()};
    fo_client_stream *cs =
        fo_client_stream_start(&spec, &fanout__v1__feature_result__descriptor, on_message, on_done, &run, &err);
    if (cs != NULL) {
        fo_loop_run(loop, &run.done);
        fo_client_stream_free(cs);
    } else {
        set_error(out, err);
    }
    fo_loop_destroy(loop);
    fo_payload_free(payload);
    fo_channel_destroy(ch);
}

void tool_stream_result_release(tool_stream_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->results[i] != NULL)
            fanout__v1__feature_result__free_unpacked(r->results[i], NULL);
    }
    free(r->results);
    free(r->arrival_ms);
    free(r->message);
    free(r->failed_feature);
    memset(r, 0, sizeof *r);
}
