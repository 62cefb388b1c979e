/*
 * Integration tests of the config reload on SIGHUP, with a real mock fleet
 * and a real aggregator (its stderr joined to its stdout, so the test reads
 * its warnings and errors too): features added and removed under continuous
 * load without a failed request; a broken file refused with a line naming
 * the problem while the old config keeps serving; a changed timeout and
 * target applied to new requests while a request in flight finishes on the
 * config it started with; keys that need a restart named; token keys read
 * again (a rotated key accepted, a key file that cannot be read refused with
 * the old keys kept); and, at the end of every test, a clean exit (under
 * ASan, no generation leaked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fo_rpc.h"
#include "fo_time.h"
#include "testjwt.h"
#include "testload.h"
#include "testproc.h"
#include "tool_rpc.h"

#define WAIT_MS 15000
/* A worker takes a new generation at its loop's next turn: within its 100 ms poll bound. */
#define SWITCH_MS 400
#define N_FLEET 3

static const char *const fleet_features[N_FLEET] = {"listings", "tours", "offers"};

/* One feature of a config: its name, and a target other than the fleet's when set. */
typedef struct feature {
    const char *name;
    int64_t timeout_ms;
    const char *target;
} feature;

typedef struct fixture {
    char *fleet_file;
    tool_proc *fleet;
    char config[64];
    tool_proc *agg;
    pid_t pid;
} fixture;

static fixture fx;

static int setup_fleet(void **state)
{
    (void)state;
    fo_rpc_init();
    fx.fleet_file = testproc_write_fleet(fleet_features, N_FLEET, NULL);
    fx.fleet = testproc_fleet(fx.fleet_file);
    return fx.fleet != NULL ? 0 : -1;
}

static int teardown_fleet(void **state)
{
    (void)state;
    tool_proc_free(fx.fleet);
    unlink(fx.fleet_file);
    free(fx.fleet_file);
    fo_rpc_shutdown();
    return 0;
}

/* Writes the config file: the features given, x-mock-fault forwarded, extra keys (a JSON object, may be NULL). */
static void write_config(const feature *features, size_t n, const char *extra_json)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *target = features[i].target;
        if (target == NULL)
            target = testproc_fleet_address(fx.fleet, features[i].name);
        json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "name", features[i].name, "target", target,
                                              "timeout_ms", (json_int_t)features[i].timeout_ms));
    }
    json_t *root = json_pack("{s:s, s:i, s:[s], s:o}", "listen", "127.0.0.1:0", "workers", 2, "forward_metadata",
                             "x-mock-fault", "features", list);
    if (extra_json != NULL) {
        json_t *extra = json_loads(extra_json, 0, NULL);
        assert_non_null(extra);
        json_object_update(root, extra);
        json_decref(extra);
    }
    char tmp[80];
    snprintf(tmp, sizeof tmp, "%s.tmp", fx.config);
    assert_int_equal(json_dump_file(root, tmp, JSON_INDENT(1)), 0);
    json_decref(root);
    /* Renamed into place, as deployment tools do: the aggregator never reads half a file. */
    assert_int_equal(rename(tmp, fx.config), 0);
}

