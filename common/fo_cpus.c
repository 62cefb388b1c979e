/* fo_cpus: the CPUs this process may use (see fo_cpus.h). */
#include "fo_cpus.h"
#include "fo_cgroup.h"

#include <sched.h>
#include <stdio.h>

/* The CPUs quota/period allows, rounded up; 0 for no limit or nonsense. */
static long long cpus_of(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    return (quota + period - 1) / period;
}

/* v2's "cpu.max" in dir: "max 100000" or "200000 100000". */
static long long read_v2(const char *dir)
{
    char max[32];
    long long period = 0;
    FILE *f = fo_cgroup_open(dir, "cpu.max");
    if (f == NULL)
        return 0;
    int n = fscanf(f, "%31s %lld", max, &period);
    fclose(f);
    long long quota = 0;
    if (n != 2 || sscanf(max, "%lld", &quota) != 1)
        return 0;
    return cpus_of(quota, period);
}

/* v1's cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us in dir. */
static long long read_v1(const char *dir)
{
    return cpus_of(fo_cgroup_read_number(dir, "cpu.cfs_quota_us"), fo_cgroup_read_number(dir, "cpu.cfs_period_us"));
}

int fo_cpus_quota(const char *proc_cgroup, const char *cgroup_root)
{
    long long cpus = fo_cgroup_tightest(proc_cgroup, cgroup_root, "cpu", read_v1, read_v2);
    return cpus > 1 << 20 ? 1 << 20 : (int)cpus;
}

int fo_cpus_usable(void)
{
    cpu_set_t set;
    int cpus = 1;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        cpus = CPU_COUNT(&set);
    int quota = fo_cpus_quota("/proc/self/cgroup", "/sys/fs/cgroup");
    return quota > 0 && quota < cpus ? quota : cpus;
}
