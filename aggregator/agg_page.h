/*
 * agg_page: the live page the HTTP face serves at "/" and "/index.html". Its source is one
 * self-contained file, aggregator/web/index.html (inline CSS and JavaScript, no external
 * request), which cmake/embed.cmake turns into a byte array at build time: the binary carries
 * the page and reads nothing at run time, and the page stays plain HTML to edit.
 */
#ifndef AGG_PAGE_H
#define AGG_PAGE_H

#include <stddef.h>

/* The Content-Type the page is served with. */
#define AGG_PAGE_CONTENT_TYPE "text/html; charset=utf-8"
/*
 * The Content-Security-Policy it is served with: its inline script and style, requests to its own
 * listener only (the feature list and the event stream), nothing else (no frame, form or base).
 */
#define AGG_PAGE_CSP                                                                                                   \
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "                  \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/*
 * The page for an HTTP request path (without its query string): its bytes, and their number in
 * *len, for "/" and "/index.html"; NULL and *len 0 for any other path.
 */
const unsigned char *agg_page_for_path(const char *path, size_t *len);

#endif
