/* Unit tests for harness/hs_match: the subset rule and its mismatch messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "hs_match.h"

/* hs_match on two JSON texts; the malloc'd mismatch or NULL. */
static char *match(const char *expected, const char *actual)
{
    json_error_t jerr;
    json_t *e = json_loads(expected, JSON_DECODE_ANY, &jerr);
    json_t *a = json_loads(actual, JSON_DECODE_ANY, &jerr);
    assert_non_null(e);
    assert_non_null(a);
    char *diff = hs_match(e, a, "reply");
    json_decref(e);
    json_decref(a);
    return diff;
}

static void assert_match(const char *expected, const char *actual)
{
    char *diff = match(expected, actual);
    if (diff != NULL)
        fail_msg("unexpected mismatch: %s", diff);
}

static void assert_mismatch(const char *expected, const char *actual, const char *want)
{
    char *diff = match(expected, actual);
    assert_non_null(diff);
    assert_string_equal(diff, want);
    free(diff);
}

static void test_object_subset(void **state)
{
    (void)state;
    assert_match("{}", "{\"a\": 1, \"b\": {\"c\": \"x\"}}");
    assert_match("{\"b\": {\"c\": \"x\"}}", "{\"a\": 1, \"b\": {\"c\": \"x\", \"d\": true}}");
    assert_mismatch("{\"b\": {\"c\": \"y\"}}", "{\"b\": {\"c\": \"x\"}}", "reply.b.c: expected \"y\", got \"x\"");
    assert_mismatch("{\"b\": {\"c\": 1}}", "{\"b\": 7}", "reply.b: expected {\"c\":1}, got 7");
}

static void test_arrays_by_position_same_length(void **state)
{
    (void)state;
    assert_match("[{}, {\"k\": \"DEADLINE\"}]", "[{\"k\": \"X\"}, {\"k\": \"DEADLINE\", \"i\": 1}]");
    assert_mismatch("{\"r\": [{}, {\"e\": {\"k\": \"DEADLINE\"}}]}", "{\"r\": [{}, {\"e\": {\"k\": \"UNAVAILABLE\"}}]}",
                    "reply.r[1].e.k: expected \"DEADLINE\", got \"UNAVAILABLE\"");
    assert_mismatch("{\"r\": [{}]}", "{\"r\": [{}, {}]}", "reply.r: expected 1 elements, got 2");
    assert_mismatch("[]", "[1]", "reply: expected 0 elements, got 1");
}

/* Canonical proto3 JSON leaves defaults out; an expected default matches the absent key. */
static void test_absent_keys_are_defaults(void **state)
{
    (void)state;
    assert_match("{\"partial\": false, \"failed\": 0, \"errors\": [], \"usage\": null, \"n\": \"0\", \"m\": \"\"}",
                 "{}");
    assert_mismatch("{\"failed\": 1}", "{}", "reply.failed: expected 1, got nothing (the key is absent)");
    assert_mismatch("{\"usage\": null}", "{\"usage\": {\"a\": 1}}", "reply.usage: expected null, got {\"a\":1}");
}

static void test_integers_match_decimal_strings(void **state)
{
    (void)state;
    assert_match("{\"events\": 1092}", "{\"events\": \"1092\"}");
    assert_match("{\"events\": \"1092\"}", "{\"events\": \"1092\"}");
    assert_mismatch("{\"events\": 1093}", "{\"events\": \"1092\"}", "reply.events: expected 1093, got \"1092\"");
    assert_mismatch("{\"code\": 14}", "{\"code\": 14.5}", "reply.code: expected 14, got 14.5");
}

static void test_whole_value_and_empty_root(void **state)
{
    (void)state;
    assert_match("null", "null");
    assert_mismatch("{\"a\": 1}", "null", "reply: expected {\"a\":1}, got null");
    json_t *e = json_pack("{s:i}", "a", 2);
    json_t *a = json_pack("{s:i}", "a", 3);
    char *diff = hs_match(e, a, "");
    assert_string_equal(diff, "a: expected 2, got 3");
    free(diff);
    json_decref(e);
    json_decref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_subset),
        cmocka_unit_test(test_arrays_by_position_same_length),
        cmocka_unit_test(test_absent_keys_are_defaults),
        cmocka_unit_test(test_integers_match_decimal_strings),
        cmocka_unit_test(test_whole_value_and_empty_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
