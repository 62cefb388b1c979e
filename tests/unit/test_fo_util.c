/* Unit tests for common/fo_error, fo_time and fo_utf8. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fo_error.h"
#include "fo_file.h"
#include "fo_time.h"
#include "fo_utf8.h"

static void error_keeps_origin_and_message(void **state)
{
    (void)state;
    int line = __LINE__ + 1;
    fo_error *e = FO_ERROR(FO_STATUS_NOT_FOUND, "feature %s", "tours");
    assert_int_equal(e->code, FO_STATUS_NOT_FOUND);
    assert_string_equal(e->message, "feature tours");
    assert_non_null(strstr(e->file, "test_fo_util.c"));
    assert_int_equal(e->line, line);
    fo_error *c = fo_error_copy(e);
    assert_string_equal(c->message, e->message);
    assert_int_equal(c->line, e->line);
    fo_error_free(e);
    fo_error_free(c);
}

static void status_names_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < FO_STATUS_COUNT; i++) {
        fo_status s;
        assert_true(fo_status_parse(fo_status_name(i), &s));
        assert_int_equal(s, i);
    }
    fo_status s;
    assert_true(fo_status_parse("unavailable", &s));
    assert_int_equal(s, FO_STATUS_UNAVAILABLE);
    assert_true(fo_status_parse("4", &s));
    assert_int_equal(s, FO_STATUS_DEADLINE_EXCEEDED);
    assert_false(fo_status_parse("17", &s));
    assert_false(fo_status_parse("NOPE", &s));
    assert_false(fo_status_parse("", &s));
    assert_string_equal(fo_status_name(99), "UNKNOWN");
}

static void deadlines_saturate(void **state)
{
    (void)state;
    int64_t before = fo_now_ns();
    int64_t d = fo_deadline_in_ms(100);
    assert_true(d >= before + 100 * FO_NS_PER_MS);
    assert_int_equal(fo_deadline_in_ms(INT64_MAX), FO_DEADLINE_NONE);
    assert_int_equal(fo_deadline_min(3, 5), 3);
}

static void utf8_is_checked_and_repaired(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool valid;
    } cases[] = {
        {"plain ascii", true},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", true}, /* 2, 3 and 4 bytes */
        {"\xc3", false},                                     /* cut short */
        {"\xc0\xaf", false},                                 /* overlong */
        {"\xe0\x80\xaf", false},                             /* overlong */
        {"\xed\xa0\x80", false},                             /* a surrogate */
        {"\xf4\x90\x80\x80", false},                         /* past U+10FFFF */
        {"\xff", false},
        {"a\x80"
         "b",
         false}, /* a lone continuation byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (fo_utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].valid)
            fail_msg("case %zu: expected %s", i, cases[i].valid ? "valid" : "invalid");
    }
    /* Each bad byte becomes one U+FFFD; good sequences are kept. */
    char *repaired = fo_utf8_repair("ok \xc3\xa9 \xff\xc0\xaf end\xe2\x82");
    assert_string_equal(repaired, "ok \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end\xef\xbf\xbd\xef\xbf\xbd");
    assert_true(fo_utf8_valid(repaired, strlen(repaired)));
    free(repaired);
}

static void files_are_read_whole(void **state)
{
    (void)state;
    char path[] = "/tmp/test_fo_file_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* Past the first buffer, so that it has to grow. */
    static char text[20000];
    memset(text, 'x', sizeof text - 1);
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    char *got = NULL;
    assert_null(fo_read_file(path, &got));
    assert_string_equal(got, text);
    free(got);
    unlink(path);
    fo_error *err = fo_read_file(path, &got);
    assert_non_null(err);
    assert_null(got);
    assert_int_equal(err->code, FO_STATUS_INVALID_ARGUMENT);
    assert_non_null(strstr(err->message, "cannot read: No such file or directory"));
    fo_error_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_keeps_origin_and_message),
        cmocka_unit_test(status_names_round_trip),
        cmocka_unit_test(deadlines_saturate),
        cmocka_unit_test(utf8_is_checked_and_repaired),
        cmocka_unit_test(files_are_read_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
