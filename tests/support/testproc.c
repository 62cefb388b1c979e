/* testproc: the binaries under test (mock fleet, aggregator), started with tool_proc. */
#include "testproc.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fo_time.h"

tool_proc *testproc_fleet(const char *fleet_path)
{
    char *argv[] = {MOCK_SERVICES_BIN, "--fleet", (char *)fleet_path, NULL};
    return tool_proc_start(argv, 30000);
}

static json_t *fleet_feature(const tool_proc *fleet, const char *feature)
{
    return json_object_get(json_object_get(fleet->first, "features"), feature);
}

const char *testproc_fleet_address(const tool_proc *fleet, const char *feature)
{
    return json_string_value(json_object_get(fleet_feature(fleet, feature), "address"));
}

pid_t testproc_fleet_pid(const tool_proc *fleet, const char *feature)
{
    return (pid_t)json_integer_value(json_object_get(fleet_feature(fleet, feature), "pid"));
}

static char *write_temp_json(json_t *obj)
{
    char *path = strdup("/tmp/fanout-test-cfg-XXXXXX.json");
    int fd = mkstemps(path, 5);
    close(fd);
    json_dump_file(obj, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(obj);
    return path;
}

char *testproc_write_agg_config(const tool_proc *fleet, int64_t timeout_ms, const char *extra_json)
{
    json_t *features = json_array();
    const char *name;
    json_t *value;
    json_object_foreach(json_object_get(fleet->first, "features"), name, value)
    {
        json_array_append_new(features,
                              json_pack("{s:s, s:O, s:I}", "name", name, "target", json_object_get(value, "address"),
                                        "timeout_ms", (json_int_t)timeout_ms));
    }
    json_t *cfg = json_pack("{s:s, s:i, s:[s], s:o}", "listen", "127.0.0.1:0", "workers", 2, "forward_metadata",
                            "x-mock-fault", "features", features);
    if (extra_json != NULL) {
        json_t *extra = json_loads(extra_json, 0, NULL);
        json_object_update(cfg, extra);
        json_decref(extra);
    }
    return write_temp_json(cfg);
}

tool_proc *testproc_aggregator(const char *config_path)
{
    char *argv[] = {AGGREGATOR_BIN, "--config", (char *)config_path, "--listen", "127.0.0.1:0", NULL};
    return tool_proc_start(argv, 15000);
}

/* A fleet file of features[0..n); each entry gets profile_json and the keys of entry_json (either may be NULL). */
static char *write_fleet(const char *const *features, size_t n, const char *profile_json, const char *entry_json)
{
    json_t *list = json_array();
    json_t *extra = entry_json != NULL ? json_loads(entry_json, 0, NULL) : NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *entry = json_pack("{s:s, s:s}", "name", features[i], "listen", "127.0.0.1:0");
        if (profile_json != NULL)
            json_object_set_new(entry, "profile", json_loads(profile_json, 0, NULL));
        if (extra != NULL)
            json_object_update(entry, extra);
        json_array_append_new(list, entry);
    }
    json_decref(extra);
    return write_temp_json(json_pack("{s:o}", "features", list));
}

char *testproc_write_fleet(const char *const *features, size_t n, const char *profile_json)
{
    return write_fleet(features, n, profile_json, NULL);
}

char *testproc_write_fleet_with(const char *const *features, size_t n, const char *entry_json)
{
    return write_fleet(features, n, NULL, entry_json);
}

/* A zombie has exited; only its parent's bookkeeping is left, and an orphan's new parent may never do it. */
static bool pid_is_zombie(pid_t pid)
{
    char path[32];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return errno == ENOENT;
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) S ...": comm may hold ')' itself, so the state follows the last one. */
    const char *close_paren = strrchr(buf, ')');
    return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

bool testproc_pid_gone(pid_t pid, int64_t timeout_ms)
{
    int64_t until = fo_now_ns() + timeout_ms * FO_NS_PER_MS;
    do {
        if ((kill(pid, 0) != 0 && errno == ESRCH) || pid_is_zombie(pid))
            return true;
        usleep(10000);
    } while (fo_now_ns() < until);
    return false;
}

tool_proc *testproc_aggregator_for(const tool_proc *fleet, int64_t timeout_ms, const char *extra_json)
{
    char *path = testproc_write_agg_config(fleet, timeout_ms, extra_json);
    tool_proc *agg = testproc_aggregator(path);
    unlink(path);
    free(path);
    return agg;
}

tool_proc *testproc_mock(const char *feature, const char *profile_json)
{
    char *argv[] = {MOCK_SERVICES_BIN,    "--feature",   (char *)feature,
                    "--listen",           "127.0.0.1:0", profile_json ? "--profile" : NULL,
                    (char *)profile_json, NULL};
    return tool_proc_start(argv, 15000);
}

/* --- what a running process shows from outside ---------------------------------- */

int64_t testproc_rss_kb(pid_t pid)
{
    char path[32];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[256];
    long long kb = -1;
    while (kb < 0 && fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "VmRSS: %lld kB", &kb) != 1)
            kb = -1;
    }
    fclose(f);
    return kb;
}

int testproc_fd_count(pid_t pid)
{
    char path[32];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    for (const struct dirent *e = readdir(d); e != NULL; e = readdir(d))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

json_t *testproc_events(const tool_proc *p, const char *event)
{
    json_t *found = json_array();
    char *out = tool_proc_output(p);
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        json_t *obj = json_loads(line, 0, NULL);
        const char *name = json_string_value(json_object_get(obj, "event"));
        if (name != NULL && strcmp(name, event) == 0)
            json_array_append(found, obj);
        json_decref(obj);
    }
    free(out);
    return found;
}
