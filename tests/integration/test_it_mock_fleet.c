/*
 * Integration tests of the mock services' fleet mode: one child process per
 * feature, supervised by the fleet process. Every feature answers; the
 * children stop with the fleet (SIGTERM) and die with it (SIGKILL); a dead
 * child is reported and, when its entry says so, restarted on its address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fo_time.h"
#include "test_it_mock.h"

#define FLEET_FILE FANOUT_SOURCE_DIR "/mock_services/fleet.json"
#define FLEET_SIZE 12
/*
 * How long children may take to go after the fleet stops or dies. One child
 * stops in about 0.3 s, but twelve sanitizer-built children stopping at once
 * took up to 4.8 s on a loaded 2-core machine; without the parent-death
 * signal they never go.
 */
#define CHILDREN_GONE_MS 15000
/* A restart is a fresh process start, which is slow under the sanitizers on a busy machine. */
#define RESTART_WAIT_MS 20000

static int start_shipped_fleet(void **state)
{
    *state = testproc_fleet(FLEET_FILE);
    return *state == NULL ? -1 : 0;
}

/* Two features, only "tours" restarted when it dies. */
static int start_restart_fleet(void **state)
{
    static const char text[] = "{\"features\": [{\"name\": \"tours\", \"restart\": true},"
                               " {\"name\": \"leads\", \"restart\": false}]}\n";
    char path[] = "/tmp/fanout-test-fleet-XXXXXX.json";
    int fd = mkstemps(path, 5);
    if (fd < 0)
        return -1;
    bool written = write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1);
    close(fd);
    /* The fleet reads its file once, at start-up; restarts use what it read. */
    *state = written ? testproc_fleet(path) : NULL;
    unlink(path);
    return *state == NULL ? -1 : 0;
}

static json_t *fleet_features(const tool_proc *fleet) { return json_object_get(fleet->first, "features"); }

static void expect_feature_report(const tool_proc *fleet, const char *feature)
{
    tool_rpc_result r;
    tool_rpc_usage(testproc_fleet_address(fleet, feature), IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END,
                   IT_CALL_DEADLINE_MS, NULL, &r);
    it_mock_assert_report(&r, feature, IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END);
    tool_rpc_result_release(&r);
}

/* Fills pids with every child's pid, each a live process. */
static void child_pids(const tool_proc *fleet, pid_t pids[FLEET_SIZE])
{
    assert_int_equal(json_object_size(fleet_features(fleet)), FLEET_SIZE);
    size_t i = 0;
    const char *name;
    json_t *value;
    json_object_foreach(fleet_features(fleet), name, value)
    {
        pids[i] = testproc_fleet_pid(fleet, name);
        assert_true(pids[i] > 0);
        assert_int_equal(kill(pids[i], 0), 0);
        i++;
    }
}

/*
 * Asserts that every child is gone within wait_ms. Survivors are killed
 * before the test fails: they are nobody's children now, so no teardown would.
 */
static void expect_children_gone(const pid_t pids[FLEET_SIZE], int64_t wait_ms)
{
    int survivors = 0;
    for (size_t i = 0; i < FLEET_SIZE; i++) {
        if (!testproc_pid_gone(pids[i], survivors == 0 ? wait_ms : 0)) {
            kill(pids[i], SIGKILL);
            survivors++;
        }
    }
    if (survivors > 0)
        fail_msg("%d children still ran %lld ms after the fleet stopped", survivors, (long long)wait_ms);
}

/* All twelve children are up, each on its own port, and answer as their own feature. */
static void test_every_feature_answers(void **state)
{
    tool_proc *fleet = *state;
    pid_t pids[FLEET_SIZE];
    child_pids(fleet, pids);
    int ports[FLEET_SIZE];
    size_t n = 0;
    const char *name;
    json_t *value;
    json_object_foreach(fleet_features(fleet), name, value)
    {
        const char *address = testproc_fleet_address(fleet, name);
        assert_non_null(address);
        ports[n] = atoi(strrchr(address, ':') + 1);
        assert_true(ports[n] > 0);
        for (size_t i = 0; i < n; i++)
            assert_int_not_equal(ports[i], ports[n]);
        n++;
        expect_feature_report(fleet, name);
    }
}

