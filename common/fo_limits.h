/*
 * fo_limits: the limits a server process runs under, for the defaults of its
 * protections against floods (fo_server_guard.c).
 *
 * Open files: the soft RLIMIT_NOFILE is raised to the hard limit at start, as
 * Go's runtime and nginx's worker_rlimit_nofile do, since the soft default
 * (1,024 outside containers) is far below what a server needs and the hard
 * limit is what the administrator allowed. Memory: the cgroup memory limit
 * (v2 memory.max, v1 memory.limit_in_bytes, the tightest along the cgroup
 * path, read with fo_cgroup), else the machine's memory.
 */
#ifndef FO_LIMITS_H
#define FO_LIMITS_H

#include <stdint.h>

typedef struct fo_nofile {
    int64_t soft_before; /* the soft limit the process started with */
    int64_t soft;        /* after raising it */
    int64_t hard;
} fo_nofile;

/* Raises the soft open-files limit to the hard one, once per process; later calls report the same. */
fo_nofile fo_limits_nofile_raise(void);

/* The cgroup memory limit in bytes; 0 when there is none. Files as for fo_cpus_quota. */
int64_t fo_limits_cgroup_memory(const char *proc_cgroup, const char *cgroup_root);

/* Where a default memory budget came from, for the log. */
typedef enum fo_memory_source { FO_MEMORY_CGROUP, FO_MEMORY_MACHINE } fo_memory_source;

/*
 * The default memory budget in MiB: three quarters of the cgroup limit (the
 * rest for what the budget does not see: the kernel's socket buffers, the
 * page cache the cgroup also counts), else a quarter of the machine's memory.
 */
int64_t fo_limits_default_memory_mb(fo_memory_source *from);

/*
 * The default connection cap for an open-files limit: a quarter of it, at
 * least 128 descriptors, is kept for everything that is not an incoming
 * connection (the feature channels, logs, gRPC's own).
 */
int64_t fo_limits_default_max_connections(int64_t nofile);

#endif