static void write_raw(const char *text)
{
    FILE *f = fopen(fx.config, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void start_aggregator(const feature *features, size_t n)
{
    snprintf(fx.config, sizeof fx.config, "/tmp/fanout-reload-%d.json", (int)getpid());
    write_config(features, n, NULL);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "exec %s --config %s --listen 127.0.0.1:0 2>&1", AGGREGATOR_BIN, fx.config);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    fx.agg = tool_proc_start(argv, 15000);
    assert_non_null(fx.agg);
    fx.pid = fx.agg->pid; /* sh exec'd the aggregator */
}

/* Stops the aggregator: a clean exit, which under ASan means nothing leaked. */
static void stop_aggregator(void)
{
    int status = tool_proc_stop(fx.agg, SIGTERM, WAIT_MS);
    tool_proc_free(fx.agg);
    fx.agg = NULL;
    unlink(fx.config);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* SIGHUP, then waits for the line that says how it went and for the workers to switch. */
static void reload_expecting(const char *needle)
{
    assert_int_equal(kill(fx.pid, SIGHUP), 0);
    assert_true(tool_proc_wait_output(fx.agg, needle, WAIT_MS));
    usleep(SWITCH_MS * 1000);
}

static const char *agg_address(void) { return tool_proc_field(fx.agg, "address"); }

static tool_rpc_result analytics(const char *const *features, const char *fault)
{
    tool_rpc_result r;
    tool_rpc_analytics(agg_address(), "cust-9", features, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, WAIT_MS, fault,
                       &r);
    assert_int_equal(r.status, FO_STATUS_OK);
    assert_non_null(r.reply);
    return r;
}

/* The result of feature name in resp; fails when there is none. */
static const Fanout__V1__FeatureResult *result_of(const Fanout__V1__AnalyticsResponse *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_results; i++) {
        if (strcmp(resp->results[i]->feature, name) == 0)
            return resp->results[i];
    }
    fail_msg("no result for %s", name);
    return NULL;
}

static bool succeeded(const Fanout__V1__FeatureResult *res)
{
    return res->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE;
}

static Fanout__V1__ErrorKind kind_of(const Fanout__V1__FeatureResult *res)
{
    assert_int_equal(res->outcome_case, FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR);
    return res->error->kind;
}

/* --- features added and removed under load --------------------------------------- */

/* What the load saw: replies by the set of features they covered. */
typedef struct load_seen {
    atomic_long two_with_tours;  /* listings, tours: the first config */
    atomic_long three;           /* listings, tours, offers: the second */
    atomic_long two_with_offers; /* listings, offers: the third */
    atomic_long other;
} load_seen;

static bool has(const Fanout__V1__AnalyticsResponse *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_results; i++) {
        if (strcmp(resp->results[i]->feature, name) == 0)
            return true;
    }
    return false;
}

static void on_reply(fo_status status, const Fanout__V1__AnalyticsResponse *resp, void *ud)
{
    load_seen *seen = ud;
    if (status != FO_STATUS_OK || resp == NULL)
        atomic_fetch_add(&seen->other, 1);
    else if (resp->n_results == 3)
        atomic_fetch_add(&seen->three, 1);
    else if (resp->n_results == 2 && has(resp, "listings") && has(resp, "tours"))
        atomic_fetch_add(&seen->two_with_tours, 1);
    else if (resp->n_results == 2 && has(resp, "listings") && has(resp, "offers"))
        atomic_fetch_add(&seen->two_with_offers, 1);
    else
        atomic_fetch_add(&seen->other, 1);
}

typedef struct load_run {
    testload opts;
    testload_tally tally;
} load_run;

static void *load_thread(void *arg)
{
    load_run *run = arg;
    testload_run(&run->opts, &run->tally);
    return NULL;
}

static void features_added_and_removed_under_load(void **state)
{
    (void)state;
    const feature first[] = {{"listings", 5000, NULL}, {"tours", 5000, NULL}};
    const feature second[] = {{"listings", 5000, NULL}, {"tours", 5000, NULL}, {"offers", 5000, NULL}};
    const feature third[] = {{"listings", 5000, NULL}, {"offers", 5000, NULL}};
    start_aggregator(first, 2);
    load_seen seen = {0};
    atomic_bool stop;
    atomic_init(&stop, false);
    /* Calls until told to stop: the load spans both reloads however fast the machine is. */
    load_run run = {.opts = {.target = agg_address(),
                             .requests = UINT64_MAX,
                             .concurrency = 4,
                             .deadline_ms = WAIT_MS,
                             .on_reply = on_reply,
                             .ud = &seen,
                             .stop = &stop}};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, load_thread, &run), 0);
    usleep(300 * 1000);
    write_config(second, 3, NULL);
    reload_expecting("\"generation\":1,\"features\":3,\"added\":[\"offers\"],\"removed\":[],\"changed\":[]");
    write_config(third, 2, NULL);
    reload_expecting("\"generation\":2,\"features\":2,\"added\":[],\"removed\":[\"tours\"],\"changed\":[]");
    usleep(300 * 1000);
    atomic_store(&stop, true);
    pthread_join(t, NULL);

    /* Every request answered in full, by whichever config was current when it arrived. */
    assert_true(run.tally.replies > 0);
    assert_int_equal(run.tally.by_status[FO_STATUS_OK], run.tally.replies);
    assert_int_equal(run.tally.partial, 0);
    assert_int_equal(atomic_load(&seen.other), 0);
    assert_true(atomic_load(&seen.two_with_tours) > 0);
    assert_true(atomic_load(&seen.three) > 0);
    assert_true(atomic_load(&seen.two_with_offers) > 0);
    stop_aggregator();
}

