/* fo_metrics_process: process_* metrics from /proc/self (fo_metrics_process.h). */
#include "fo_metrics_process.h"

#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The fields of /proc/self/stat that matter here (proc(5)). */
typedef struct proc_stat {
    unsigned long utime, stime;   /* clock ticks */
    unsigned long long starttime; /* clock ticks after boot */
    unsigned long vsize;          /* bytes */
    long rss;                     /* pages */
} proc_stat;

static bool read_stat(proc_stat *st)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: the fields start after the last ')'. */
    const char *p = strrchr(buf, ')');
    if (p == NULL)
        return false;
    /* Fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
     * cutime cstime priority nice threads itrealvalue starttime vsize rss */
    return sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %llu %lu %ld",
                  &st->utime, &st->stime, &st->starttime, &st->vsize, &st->rss) == 5;
}

/* Seconds since the epoch at boot, from /proc/stat; 0 when unknown. */
static unsigned long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return 0;
    char line[256];
    unsigned long long btime = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "btime %llu", &btime) == 1)
            break;
    }
    fclose(f);
    return btime;
}

/* Entries of /proc/self/fd, less the directory stream's own descriptor; -1 when unreadable. */
static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    long n = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1;
}

static void gauge(fo_metrics_out *out, const char *name, const char *help, const char *type, double value)
{
    fo_metrics_out_family(out, name, help, type);
    fo_metrics_out_sample(out, name, NULL, NULL, value);
}

static void collect(fo_metrics_out *out, void *ctx)
{
    (void)ctx;
    double ticks = (double)sysconf(_SC_CLK_TCK);
    proc_stat st;
    if (read_stat(&st)) {
        gauge(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter",
              (double)(st.utime + st.stime) / ticks);
        gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge",
              (double)st.rss * (double)sysconf(_SC_PAGESIZE));
        gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", (double)st.vsize);
        gauge(out, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge",
              (double)boot_time() + (double)st.starttime / ticks);
    }
    long fds = open_fds();
    if (fds >= 0)
        gauge(out, "process_open_fds", "Number of open file descriptors.", "gauge", (double)fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        gauge(out, "process_max_fds", "Maximum number of open file descriptors.", "gauge",
              rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
}

void fo_metrics_process_register(fo_metrics *m) { fo_metrics_add_collector(m, collect, NULL); }
