/* Unit tests for mock_services/mock_fault: the x-mock-fault header parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "mock_fault.h"

/* Parses a NUL-terminated header for feature and asserts that it is accepted. */
static mock_fault parse_ok(const char *header, const char *feature)
{
    mock_fault f;
    fo_error *err = mock_fault_parse(header, strlen(header), feature, 0, &f);
    if (err != NULL)
        fail_msg("unexpected error for \"%s\": %s", header, err->message);
    return f;
}

/* Asserts that header is rejected with a message containing each of the given fragments. */
static void expect_bad_n(const char *header, size_t len, const char *fragment1, const char *fragment2)
{
    mock_fault f = {.delay_us = 1, .kind = MOCK_FAULT_CRASH};
    fo_error *err = mock_fault_parse(header, len, "tours", 0, &f);
    if (err == NULL)
        fail_msg("expected an error for \"%.*s\"", (int)len, header);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    if (strstr(err->message, fragment1) == NULL || strstr(err->message, fragment2) == NULL)
        fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", err->message, fragment1, fragment2);
    assert_int_equal(f.delay_us, 0);
    assert_int_equal(f.kind, MOCK_FAULT_NONE);
    fo_error_free(err);
}

static void expect_bad(const char *header, const char *fragment1, const char *fragment2)
{
    expect_bad_n(header, strlen(header), fragment1, fragment2);
}

static void each_kind_parses(void **state)
{
    (void)state;
    mock_fault f = parse_ok("tours=delay:300ms", "tours");
    assert_int_equal(f.delay_us, 300000);
    assert_int_equal(f.kind, MOCK_FAULT_NONE);
    f = parse_ok("tours=delay:2s", "tours");
    assert_int_equal(f.delay_us, 2000000);
    f = parse_ok("tours=error:UNAVAILABLE", "tours");
    assert_int_equal(f.kind, MOCK_FAULT_ERROR);
    assert_int_equal(f.error_code, FO_STATUS_UNAVAILABLE);
    assert_int_equal(f.delay_us, 0);
    f = parse_ok("tours=error:13", "tours");
    assert_int_equal(f.error_code, FO_STATUS_INTERNAL);
    f = parse_ok("tours=error:not_found", "tours");
    assert_int_equal(f.error_code, FO_STATUS_NOT_FOUND);
    assert_int_equal(parse_ok("tours=hang", "tours").kind, MOCK_FAULT_HANG);
    assert_int_equal(parse_ok("tours=malformed", "tours").kind, MOCK_FAULT_MALFORMED);
    assert_int_equal(parse_ok("tours=crash", "tours").kind, MOCK_FAULT_CRASH);
}

static void huge_sizes(void **state)
{
    (void)state;
    mock_fault f = parse_ok("tours=huge:8MiB", "tours");
    assert_int_equal(f.kind, MOCK_FAULT_HUGE);
    assert_int_equal(f.huge_bytes, 8u << 20);
    assert_int_equal(parse_ok("tours=huge:512KiB", "tours").huge_bytes, 512u << 10);
    assert_int_equal(parse_ok("tours=huge:1000", "tours").huge_bytes, 1000);
    assert_int_equal(parse_ok("tours=huge:64MiB", "tours").huge_bytes, MOCK_HUGE_MAX_BYTES);
    f = parse_ok("tours=delay:10ms, tours=huge:1MiB", "tours");
    assert_int_equal(f.delay_us, 10000);
    assert_int_equal(f.kind, MOCK_FAULT_HUGE);
    /* Only the named feature's fault carries a size. */
    assert_int_equal(parse_ok("tours=huge:1MiB", "offers").huge_bytes, 0);
    expect_bad("tours=huge", "\"tours=huge\"", "needs a size");
    expect_bad("tours=huge:", "\"tours=huge:\"", "needs a size");
    expect_bad("tours=huge:0", "bad size \"0\"", "1 to");
    expect_bad("tours=huge:65MiB", "bad size \"65MiB\"", "KiB or MiB");
    expect_bad("tours=huge:67108865", "bad size \"67108865\"", "1 to");
    expect_bad("tours=huge:999999999999MiB", "bad size", "999999999999MiB");
    expect_bad("tours=huge:8mb", "bad size \"8mb\"", "KiB or MiB");
    expect_bad("tours=huge:-1", "bad size \"-1\"", "KiB or MiB");
    expect_bad("tours=huge:1MiB,tours=hang", "\"tours=hang\"", "second terminal fault");
}

