/*
 * Integration tests of `mock_services --fleet FILE --one-process`: every
 * feature of the fleet served by one process, each on its own address with
 * its own profile. The fleet line has the per-process fleet's shape with one
 * pid; each address answers as its own feature, health SERVING; a profile
 * fault stays with its feature; SIGTERM drains every server (calls in flight
 * get the grace period, then are cancelled and counted) and prints a stats
 * line per feature, then "stopped"; a restart entry and a start-up failure
 * are refused with a message that names the feature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fanout/feature/v1/feature.pb-c.h"
#include "fo_time.h"
#include "grpc/health/v1/health.pb-c.h"
#include "test_it_mock.h"

#define NFEATURES 3
static const char *const features[NFEATURES] = {"listings", "tours", "leads"};

#define CHECK_PATH "/grpc.health.v1.Health/Check"
/* mock_services' drain grace (SHUTDOWN_GRACE_MS in mock_services/main.c). */
#define GRACE_MS 2000
/* When the test sends SIGTERM, after its calls are surely in flight. */
#define SIGTERM_AFTER_MS 800
#define CALLS_PER_FEATURE 5

/* --- fleet files and processes ------------------------------------------------- */

/* Writes text to a new temporary fleet file; returns its malloc'd path. */
static char *write_fleet_text(const char *text)
{
    char *path = strdup("/tmp/fanout-test-oneproc-XXXXXX.json");
    assert_non_null(path);
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static tool_proc *start_one_process(const char *fleet_text)
{
    char *path = write_fleet_text(fleet_text);
    char *argv[] = {MOCK_SERVICES_BIN, "--fleet", path, "--one-process", NULL};
    tool_proc *p = tool_proc_start(argv, 30000);
    /* The file is read once, at start-up. */
    unlink(path);
    free(path);
    return p;
}

/* The three features, no faults. */
static int start_clean(void **state)
{
    *state = start_one_process("{\"features\": [{\"name\": \"listings\", \"listen\": \"127.0.0.1:0\"},"
                               " {\"name\": \"tours\", \"listen\": \"127.0.0.1:0\"},"
                               " {\"name\": \"leads\"}]}\n");
    return *state == NULL ? -1 : 0;
}

/* Only tours fails, every call, by its profile. */
static int start_tours_failing(void **state)
{
    *state = start_one_process("{\"features\": [{\"name\": \"listings\"}, {\"name\": \"tours\", \"profile\":"
                               " {\"error_rate\": 1.0, \"error_code\": \"INTERNAL\"}}, {\"name\": \"leads\"}]}\n");
    return *state == NULL ? -1 : 0;
}

/* Runs mock_services on the fleet text to its end; returns the waitpid status, its stderr in *err (free it). */
static int run_one_process(const char *fleet_text, char **path_out, char **err)
{
    char *path = write_fleet_text(fleet_text);
    char *argv[] = {MOCK_SERVICES_BIN, "--fleet", path, "--one-process", NULL};
    int status = tool_proc_run(argv, 30000, err);
    unlink(path);
    *path_out = path;
    return status;
}

/* --- what the tests look at ---------------------------------------------------- */

static const char *address_of(const tool_proc *p, const char *feature)
{
    const char *address = testproc_fleet_address(p, feature);
    assert_non_null(address);
    return address;
}

static void expect_report(const tool_proc *p, const char *feature)
{
    tool_rpc_result r;
    tool_rpc_usage(address_of(p, feature), IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END, IT_CALL_DEADLINE_MS, NULL, &r);
    /* Its feature field first, then the bytes of exactly that feature's report. */
    assert_int_equal(r.status, FO_STATUS_OK);
    assert_string_equal(tool_rpc_usage_reply(&r)->feature, feature);
    it_mock_assert_report(&r, feature, IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END);
    tool_rpc_result_release(&r);
}

static void expect_serving(const char *address, const char *service)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    tool_rpc_result r;
    tool_rpc_call(address, CHECK_PATH, &req.base, &grpc__health__v1__health_check_response__descriptor,
                  IT_CALL_DEADLINE_MS, NULL, &r);
    if (r.status != FO_STATUS_OK)
        fail_msg("%s: Check(\"%s\"): %s (%s)", address, service, fo_status_name(r.status), r.message);
    assert_non_null(r.reply);
    assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)r.reply)->status,
                     GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    tool_rpc_result_release(&r);
}

/* SIGTERM; asserts exit 0 within the wait. */
static void stop_cleanly(tool_proc *p)
{
    int status = tool_proc_stop(p, SIGTERM, IT_STOP_WAIT_MS);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The stats line of feature; asserts there is exactly one and it names this process. */
static json_t *stats_of(const tool_proc *p, const char *feature)
{
    json_t *all = testproc_events(p, "stats");
    json_t *found = NULL;
    size_t i;
    json_t *ev;
    json_array_foreach(all, i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "feature")), feature) != 0)
            continue;
        assert_null(found);
        found = json_incref(ev);
    }
    json_decref(all);
    if (found == NULL)
        fail_msg("no stats line for %s", feature);
    assert_int_equal(json_integer_value(json_object_get(found, "pid")), p->pid);
    return found;
}

