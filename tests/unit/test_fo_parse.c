/* Unit tests of fo_parse: strict integers, durations and sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fo_parse.h"

static void integers_are_whole_decimal_text(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(fo_parse_int("42", 0, 100, &v), FO_PARSE_OK);
    assert_int_equal(v, 42);
    assert_int_equal(fo_parse_int("-7", -10, 10, &v), FO_PARSE_OK);
    assert_int_equal(v, -7);
    assert_int_equal(fo_parse_int("007", 0, 10, &v), FO_PARSE_OK);
    assert_int_equal(v, 7);
    assert_int_equal(fo_parse_int("9223372036854775807", INT64_MIN, INT64_MAX, &v), FO_PARSE_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(fo_parse_int("-9223372036854775808", INT64_MIN, INT64_MAX, &v), FO_PARSE_OK);
    assert_true(v == INT64_MIN);
    /* Trailing garbage, blanks, signs and hex are not integers. */
    const char *bad[] = {"", "-", "10x", " 5", "5 ", "+5", "0x10", "1e3", "1.0", "--1", "4\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (fo_parse_int(bad[i], INT64_MIN, INT64_MAX, &v) != FO_PARSE_SYNTAX)
            fail_msg("\"%s\" parsed", bad[i]);
    }
}

static void integers_keep_their_bounds(void **state)
{
    (void)state;
    int64_t v = 99;
    assert_int_equal(fo_parse_int("65", 1, 64, &v), FO_PARSE_RANGE);
    assert_int_equal(fo_parse_int("0", 1, 64, &v), FO_PARSE_RANGE);
    assert_int_equal(v, 99);
    /* Overflow is out of range, never wrapped. */
    assert_int_equal(fo_parse_int("9223372036854775808", INT64_MIN, INT64_MAX, &v), FO_PARSE_RANGE);
    assert_int_equal(fo_parse_int("-9223372036854775809", INT64_MIN, INT64_MAX, &v), FO_PARSE_RANGE);
    assert_int_equal(fo_parse_int("99999999999999999999999", INT64_MIN, INT64_MAX, &v), FO_PARSE_RANGE);
    uint64_t u;
    assert_int_equal(fo_parse_uint("18446744073709551615", UINT64_MAX, &u), FO_PARSE_OK);
    assert_true(u == UINT64_MAX);
    assert_int_equal(fo_parse_uint("18446744073709551616", UINT64_MAX, &u), FO_PARSE_RANGE);
    assert_int_equal(fo_parse_uint("-1", UINT64_MAX, &u), FO_PARSE_SYNTAX);
    assert_int_equal(fo_parse_uint("11", 10, &u), FO_PARSE_RANGE);
}

static void durations_have_units(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t us;
    } good[] = {
        {"300ms", 300000}, {"2s", 2000000},    {"1.5s", 1500000}, {"250us", 250},
        {"1m", 60000000},  {"2h", 7200000000}, {"40", 40000},     {"0", 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t us = -1;
        if (fo_parse_duration_us(good[i].text, &us) != FO_PARSE_OK || us != good[i].us)
            fail_msg("\"%s\": got %lld", good[i].text, (long long)us);
    }
    const char *bad[] = {"", "-1s", "+1s", "3 s", " 3s", "s", "1e300s", "10parsecs", "1.s", ".5s", "0x10ms", "inf"};
    int64_t us;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (fo_parse_duration_us(bad[i], &us) != FO_PARSE_SYNTAX)
            fail_msg("\"%s\" parsed", bad[i]);
    }
    assert_int_equal(fo_parse_duration_us("99999999999999999999h", &us), FO_PARSE_RANGE);
}

static void sizes_have_binary_units(void **state)
{
    (void)state;
    uint64_t n;
    assert_int_equal(fo_parse_size("8388608", UINT64_MAX, &n), FO_PARSE_OK);
    assert_int_equal(n, 8388608);
    assert_int_equal(fo_parse_size("512KiB", UINT64_MAX, &n), FO_PARSE_OK);
    assert_int_equal(n, 512 * 1024);
    assert_int_equal(fo_parse_size("8MiB", UINT64_MAX, &n), FO_PARSE_OK);
    assert_int_equal(n, 8 << 20);
    assert_int_equal(fo_parse_size("2GiB", UINT64_MAX, &n), FO_PARSE_OK);
    assert_int_equal(n, UINT64_C(2) << 30);
    assert_int_equal(fo_parse_size("8MiB", 8 << 20, &n), FO_PARSE_OK);
    assert_int_equal(fo_parse_size("9MiB", 8 << 20, &n), FO_PARSE_RANGE);
    assert_int_equal(fo_parse_size("8388609", 8 << 20, &n), FO_PARSE_RANGE);
    assert_int_equal(fo_parse_size("17179869184GiB", UINT64_MAX, &n), FO_PARSE_RANGE);
    assert_int_equal(fo_parse_size("99999999999999999999999", UINT64_MAX, &n), FO_PARSE_RANGE);
    const char *bad[] = {"", "KiB", "8 MiB", "8mib", "8MB", "-1", "1.5MiB", "8MiBs"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (fo_parse_size(bad[i], UINT64_MAX, &n) != FO_PARSE_SYNTAX)
            fail_msg("\"%s\" parsed", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_are_whole_decimal_text),
        cmocka_unit_test(integers_keep_their_bounds),
        cmocka_unit_test(durations_have_units),
        cmocka_unit_test(sizes_have_binary_units),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
