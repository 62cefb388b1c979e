/*
 * Unit tests of fo_cpus: the affinity mask bounds the CPUs, and the cgroup
 * CPU quota, v1 or v2, read from a fake /proc/self/cgroup and cgroup tree,
 * rounded up and the tightest along the path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fo_cpus.h"
#include "testtree.h"

static int quota(const testtree *t)
{
    char proc[PATH_MAX];
    testtree_path(t, "proc-cgroup", proc);
    return fo_cpus_quota(proc, t->root);
}

static void v2_quota_rounds_up(void **state)
{
    testtree *t = *state;
    testtree_put(t, "proc-cgroup", "0::/kubepods/pod1/c1\n");
    testtree_put(t, "kubepods/pod1/c1/cpu.max", "150000 100000\n");
    assert_int_equal(quota(t), 2);
}

static void v2_no_limit_is_zero(void **state)
{
    testtree *t = *state;
    testtree_put(t, "proc-cgroup", "0::/user.slice\n");
    testtree_put(t, "user.slice/cpu.max", "max 100000\n");
    assert_int_equal(quota(t), 0);
}

/* A parent's quota bounds the child; the root's own file counts too (a container's cgroup namespace). */
static void v2_tightest_along_the_path(void **state)
{
    testtree *t = *state;
    testtree_put(t, "proc-cgroup", "0::/a/b\n");
    testtree_put(t, "a/b/cpu.max", "800000 100000\n");
    testtree_put(t, "a/cpu.max", "300000 100000\n");
    testtree_put(t, "cpu.max", "max 100000\n");
    assert_int_equal(quota(t), 3);
}

static void v1_quota_under_the_joint_mount(void **state)
{
    testtree *t = *state;
    testtree_put(t, "proc-cgroup", "12:memory:/docker/x\n4:cpu,cpuacct:/docker/x\n");
    testtree_put(t, "cpu,cpuacct/docker/x/cpu.cfs_quota_us", "200000\n");
    testtree_put(t, "cpu,cpuacct/docker/x/cpu.cfs_period_us", "100000\n");
    assert_int_equal(quota(t), 2);
}

/* Without a cgroup namespace the path is the host's, but the container's own cgroup is the mount's root. */
static void v1_quota_at_the_mount_root(void **state)
{
    testtree *t = *state;
    testtree_put(t, "proc-cgroup", "4:cpuacct,cpu:/docker/0123abcd\n");
    testtree_put(t, "cpu/cpu.cfs_quota_us", "50000\n");
    testtree_put(t, "cpu/cpu.cfs_period_us", "100000\n");
    assert_int_equal(quota(t), 1);
}

static void v1_unlimited_is_zero(void **state)
{
    testtree *t = *state;
    testtree_put(t, "proc-cgroup", "4:cpu,cpuacct:/\n");
    testtree_put(t, "cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    testtree_put(t, "cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    assert_int_equal(quota(t), 0);
}

static void missing_files_are_no_limit(void **state)
{
    testtree *t = *state;
    assert_int_equal(quota(t), 0); /* no proc file at all */
    testtree_put(t, "proc-cgroup", "0::/gone\n4:cpu:/gone\ngarbage\n");
    assert_int_equal(quota(t), 0);
}

/* The affinity mask (taskset) is what a process may use. */
static void affinity_bounds_usable(void **state)
{
    (void)state;
    cpu_set_t old, one;
    assert_int_equal(sched_getaffinity(0, sizeof old, &old), 0);
    assert_true(fo_cpus_usable() >= 1);
    assert_true(fo_cpus_usable() <= CPU_COUNT(&old));
    int first = 0;
    while (!CPU_ISSET(first, &old))
        first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    int usable = fo_cpus_usable();
    assert_int_equal(sched_setaffinity(0, sizeof old, &old), 0);
    assert_int_equal(usable, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(v2_quota_rounds_up, testtree_setup, testtree_teardown),
        cmocka_unit_test_setup_teardown(v2_no_limit_is_zero, testtree_setup, testtree_teardown),
        cmocka_unit_test_setup_teardown(v2_tightest_along_the_path, testtree_setup, testtree_teardown),
        cmocka_unit_test_setup_teardown(v1_quota_under_the_joint_mount, testtree_setup, testtree_teardown),
        cmocka_unit_test_setup_teardown(v1_quota_at_the_mount_root, testtree_setup, testtree_teardown),
        cmocka_unit_test_setup_teardown(v1_unlimited_is_zero, testtree_setup, testtree_teardown),
        cmocka_unit_test_setup_teardown(missing_files_are_no_limit, testtree_setup, testtree_teardown),
        cmocka_unit_test(affinity_bounds_usable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
