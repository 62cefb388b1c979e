/* testtree: a throwaway directory of kernel-like files for unit tests (testtree.h). */
#include "testtree.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int testtree_setup(void **state)
{
    testtree *t = calloc(1, sizeof *t);
    assert_non_null(t);
    snprintf(t->root, sizeof t->root, "/tmp/fanout_tree_XXXXXX");
    assert_non_null(mkdtemp(t->root));
    *state = t;
    return 0;
}

int testtree_teardown(void **state)
{
    testtree *t = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->root);
    assert_int_equal(system(cmd), 0);
    free(t);
    return 0;
}

void testtree_path(const testtree *t, const char *rel, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/%s", t->root, rel);
}

void testtree_put(const testtree *t, const char *rel, const char *text)
{
    char path[PATH_MAX];
    testtree_path(t, rel, path);
    for (char *p = path + strlen(t->root) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(path, 0700);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}
