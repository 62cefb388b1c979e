/* cli_query: the analytics query command, unary or streamed. */
#include "cli_query.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_call.h"
#include "cli_output.h"
#include "fanout/v1/aggregator.pb-c.h"
#include "fo_client_stream.h"
#include "fo_loop.h"
#include "fo_time.h"

#define GET_PATH "/fanout.v1.Aggregator/GetCustomerAnalytics"
#define STREAM_PATH "/fanout.v1.Aggregator/StreamCustomerAnalytics"

/* The request the flags describe; it points into o. */
static Fanout__V1__AnalyticsRequest build_request(const cli_opts *o)
{
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = (char *)o->customer;
    req.n_features = o->nfeatures;
    req.features = o->features;
    req.failure_policy =
        o->fail_fast ? FANOUT__V1__FAILURE_POLICY__FAIL_FAST : FANOUT__V1__FAILURE_POLICY__FAILURE_POLICY_UNSPECIFIED;
    req.window_start_unix = o->window_start;
    req.window_end_unix = o->window_end;
    return req;
}

static int query_unary(const cli_opts *o, fo_channel *ch, const Fanout__V1__AnalyticsRequest *req)
{
    ProtobufCMessage *reply = cli_call_unary(o, ch, GET_PATH, &req->base, &fanout__v1__analytics_response__descriptor);
    if (reply == NULL)
        return CLI_EXIT_FAILED;
    if (o->format == CLI_FORMAT_JSON)
        cli_output_json(reply, true);
    else
        cli_output_summary((const Fanout__V1__AnalyticsResponse *)reply);
    protobuf_c_message_free_unpacked(reply, NULL);
    return CLI_EXIT_OK;
}

/* --- streaming ------------------------------------------------------------- */

typedef struct stream_run {
    const cli_opts *opts;
    cli_table table;
    size_t succeeded;
    size_t failed;
    bool done;
} stream_run;

static void on_result(fo_client_stream *cs, const ProtobufCMessage *msg, void *ud)
{
    stream_run *run = ud;
    const Fanout__V1__FeatureResult *r = (const Fanout__V1__FeatureResult *)msg;
    if (r->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE)
        run->succeeded++;
    else
        run->failed++;
    if (run->opts->format == CLI_FORMAT_JSON) {
        cli_output_json(msg, false);
        return;
    }
    /* The header waits for the first row, so that a call that fails at once prints only its error. */
    if (fo_client_stream_received(cs) == 1)
        cli_output_header(&run->table);
    cli_output_row(&run->table, r);
}

static void on_done(fo_client_stream *cs, void *ud)
{
    (void)cs;
    ((stream_run *)ud)->done = true;
}

/* Reports the call's outcome; returns the exit status. */
static int stream_outcome(const stream_run *run, fo_client_stream *cs, int64_t started_ns)
{
    fo_status status = fo_client_stream_status(cs);
    if (status != FO_STATUS_OK) {
        size_t len = 0;
        const char *failed = fo_client_stream_trailer(cs, CLI_FAILED_FEATURE_TRAILER, &len);
        cli_call_report(status, fo_client_stream_message(cs), failed, len);
        return CLI_EXIT_FAILED;
    }
    if (run->opts->format == CLI_FORMAT_SUMMARY) {
        if (fo_client_stream_received(cs) == 0)
            cli_output_header(&run->table);
        cli_output_stream_footer(run->succeeded, run->failed, (fo_now_ns() - started_ns) / FO_NS_PER_US);
    }
    return CLI_EXIT_OK;
}

static int query_stream(const cli_opts *o, fo_channel *ch, const Fanout__V1__AnalyticsRequest *req)
{
    fo_payload *payload = fo_payload_pack(&req->base);
    fo_loop *loop = fo_loop_create();
    fo_call_spec spec = cli_call_spec(o, ch, STREAM_PATH, payload);
    spec.loop = loop;
    stream_run run = {.opts = o, .table = cli_table_fixed()};
    int64_t started = fo_now_ns();
    fo_error *err = NULL;
    int rc = CLI_EXIT_FAILED;
    fo_client_stream *cs =
        fo_client_stream_start(&spec, &fanout__v1__feature_result__descriptor, on_result, on_done, &run, &err);
    if (cs == NULL) {
        cli_call_report(err->code, err->message, NULL, 0);
        goto out;
    }
    fo_loop_run(loop, &run.done);
    rc = stream_outcome(&run, cs, started);
    fo_client_stream_free(cs);
out:
    fo_error_free(err);
    fo_loop_destroy(loop);
    fo_payload_free(payload);
    return rc;
}

int cli_query(const cli_opts *o)
{
    fo_channel *ch = NULL;
    int rc = cli_call_channel(o, &ch);
    if (rc != CLI_EXIT_OK)
        return rc;
    Fanout__V1__AnalyticsRequest req = build_request(o);
    rc = o->stream ? query_stream(o, ch, &req) : query_unary(o, ch, &req);
    fo_channel_destroy(ch);
    return rc;
}
