/* Unit tests for aggregator/agg_page: the embedded page is web/index.html byte for byte, served at
 * its two paths only, and self-contained (no request leaves the listener). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agg_page.h"
#include "fo_file.h"

/* The page as embedded, NUL-terminated so strstr can search it. */
static char *embedded(void)
{
    size_t len = 0;
    const unsigned char *page = agg_page_for_path("/", &len);
    assert_non_null(page);
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, page, len);
    copy[len] = '\0';
    /* A NUL inside the page would cut it short here and in any C-string use of it. */
    assert_int_equal(strlen(copy), len);
    return copy;
}

static void same_bytes_as_the_source(void **state)
{
    (void)state;
    char *source = NULL;
    fo_error *err = fo_read_file(AGG_PAGE_SOURCE, &source);
    assert_null(err);
    size_t len = 0;
    const unsigned char *page = agg_page_for_path("/", &len);
    assert_int_equal(len, strlen(source));
    assert_memory_equal(page, source, len);
    free(source);
}

static void served_at_root_and_index_only(void **state)
{
    (void)state;
    size_t root_len = 0, index_len = 0, len = 1;
    const unsigned char *root = agg_page_for_path("/", &root_len);
    assert_ptr_equal(agg_page_for_path("/index.html", &index_len), root);
    assert_int_equal(index_len, root_len);
    const char *others[] = {"", "/index.htm", "/index.html/", "//", "/v1/features", "/INDEX.HTML", "index.html"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        len = 1;
        assert_null(agg_page_for_path(others[i], &len));
        assert_int_equal(len, 0);
    }
}

/* Nothing that would make a browser fetch from elsewhere: no CDN, no external script, style,
 * image or font. The SVG namespace is a name, not a request. */
static void self_contained(void **state)
{
    (void)state;
    char *page = embedded();
    assert_true(strncmp(page, "<!doctype html>", 15) == 0);
    assert_non_null(strstr(page, "<meta charset=\"utf-8\">"));
    assert_non_null(strstr(page, "<meta name=\"viewport\""));
    const char *refused[] = {"https:", "src=", "href=", "url(", "@import", "<link", "<iframe"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_null(strstr(page, refused[i]));
    for (const char *at = strstr(page, "http:"); at != NULL; at = strstr(at + 1, "http:"))
        assert_true(strncmp(at, "http://www.w3.org/2000/svg\"", 27) == 0);
    free(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_bytes_as_the_source),
        cmocka_unit_test(served_at_root_and_index_only),
        cmocka_unit_test(self_contained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
