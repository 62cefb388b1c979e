/* test_it_reliability: fixtures and checks shared by the reliability tests. */
#include "test_it_reliability.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fo_time.h"
#include "tool_rpc.h"

rel_fixture *rel_start(char *fleet_path, bool owned, int64_t timeout_ms, const char *extra_json)
{
    rel_fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        abort();
    f->fleet_path = owned ? fleet_path : NULL;
    f->fleet = testproc_fleet(fleet_path);
    if (f->fleet != NULL) {
        f->n_features = json_object_size(json_object_get(f->fleet->first, "features"));
        f->agg = testproc_aggregator_for(f->fleet, timeout_ms, extra_json);
    }
    if (f->agg == NULL) {
        rel_stop(f);
        return NULL;
    }
    return f;
}

const char *const rel_features[REL_N_FEATURES] = {"listings", "searches", "tours", "offers"};

rel_fixture *rel_start_fleet(const char *entry_json, int64_t timeout_ms, const char *extra_json)
{
    return rel_start(testproc_write_fleet_with(rel_features, REL_N_FEATURES, entry_json), true, timeout_ms, extra_json);
}

rel_fixture *rel_group_start(int64_t timeout_ms, int max_message_bytes)
{
    fo_rpc_init();
    char extra[64];
    snprintf(extra, sizeof extra, "{\"max_message_bytes\": %d}", max_message_bytes);
    return rel_start_fleet(NULL, timeout_ms, extra);
}

/* Stops p on SIGTERM unless it is gone already; false when it did not exit with status 0. */
static bool stop_cleanly(tool_proc *p, const char *what)
{
    if (p == NULL)
        return true;
    int status = tool_proc_exited(p) ? p->status : tool_proc_stop(p, SIGTERM, REL_STOP_WAIT_MS);
    if (status != 0)
        print_error("%s (pid %d) did not stop cleanly: waitpid status 0x%x\n", what, (int)p->pid, status);
    return status == 0;
}

bool rel_stop_fleet(rel_fixture *f) { return stop_cleanly(f->fleet, "the fleet"); }

int rel_stop(rel_fixture *f)
{
    if (f == NULL)
        return 0;
    bool ok = stop_cleanly(f->agg, "the aggregator");
    ok = rel_stop_fleet(f) && ok;
    tool_proc_free(f->agg);
    tool_proc_free(f->fleet);
    if (f->fleet_path != NULL) {
        unlink(f->fleet_path);
        free(f->fleet_path);
    }
    free(f);
    return ok ? 0 : -1;
}

int rel_group_stop(rel_fixture *f)
{
    int rc = rel_stop(f);
    fo_rpc_shutdown();
    return rc;
}

const char *rel_address(const rel_fixture *f) { return tool_proc_field(f->agg, "address"); }

void rel_assert_serves(const rel_fixture *f) { rel_assert_serves_within(f, REL_CALL_DEADLINE_MS); }

int64_t rel_assert_serves_within(const rel_fixture *f, int64_t deadline_ms)
{
    tool_rpc_result r;
    tool_rpc_analytics(rel_address(f), REL_CUSTOMER, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, deadline_ms, NULL,
                       &r);
    if (r.status != FO_STATUS_OK)
        fail_msg("the aggregator no longer answers: status %d: %s", (int)r.status, r.message);
    const Fanout__V1__AnalyticsResponse *resp = tool_rpc_analytics_reply(&r);
    assert_non_null(resp);
    assert_int_equal(resp->n_results, f->n_features);
    assert_int_equal(resp->succeeded, (int)f->n_features);
    int64_t elapsed_ms = r.elapsed_ms;
    tool_rpc_result_release(&r);
    return elapsed_ms;
}

void rel_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

bool rel_wait_serving(const rel_fixture *f, int64_t timeout_ms)
{
    int64_t until = fo_now_ns() + timeout_ms * FO_NS_PER_MS;
    for (;;) {
        tool_rpc_result r;
        tool_rpc_analytics(rel_address(f), REL_CUSTOMER, NULL, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL,
                           REL_CALL_DEADLINE_MS, NULL, &r);
        const Fanout__V1__AnalyticsResponse *resp = r.status == FO_STATUS_OK ? tool_rpc_analytics_reply(&r) : NULL;
        bool full = resp != NULL && resp->succeeded == (int)f->n_features;
        tool_rpc_result_release(&r);
        if (full)
            return true;
        if (fo_now_ns() >= until)
            return false;
        rel_sleep_ms(200);
    }
}

void rel_mock_counts_read(const tool_proc *fleet, rel_mock_counts *out)
{
    *out = (rel_mock_counts){0};
    json_t *lines = testproc_events(fleet, "stats");
    size_t i;
    json_t *line;
    json_array_foreach(lines, i, line)
    {
        out->ok += (uint64_t)json_integer_value(json_object_get(line, "ok"));
        out->error += (uint64_t)json_integer_value(json_object_get(line, "error"));
        out->malformed += (uint64_t)json_integer_value(json_object_get(line, "malformed"));
        out->huge += (uint64_t)json_integer_value(json_object_get(line, "huge"));
        out->cancelled += (uint64_t)json_integer_value(json_object_get(line, "cancelled"));
        out->invalid += (uint64_t)json_integer_value(json_object_get(line, "invalid"));
        out->lines++;
    }
    json_decref(lines);
}

uint64_t rel_mock_counts_total(const rel_mock_counts *c)
{
    return c->ok + c->error + c->malformed + c->huge + c->cancelled + c->invalid;
}

const Fanout__V1__FeatureResult *rel_result_of(const Fanout__V1__AnalyticsResponse *resp, const char *feature)
{
    for (size_t i = 0; i < resp->n_results; i++) {
        if (strcmp(resp->results[i]->feature, feature) == 0)
            return resp->results[i];
    }
    return NULL;
}
