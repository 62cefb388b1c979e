/*
 * Integration tests of an aggregator with several workers that share
 * nothing on the hot path: client connections go to the workers in turn,
 * and each worker has its own channel (connection) to every feature. Calls
 * on one connection are all answered, all by one worker, bursts included
 * (and under gRPC's poll engine wake no other worker);
 * as many connections as workers reach every worker, so the aggregator
 * holds one connection per worker to a feature; every worker's channel
 * reconnects after the feature restarts; and the drain finishes the calls
 * in flight on every worker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fo_time.h"
#include "testload.h"
#include "testproc.h"
#include "tool_rpc.h"

#define WORKERS 4
#define CUSTOMER "cust-9"
#define N_FEATURES 12
#define CALL_DEADLINE_MS 10000
/* Calls on one connection, this many in flight: bursts of new calls larger than 16 (a lone worker's posted requests). */
#define ONE_CONNECTION_CALLS 640
#define ONE_CONNECTION_BURST 64
/* Connections go to the workers in turn: this many reach every worker. */
#define SPREAD_CONNECTIONS WORKERS
/* Calls in flight, each on its own connection, when the drain begins: a few per worker. */
#define DRAIN_CALLS (3 * WORKERS)
/* A restarted feature is reconnected to with backoff (1 s, then 1.6 s, ...). */
#define RECONNECT_MS 10000

#define FLEET_FAST FANOUT_SOURCE_DIR "/mock_services/fleet-fast.json"
#define ANALYTICS_PATH "/fanout.v1.Aggregator/GetCustomerAnalytics"

typedef struct fixture {
    tool_proc *fleet;
    tool_proc *agg;
    char *fleet_path; /* a temporary fleet file, or NULL */
} fixture;

static const char *agg_address(const fixture *f) { return tool_proc_field(f->agg, "address"); }

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One analytics call on a connection of its own. */
static void call_on_new_connection(const fixture *f, const char *mock_fault, tool_rpc_result *out)
{
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = CUSTOMER;
    fo_channel_opts opts = {.own_connections = true};
    tool_rpc_call_opts(agg_address(f), &opts, ANALYTICS_PATH, &req.base, &fanout__v1__analytics_response__descriptor,
                       CALL_DEADLINE_MS, mock_fault, out);
}

static bool all_usages(const tool_rpc_result *r)
{
    if (r->status != FO_STATUS_OK || r->reply == NULL)
        return false;
    const Fanout__V1__AnalyticsResponse *resp = tool_rpc_analytics_reply(r);
    return resp->n_results == N_FEATURES && resp->succeeded == N_FEATURES && resp->failed == 0;
}

/* Opens /proc/PID/SUB, whose path is left in dir. */
static DIR *proc_dir(pid_t pid, const char *sub, char *dir, size_t len)
{
    snprintf(dir, len, "/proc/%d/%s", (int)pid, sub);
    DIR *d = opendir(dir);
    assert_non_null(d);
    return d;
}

/* The inodes of pid's sockets, from /proc/PID/fd; returns how many (at most cap). */
static size_t socket_inodes(pid_t pid, unsigned long *inodes, size_t cap)
{
    char dir[64], link[384], target[128];
    DIR *d = proc_dir(pid, "fd", dir, sizeof dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < cap) {
        snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (sscanf(target, "socket:[%lu]", &inodes[n]) == 1)
            n++;
    }
    closedir(d);
    return n;
}