static void test_sigterm_stops_every_child(void **state)
{
    tool_proc *fleet = *state;
    pid_t pids[FLEET_SIZE];
    child_pids(fleet, pids);
    int status = tool_proc_stop(fleet, SIGTERM, 15000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The fleet reaps its children before it exits, so none may be left even for a moment. */
    expect_children_gone(pids, 0);
    char *out = tool_proc_output(fleet);
    assert_non_null(strstr(out, "\"fleet_stopped\""));
    free(out);
}

/* The fleet gets no chance to stop its children: they go on their own (parent-death signal). */
static void test_sigkill_fleet_kills_children(void **state)
{
    tool_proc *fleet = *state;
    pid_t pids[FLEET_SIZE];
    child_pids(fleet, pids);
    int status = tool_proc_stop(fleet, SIGKILL, 5000);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    expect_children_gone(pids, CHILDREN_GONE_MS);
}

static void test_killed_child_is_reported(void **state)
{
    tool_proc *fleet = *state;
    pid_t tours = testproc_fleet_pid(fleet, "tours");
    assert_int_equal(kill(tours, SIGKILL), 0);
    json_t *ev = it_mock_wait_event(fleet, "child_exited", "tours", CHILDREN_GONE_MS);
    assert_non_null(ev);
    assert_int_equal(json_integer_value(json_object_get(ev, "pid")), tours);
    assert_string_equal(json_string_value(json_object_get(ev, "status")), "signal 9");
    json_decref(ev);

    const char *name;
    json_t *value;
    json_object_foreach(fleet_features(fleet), name, value)
    {
        if (strcmp(name, "tours") != 0)
            expect_feature_report(fleet, name);
    }
    /* Its entry does not ask for a restart, so nobody answers there any more. */
    tool_rpc_result r;
    tool_rpc_usage(testproc_fleet_address(fleet, "tours"), IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END,
                   IT_CALL_DEADLINE_MS, NULL, &r);
    assert_int_equal(r.status, FO_STATUS_UNAVAILABLE);
    tool_rpc_result_release(&r);
    assert_false(tool_proc_exited(fleet));
}

/*
 * The first call after the restart may still meet the client library's
 * memory of the dead connection; a few retries on UNAVAILABLE tell that from
 * a service that does not answer.
 */
static void call_until_answered(const char *address, tool_rpc_result *r)
{
    int64_t until = fo_deadline_in_ms(5000);
    for (;;) {
        tool_rpc_usage(address, IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END, IT_CALL_DEADLINE_MS, NULL, r);
        if (r->status != FO_STATUS_UNAVAILABLE || fo_now_ns() >= until)
            return;
        tool_rpc_result_release(r);
        usleep(100 * 1000);
    }
}

static void test_crashed_child_restarts_on_its_address(void **state)
{
    tool_proc *fleet = *state;
    const char *address = testproc_fleet_address(fleet, "tours");
    pid_t old_pid = testproc_fleet_pid(fleet, "tours");
    tool_rpc_result r;
    tool_rpc_usage(address, IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END, IT_CALL_DEADLINE_MS, "tours=crash", &r);
    assert_int_equal(r.status, FO_STATUS_UNAVAILABLE);
    tool_rpc_result_release(&r);

    json_t *exited = it_mock_wait_event(fleet, "child_exited", "tours", CHILDREN_GONE_MS);
    assert_non_null(exited);
    assert_string_equal(json_string_value(json_object_get(exited, "status")), "exit 70");
    json_decref(exited);
    json_t *restarted = it_mock_wait_event(fleet, "restarted", "tours", RESTART_WAIT_MS);
    assert_non_null(restarted);
    assert_string_equal(json_string_value(json_object_get(restarted, "address")), address);
    pid_t new_pid = (pid_t)json_integer_value(json_object_get(restarted, "pid"));
    json_decref(restarted);
    assert_true(new_pid > 0 && new_pid != old_pid);
    assert_true(testproc_pid_gone(old_pid, 0));

    call_until_answered(address, &r);
    it_mock_assert_report(&r, "tours", IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END);
    tool_rpc_result_release(&r);
    expect_feature_report(fleet, "leads");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_feature_answers, start_shipped_fleet, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_sigterm_stops_every_child, start_shipped_fleet, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_sigkill_fleet_kills_children, start_shipped_fleet, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_killed_child_is_reported, start_shipped_fleet, it_mock_stop),
        cmocka_unit_test_setup_teardown(test_crashed_child_restarts_on_its_address, start_restart_fleet, it_mock_stop),
    };
    return cmocka_run_group_tests(tests, it_mock_rpc_init, it_mock_rpc_shutdown);
}