static void whitespace_and_other_features(void **state)
{
    (void)state;
    const char *h = " tours = delay : 50ms ,\toffers=error:UNAVAILABLE , leads=hang\t";
    mock_fault f = parse_ok(h, "tours");
    assert_int_equal(f.delay_us, 50000);
    assert_int_equal(f.kind, MOCK_FAULT_NONE);
    f = parse_ok(h, "offers");
    assert_int_equal(f.kind, MOCK_FAULT_ERROR);
    assert_int_equal(f.error_code, FO_STATUS_UNAVAILABLE);
    f = parse_ok(h, "leads");
    assert_int_equal(f.kind, MOCK_FAULT_HANG);
    f = parse_ok(h, "listings");
    assert_int_equal(f.delay_us, 0);
    assert_int_equal(f.kind, MOCK_FAULT_NONE);
    assert_int_equal(f.error_code, FO_STATUS_OK);
    /* A name is matched whole, not as a prefix. */
    assert_int_equal(parse_ok("tours_v2=hang", "tours").kind, MOCK_FAULT_NONE);
}

static void empty_header_asks_nothing(void **state)
{
    (void)state;
    mock_fault f = {.delay_us = 7, .kind = MOCK_FAULT_HANG};
    assert_null(mock_fault_parse(NULL, 0, "tours", 0, &f));
    assert_int_equal(f.delay_us, 0);
    assert_int_equal(f.kind, MOCK_FAULT_NONE);
    f = parse_ok("  \t ", "tours");
    assert_int_equal(f.kind, MOCK_FAULT_NONE);
}

static void delay_plus_terminal(void **state)
{
    (void)state;
    mock_fault f = parse_ok("tours=delay:50ms,tours=error:INTERNAL", "tours");
    assert_int_equal(f.delay_us, 50000);
    assert_int_equal(f.kind, MOCK_FAULT_ERROR);
    assert_int_equal(f.error_code, FO_STATUS_INTERNAL);
    f = parse_ok("tours=crash, offers=hang, tours=delay:1s", "tours");
    assert_int_equal(f.delay_us, 1000000);
    assert_int_equal(f.kind, MOCK_FAULT_CRASH);
}

static void not_nul_terminated(void **state)
{
    (void)state;
    /* Only the first len bytes count: the rest would be a bad item. */
    const char h[] = "tours=hang,bogus";
    mock_fault f;
    assert_null(mock_fault_parse(h, strlen("tours=hang"), "tours", 0, &f));
    assert_int_equal(f.kind, MOCK_FAULT_HANG);
}

static void bad_items_are_quoted(void **state)
{
    (void)state;
    expect_bad("tours=explode", "\"tours=explode\"", "unknown fault kind \"explode\"");
    expect_bad("=hang", "\"=hang\"", "missing feature name");
    expect_bad("tours", "\"tours\"", "missing \"=\"");
    expect_bad("tours=", "\"tours=\"", "missing fault kind");
    expect_bad("tours=:5s", "\"tours=:5s\"", "missing fault kind");
    expect_bad("tours=delay", "\"tours=delay\"", "needs a duration");
    expect_bad("tours=delay:", "\"tours=delay:\"", "needs a duration");
    expect_bad("tours=error", "\"tours=error\"", "needs a status code");
    expect_bad("tours=delay:fast", "\"tours=delay:fast\"", "bad duration \"fast\"");
    expect_bad("tours=delay:-5ms", "\"tours=delay:-5ms\"", "bad duration \"-5ms\"");
    expect_bad("tours=error:SOMETIMES", "\"tours=error:SOMETIMES\"", "unknown status code \"SOMETIMES\"");
    expect_bad("tours=error:99", "\"tours=error:99\"", "unknown status code \"99\"");
    expect_bad("tours=error:OK", "\"tours=error:OK\"", "\"OK\" is not an error");
    expect_bad("tours=error:0", "\"tours=error:0\"", "\"0\" is not an error");
    expect_bad("tours=hang:5s", "\"tours=hang:5s\"", "takes no argument");
    expect_bad("tou rs=hang", "\"tou rs=hang\"", "invalid feature name");
    expect_bad("tours=HANG", "\"tours=HANG\"", "unknown fault kind \"HANG\"");
}

static void empty_items_are_rejected(void **state)
{
    (void)state;
    expect_bad("tours=hang,", "empty item", "\"tours=hang,\"");
    expect_bad(",tours=hang", "empty item", "\",tours=hang\"");
    expect_bad("tours=hang,,offers=crash", "empty item", "\"tours=hang,,offers=crash\"");
    expect_bad("tours=hang, \t ", "empty item", "tours=hang");
    expect_bad(",", "empty item", "\",\"");
}

static void duplicates_are_rejected(void **state)
{
    (void)state;
    expect_bad("tours=delay:1s,tours=delay:2s", "\"tours=delay:2s\"", "second delay");
    expect_bad("tours=hang,tours=crash", "\"tours=crash\"", "second terminal fault");
    expect_bad("tours=error:INTERNAL, tours=error:INTERNAL", "\"tours=error:INTERNAL\"", "second terminal fault");
}

