/*
 * fo_alloc: allocation that does not fail. Running out of memory is not an
 * error this project reports (answering it would need memory too), so these
 * abort instead, and callers need no NULL checks. A size of 0 still gets a
 * unique pointer.
 */
#ifndef FO_ALLOC_H
#define FO_ALLOC_H

#include <stdlib.h>
#include <string.h>

static inline void *fo_xmalloc(size_t n)
{
    void *p = malloc(n > 0 ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

static inline void *fo_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n > 0 ? n : 1, size > 0 ? size : 1);
    if (p == NULL)
        abort();
    return p;
}

static inline void *fo_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n > 0 ? n : 1);
    if (q == NULL)
        abort();
    return q;
}

static inline char *fo_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        abort();
    return p;
}

static inline char *fo_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL)
        abort();
    return p;
}

#endif
