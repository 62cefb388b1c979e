/*
 * fo_cpus: how many CPUs this process may use, for the default number of
 * workers.
 *
 * That is the CPUs its affinity mask allows (taskset, cpusets), fewer when a
 * cgroup CPU quota allows less time than that: a container limited to
 * `cpu: 2` on a 64-core host gets 2, rounded up, as Go's runtime and the JVM
 * count. Both cgroup versions are read: v2's cpu.max and v1's
 * cpu.cfs_quota_us / cpu.cfs_period_us, along the process's cgroup path up
 * to the root, since a parent's quota bounds its children too.
 */
#ifndef FO_CPUS_H
#define FO_CPUS_H

/* At least 1. */
int fo_cpus_usable(void);

/*
 * The quota part alone, for tests: proc_cgroup is a /proc/self/cgroup file,
 * cgroup_root where the cgroup file systems are mounted (/sys/fs/cgroup).
 * The CPUs the tightest quota allows, rounded up; 0 when there is none.
 */
int fo_cpus_quota(const char *proc_cgroup, const char *cgroup_root);

#endif
