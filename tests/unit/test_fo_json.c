/* Unit tests of fo_json: the strict reader's getters and the paths its errors name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fo_json.h"

static json_t *parse(const char *text)
{
    json_t *v = NULL;
    fo_error *err = fo_json_load_text("doc.json", text, &v);
    if (err != NULL)
        fail_msg("%s", err->message);
    return v;
}

static void expect_message(fo_error *err, const char *want)
{
    assert_non_null(err);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    assert_string_equal(err->message, want);
    fo_error_free(err);
}

static void errors_name_the_path(void **state)
{
    (void)state;
    json_t *doc = parse("{\"features\": [{}, {}, {}, {\"timeout_ms\": -1}]}");
    fo_json_at top = fo_json_top("doc.json", NULL);
    fo_json_at features = fo_json_key(&top, "features");
    fo_json_at third = fo_json_index(&features, 3);
    fo_json_at timeout = fo_json_key(&third, "timeout_ms");
    const json_t *v = json_object_get(json_array_get(json_object_get(doc, "features"), 3), "timeout_ms");
    int64_t ms = 7;
    expect_message(fo_json_int(&timeout, v, 1, 3600000, &ms),
                   "doc.json: features[3].timeout_ms: must be an integer from 1 to 3600000, got -1");
    assert_int_equal(ms, 7);
    expect_message(fo_json_int(&timeout, v, 1, INT64_MAX, &ms),
                   "doc.json: features[3].timeout_ms: must be an integer of at least 1, got -1");
    /* Without an origin, or at the top, the message has no empty parts. */
    fo_json_at flag = fo_json_top(NULL, "--profile");
    expect_message(fo_json_error(&flag, "broken"), "--profile: broken");
    expect_message(fo_json_error(&top, "broken"), "doc.json: broken");
    json_decref(doc);
}

static void unknown_keys_are_refused(void **state)
{
    (void)state;
    static const char *const keys[] = {"name", "tls", NULL};
    json_t *doc = parse("{\"name\": \"a\", \"tls\": {\"ca\": \"x\", \"colour\": 1}}");
    fo_json_at top = fo_json_top("doc.json", NULL);
    assert_null(fo_json_object(&top, doc, keys));
    fo_json_at tls = fo_json_key(&top, "tls");
    static const char *const tls_keys[] = {"ca", NULL};
    expect_message(fo_json_object(&tls, json_object_get(doc, "tls"), tls_keys), "doc.json: tls.colour: unknown key");
    expect_message(fo_json_object(&top, json_object_get(doc, "name"), keys), "doc.json: must be an object, got \"a\"");
    /* Absent is no error; required makes it one. */
    assert_null(fo_json_object(&top, NULL, keys));
    fo_json_at missing = fo_json_key(&top, "target");
    expect_message(fo_json_required(&missing, NULL), "doc.json: target: required");
    json_decref(doc);
}

static void typed_getters_keep_bounds(void **state)
{
    (void)state;
    json_t *doc = parse("{\"s\": \"hi\", \"e\": \"\", \"n\": 0.5, \"b\": true, \"a\": [1, 2], \"c\": \"round_robin\"}");
    fo_json_at top = fo_json_top("doc.json", NULL);
    fo_json_at at = fo_json_key(&top, "x");
    const char *s = NULL;
    assert_null(fo_json_string(&at, json_object_get(doc, "s"), &s));
    assert_string_equal(s, "hi");
    expect_message(fo_json_string(&at, json_object_get(doc, "e"), &s),
                   "doc.json: x: must be a non-empty string, got \"\"");
    double d = 0;
    assert_null(fo_json_number(&at, json_object_get(doc, "n"), 0, 1, &d));
    assert_true(d == 0.5);
    expect_message(fo_json_number(&at, json_object_get(doc, "n"), 1, 2, &d),
                   "doc.json: x: must be a number from 1 to 2, got 0.5");
    bool b = false;
    assert_null(fo_json_bool(&at, json_object_get(doc, "b"), &b));
    assert_true(b);
    expect_message(fo_json_bool(&at, json_object_get(doc, "s"), &b), "doc.json: x: must be true or false, got \"hi\"");
    size_t n = 0;
    assert_null(fo_json_array(&at, json_object_get(doc, "a"), true, NULL, &n));
    assert_int_equal(n, 2);
    expect_message(fo_json_array(&at, json_object_get(doc, "s"), true, "names", &n),
                   "doc.json: x: must be a non-empty array of names, got \"hi\"");
    static const char *const lbs[] = {"pick_first", "round_robin", NULL};
    size_t lb = 9;
    assert_null(fo_json_choice(&at, json_object_get(doc, "c"), lbs, &lb));
    assert_int_equal(lb, 1);
    expect_message(fo_json_choice(&at, json_object_get(doc, "b"), lbs, &lb),
                   "doc.json: x: must be one of pick_first, round_robin, got true");
    int64_t i = 0;
    expect_message(fo_json_int(&at, json_object_get(doc, "n"), 0, 10, &i),
                   "doc.json: x: must be an integer from 0 to 10, got 0.5");
    json_decref(doc);
}