/* --- a broken file ------------------------------------------------------------------ */

static void broken_file_keeps_the_old_config(void **state)
{
    (void)state;
    const feature first[] = {{"listings", 5000, NULL}, {"tours", 5000, NULL}};
    start_aggregator(first, 2);
    write_raw("{\"features\": [");
    reload_expecting("\"event\":\"config_reload_failed\"");
    char *out = tool_proc_output(fx.agg);
    assert_non_null(strstr(out, fx.config)); /* the line names the file */
    free(out);

    const feature unknown_key[] = {{"listings", 5000, NULL}};
    write_config(unknown_key, 1, "{\"max_in_fligth\": 3}");
    reload_expecting("max_in_fligth");

    /* The old config still serves: both of its features, nothing lost. */
    tool_rpc_result r = analytics(NULL, NULL);
    const Fanout__V1__AnalyticsResponse *resp = tool_rpc_analytics_reply(&r);
    assert_int_equal(resp->n_results, 2);
    assert_true(succeeded(result_of(resp, "listings")));
    assert_true(succeeded(result_of(resp, "tours")));
    tool_rpc_result_release(&r);
    out = tool_proc_output(fx.agg);
    assert_null(strstr(out, "config_reloaded"));
    free(out);
    stop_aggregator();
}

/* --- changes apply to new requests; requests in flight keep theirs --------------------- */

typedef struct slow_call {
    tool_rpc_result result;
} slow_call;

static void *slow_thread(void *arg)
{
    static const char *const tours[] = {"tours", NULL};
    slow_call *c = arg;
    tool_rpc_analytics(agg_address(), "cust-9", tours, FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL, WAIT_MS,
                       "tours=delay:1500ms", &c->result);
    return NULL;
}

static void changes_apply_to_new_requests_only(void **state)
{
    (void)state;
    const feature first[] = {{"listings", 5000, NULL}, {"tours", 5000, NULL}};
    start_aggregator(first, 2);
    slow_call slow;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_thread, &slow), 0);
    usleep(300 * 1000);

    /* tours: a 200 ms timeout; listings: a port nobody listens on; workers: needs a restart. */
    const feature second[] = {{"listings", 5000, "127.0.0.1:1"}, {"tours", 200, NULL}};
    write_config(second, 2, "{\"workers\": 3}");
    reload_expecting("\"changed\":[\"listings\",\"tours\"]");
    char *out = tool_proc_output(fx.agg);
    assert_non_null(strstr(out, "\"event\":\"config_needs_restart\""));
    assert_non_null(strstr(out, "\"keys\":[\"workers\"]"));
    free(out);

    tool_rpc_result r = analytics(NULL, "tours=delay:1500ms");
    const Fanout__V1__AnalyticsResponse *resp = tool_rpc_analytics_reply(&r);
    assert_int_equal(kind_of(result_of(resp, "tours")), FANOUT__V1__ERROR_KIND__DEADLINE);
    assert_int_equal(kind_of(result_of(resp, "listings")), FANOUT__V1__ERROR_KIND__UNAVAILABLE);
    tool_rpc_result_release(&r);

    /* The request that arrived before the reload kept the 5 s timeout. */
    pthread_join(t, NULL);
    assert_int_equal(slow.result.status, FO_STATUS_OK);
    const Fanout__V1__AnalyticsResponse *slow_resp = tool_rpc_analytics_reply(&slow.result);
    assert_non_null(slow_resp);
    assert_true(succeeded(result_of(slow_resp, "tours")));
    tool_rpc_result_release(&slow.result);
    stop_aggregator();
}

/* --- token keys --------------------------------------------------------------------- */

