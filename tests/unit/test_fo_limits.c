/*
 * Unit tests of fo_limits: the cgroup memory limit, v1 or v2, read from a fake
 * /proc/self/cgroup and cgroup tree (the tightest along the path, "no limit"
 * in both spellings), the defaults derived from it, and the open-files limit
 * raised to the hard one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fo_limits.h"
#include "testtree.h"

#define MIB (1024LL * 1024)

static int64_t memory(const testtree *t)
{
    char proc[PATH_MAX];
    testtree_path(t, "proc-cgroup", proc);
    return fo_limits_cgroup_memory(proc, t->root);
}

static void v2_tightest_along_the_path(void **state)
{
    testtree *t = *state;
    testtree_put(t, "proc-cgroup", "0::/kubepods/pod1/c1\n");
    testtree_put(t, "kubepods/pod1/c1/memory.max", "max\n");
    testtree_put(t, "kubepods/pod1/memory.max", "268435456\n");
    testtree_put(t, "kubepods/memory.max", "1073741824\n");
    assert_int_equal(memory(t), 256 * MIB);
}

static void v2_max_is_no_limit(void **state)
{
    testtree *t = *state;
    testtree_put(t, "proc-cgroup", "0::/user.slice\n");
    testtree_put(t, "user.slice/memory.max", "max\n");
    assert_int_equal(memory(t), 0);
}

static void v1_limit_and_its_no_limit_spelling(void **state)
{
    testtree *t = *state;
    testtree_put(t, "proc-cgroup", "4:cpu,cpuacct:/\n9:memory:/docker/x\n");
    testtree_put(t, "memory/docker/x/memory.limit_in_bytes", "536870912\n");
    testtree_put(t, "memory/memory.limit_in_bytes", "9223372036854771712\n");
    assert_int_equal(memory(t), 512 * MIB);
    testtree_put(t, "memory/docker/x/memory.limit_in_bytes", "9223372036854771712\n");
    assert_int_equal(memory(t), 0);
}

static void missing_files_are_no_limit(void **state)
{
    testtree *t = *state;
    assert_int_equal(memory(t), 0);
    testtree_put(t, "proc-cgroup", "0::/gone\n9:memory:/gone\ngarbage\n");
    assert_int_equal(memory(t), 0);
}

static void default_connections_keep_descriptors(void **state)
{
    (void)state;
    assert_int_equal(fo_limits_default_max_connections(1024), 768);
    assert_int_equal(fo_limits_default_max_connections(256), 128);
    assert_int_equal(fo_limits_default_max_connections(1048576), 786432);
    assert_true(fo_limits_default_max_connections(64) >= 16);
}

static void default_memory_is_positive(void **state)
{
    (void)state;
    fo_memory_source from;
    assert_true(fo_limits_default_memory_mb(&from) >= 16);
}

static void nofile_raised_to_hard(void **state)
{
    (void)state;
    fo_nofile n = fo_limits_nofile_raise();
    struct rlimit now;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &now), 0);
    assert_true(n.soft == n.hard);
    assert_true(n.soft_before <= n.soft);
    assert_true(now.rlim_cur == now.rlim_max);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(v2_tightest_along_the_path, testtree_setup, testtree_teardown),
        cmocka_unit_test_setup_teardown(v2_max_is_no_limit, testtree_setup, testtree_teardown),
        cmocka_unit_test_setup_teardown(v1_limit_and_its_no_limit_spelling, testtree_setup, testtree_teardown),
        cmocka_unit_test_setup_teardown(missing_files_are_no_limit, testtree_setup, testtree_teardown),
        cmocka_unit_test(default_connections_keep_descriptors),
        cmocka_unit_test(default_memory_is_positive),
        cmocka_unit_test(nofile_raised_to_hard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