static void durations_are_milliseconds_or_text(void **state)
{
    (void)state;
    json_t *doc = parse("{\"a\": 250, \"b\": \"300ms\", \"c\": \"2s\", \"d\": \"1m\", \"e\": \"2 s\", \"f\": -1}");
    fo_json_at top = fo_json_top("doc.json", NULL);
    static const struct {
        const char *key;
        int64_t ms;
    } good[] = {{"a", 250}, {"b", 300}, {"c", 2000}, {"d", 60000}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ms = -1;
        fo_json_at at = fo_json_key(&top, good[i].key);
        assert_null(fo_json_duration_ms(&at, json_object_get(doc, good[i].key), 0, INT64_MAX, &ms));
        assert_int_equal(ms, good[i].ms);
    }
    int64_t ms = 7;
    fo_json_at e = fo_json_key(&top, "e"), f = fo_json_key(&top, "f"), c = fo_json_key(&top, "c");
    expect_message(fo_json_duration_ms(&e, json_object_get(doc, "e"), 0, INT64_MAX, &ms),
                   "doc.json: e: must be milliseconds or a duration such as \"2s\", at least 0 ms, got \"2 s\"");
    expect_message(fo_json_duration_ms(&f, json_object_get(doc, "f"), 0, INT64_MAX, &ms),
                   "doc.json: f: must be milliseconds or a duration such as \"2s\", at least 0 ms, got -1");
    expect_message(fo_json_duration_ms(&c, json_object_get(doc, "c"), 1, 1000, &ms),
                   "doc.json: c: must be milliseconds or a duration such as \"2s\", from 1 to 1000 ms, got \"2s\"");
    assert_int_equal(ms, 7);
    json_decref(doc);
}

static void long_paths_and_values_are_cut_visibly(void **state)
{
    (void)state;
    char key[200];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    fo_json_at top = fo_json_top("doc.json", NULL);
    fo_json_at at = fo_json_key(&top, key);
    assert_int_equal(strlen(at.path), FO_JSON_PATH_MAX - 1);
    assert_string_equal(at.path + FO_JSON_PATH_MAX - 4, "...");
    json_t *big = json_string(key);
    fo_error *err = fo_json_bool(&top, big, &(bool){false});
    size_t len = strlen(err->message);
    assert_string_equal(err->message + len - 4, "k...");
    assert_null(strstr(err->message, key));
    fo_error_free(err);
    json_decref(big);
}

static void documents_load_strictly(void **state)
{
    (void)state;
    json_t *v = NULL;
    expect_message(fo_json_load_text("doc.json", "{\"a\": 1, \"a\": 2}", &v),
                   "doc.json:1:12: duplicate object key near '\"a\"'");
    assert_null(v);
    fo_error *err = fo_json_load_file("/nonexistent/doc.json", &v);
    assert_non_null(err);
    assert_string_equal(err->message, "/nonexistent/doc.json: cannot open: No such file or directory");
    fo_error_free(err);
    char path[] = "/tmp/test_fo_json_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"ok\": true}", 12), 12);
    close(fd);
    assert_null(fo_json_load_file(path, &v));
    assert_true(json_is_true(json_object_get(v, "ok")));
    json_decref(v);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(errors_name_the_path),
        cmocka_unit_test(unknown_keys_are_refused),
        cmocka_unit_test(typed_getters_keep_bounds),
        cmocka_unit_test(durations_are_milliseconds_or_text),
        cmocka_unit_test(long_paths_and_values_are_cut_visibly),
        cmocka_unit_test(documents_load_strictly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
