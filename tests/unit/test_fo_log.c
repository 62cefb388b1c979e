/* Unit tests of fo_log: every line is one JSON object, time and level first, any size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fo_log.h"

/* Runs emit with stdout in a temporary file; returns the lines it wrote as a JSON array. */
static json_t *capture(void (*emit)(void))
{
    char path[] = "/tmp/fanout-test-log.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    assert_true(dup2(fd, STDOUT_FILENO) >= 0);
    emit();
    fflush(stdout);
    assert_true(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);
    close(fd);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    json_t *lines = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t err;
        json_t *obj = json_loads(line, 0, &err);
        if (!json_is_object(obj))
            fail_msg("not a JSON object (%s): %s", err.text, line);
        json_array_append_new(lines, obj);
    }
    free(line);
    fclose(f);
    unlink(path);
    return lines;
}

static void emit_three(void)
{
    fo_log(FO_LOG_INFO, json_pack("{s:s, s:i}", "event", "request", "failed", 2));
    fo_log(FO_LOG_INFO, json_object());
    fo_log(FO_LOG_DEBUG, json_pack("{s:s}", "event", "hidden")); /* below the level */
    fo_log_event(json_pack("{s:s, s:s}", "event", "listening", "address", "127.0.0.1:1"));
}

static void lines_are_objects_with_time_and_level_first(void **state)
{
    (void)state;
    fo_log_set_level(FO_LOG_INFO);
    json_t *lines = capture(emit_three);
    assert_int_equal(json_array_size(lines), 3);

    json_t *req = json_array_get(lines, 0);
    const char *first_key = json_object_iter_key(json_object_iter(req));
    assert_string_equal(first_key, "time");
    assert_string_equal(json_string_value(json_object_get(req, "level")), "info");
    assert_int_equal(strlen(json_string_value(json_object_get(req, "time"))), strlen("2026-11-28T12:00:00.123456Z"));
    assert_string_equal(json_string_value(json_object_get(req, "event")), "request");
    assert_int_equal(json_integer_value(json_object_get(req, "failed")), 2);

    json_t *empty = json_array_get(lines, 1);
    assert_int_equal(json_object_size(empty), 2); /* time and level alone */

    json_t *event = json_array_get(lines, 2);
    assert_null(json_object_get(event, "time")); /* events are the object as given */
    assert_string_equal(json_string_value(json_object_get(event, "address")), "127.0.0.1:1");
    json_decref(lines);
}

static void emit_long(void)
{
    char *big = malloc(10000);
    assert_non_null(big);
    memset(big, 'x', 9999);
    big[9999] = '\0';
    fo_log(FO_LOG_INFO, json_pack("{s:s}", "big", big));
    free(big);
}

static void long_lines_are_whole(void **state)
{
    (void)state;
    fo_log_set_level(FO_LOG_INFO);
    json_t *lines = capture(emit_long);
    assert_int_equal(json_array_size(lines), 1);
    assert_int_equal(strlen(json_string_value(json_object_get(json_array_get(lines, 0), "big"))), 9999);
    json_decref(lines);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_are_objects_with_time_and_level_first),
        cmocka_unit_test(long_lines_are_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
