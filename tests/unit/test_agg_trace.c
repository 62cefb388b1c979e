/* Unit tests for aggregator/agg_trace: a request's trace context and its feature calls' traceparents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "agg_trace.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN "00f067aa0ba902b7"

static void begin(agg_trace *t, const char *traceparent)
{
    agg_trace_begin(t, traceparent, traceparent != NULL ? strlen(traceparent) : 0);
}

static void continues_the_callers_trace(void **state)
{
    (void)state;
    agg_trace t;
    begin(&t, "00-" TRACE "-" SPAN "-01");
    assert_true(agg_trace_continued(&t));
    assert_string_equal(t.trace_id, TRACE);
    assert_string_equal(t.parent_id, SPAN);
    assert_int_equal(strlen(t.span_id), FO_SPAN_ID_HEX);
    assert_string_not_equal(t.span_id, SPAN);
    assert_int_equal(t.flags, FO_TRACE_SAMPLED);
    begin(&t, "00-" TRACE "-" SPAN "-00");
    assert_int_equal(t.flags, 0); /* the caller's sampling decision stands */
}

static void starts_a_trace_when_absent_or_invalid(void **state)
{
    (void)state;
    static const char *const inputs[] = {NULL, "", "00-" TRACE "-" SPAN, "00-" TRACE "-0000000000000000-01",
                                         "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SPAN "-01"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        agg_trace t;
        begin(&t, inputs[i]);
        assert_false(agg_trace_continued(&t));
        assert_int_equal(strlen(t.trace_id), FO_TRACE_ID_HEX);
        assert_string_not_equal(t.trace_id, TRACE);
        assert_int_equal(t.flags, FO_TRACE_SAMPLED);
    }
}

static void each_child_has_a_span_of_its_own(void **state)
{
    (void)state;
    agg_trace t;
    begin(&t, "00-" TRACE "-" SPAN "-01");
    char a[FO_TRACEPARENT_LEN + 1], b[FO_TRACEPARENT_LEN + 1];
    fo_md ma = agg_trace_child(&t, a);
    fo_md mb = agg_trace_child(&t, b);
    assert_string_equal(ma.key, FO_TRACE_HEADER);
    assert_ptr_equal(ma.value, a);
    assert_int_equal(ma.value_len, FO_TRACEPARENT_LEN);
    fo_trace_parent pa, pb;
    assert_true(fo_trace_parse(ma.value, ma.value_len, &pa));
    assert_true(fo_trace_parse(mb.value, mb.value_len, &pb));
    assert_string_equal(pa.trace_id, TRACE);
    assert_string_equal(pb.trace_id, TRACE);
    assert_string_not_equal(pa.parent_id, pb.parent_id);
    assert_string_not_equal(pa.parent_id, SPAN);
    assert_string_not_equal(pa.parent_id, t.span_id);
    assert_int_equal(pa.flags, FO_TRACE_SAMPLED);
    assert_memory_equal(a, "00-", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(continues_the_callers_trace),
        cmocka_unit_test(starts_a_trace_when_absent_or_invalid),
        cmocka_unit_test(each_child_has_a_span_of_its_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
