/* Unit tests for aggregator/agg_reply: replies the response can carry, and those it cannot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agg_reply.h"

/* Decodes bytes that must decode; the check is about what decodes. */
static Fanout__Feature__V1__UsageReport *decode(const uint8_t *bytes, size_t len)
{
    Fanout__Feature__V1__UsageReport *r = fanout__feature__v1__usage_report__unpack(NULL, len, bytes);
    assert_non_null(r);
    return r;
}

static void plain_and_unknown_fields_pass(void **state)
{
    (void)state;
    /* feature "a", events 5, daily {day_unix 1, events 2}, and unknown field 99 = 7. */
    static const uint8_t bytes[] = {0x0a, 0x01, 'a', 0x18, 0x05, 0x32, 0x04, 0x08, 0x01, 0x10, 0x02, 0x98, 0x06, 0x07};
    Fanout__Feature__V1__UsageReport *r = decode(bytes, sizeof bytes);
    assert_true(agg_reply_ok(r));
    fanout__feature__v1__usage_report__free_unpacked(r, NULL);
}

static void field_zero_is_refused(void **state)
{
    (void)state;
    /* An overlong tag for field 0 (80 00), varint 32: decodes, but cannot be packed back. */
    static const uint8_t top[] = {0x18, 0x05, 0x80, 0x00, 0x20};
    Fanout__Feature__V1__UsageReport *r = decode(top, sizeof top);
    assert_false(agg_reply_ok(r));
    fanout__feature__v1__usage_report__free_unpacked(r, NULL);
}

static void field_zero_inside_a_daily_entry_is_refused(void **state)
{
    (void)state;
    /* daily {day_unix 1, field 0 = 32}. */
    static const uint8_t nested[] = {0x32, 0x05, 0x08, 0x01, 0x80, 0x00, 0x20};
    Fanout__Feature__V1__UsageReport *r = decode(nested, sizeof nested);
    assert_int_equal(r->n_daily, 1);
    assert_false(agg_reply_ok(r));
    fanout__feature__v1__usage_report__free_unpacked(r, NULL);
}

static void strings_must_be_utf8(void **state)
{
    (void)state;
    /* feature "é" (c3 a9): fine. */
    static const uint8_t good[] = {0x0a, 0x02, 0xc3, 0xa9};
    Fanout__Feature__V1__UsageReport *r = decode(good, sizeof good);
    assert_true(agg_reply_ok(r));
    fanout__feature__v1__usage_report__free_unpacked(r, NULL);
    /* feature "\xff": protobuf-c decodes it, proto3 parsers refuse it. */
    static const uint8_t top[] = {0x0a, 0x01, 0xff};
    r = decode(top, sizeof top);
    assert_false(agg_reply_ok(r));
    fanout__feature__v1__usage_report__free_unpacked(r, NULL);
    /* metrics {key "\xc0\xaf" (an overlong '/'): 1.0}: the key of a map entry, a message inside. */
    static const uint8_t in_map[] = {0x3a, 0x0d, 0x0a, 0x02, 0xc0, 0xaf, 0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
    r = decode(in_map, sizeof in_map);
    assert_int_equal(r->n_metrics, 1);
    assert_false(agg_reply_ok(r));
    fanout__feature__v1__usage_report__free_unpacked(r, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_and_unknown_fields_pass),
        cmocka_unit_test(field_zero_is_refused),
        cmocka_unit_test(field_zero_inside_a_daily_entry_is_refused),
        cmocka_unit_test(strings_must_be_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