static json_int_t count(const json_t *stats, const char *key)
{
    return json_integer_value(json_object_get(stats, key));
}

/* The last stdout line is the "stopped" event with the signal's number. */
static void expect_stopped_last(const tool_proc *p, int sig)
{
    char *out = tool_proc_output(p);
    size_t len = strlen(out);
    assert_true(len > 0 && out[len - 1] == '\n');
    out[len - 1] = '\0';
    const char *last = strrchr(out, '\n');
    json_t *ev = json_loads(last != NULL ? last + 1 : out, 0, NULL);
    free(out);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "event")), "stopped");
    assert_int_equal(json_integer_value(json_object_get(ev, "signal")), sig);
    json_decref(ev);
}

/* --- the tests ------------------------------------------------------------------- */

/* The fleet line: the three features, each on its own port, all with this process's pid. */
static void test_fleet_line(void **state)
{
    tool_proc *p = *state;
    assert_string_equal(tool_proc_field(p, "event"), "fleet");
    assert_int_equal(json_object_size(json_object_get(p->first, "features")), NFEATURES);
    int ports[NFEATURES];
    for (size_t i = 0; i < NFEATURES; i++) {
        assert_int_equal(testproc_fleet_pid(p, features[i]), p->pid);
        const char *address = address_of(p, features[i]);
        assert_non_null(strstr(address, "127.0.0.1:"));
        ports[i] = atoi(strrchr(address, ':') + 1);
        assert_true(ports[i] > 0);
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(ports[i], ports[j]);
    }
}

/* Each address is its own feature's service, and its health says SERVING. */
static void test_each_address_is_its_feature(void **state)
{
    tool_proc *p = *state;
    for (size_t i = 0; i < NFEATURES; i++) {
        expect_report(p, features[i]);
        expect_serving(address_of(p, features[i]), "");
        expect_serving(address_of(p, features[i]), "fanout.feature.v1.FeatureService");
    }
}

/* tours' error_rate 1.0 fails every tours call and no other; the stats say so per feature. */
static void test_profile_fault_stays_with_its_feature(void **state)
{
    tool_proc *p = *state;
    for (int n = 0; n < CALLS_PER_FEATURE; n++) {
        expect_report(p, "listings");
        expect_report(p, "leads");
        tool_rpc_result r;
        tool_rpc_usage(address_of(p, "tours"), IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END, IT_CALL_DEADLINE_MS, NULL,
                       &r);
        assert_int_equal(r.status, FO_STATUS_INTERNAL);
        assert_non_null(strstr(r.message, "tours"));
        assert_null(r.reply);
        tool_rpc_result_release(&r);
    }
    stop_cleanly(p);
    for (size_t i = 0; i < NFEATURES; i++) {
        json_t *stats = stats_of(p, features[i]);
        bool tours = strcmp(features[i], "tours") == 0;
        assert_int_equal(count(stats, "ok"), tours ? 0 : CALLS_PER_FEATURE);
        assert_int_equal(count(stats, "error"), tours ? CALLS_PER_FEATURE : 0);
        assert_int_equal(count(stats, "cancelled") + count(stats, "invalid") + count(stats, "malformed"), 0);
        json_decref(stats);
    }
    expect_stopped_last(p, SIGTERM);
}

/* Sends SIGTERM to pid when it fires, while the test's loop runs its calls. */
typedef struct term_timer {
    fo_timer timer;
    pid_t pid;
} term_timer;

static void term_fired(fo_timer *t) { kill(fo_container_of(t, term_timer, timer)->pid, SIGTERM); }

/*
 * SIGTERM with two calls in flight on different features: listings delayed
 * 1 s finishes within the grace period; tours hanging is cancelled when the
 * grace period ends, and counted as cancelled. The process exits 0, every
 * feature with its stats line, then "stopped".
 */
