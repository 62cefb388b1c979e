/* fo_cpus: the CPUs this process may use (see fo_cpus.h). */
#include "fo_cpus.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

#define PATH_CAP 4096

/* The CPUs quota/period allows, rounded up; 0 for no limit or nonsense. */
static int cpus_of(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    return (int)((quota + period - 1) / period);
}

static FILE *open_in(const char *dir, const char *name)
{
    char path[PATH_CAP];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return NULL;
    return fopen(path, "r");
}

/* v2's "cpu.max" in dir: "max 100000" or "200000 100000". */
static int read_v2(const char *dir)
{
    char max[32];
    long long period = 0;
    FILE *f = open_in(dir, "cpu.max");
    if (f == NULL)
        return 0;
    int n = fscanf(f, "%31s %lld", max, &period);
    fclose(f);
    long long quota = 0;
    if (n != 2 || sscanf(max, "%lld", &quota) != 1)
        return 0;
    return cpus_of(quota, period);
}

static long long read_number(const char *dir, const char *name)
{
    long long v = 0;
    FILE *f = open_in(dir, name);
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lld", &v) != 1)
        v = 0;
    fclose(f);
    return v;
}

/* v1's cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us in dir. */
static int read_v1(const char *dir)
{
    return cpus_of(read_number(dir, "cpu.cfs_quota_us"), read_number(dir, "cpu.cfs_period_us"));
}

/* The tighter of two limits, where 0 means none. */
static int tighter(int a, int b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    return a < b ? a : b;
}

/*
 * The tightest quota along mount/path and its parents up to mount itself.
 * Without a cgroup namespace the path names the host's hierarchy while the
 * container sees its own cgroup at the mount's root: the walk covers both.
 */
static int walk_up(const char *mount, const char *path, int (*read)(const char *dir))
{
    char dir[PATH_CAP];
    int n = snprintf(dir, sizeof dir, "%s%s", mount, path);
    if (n < 0 || (size_t)n >= sizeof dir)
        return 0;
    size_t floor = strlen(mount);
    int best = 0;
    for (;;) {
        best = tighter(best, read(dir));
        char *slash = strrchr(dir + floor, '/');
        if (slash == NULL)
            return best;
        *slash = '\0';
    }
}

/* One /proc/self/cgroup line, "ID:controllers:path", for the cpu controller. */
static int quota_of_line(char *line, const char *cgroup_root)
{
    char *controllers = strchr(line, ':');
    char *path = controllers ? strchr(controllers + 1, ':') : NULL;
    if (path == NULL)
        return 0;
    *path++ = '\0';
    controllers++;
    path[strcspn(path, "\n")] = '\0';
    if (strcmp(path, "/") == 0)
        path[0] = '\0';
    char mount[PATH_CAP];
    if (*controllers == '\0') { /* v2: one unified hierarchy */
        return walk_up(cgroup_root, path, read_v2);
    }
    for (char *c = controllers; *c != '\0';) {
        size_t len = strcspn(c, ",");
        if (len == 3 && strncmp(c, "cpu", 3) == 0) {
            /* Mounted under the joint name ("cpu,cpuacct") or under "cpu" alone. */
            int q = 0;
            if (snprintf(mount, sizeof mount, "%s/%s", cgroup_root, controllers) < (int)sizeof mount)
                q = walk_up(mount, path, read_v1);
            if (q == 0 && snprintf(mount, sizeof mount, "%s/cpu", cgroup_root) < (int)sizeof mount)
                q = walk_up(mount, path, read_v1);
            return q;
        }
        c += len + (c[len] == ',');
    }
    return 0;
}

int fo_cpus_quota(const char *proc_cgroup, const char *cgroup_root)
{
    FILE *f = fopen(proc_cgroup, "r");
    if (f == NULL)
        return 0;
    char line[PATH_CAP];
    int best = 0;
    while (fgets(line, sizeof line, f) != NULL)
        best = tighter(best, quota_of_line(line, cgroup_root));
    fclose(f);
    return best;
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
