/* fo_limits: the limits a server process runs under (see fo_limits.h). */
#include "fo_limits.h"
#include "fo_cgroup.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MIB (1024LL * 1024)
/* v1 says "no limit" with a number near INT64_MAX, rounded to the page size. */
#define NO_LIMIT_ABOVE (1LL << 60)
#define KEPT_FDS_MIN 128

static pthread_once_t nofile_once = PTHREAD_ONCE_INIT;
static fo_nofile nofile;

static void nofile_raise(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    nofile.soft_before = rl.rlim_cur == RLIM_INFINITY ? INT64_MAX : (int64_t)rl.rlim_cur;
    if (rl.rlim_cur != rl.rlim_max) {
        struct rlimit raised = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl = raised;
    }
    nofile.soft = rl.rlim_cur == RLIM_INFINITY ? INT64_MAX : (int64_t)rl.rlim_cur;
    nofile.hard = rl.rlim_max == RLIM_INFINITY ? INT64_MAX : (int64_t)rl.rlim_max;
}

fo_nofile fo_limits_nofile_raise(void)
{
    pthread_once(&nofile_once, nofile_raise);
    return nofile;
}

/* v2's memory.max: "max" or bytes. */
static long long read_v2(const char *dir)
{
    char word[32];
    long long bytes = 0;
    FILE *f = fo_cgroup_open(dir, "memory.max");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%31s", word) != 1 || strcmp(word, "max") == 0 || sscanf(word, "%lld", &bytes) != 1)
        bytes = 0;
    fclose(f);
    return bytes;
}

/* v1's memory.limit_in_bytes. */
static long long read_v1(const char *dir)
{
    long long bytes = fo_cgroup_read_number(dir, "memory.limit_in_bytes");
    return bytes >= NO_LIMIT_ABOVE ? 0 : bytes;
}

int64_t fo_limits_cgroup_memory(const char *proc_cgroup, const char *cgroup_root)
{
    long long bytes = fo_cgroup_tightest(proc_cgroup, cgroup_root, "memory", read_v1, read_v2);
    return bytes > 0 ? (int64_t)bytes : 0;
}

int64_t fo_limits_default_memory_mb(fo_memory_source *from)
{
    int64_t cgroup = fo_limits_cgroup_memory("/proc/self/cgroup", "/sys/fs/cgroup");
    int64_t mb;
    if (cgroup > 0) {
        *from = FO_MEMORY_CGROUP;
        mb = cgroup / MIB * 3 / 4;
    } else {
        *from = FO_MEMORY_MACHINE;
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        mb = pages > 0 && page > 0 ? (int64_t)pages * page / MIB / 4 : 1024;
    }
    return mb > 16 ? mb : 16;
}

int64_t fo_limits_default_max_connections(int64_t files)
{
    int64_t kept = files / 4 > KEPT_FDS_MIN ? files / 4 : KEPT_FDS_MIN;
    int64_t max = files - kept;
    return max > 16 ? max : 16;
}
