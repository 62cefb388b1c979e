/*
 * Integration tests of the W3C trace context through real processes: a
 * small mock fleet (FANOUT_LOG_LEVEL=debug, so every call is logged with the
 * traceparent it came with) and an aggregator. A caller's traceparent keeps
 * its trace id through every feature call, each call with a span id of its
 * own; tracestate goes on as it came; a request without a valid traceparent
 * starts a trace; the aggregator's request line carries the same ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fanout/v1/aggregator.pb-c.h"
#include "fo_rpc.h"
#include "fo_time.h"
#include "fo_trace.h"
#include "testproc.h"
#include "tool_proc.h"

#define AGG_PATH "/fanout.v1.Aggregator/GetCustomerAnalytics"
#define N_FEATURES 3
#define WAIT_MS 10000
#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN "00f067aa0ba902b7"

static const char *const features[N_FEATURES] = {"listings", "tours", "offers"};

typedef struct fixture {
    char *fleet_file;
    tool_proc *fleet;
    tool_proc *agg;
    fo_channel *channel;
} fixture;

static fixture fx;

static int setup(void **state)
{
    (void)state;
    /* The fleet's children inherit it; the aggregator keeps its config's level. */
    setenv("FANOUT_LOG_LEVEL", "debug", 1);
    fx.fleet_file = testproc_write_fleet(features, N_FEATURES, NULL);
    fx.fleet = testproc_fleet(fx.fleet_file);
    unsetenv("FANOUT_LOG_LEVEL");
    if (fx.fleet == NULL)
        return -1;
    fx.agg = testproc_aggregator_for(fx.fleet, 5000, NULL);
    if (fx.agg == NULL)
        return -1;
    fo_rpc_init();
    fo_channel_opts opts = {0};
    fo_error *err = fo_channel_create(tool_proc_field(fx.agg, "address"), &opts, &fx.channel);
    if (err != NULL) {
        fo_error_free(err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fo_channel_destroy(fx.channel);
    fo_rpc_shutdown();
    tool_proc_free(fx.agg);
    tool_proc_free(fx.fleet);
    unlink(fx.fleet_file);
    free(fx.fleet_file);
    return 0;
}

/* GetCustomerAnalytics for every feature with the given headers (NULL: absent); asserts OK. */
static void call(const char *request_id, const char *traceparent, const char *tracestate)
{
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = "cust-7";
    req.n_features = N_FEATURES;
    req.features = (char **)features;
    fo_md md[3] = {{"x-request-id", request_id, strlen(request_id)}};
    size_t n = 1;
    if (traceparent != NULL)
        md[n++] = (fo_md){FO_TRACE_HEADER, traceparent, strlen(traceparent)};
    if (tracestate != NULL)
        md[n++] = (fo_md){FO_TRACE_STATE_HEADER, tracestate, strlen(tracestate)};
    fo_payload *p = fo_payload_pack(&req.base);
    fo_call_spec spec = {
        .channel = fx.channel,
        .path = AGG_PATH,
        .deadline_ns = fo_deadline_in_ms(WAIT_MS),
        .md = md,
        .nmd = n,
        .request = p,
    };
    fo_client_call *cc = NULL;
    fo_error *err = fo_client_call_blocking(&spec, &cc);
    fo_payload_free(p);
    assert_null(err);
    assert_int_equal(fo_client_call_status(cc), FO_STATUS_OK);
    fo_client_call_free(cc);
}

/* The aggregator's request line for request_id (a new reference), waiting for it. */
static json_t *request_line(const char *request_id)
{
    char needle[128];
    snprintf(needle, sizeof needle, "\"request_id\":\"%s\"", request_id);
    assert_true(tool_proc_wait_output(fx.agg, needle, WAIT_MS));
    json_t *lines = testproc_events(fx.agg, "request");
    json_t *found = NULL;
    size_t i;
    json_t *line;
    json_array_foreach(lines, i, line)
    {
        if (strcmp(json_string_value(json_object_get(line, "request_id")), request_id) == 0)
            found = json_incref(line);
    }
    json_decref(lines);
    assert_non_null(found);
    return found;
}

/* The fleet's call lines of trace_id, once all N_FEATURES have come (a new reference). */
static json_t *calls_of(const char *trace_id)
{
    int64_t until = fo_now_ns() + WAIT_MS * FO_NS_PER_MS;
    for (;;) {
        json_t *lines = testproc_events(fx.fleet, "call");
        json_t *found = json_array();
        size_t i;
        json_t *line;
        json_array_foreach(lines, i, line)
        {
            const char *id = json_string_value(json_object_get(line, "trace_id"));
            if (id != NULL && strcmp(id, trace_id) == 0)
                json_array_append(found, line);
        }
        json_decref(lines);
        if (json_array_size(found) >= N_FEATURES || fo_now_ns() > until)
            return found;
        json_decref(found);
        usleep(20000);
    }
}

static bool is_span_id(const char *s)
{
    return s != NULL && strlen(s) == FO_SPAN_ID_HEX && strspn(s, "0123456789abcdef") == FO_SPAN_ID_HEX;
}

/* Every feature was called once in the trace, each with a span id of its own, none of them avoid's. */
static void assert_children(json_t *calls, const char *avoid, const char *flags)
{
    assert_int_equal(json_array_size(calls), N_FEATURES);
    for (size_t i = 0; i < N_FEATURES; i++) {
        json_t *c = json_array_get(calls, i);
        const char *span = json_string_value(json_object_get(c, "span_id"));
        const char *header = json_string_value(json_object_get(c, "traceparent"));
        assert_true(is_span_id(span));
        assert_string_not_equal(span, avoid);
        /* Version 00 with the caller's flags, whatever version came in. */
        assert_int_equal(strlen(header), FO_TRACEPARENT_LEN);
        assert_memory_equal(header, "00-", 3);
        assert_string_equal(header + 53, flags);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(span, json_string_value(json_object_get(json_array_get(calls, j), "span_id")));
    }
}

static void caller_trace_goes_to_every_feature(void **state)
{
    (void)state;
    call("trace-given", "00-" TRACE "-" SPAN "-01", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    json_t *line = request_line("trace-given");
    assert_string_equal(json_string_value(json_object_get(line, "trace_id")), TRACE);
    assert_string_equal(json_string_value(json_object_get(line, "parent_span_id")), SPAN);
    const char *own = json_string_value(json_object_get(line, "span_id"));
    assert_true(is_span_id(own));
    assert_string_not_equal(own, SPAN);
    json_t *calls = calls_of(TRACE);
    assert_children(calls, SPAN, "01");
    for (size_t i = 0; i < N_FEATURES; i++) {
        json_t *c = json_array_get(calls, i);
        assert_string_not_equal(json_string_value(json_object_get(c, "span_id")), own);
        assert_string_equal(json_string_value(json_object_get(c, "tracestate")),
                            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    }
    json_decref(calls);
    json_decref(line);
}

static void trace_started_when_absent(void **state)
{
    (void)state;
    call("trace-absent", NULL, NULL);
    json_t *line = request_line("trace-absent");
    const char *trace_id = json_string_value(json_object_get(line, "trace_id"));
    assert_non_null(trace_id);
    assert_int_equal(strlen(trace_id), FO_TRACE_ID_HEX);
    assert_true(json_is_null(json_object_get(line, "parent_span_id")));
    json_t *calls = calls_of(trace_id);
    assert_children(calls, json_string_value(json_object_get(line, "span_id")), "01");
    json_decref(calls);
    json_decref(line);
}

/* An invalid traceparent restarts the trace, and its tracestate is not passed on. */
static void invalid_traceparent_starts_a_trace(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SPAN "-01", /* uppercase */
        "00-00000000000000000000000000000000-" SPAN "-01", /* all-zero trace id */
        "00-" TRACE "-0000000000000000-01",                /* all-zero parent id */
        "ff-" TRACE "-" SPAN "-01",                        /* forbidden version */
        "00-" TRACE "-" SPAN "-01-extra",                  /* 00 has nothing after the flags */
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        char id[32];
        snprintf(id, sizeof id, "trace-bad-%zu", k);
        call(id, bad[k], "congo=t61rcWkgMzE");
        json_t *line = request_line(id);
        const char *trace_id = json_string_value(json_object_get(line, "trace_id"));
        assert_string_not_equal(trace_id, TRACE);
        assert_true(json_is_null(json_object_get(line, "parent_span_id")));
        json_t *calls = calls_of(trace_id);
        assert_children(calls, SPAN, "01");
        for (size_t i = 0; i < N_FEATURES; i++)
            assert_true(json_is_null(json_object_get(json_array_get(calls, i), "tracestate")));
        json_decref(calls);
        json_decref(line);
    }
}

/* A later version is read in the 00 layout and passed on as 00; unknown flag bits are cleared. */
static void later_version_goes_on_as_00(void **state)
{
    (void)state;
    const char *trace = "0af7651916cd43dd8448eb211c80319c";
    call("trace-later", "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-fe-future", NULL);
    json_t *line = request_line("trace-later");
    assert_string_equal(json_string_value(json_object_get(line, "trace_id")), trace);
    assert_string_equal(json_string_value(json_object_get(line, "parent_span_id")), "b7ad6b7169203331");
    json_t *calls = calls_of(trace);
    assert_children(calls, "b7ad6b7169203331", "00");
    json_decref(calls);
    json_decref(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(caller_trace_goes_to_every_feature),
        cmocka_unit_test(trace_started_when_absent),
        cmocka_unit_test(invalid_traceparent_starts_a_trace),
        cmocka_unit_test(later_version_goes_on_as_00),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
