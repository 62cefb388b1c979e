/* Unit tests for common/fo_trace: W3C traceparent parsing, ids and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "fo_trace.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN "00f067aa0ba902b7"

static bool parse(const char *s, fo_trace_parent *out) { return fo_trace_parse(s, strlen(s), out); }

static void parses_version_00(void **state)
{
    (void)state;
    fo_trace_parent p;
    assert_true(parse("00-" TRACE "-" SPAN "-01", &p));
    assert_string_equal(p.trace_id, TRACE);
    assert_string_equal(p.parent_id, SPAN);
    assert_int_equal(p.flags, FO_TRACE_SAMPLED);
    assert_true(parse("00-" TRACE "-" SPAN "-00", &p));
    assert_int_equal(p.flags, 0);
}

static void clears_unknown_flags(void **state)
{
    (void)state;
    fo_trace_parent p;
    assert_true(parse("00-" TRACE "-" SPAN "-ff", &p));
    assert_int_equal(p.flags, FO_TRACE_SAMPLED);
    assert_true(parse("00-" TRACE "-" SPAN "-fe", &p));
    assert_int_equal(p.flags, 0);
}

static void refuses_malformed_values(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "00",
        "00-" TRACE "-" SPAN "-0",                         /* short flags */
        "00-" TRACE "-" SPAN "-01-",                       /* 00 is exactly 55 characters */
        "00-" TRACE "-" SPAN "-01x",                       /* likewise */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SPAN "-01", /* uppercase trace id */
        "00-" TRACE "-00F067AA0BA902B7-01",                /* uppercase parent id */
        "00-" TRACE "-" SPAN "-0A",                        /* uppercase flags */
        "0A-" TRACE "-" SPAN "-01",                        /* uppercase version */
        "00-00000000000000000000000000000000-" SPAN "-01", /* all-zero trace id */
        "00-" TRACE "-0000000000000000-01",                /* all-zero parent id */
        "ff-" TRACE "-" SPAN "-01",                        /* forbidden version */
        "00_" TRACE "-" SPAN "-01",                        /* separators */
        "00-" TRACE "_" SPAN "-01",
        "00-" TRACE "-" SPAN "_01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-" SPAN "-01", /* not hex */
        "00-" TRACE "-00f067aa0ba902bz-01",
        "00-" TRACE "-" SPAN "-0g",
        "zz-" TRACE "-" SPAN "-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-" SPAN "-001", /* shifted fields */
        "00- " TRACE "-" SPAN "-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fo_trace_parent p;
        if (parse(bad[i], &p))
            fail_msg("accepted \"%s\"", bad[i]);
    }
    fo_trace_parent p;
    assert_false(fo_trace_parse(NULL, 0, &p));
}

static void reads_later_versions_as_00(void **state)
{
    (void)state;
    fo_trace_parent p;
    assert_true(parse("01-" TRACE "-" SPAN "-01", &p));
    assert_string_equal(p.trace_id, TRACE);
    assert_true(parse("cc-" TRACE "-" SPAN "-01-what-the-future-brings", &p));
    assert_string_equal(p.parent_id, SPAN);
    assert_int_equal(p.flags, FO_TRACE_SAMPLED);
    /* After the 55th character a later version goes on only after a dash. */
    assert_false(parse("cc-" TRACE "-" SPAN "-01x", &p));
    assert_false(parse("cc-" TRACE "-" SPAN "-0", &p));
}

static void length_is_taken_from_the_argument(void **state)
{
    (void)state;
    /* Metadata values are not NUL-terminated: what follows len is not read. */
    const char *s = "00-" TRACE "-" SPAN "-01-garbage";
    fo_trace_parent p;
    assert_true(fo_trace_parse(s, FO_TRACEPARENT_LEN, &p));
    assert_false(fo_trace_parse(s, FO_TRACEPARENT_LEN - 1, &p));
}

static void new_ids_are_valid_and_distinct(void **state)
{
    (void)state;
    char t1[FO_TRACE_ID_HEX + 1], t2[FO_TRACE_ID_HEX + 1], s1[FO_SPAN_ID_HEX + 1], s2[FO_SPAN_ID_HEX + 1];
    fo_trace_new_trace_id(t1);
    fo_trace_new_trace_id(t2);
    fo_trace_new_span_id(s1);
    fo_trace_new_span_id(s2);
    assert_int_equal(strlen(t1), FO_TRACE_ID_HEX);
    assert_int_equal(strlen(s1), FO_SPAN_ID_HEX);
    assert_string_not_equal(t1, t2);
    assert_string_not_equal(s1, s2);
    char header[FO_TRACEPARENT_LEN + 1];
    fo_trace_format(t1, s1, FO_TRACE_SAMPLED, header);
    fo_trace_parent p;
    assert_true(parse(header, &p));
    assert_string_equal(p.trace_id, t1);
    assert_string_equal(p.parent_id, s1);
    assert_int_equal(p.flags, FO_TRACE_SAMPLED);
}

static void formats_version_00(void **state)
{
    (void)state;
    char header[FO_TRACEPARENT_LEN + 1];
    fo_trace_format(TRACE, SPAN, 0, header);
    assert_string_equal(header, "00-" TRACE "-" SPAN "-00");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_version_00),
        cmocka_unit_test(clears_unknown_flags),
        cmocka_unit_test(refuses_malformed_values),
        cmocka_unit_test(reads_later_versions_as_00),
        cmocka_unit_test(length_is_taken_from_the_argument),
        cmocka_unit_test(new_ids_are_valid_and_distinct),
        cmocka_unit_test(formats_version_00),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