/* Established TCP connections that pid holds to the local port, from /proc/net/tcp and tcp6. */
static int connections_to_port(pid_t pid, int port)
{
    unsigned long inodes[4096];
    size_t n = socket_inodes(pid, inodes, sizeof inodes / sizeof *inodes);
    int count = 0;
    const char *tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (size_t t = 0; t < 2; t++) {
        FILE *f = fopen(tables[t], "r");
        assert_non_null(f);
        char line[512];
        while (fgets(line, sizeof line, f) != NULL) {
            char remote[64];
            unsigned state;
            unsigned long inode;
            /* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
            if (sscanf(line, " %*s %*s %63s %x %*s %*s %*s %*s %*s %lu", remote, &state, &inode) != 3)
                continue;
            const char *colon = strrchr(remote, ':');
            if (state != 1 || colon == NULL || (int)strtol(colon + 1, NULL, 16) != port)
                continue;
            for (size_t i = 0; i < n; i++)
                count += inodes[i] == inode;
        }
        fclose(f);
    }
    return count;
}

static int port_of(const char *address)
{
    const char *colon = strrchr(address, ':');
    assert_non_null(colon);
    return atoi(colon + 1);
}

/*
 * How often each worker thread of pid went to sleep so far (its voluntary
 * context switches), found by its name, worker-N, in /proc/PID/task.
 */
static void worker_sleeps(pid_t pid, long sleeps[WORKERS])
{
    char dir[64], path[384], text[256];
    DIR *d = proc_dir(pid, "task", dir, sizeof dir);
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "%s/%s/comm", dir, e->d_name);
        FILE *f = fopen(path, "r");
        int w = -1;
        if (f == NULL)
            continue;
        if (fscanf(f, "worker-%d", &w) != 1 || w < 0 || w >= WORKERS)
            w = -1;
        fclose(f);
        snprintf(path, sizeof path, "%s/%s/status", dir, e->d_name);
        if (w < 0 || (f = fopen(path, "r")) == NULL)
            continue;
        while (fgets(text, sizeof text, f) != NULL) {
            if (sscanf(text, "voluntary_ctxt_switches: %ld", &sleeps[w]) == 1)
                found++;
        }
        fclose(f);
    }
    closedir(d);
    assert_int_equal(found, WORKERS);
}

/* --- one connection, many connections ----------------------------------------------- */

/*
 * How many requests each worker answered, from the aggregator's request log
 * lines (every answered call writes one, just after its answer); returns
 * their sum.
 */
static int requests_by_worker(const fixture *f, int counts[WORKERS])
{
    memset(counts, 0, WORKERS * sizeof *counts);
    json_t *lines = testproc_events(f->agg, "request");
    size_t i;
    json_t *line;
    json_array_foreach(lines, i, line)
    {
        json_int_t w = json_integer_value(json_object_get(line, "worker"));
        assert_in_range(w, 0, WORKERS - 1);
        counts[w]++;
    }
    int sum = (int)json_array_size(lines);
    json_decref(lines);
    return sum;
}

/*
 * Calls on one connection are all answered by its worker, even when they
 * come in bursts larger than the few requests a worker would need posted
 * for its loop's turns: gRPC hands a call that finds none posted on its
 * connection's queue to another worker's.
 */
static void test_one_connection_one_worker(void **state)
{
    const fixture *f = *state;
    testload o = {.target = agg_address(f),
                  .requests = ONE_CONNECTION_CALLS,
                  .concurrency = ONE_CONNECTION_BURST,
                  .deadline_ms = CALL_DEADLINE_MS};
    testload_tally t = {0};
    testload_run(&o, &t);
    assert_int_equal(t.replies, ONE_CONNECTION_CALLS);
    assert_int_equal(t.by_status[FO_STATUS_OK], ONE_CONNECTION_CALLS);
    assert_int_equal(t.succeeded, ONE_CONNECTION_CALLS * N_FEATURES);
    assert_int_equal(t.partial, 0);
    int counts[WORKERS], busy = 0;
    int64_t until = fo_now_ns() + 5000 * FO_NS_PER_MS;
    while (requests_by_worker(f, counts) < ONE_CONNECTION_CALLS && fo_now_ns() < until)
        sleep_ms(20);
    for (int w = 0; w < WORKERS; w++) {
        busy += counts[w] > 0;
        print_message("worker %d answered %d calls\n", w, counts[w]);
    }
    assert_int_equal(requests_by_worker(f, counts), ONE_CONNECTION_CALLS);
    assert_int_equal(busy, 1);
}

/*
 * Under gRPC's poll engine (GRPC_POLL_STRATEGY=poll, see the fixture) one
 * connection's load wakes no other worker either: each worker polls only its
 * own connections, as long as no call of its connection is handed to another
 * worker's queue (which would add the connection to that worker's poll set
 * for good). Under epoll1, gRPC's default, the idle workers take turns at
 * polling and read the busy worker's connection: about two wake-ups per call
 * each, measured; README's Performance says why that stays the default.
 */
static void test_one_connection_wakes_one_worker_under_poll(void **state)
{
    const fixture *f = *state;
    assert_string_equal(tool_proc_field(f->agg, "poll_engine"), "poll");
    long before[WORKERS], after[WORKERS];
    worker_sleeps(f->agg->pid, before);
    testload o = {.target = agg_address(f),
                  .requests = ONE_CONNECTION_CALLS,
                  .concurrency = ONE_CONNECTION_BURST,
                  .deadline_ms = CALL_DEADLINE_MS};
    testload_tally t = {0};
    int64_t start = fo_now_ns();
    testload_run(&o, &t);
    double seconds = (double)(fo_now_ns() - start) / 1e9;
    assert_int_equal(t.by_status[FO_STATUS_OK], ONE_CONNECTION_CALLS);
    worker_sleeps(f->agg->pid, after);
    int busy = 0;
    for (int w = 0; w < WORKERS; w++) {
        print_message("worker %d slept %ld times\n", w, after[w] - before[w]);
        if (after[w] - before[w] > after[busy] - before[busy])
            busy = w;
    }
    /*
     * An idle worker wakes only to look at its stop flag, ten times a second
     * (allowed: half as much again, and 20); polling the busy connection would
     * add about two wake-ups per call.
     */
    print_message("%d calls in %.1f s\n", ONE_CONNECTION_CALLS, seconds);
    for (int w = 0; w < WORKERS; w++) {
        if (w != busy)
            assert_true((double)(after[w] - before[w]) <= 15 * seconds + 20);
    }
}

/*
 * Calls on many connections are all answered, and they reach every worker:
 * each worker calls a feature on a connection of its own, so the aggregator
 * ends up with one connection per worker to it, no more.
 */
static void test_many_connections_reach_every_worker(void **state)
{
    const fixture *f = *state;
    for (int i = 0; i < SPREAD_CONNECTIONS; i++) {
        tool_rpc_result r;
        call_on_new_connection(f, NULL, &r);
        if (!all_usages(&r))
            fail_msg("call %d on its own connection: status %d, %s", i, r.status, r.message ? r.message : "");
        tool_rpc_result_release(&r);
    }
    int port = port_of(testproc_fleet_address(f->fleet, "tours"));
    assert_int_equal(connections_to_port(f->agg->pid, port), WORKERS);
}

/* --- a feature restarted: every worker's channel reconnects --------------------------- */

static bool tours_ok(const tool_rpc_result *r)
{
    if (r->status != FO_STATUS_OK || r->reply == NULL)
        return false;
    const Fanout__V1__AnalyticsResponse *resp = tool_rpc_analytics_reply(r);
    for (size_t i = 0; i < resp->n_results; i++) {
        if (strcmp(resp->results[i]->feature, "tours") == 0)
            return resp->results[i]->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE;
    }
    return false;
}

/* True once SPREAD_CONNECTIONS calls in a row, each on its own connection, got tours' usage. */
static bool every_worker_reaches_tours(const fixture *f)
{
    int64_t until = fo_now_ns() + RECONNECT_MS * FO_NS_PER_MS;
    int in_a_row = 0;
    while (in_a_row < SPREAD_CONNECTIONS && fo_now_ns() < until) {
        tool_rpc_result r;
        call_on_new_connection(f, NULL, &r);
        bool ok = tours_ok(&r);
        tool_rpc_result_release(&r);
        in_a_row = ok ? in_a_row + 1 : 0;
        if (!ok)
            sleep_ms(100);
    }
    return in_a_row == SPREAD_CONNECTIONS;
}

static void test_channels_reconnect_after_restart(void **state)
{
    const fixture *f = *state;
    assert_true(every_worker_reaches_tours(f));
    pid_t first = testproc_fleet_pid(f->fleet, "tours");
    tool_rpc_result r;
    call_on_new_connection(f, "tours=crash", &r);
    assert_int_equal(r.status, FO_STATUS_OK);
    assert_false(tours_ok(&r));
    tool_rpc_result_release(&r);

    assert_true(tool_proc_wait_output(f->fleet, "\"event\":\"restarted\",\"feature\":\"tours\"", 10000));
    assert_true(testproc_pid_gone(first, 5000));
    assert_true(every_worker_reaches_tours(f));
    int port = port_of(testproc_fleet_address(f->fleet, "tours"));
    assert_int_equal(connections_to_port(f->agg->pid, port), WORKERS);
}

/* --- the drain finishes the calls in flight on every worker ---------------------------- */

typedef struct drain_test drain_test;

typedef struct drain_call {
    drain_test *test;
    fo_channel *channel; /* a connection of its own */
    fo_client_call *cc;
} drain_call;

struct drain_test {
    fo_loop *loop;
    fo_timer sigterm;
    pid_t agg;
    int left;
    bool done;
    drain_call calls[DRAIN_CALLS];
};

static void drain_call_done(fo_client_call *cc, void *ud)
{
    (void)cc;
    drain_test *d = ((drain_call *)ud)->test;
    d->done = --d->left == 0;
}

static void send_sigterm(fo_timer *t)
{
    drain_test *d = fo_container_of(t, drain_test, sigterm);
    assert_int_equal(kill(d->agg, SIGTERM), 0);
}

static void drain_call_start(drain_test *d, drain_call *c, const char *target, const fo_payload *payload)
{
    /* Every feature answers after 1.5 s; SIGTERM comes while all calls are in flight. */
    static const char fault[] = "listings=delay:1500ms,searches=delay:1500ms,tours=delay:1500ms,offers=delay:1500ms";
    fo_md md = {.key = "x-mock-fault", .value = fault, .value_len = sizeof fault - 1};
    fo_channel_opts opts = {.own_connections = true};
    c->test = d;
    assert_null(fo_channel_create(target, &opts, &c->channel));
    fo_call_spec spec = {.channel = c->channel,
                         .path = ANALYTICS_PATH,
                         .loop = d->loop,
                         .deadline_ns = fo_deadline_in_ms(CALL_DEADLINE_MS),
                         .request = payload};
    /* One call first, so that the connection is up and the call below reaches its worker at once. */
    fo_client_call *first = NULL;
    assert_null(fo_client_call_blocking(&spec, &first));
    assert_int_equal(fo_client_call_status(first), FO_STATUS_OK);
    fo_client_call_free(first);
    spec.md = &md;
    spec.nmd = 1;
    fo_error *err = NULL;
    c->cc = fo_client_call_start(&spec, drain_call_done, c, &err);
    assert_null(err);
}

/* The call ended OK with every feature's usage; then it is freed. */
static void drain_call_check(drain_call *c, int i)
{
    ProtobufCMessage *m = fo_client_call_unpack(c->cc, &fanout__v1__analytics_response__descriptor);
    if (fo_client_call_status(c->cc) != FO_STATUS_OK || m == NULL)
        fail_msg("call %d in flight during the drain: status %d, %s", i, fo_client_call_status(c->cc),
                 fo_client_call_message(c->cc));
    assert_int_equal(((Fanout__V1__AnalyticsResponse *)m)->succeeded, N_FEATURES);
    protobuf_c_message_free_unpacked(m, NULL);
    fo_client_call_free(c->cc);
    fo_channel_destroy(c->channel);
}

static void test_drain_finishes_calls_on_every_worker(void **state)
{
    const fixture *f = *state;
    drain_test *d = calloc(1, sizeof *d);
    assert_non_null(d);
    d->loop = fo_loop_create();
    d->agg = f->agg->pid;
    d->left = DRAIN_CALLS;
    Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
    req.customer_id = CUSTOMER;
    fo_payload *payload = fo_payload_pack(&req.base);
    for (int i = 0; i < DRAIN_CALLS; i++)
        drain_call_start(d, &d->calls[i], agg_address(f), payload);
    fo_timer_init(&d->sigterm, send_sigterm);
    fo_timer_start(d->loop, &d->sigterm, fo_deadline_in_ms(500));
    fo_loop_run(d->loop, &d->done);
    assert_false(fo_timer_armed(&d->sigterm)); /* the drain began before the calls ended */
    for (int i = 0; i < DRAIN_CALLS; i++)
        drain_call_check(&d->calls[i], i);

    tool_proc_stop(f->agg, SIGTERM, 5000);
    assert_true(WIFEXITED(f->agg->status));
    assert_int_equal(WEXITSTATUS(f->agg->status), 0);
    fo_payload_free(payload);
    fo_loop_destroy(d->loop);
    free(d);
}

/* --- fixtures ------------------------------------------------------------------------- */

static int teardown(void **state)
{
    fixture *f = *state;
    tool_proc_free(f->agg);
    tool_proc_free(f->fleet);
    if (f->fleet_path != NULL) {
        unlink(f->fleet_path);
        free(f->fleet_path);
    }
    free(f);
    return 0;
}

/*
 * The fleet in path (owned_path: a temporary file to remove) and an
 * aggregator of WORKERS workers for it, on gRPC's polling engine `engine`
 * (NULL: gRPC's default).
 */
static int start(void **state, const char *path, char *owned_path, const char *engine)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->fleet_path = owned_path;
    *state = f;
    f->fleet = testproc_fleet(path);
    if (f->fleet == NULL)
        return -1;
    char extra[128];
    snprintf(extra, sizeof extra, "{\"workers\": %d, \"shutdown_grace_ms\": 5000}", WORKERS);
    char *config = testproc_write_agg_config(f->fleet, 2000, extra);
    char strategy[64];
    snprintf(strategy, sizeof strategy, "GRPC_POLL_STRATEGY=%s", engine != NULL ? engine : "");
    char *with_engine[] = {"/usr/bin/env", strategy,   AGGREGATOR_BIN, "--config",
                           config,         "--listen", "127.0.0.1:0",  NULL};
    f->agg = engine != NULL ? tool_proc_start(with_engine, 15000) : testproc_aggregator(config);
    unlink(config);
    free(config);
    return f->agg != NULL ? 0 : -1;
}

static int setup_fast(void **state) { return start(state, FLEET_FAST, NULL, NULL); }

static int setup_fast_poll(void **state) { return start(state, FLEET_FAST, NULL, "poll"); }

/* Every feature of fleet-fast.json, restarted by the fleet when it dies. */
static int setup_restarting(void **state)
{
    static const char *const features[] = {"listings",  "searches",    "saved_searches", "tours",
                                           "offers",    "messages",    "documents",      "collections",
                                           "campaigns", "open_houses", "valuations",     "leads"};
    char *path = testproc_write_fleet_with(features, N_FEATURES, "{\"restart\": true}");
    return start(state, path, path, NULL);
}

int main(void)
{
    fo_rpc_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_connection_one_worker, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_one_connection_wakes_one_worker_under_poll, setup_fast_poll, teardown),
        cmocka_unit_test_setup_teardown(test_many_connections_reach_every_worker, setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_channels_reconnect_after_restart, setup_restarting, teardown),
        cmocka_unit_test_setup_teardown(test_drain_finishes_calls_on_every_worker, setup_fast, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    fo_rpc_shutdown();
    return failed;
}