static void test_sigterm_drains_every_server(void **state)
{
    tool_proc *p = *state;
    Fanout__Feature__V1__UsageRequest req = FANOUT__FEATURE__V1__USAGE_REQUEST__INIT;
    req.customer_id = IT_CUSTOMER;
    req.window_start_unix = IT_WINDOW_START;
    req.window_end_unix = IT_WINDOW_END;
    fo_loop *loop = fo_loop_create();
    tool_rpc_pending delayed, hung;
    /* The deadlines only keep a broken shutdown from hanging the test. */
    tool_rpc_start(&delayed, loop, address_of(p, "listings"), TOOL_RPC_GET_USAGE_PATH, &req.base,
                   &fanout__feature__v1__usage_report__descriptor, IT_CALL_DEADLINE_MS, "listings=delay:1s");
    tool_rpc_start(&hung, loop, address_of(p, "tours"), TOOL_RPC_GET_USAGE_PATH, &req.base,
                   &fanout__feature__v1__usage_report__descriptor, IT_CALL_DEADLINE_MS, "tours=hang");
    term_timer term = {.pid = p->pid};
    fo_timer_init(&term.timer, term_fired);
    int64_t t0 = fo_now_ns();
    fo_timer_start(loop, &term.timer, t0 + SIGTERM_AFTER_MS * FO_NS_PER_MS);
    tool_rpc_wait(&delayed);
    tool_rpc_wait(&hung);
    assert_false(fo_timer_armed(&term.timer)); /* both were still in flight at the signal */

    assert_int_equal(delayed.result.status, FO_STATUS_OK);
    assert_string_equal(tool_rpc_usage_reply(&delayed.result)->feature, "listings");
    if (hung.result.status != FO_STATUS_CANCELLED && hung.result.status != FO_STATUS_UNAVAILABLE)
        fail_msg("hung call ended with %s: %s", fo_status_name(hung.result.status), hung.result.message);
    /* Cut by the end of the grace period, not by its own deadline. */
    assert_true(hung.result.elapsed_ms >= SIGTERM_AFTER_MS + GRACE_MS - 100);
    assert_true(hung.result.elapsed_ms < IT_CALL_DEADLINE_MS - 1000);
    tool_rpc_pending_release(&delayed);
    tool_rpc_pending_release(&hung);
    fo_loop_destroy(loop);

    assert_true(it_mock_wait_exit(p, IT_EXIT_WAIT_MS));
    assert_true(WIFEXITED(p->status));
    assert_int_equal(WEXITSTATUS(p->status), 0);
    json_t *listings = stats_of(p, "listings");
    assert_int_equal(count(listings, "ok"), 1);
    json_decref(listings);
    json_t *tours = stats_of(p, "tours");
    assert_int_equal(count(tours, "cancelled"), 1);
    json_decref(tours);
    json_t *leads = stats_of(p, "leads");
    assert_int_equal(count(leads, "ok") + count(leads, "cancelled"), 0);
    json_decref(leads);
    expect_stopped_last(p, SIGTERM);
}

/* No supervisor, no restart: refused before anything starts, naming the file, the feature and the key. */
static void test_restart_is_refused(void **state)
{
    (void)state;
    char *path, *err;
    int status = run_one_process("{\"features\": [{\"name\": \"listings\"}, {\"name\": \"tours\", \"restart\": true}]}",
                                 &path, &err);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    if (strstr(err, path) == NULL || strstr(err, "\"tours\"") == NULL || strstr(err, "restart") == NULL)
        fail_msg("message lacks the file, the feature or the key: %s", err);
    free(err);
    free(path);
}

/*
 * An address in use (a listener without SO_REUSEPORT, which gRPC cannot
 * share) fails the start-up: exit 1, naming the feature and the address;
 * listings, started before, is torn down (under the sanitizers a leak would
 * change the exit status).
 */
static void test_start_failure_names_the_feature(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    char address[32], text[256];
    snprintf(address, sizeof address, "127.0.0.1:%d", ntohs(sa.sin_port));
    snprintf(text, sizeof text,
             "{\"features\": [{\"name\": \"listings\"}, {\"name\": \"tours\", \"listen\": \"%s\"},"
             " {\"name\": \"leads\"}]}",
             address);
    char *path, *err;
    int status = run_one_process(text, &path, &err);
    close(fd);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 1 || strstr(err, "\"tours\"") == NULL || strstr(err, address) == NULL)
        fail_msg("exit %d, want 1 with a message naming tours and %s: %s", WEXITSTATUS(status), address, err);
    free(err);
    free(path);
}

static void test_one_process_needs_a_fleet(void **state)
{
    (void)state;
    char *argv[] = {MOCK_SERVICES_BIN, "--feature", "tours", "--one-process", NULL};
    char *err;
    int status = tool_proc_run(argv, 30000, &err);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    assert_non_null(strstr(err, "--one-process"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fleet_line, start_clean, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_each_address_is_its_feature, start_clean, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_profile_fault_stays_with_its_feature, start_tours_failing, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_sigterm_drains_every_server, start_clean, it_mock_stop),
        cmocka_unit_test(test_restart_is_refused),
        cmocka_unit_test(test_start_failure_names_the_feature),
        cmocka_unit_test(test_one_process_needs_a_fleet),
    };
    return cmocka_run_group_tests(tests, it_mock_rpc_init, it_mock_rpc_shutdown);
}
