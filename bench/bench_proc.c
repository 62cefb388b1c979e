/* bench_proc: CPU and memory of named process groups from /proc (see bench_proc.h). */
#include "bench_proc.h"
#include "fo_alloc.h"
#include "fo_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

fo_error *bench_proc_group_parse(const char *spec, bench_proc_group *out)
{
    memset(out, 0, sizeof *out);
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec || eq[1] == '\0')
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "--pid: expected NAME=PID[,PID...], got \"%s\"", spec);
    out->name = fo_xstrndup(spec, (size_t)(eq - spec));
    size_t cap = 1;
    for (const char *p = eq + 1; *p; p++)
        cap += *p == ',';
    out->pids = fo_xcalloc(cap, sizeof *out->pids);
    /* A copy to cut at the commas, so that each pid is checked as a whole. */
    char *list = fo_xstrdup(eq + 1);
    fo_error *err = NULL;
    for (char *pid = list, *comma; err == NULL && pid != NULL; pid = comma != NULL ? comma + 1 : NULL) {
        comma = strchr(pid, ',');
        if (comma != NULL)
            *comma = '\0';
        int64_t v;
        if (fo_parse_int(pid, 1, INT32_MAX, &v) != FO_PARSE_OK)
            err = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "--pid: \"%s\" is not a list of pids", spec);
        else
            out->pids[out->npids++] = (pid_t)v;
    }
    free(list);
    if (err != NULL)
        bench_proc_group_release(out);
    return err;
}

void bench_proc_group_release(bench_proc_group *g)
{
    free(g->name);
    free(g->pids);
    memset(g, 0, sizeof *g);
}

/* utime + stime of pid in seconds, or -1. */
static double pid_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields count from the last ')'. */
    const char *p = strrchr(buf, ')');
    unsigned long long utime, stime;
    if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* VmRSS and VmHWM of pid in kB; false when unreadable. */
static bool pid_memory_kb(pid_t pid, long *rss_kb, long *hwm_kb)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    int found = 0;
    while (found < 2 && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "VmRSS: %ld", rss_kb) == 1 || sscanf(line, "VmHWM: %ld", hwm_kb) == 1)
            found++;
    }
    fclose(f);
    return found == 2;
}

void bench_proc_sample_group(const bench_proc_group *g, bench_proc_sample *out)
{
    *out = (bench_proc_sample){.ok = true};
    for (size_t i = 0; i < g->npids; i++) {
        double cpu = pid_cpu_s(g->pids[i]);
        long rss = 0, hwm = 0;
        if (cpu < 0 || !pid_memory_kb(g->pids[i], &rss, &hwm)) {
            out->ok = false;
            continue;
        }
        out->cpu_s += cpu;
        out->rss_kb += rss;
        out->hwm_kb += hwm;
    }
}

double bench_self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec);
    return s + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long bench_self_rss_kb(void)
{
    long rss = 0, hwm = 0;
    return pid_memory_kb(getpid(), &rss, &hwm) ? rss : 0;
}