/* GetCustomerAnalytics for c-42 with a bearer token: the status. */
static fo_status call_with_token(const char *token)
{
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = "c-42";
    char bearer[4096];
    snprintf(bearer, sizeof bearer, "Bearer %s", token);
    fo_md md = {"authorization", bearer, strlen(bearer)};
    fo_payload *p = fo_payload_pack(&req.base);
    fo_channel *ch = NULL;
    fo_error *err = fo_channel_create(agg_address(), NULL, &ch);
    assert_null(err);
    fo_call_spec spec = {.channel = ch,
                         .path = "/fanout.v1.Aggregator/GetCustomerAnalytics",
                         .deadline_ns = fo_deadline_in_ms(WAIT_MS),
                         .md = &md,
                         .nmd = 1,
                         .request = p};
    fo_client_call *cc = NULL;
    err = fo_client_call_blocking(&spec, &cc);
    assert_null(err);
    fo_status status = fo_client_call_status(cc);
    fo_client_call_free(cc);
    fo_channel_destroy(ch);
    fo_payload_free(p);
    return status;
}

/* {"auth": {...}} trusting the given public key files of the fixture. */
static void auth_extra(char *buf, size_t cap, const char *dir, const char *key1, const char *key2)
{
    char keys[512];
    snprintf(keys, sizeof keys, "\"%s\"", testjwt_path(dir, key1));
    if (key2 != NULL)
        snprintf(keys + strlen(keys), sizeof keys - strlen(keys), ", \"%s\"", testjwt_path(dir, key2));
    snprintf(buf, cap,
             "{\"auth\": {\"issuer\": \"https://issuer.example\", \"audience\": \"fanout\", "
             "\"algorithms\": [\"RS256\"], \"keys\": [%s]}}",
             keys);
}

static void token_keys_reload(void **state)
{
    (void)state;
    char dir[] = "/tmp/fanout-reload-jwt-XXXXXX";
    json_t *jwt = testjwt_make(dir);
    assert_non_null(jwt);
    const char *token_a = testjwt_token(jwt, "rs256 key a");
    const char *token_b = testjwt_token(jwt, "rs256 key b (rotation)");
    const feature features[] = {{"listings", 5000, NULL}};
    char extra[2048];
    snprintf(fx.config, sizeof fx.config, "/tmp/fanout-reload-%d.json", (int)getpid());
    auth_extra(extra, sizeof extra, dir, "a.pub.pem", NULL);
    write_config(features, 1, extra);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "exec %s --config %s --listen 127.0.0.1:0 2>&1", AGGREGATOR_BIN, fx.config);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    fx.agg = tool_proc_start(argv, 15000);
    assert_non_null(fx.agg);
    fx.pid = fx.agg->pid;
    assert_int_equal(call_with_token(token_a), FO_STATUS_OK);
    assert_int_equal(call_with_token(token_b), FO_STATUS_UNAUTHENTICATED);

    /* Key b added: its tokens pass from now on. */
    auth_extra(extra, sizeof extra, dir, "a.pub.pem", "b.pub.pem");
    write_config(features, 1, extra);
    reload_expecting("\"generation\":1");
    assert_int_equal(call_with_token(token_b), FO_STATUS_OK);

    /* A key file that cannot be read: refused, naming it; keys a and b still in force. */
    auth_extra(extra, sizeof extra, dir, "b.pub.pem", "gone.pub.pem");
    write_config(features, 1, extra);
    reload_expecting("\"event\":\"config_reload_failed\"");
    char *out = tool_proc_output(fx.agg);
    assert_non_null(strstr(out, "gone.pub.pem"));
    free(out);
    assert_int_equal(call_with_token(token_a), FO_STATUS_OK);
    assert_int_equal(call_with_token(token_b), FO_STATUS_OK);
    stop_aggregator();
    assert_int_equal(testjwt_remove(dir, jwt), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(features_added_and_removed_under_load),
        cmocka_unit_test(broken_file_keeps_the_old_config),
        cmocka_unit_test(changes_apply_to_new_requests_only),
        cmocka_unit_test(token_keys_reload),
    };
    return cmocka_run_group_tests(tests, setup_fleet, teardown_fleet);
}