static void other_features_are_still_checked(void **state)
{
    (void)state;
    expect_bad("tours=hang,offers=explode", "\"offers=explode\"", "\"explode\"");
}

static void hostile_bytes(void **state)
{
    (void)state;
    /* An embedded NUL must not end the item early: "300ms\0junk" is not a duration. */
    const char nul[] = "tours=delay:300ms\0junk";
    expect_bad_n(nul, sizeof nul - 1, "control character \\x00", "tours=delay:300ms\\x00junk");
    const char bin[] = "tours=\x01\xff\"\\";
    expect_bad_n(bin, sizeof bin - 1, "\\x01\\xff\\\"\\\\", "control character");
    /* A very long item is quoted cut short; a long value is a bad value, not an overflow. */
    size_t n = 100000;
    char *big = malloc(n);
    memcpy(big, "tours=delay:", 12);
    memset(big + 12, '9', n - 12);
    expect_bad_n(big, n, "bad duration \"9999", "...");
    memset(big, 'a', n);
    expect_bad_n(big, n, "missing \"=\"", "aaaa...");
    free(big);
    /* Many small items are fine and take linear time. */
    size_t items = 20000;
    n = items * 7 + 7;
    big = malloc(n);
    for (size_t i = 0; i < items; i++)
        memcpy(big + i * 7, "a=hang,", 7);
    memcpy(big + items * 7, "b=crash", 7);
    mock_fault f;
    fo_error *err = mock_fault_parse(big, n, "b", 0, &f);
    if (err != NULL)
        fail_msg("%s", err->message);
    assert_int_equal(f.kind, MOCK_FAULT_CRASH);
    free(big);
}

/* @attempt=N: the item applies to the call whose grpc-previous-rpc-attempts is N only. */
static void attempt_targeting(void **state)
{
    (void)state;
    const char *h = "tours=delay:300ms@attempt=0, tours=error:UNAVAILABLE@attempt=1, offers=hang";
    mock_fault f;
    assert_null(mock_fault_parse(h, strlen(h), "tours", 0, &f));
    assert_int_equal(f.delay_us, 300000);
    assert_int_equal(f.kind, MOCK_FAULT_NONE);
    assert_null(mock_fault_parse(h, strlen(h), "tours", 1, &f));
    assert_int_equal(f.delay_us, 0);
    assert_int_equal(f.kind, MOCK_FAULT_ERROR);
    assert_int_equal(f.error_code, FO_STATUS_UNAVAILABLE);
    assert_null(mock_fault_parse(h, strlen(h), "tours", 2, &f));
    assert_int_equal(f.delay_us, 0);
    assert_int_equal(f.kind, MOCK_FAULT_NONE);
    /* Items without a selector apply to every attempt; the one-delay rule holds per attempt. */
    const char *both = "tours=hang, tours=delay:5ms@attempt=1, tours=delay:7ms@attempt=2";
    assert_null(mock_fault_parse(both, strlen(both), "tours", 2, &f));
    assert_int_equal(f.kind, MOCK_FAULT_HANG);
    assert_int_equal(f.delay_us, 7000);
    assert_null(mock_fault_parse(both, strlen(both), "tours", 0, &f));
    assert_int_equal(f.delay_us, 0);
    expect_bad("tours=delay:1ms@attempt=0, tours=delay:2ms", "a second delay", "tours=delay:2ms");
    expect_bad("tours=hang@attempt=0, tours=malformed@attempt=0", "a second terminal fault", "malformed");
    expect_bad("tours=hang@try=1", "expected attempt=N", "try=1");
    expect_bad("tours=hang@attempt=x", "bad attempt", "expected 0 to 99");
    expect_bad("tours=hang@attempt=100", "bad attempt", "\"100\"");
    /* A bad selector for another feature is refused alike. */
    expect_bad("offers=hang@attempt=-1", "bad attempt", "offers");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_kind_parses),
        cmocka_unit_test(huge_sizes),
        cmocka_unit_test(whitespace_and_other_features),
        cmocka_unit_test(empty_header_asks_nothing),
        cmocka_unit_test(delay_plus_terminal),
        cmocka_unit_test(not_nul_terminated),
        cmocka_unit_test(bad_items_are_quoted),
        cmocka_unit_test(empty_items_are_rejected),
        cmocka_unit_test(duplicates_are_rejected),
        cmocka_unit_test(other_features_are_still_checked),
        cmocka_unit_test(hostile_bytes),
        cmocka_unit_test(attempt_targeting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
