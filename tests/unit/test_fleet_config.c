/* Unit tests for mock_services/fleet_config: the shipped fleet files and every bad-file case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fleet_config.h"

static const char *const default_dozen[] = {
    "listings",  "searches",    "saved_searches", "tours",       "offers",     "messages",
    "documents", "collections", "campaigns",      "open_houses", "valuations", "leads",
};

/* Writes text to a new temporary file and stores its path in path (PATH_LEN bytes). */
#define PATH_LEN 64
static void write_temp(const char *text, char path[PATH_LEN])
{
    snprintf(path, PATH_LEN, "/tmp/test-mock-fleet-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static void load_ok(const char *path, mock_fleet *fleet)
{
    fo_error *err = mock_fleet_load(path, fleet);
    if (err != NULL)
        fail_msg("unexpected error: %s", err->message);
}

/* Asserts that loading path fails with a message naming path and containing both fragments. */
static void expect_load_error(const char *path, const char *fragment1, const char *fragment2)
{
    mock_fleet fleet = {.count = 99};
    fo_error *err = mock_fleet_load(path, &fleet);
    if (err == NULL)
        fail_msg("expected an error for %s", path);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    if (strstr(err->message, path) == NULL || strstr(err->message, fragment1) == NULL ||
        strstr(err->message, fragment2) == NULL)
        fail_msg("message \"%s\" lacks the path, \"%s\" or \"%s\"", err->message, fragment1, fragment2);
    assert_int_equal(fleet.count, 0);
    assert_null(fleet.entries);
    fo_error_free(err);
}

/* Asserts that a fleet file holding text is rejected as expect_load_error says. */
static void expect_bad(const char *text, const char *fragment1, const char *fragment2)
{
    char path[PATH_LEN];
    write_temp(text, path);
    expect_load_error(path, fragment1, fragment2);
    unlink(path);
}

static void check_default_dozen(const mock_fleet *fleet)
{
    assert_int_equal(fleet->count, sizeof default_dozen / sizeof default_dozen[0]);
    for (size_t i = 0; i < fleet->count; i++) {
        const mock_fleet_entry *e = &fleet->entries[i];
        assert_string_equal(e->name, default_dozen[i]);
        assert_string_equal(e->listen, "127.0.0.1:0");
        assert_false(e->restart);
        assert_true(e->profile.error_rate == 0 && e->profile.hang_rate == 0 && e->profile.malformed_rate == 0 &&
                    e->profile.crash_rate == 0);
    }
}

static void shipped_fleet_loads(void **state)
{
    (void)state;
    mock_fleet fleet;
    load_ok(MOCK_FLEET_DIR "/fleet.json", &fleet);
    check_default_dozen(&fleet);
    for (size_t i = 0; i < fleet.count; i++) {
        const mock_profile *p = &fleet.entries[i].profile;
        assert_true(p->latency_p50_ms >= 1 && p->latency_p50_ms <= 3);
        assert_true(p->latency_p99_ms >= 10 && p->latency_p99_ms <= 40);
    }
    mock_fleet_release(&fleet);
    mock_fleet_release(&fleet); /* harmless */
}

static void shipped_fast_fleet_loads(void **state)
{
    (void)state;
    mock_fleet fleet;
    load_ok(MOCK_FLEET_DIR "/fleet-fast.json", &fleet);
    check_default_dozen(&fleet);
    for (size_t i = 0; i < fleet.count; i++)
        assert_true(fleet.entries[i].profile.latency_p50_ms == 0);
    mock_fleet_release(&fleet);
}

static void explicit_values(void **state)
{
    (void)state;
    char path[PATH_LEN];
    write_temp("{\"features\": [{\"name\": \"tours\"},"
               " {\"name\": \"my-feature_2\", \"listen\": \"0.0.0.0:7001\", \"restart\": true,"
               "  \"profile\": {\"latency_ms\": 5, \"error_rate\": 0.25,"
               "               \"error_code\": \"INTERNAL\"}}]}",
               path);
    mock_fleet fleet;
    load_ok(path, &fleet);
    unlink(path);
    assert_int_equal(fleet.count, 2);
    assert_string_equal(fleet.entries[0].listen, MOCK_FLEET_DEFAULT_LISTEN);
    assert_false(fleet.entries[0].restart);
    assert_int_equal(fleet.entries[0].profile.error_code, FO_STATUS_UNAVAILABLE);
    const mock_fleet_entry *e = &fleet.entries[1];
    assert_string_equal(e->name, "my-feature_2");
    assert_string_equal(e->listen, "0.0.0.0:7001");
    assert_true(e->restart);
    assert_true(e->profile.latency_p50_ms == 5 && e->profile.latency_p99_ms == 5);
    assert_true(e->profile.error_rate == 0.25);
    assert_int_equal(e->profile.error_code, FO_STATUS_INTERNAL);
    mock_fleet_release(&fleet);
}

static void unreadable_files(void **state)
{
    (void)state;
    char path[PATH_LEN];
    write_temp("", path);
    unlink(path);
    expect_load_error(path, "No such file", ": ");
    expect_load_error("/tmp", "Is a directory", ": ");
}

static void invalid_json(void **state)
{
    (void)state;
    expect_bad("{\n  \"features\": [\n    {\"name\": \"tours\",}\n  ]\n}", ":3:", "");
    expect_bad("{\"features\": [\n{\"name\": \"a\", \"name\": \"b\"}]}", ":2:", "duplicate object key");
    expect_bad("", ":1:", "");
    expect_bad("{\"features\": [{\"name\": \"a\\u0000b\"}]}", ":1:", "\\u0000");
}

static void bad_top_level(void **state)
{
    (void)state;
    expect_bad("[]", "must be an object", "top level");
    expect_bad("{}", "features: required", "");
    expect_bad("{\"features\": [{\"name\": \"a\"}], \"extra\": 1}", "extra: unknown key", "");
    expect_bad("{\"features\": {}}", "features: must be a non-empty array", "{}");
    expect_bad("{\"features\": []}", "features: must be a non-empty array", "got []");
}

static void bad_entries(void **state)
{
    (void)state;
    expect_bad("{\"features\": [{\"name\": \"a\"}, 7]}", "features[1]: must be an object", "got 7");
    expect_bad("{\"features\": [{\"listen\": \"x:1\"}]}", "features[0].name: required", "");
    expect_bad("{\"features\": [{\"name\": \"\"}]}", "features[0].name: must be 1 to 64", "got \"\"");
    expect_bad("{\"features\": [{\"name\": 5}]}", "features[0].name: must be", "got 5");
    expect_bad("{\"features\": [{\"name\": \"Tours\"}]}", "features[0].name: must be 1 to 64 characters of a-z, 0-9",
               "\"Tours\"");
    expect_bad("{\"features\": [{\"name\": \"to urs\"}]}", "features[0].name", "\"to urs\"");
    expect_bad("{\"features\": [{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaa\"}]}",
               "features[0].name", "1 to 64");
    expect_bad("{\"features\": [{\"name\": \"tours\"}, {\"name\": \"offers\"},"
               " {\"name\": \"tours\"}]}",
               "features[2].name", "duplicate feature name \"tours\"");
    expect_bad("{\"features\": [{\"name\": \"a\", \"listen\": 8080}]}", "features[0].listen", "got 8080");
    expect_bad("{\"features\": [{\"name\": \"a\", \"listen\": \"\"}]}", "features[0].listen", "got \"\"");
    expect_bad("{\"features\": [{\"name\": \"a\", \"restart\": \"yes\"}]}", "features[0].restart", "\"yes\"");
    expect_bad("{\"features\": [{\"name\": \"a\", \"restrat\": true}]}", "features[0].restrat", "unknown key");
    expect_bad("{\"features\": [{\"name\": \"a\", \"profile\": {\"error_rate\": 2}}]}",
               "features[0].profile.error_rate", "2");
    expect_bad("{\"features\": [{\"name\": \"a\", \"profile\": 3}]}", "features[0].profile", "got 3");
}

static void name_length_limit(void **state)
{
    (void)state;
    char text[256];
    char name[MOCK_FLEET_NAME_MAX + 1];
    memset(name, 'a', MOCK_FLEET_NAME_MAX);
    name[MOCK_FLEET_NAME_MAX] = '\0';
    snprintf(text, sizeof text, "{\"features\": [{\"name\": \"%s\"}]}", name);
    char path[PATH_LEN];
    write_temp(text, path);
    mock_fleet fleet;
    load_ok(path, &fleet);
    unlink(path);
    assert_string_equal(fleet.entries[0].name, name);
    mock_fleet_release(&fleet);
}

/* Without a supervisor (--one-process) an entry asking for a restart is refused, by name; restart: false is fine. */
static void unsupervised_refuses_restart(void **state)
{
    (void)state;
    char path[PATH_LEN];
    write_temp("{\"features\": [{\"name\": \"listings\", \"restart\": false},"
               " {\"name\": \"tours\", \"restart\": true}, {\"name\": \"leads\", \"restart\": true}]}",
               path);
    mock_fleet fleet;
    load_ok(path, &fleet);
    unlink(path);
    fo_error *err = mock_fleet_check_unsupervised(&fleet, path);
    assert_non_null(err);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    /* The first offender: the file, the entry and its key, the feature. */
    if (strstr(err->message, path) == NULL || strstr(err->message, "features[1].restart") == NULL ||
        strstr(err->message, "\"tours\"") == NULL)
        fail_msg("message \"%s\" lacks the path, the key or the feature", err->message);
    fo_error_free(err);
    mock_fleet_release(&fleet);

    load_ok(MOCK_FLEET_DIR "/fleet-fast.json", &fleet);
    assert_null(mock_fleet_check_unsupervised(&fleet, "fleet-fast.json"));
    mock_fleet_release(&fleet);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_fleet_loads),
        cmocka_unit_test(shipped_fast_fleet_loads),
        cmocka_unit_test(explicit_values),
        cmocka_unit_test(unreadable_files),
        cmocka_unit_test(invalid_json),
        cmocka_unit_test(bad_top_level),
        cmocka_unit_test(bad_entries),
        cmocka_unit_test(name_length_limit),
        cmocka_unit_test(unsupervised_refuses_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
