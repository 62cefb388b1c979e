/* Unit tests for tools/tool_proc: child processes started, watched through their stdout, stopped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tool_proc.h"

/* A shell script as argv for tool_proc_start and tool_proc_run. */
#define SH(script)                                                                                                     \
    {                                                                                                                  \
        "/bin/sh", "-c", script, NULL                                                                                  \
    }

static void test_first_line_fields_and_output(void **state)
{
    (void)state;
    char *argv[] = SH("echo '{\"address\": \"127.0.0.1:1\"}'; echo second; exec sleep 30");
    tool_proc *p = tool_proc_start(argv, 5000);
    assert_non_null(p);
    assert_string_equal(tool_proc_field(p, "address"), "127.0.0.1:1");
    assert_null(tool_proc_field(p, "absent"));
    assert_true(tool_proc_wait_output(p, "second", 5000));
    char *out = tool_proc_output(p);
    assert_string_equal(out, "{\"address\": \"127.0.0.1:1\"}\nsecond\n");
    free(out);
    assert_false(tool_proc_exited(p));
    int status = tool_proc_stop(p, SIGTERM, 5000);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
    assert_true(tool_proc_exited(p));
    tool_proc_free(p);
}

static void test_a_start_without_a_json_first_line_fails(void **state)
{
    (void)state;
    char *not_json[] = SH("echo listening; exec sleep 30");
    assert_null(tool_proc_start(not_json, 5000));
    char *silent_exit[] = SH("exit 1");
    assert_null(tool_proc_start(silent_exit, 5000));
    char *no_such_binary[] = {"/nonexistent/fanout-binary", NULL};
    assert_null(tool_proc_start(no_such_binary, 5000));
}

static void test_stop_kills_what_ignores_the_signal(void **state)
{
    (void)state;
    char *argv[] = SH("trap '' TERM; echo '{}'; while :; do sleep 1; done");
    tool_proc *p = tool_proc_start(argv, 5000);
    assert_non_null(p);
    int status = tool_proc_stop(p, SIGTERM, 100);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    tool_proc_free(p);
}

static void test_run_returns_status_and_stderr(void **state)
{
    (void)state;
    char *argv[] = SH("echo out; echo oops >&2; exit 3");
    char *err = NULL;
    int status = tool_proc_run(argv, 5000, &err);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 3);
    assert_string_equal(err, "oops\n");
    free(err);

    char *slow[] = SH("exec sleep 30");
    assert_int_equal(tool_proc_run(slow, 50, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_line_fields_and_output),
        cmocka_unit_test(test_a_start_without_a_json_first_line_fails),
        cmocka_unit_test(test_stop_kills_what_ignores_the_signal),
        cmocka_unit_test(test_run_returns_status_and_stderr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
