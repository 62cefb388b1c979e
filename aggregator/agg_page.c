/* agg_page: the embedded live page, by request path. */
#include "agg_page.h"

#include <string.h>

/* Generated from web/index.html by cmake/embed.cmake (fanout_embed in aggregator/CMakeLists.txt). */
extern const unsigned char agg_page_html[];
extern const size_t agg_page_html_len;

const unsigned char *agg_page_for_path(const char *path, size_t *len)
{
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
        *len = agg_page_html_len;
        return agg_page_html;
    }
    *len = 0;
    return NULL;
}
