/*
 * fo_cgroup: the tightest limit a cgroup controller sets on this process.
 *
 * One walk for every controller: the process's cgroup path is read from
 * /proc/self/cgroup, and the limit files are read along that path and its
 * parents up to the hierarchy's root, since a parent's limit bounds its
 * children too. Both versions: v2's one unified hierarchy ("0::/path"), v1's
 * hierarchy per controller, mounted under the joint name ("cpu,cpuacct") or
 * under the controller's own ("cpu"). fo_cpus reads CPU quotas with it,
 * fo_limits the memory limit.
 */
#ifndef FO_CGROUP_H
#define FO_CGROUP_H

#include <stdio.h>

/* The limit set in one cgroup folder; 0 for none, nonsense or no file. */
typedef long long (*fo_cgroup_read_fn)(const char *dir);

/*
 * The tightest non-zero limit along the process's cgroup path: read_v2 in the
 * unified hierarchy, read_v1 in controller's own v1 hierarchy. proc_cgroup is
 * a /proc/self/cgroup file, cgroup_root where the cgroup file systems are
 * mounted (/sys/fs/cgroup). 0 when there is none.
 */
long long fo_cgroup_tightest(const char *proc_cgroup, const char *cgroup_root, const char *controller,
                             fo_cgroup_read_fn read_v1, fo_cgroup_read_fn read_v2);

/* The first number in dir/name; 0 when there is none. */
long long fo_cgroup_read_number(const char *dir, const char *name);
/* dir/name opened for reading, or NULL. */
FILE *fo_cgroup_open(const char *dir, const char *name);

#endif
