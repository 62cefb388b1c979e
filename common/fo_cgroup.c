/* fo_cgroup: the tightest limit a cgroup controller sets on this process (see fo_cgroup.h). */
#include "fo_cgroup.h"

#include <stdio.h>
#include <string.h>

#define PATH_CAP 4096

FILE *fo_cgroup_open(const char *dir, const char *name)
{
    char path[PATH_CAP];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return NULL;
    return fopen(path, "r");
}

long long fo_cgroup_read_number(const char *dir, const char *name)
{
    long long v = 0;
    FILE *f = fo_cgroup_open(dir, name);
    if (f == NULL)
        return 0;
    if (fscanf(f, "%lld", &v) != 1)
        v = 0;
    fclose(f);
    return v;
}

/* The tighter of two limits, where 0 means none. */
static long long tighter(long long a, long long b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    return a < b ? a : b;
}

/*
 * The tightest limit along mount/path and its parents up to mount itself.
 * Without a cgroup namespace the path names the host's hierarchy while the
 * container sees its own cgroup at the mount's root: the walk covers both.
 */
static long long walk_up(const char *mount, const char *path, fo_cgroup_read_fn read)
{
    char dir[PATH_CAP];
    int n = snprintf(dir, sizeof dir, "%s%s", mount, path);
    if (n < 0 || (size_t)n >= sizeof dir)
        return 0;
    size_t floor = strlen(mount);
    long long best = 0;
    for (;;) {
        best = tighter(best, read(dir));
        char *slash = strrchr(dir + floor, '/');
        if (slash == NULL)
            return best;
        *slash = '\0';
    }
}

/* One /proc/self/cgroup line, "ID:controllers:path": the limit of controller along its path. */
static long long limit_of_line(char *line, const char *cgroup_root, const char *controller, fo_cgroup_read_fn read_v1,
                               fo_cgroup_read_fn read_v2)
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
    if (*controllers == '\0') /* v2: one unified hierarchy */
        return walk_up(cgroup_root, path, read_v2);
    size_t want = strlen(controller);
    for (char *c = controllers; *c != '\0';) {
        size_t len = strcspn(c, ",");
        if (len == want && strncmp(c, controller, len) == 0) {
            long long q = 0;
            if (snprintf(mount, sizeof mount, "%s/%s", cgroup_root, controllers) < (int)sizeof mount)
                q = walk_up(mount, path, read_v1);
            if (q == 0 && snprintf(mount, sizeof mount, "%s/%s", cgroup_root, controller) < (int)sizeof mount)
                q = walk_up(mount, path, read_v1);
            return q;
        }
        c += len + (c[len] == ',');
    }
    return 0;
}

long long fo_cgroup_tightest(const char *proc_cgroup, const char *cgroup_root, const char *controller,
                             fo_cgroup_read_fn read_v1, fo_cgroup_read_fn read_v2)
{
    FILE *f = fopen(proc_cgroup, "r");
    if (f == NULL)
        return 0;
    char line[PATH_CAP];
    long long best = 0;
    while (fgets(line, sizeof line, f) != NULL)
        best = tighter(best, limit_of_line(line, cgroup_root, controller, read_v1, read_v2));
    fclose(f);
    return best;
}
