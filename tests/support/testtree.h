/*
 * testtree: a throwaway directory standing in for files the kernel provides
 * (/proc/self/cgroup, a cgroup hierarchy), so that code reading them can be
 * tested on any machine. cmocka setup and teardown functions make and remove
 * one per test; its struct is the test's state.
 */
#ifndef TESTTREE_H
#define TESTTREE_H

#include <limits.h>

typedef struct testtree {
    char root[64];
} testtree;

/* cmocka setup: a fresh empty tree under /tmp in *state. */
int testtree_setup(void **state);
/* cmocka teardown: removes the tree and everything in it. */
int testtree_teardown(void **state);
/* Writes root/rel, holding text, making its folders. */
void testtree_put(const testtree *t, const char *rel, const char *text);
/* root/rel as a path in out. */
void testtree_path(const testtree *t, const char *rel, char out[PATH_MAX]);

#endif
