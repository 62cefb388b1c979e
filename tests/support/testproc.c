/* testproc: start, watch and stop the binaries under test. */
#include "testproc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 64

static testproc *registry[MAX_PROCS];
static bool atexit_done;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void registry_add(testproc *p)
{
    if (!atexit_done) {
        atexit(testproc_stop_all);
        atexit_done = true;
    }
    for (int i = 0; i < MAX_PROCS; i++) {
        if (registry[i] == NULL) {
            registry[i] = p;
            return;
        }
    }
}

static void registry_remove(testproc *p)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (registry[i] == p)
            registry[i] = NULL;
}

char *testproc_output(const testproc *p)
{
    FILE *f = fopen(p->log_path, "rb");
    if (f == NULL)
        return strdup("");
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

bool testproc_exited(testproc *p)
{
    if (p->reaped)
        return true;
    if (waitpid(p->pid, &p->status, WNOHANG) == p->pid)
        p->reaped = true;
    return p->reaped;
}

static bool read_first_line(testproc *p, int64_t timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    while (now_ms() < until) {
        char *out = testproc_output(p);
        char *nl = strchr(out, '\n');
        if (nl != NULL) {
            *nl = '\0';
            json_error_t jerr;
            p->first = json_loads(out, 0, &jerr);
            if (p->first == NULL || !json_is_object(p->first))
                fprintf(stderr, "testproc: pid %d: first line is not a JSON object: %s\n", (int)p->pid, out);
            free(out);
            return p->first != NULL;
        }
        free(out);
        if (testproc_exited(p)) {
            fprintf(stderr, "testproc: pid %d exited before its first line\n", (int)p->pid);
            return false;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "testproc: pid %d: no first line within %lld ms\n", (int)p->pid, (long long)timeout_ms);
    return false;
}

testproc *testproc_start(char *const argv[], int64_t timeout_ms)
{
    testproc *p = calloc(1, sizeof *p);
    snprintf(p->log_path, sizeof p->log_path, "/tmp/fanout-test-XXXXXX");
    int fd = mkstemp(p->log_path);
    if (fd < 0) {
        free(p);
        return NULL;
    }
    pid_t parent = getpid();
    p->pid = fork();
    if (p->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(fd, STDOUT_FILENO);
        close(fd);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(argv[0], argv);
        fprintf(stderr, "testproc: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    registry_add(p);
    if (!read_first_line(p, timeout_ms)) {
        testproc_free(p);
        return NULL;
    }
    return p;
}

int testproc_stop(testproc *p, int sig, int64_t timeout_ms)
{
    if (!testproc_exited(p)) {
        kill(p->pid, sig);
        int64_t until = now_ms() + timeout_ms;
        while (!testproc_exited(p) && now_ms() < until)
            sleep_ms(5);
        if (!testproc_exited(p)) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &p->status, 0);
            p->reaped = true;
        }
    }
    return p->status;
}

void testproc_free(testproc *p)
{
    if (p == NULL)
        return;
    testproc_stop(p, SIGTERM, 5000);
    registry_remove(p);
    unlink(p->log_path);
    json_decref(p->first);
    free(p);
}

void testproc_stop_all(void)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (registry[i] != NULL)
            testproc_free(registry[i]);
}

bool testproc_wait_output(const testproc *p, const char *needle, int64_t timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    do {
        char *out = testproc_output(p);
        bool found = strstr(out, needle) != NULL;
        free(out);
        if (found)
            return true;
        sleep_ms(10);
    } while (now_ms() < until);
    return false;
}

const char *testproc_field(const testproc *p, const char *key)
{
    return json_string_value(json_object_get(p->first, key));
}

/* --- fleet and aggregator ------------------------------------------------------ */

testproc *testproc_fleet(const char *fleet_path)
{
    char *argv[] = {MOCK_SERVICES_BIN, "--fleet", (char *)fleet_path, NULL};
    return testproc_start(argv, 30000);
}

static json_t *fleet_feature(const testproc *fleet, const char *feature)
{
    return json_object_get(json_object_get(fleet->first, "features"), feature);
}

const char *testproc_fleet_address(const testproc *fleet, const char *feature)
{
    return json_string_value(json_object_get(fleet_feature(fleet, feature), "address"));
}

pid_t testproc_fleet_pid(const testproc *fleet, const char *feature)
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

char *testproc_write_agg_config(const testproc *fleet, int64_t timeout_ms, const char *extra_json)
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

testproc *testproc_aggregator(const char *config_path)
{
    char *argv[] = {AGGREGATOR_BIN, "--config", (char *)config_path, "--listen", "127.0.0.1:0", NULL};
    return testproc_start(argv, 15000);
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

/* --- short-lived processes and process ids ------------------------------------ */

int testproc_run(char *const argv[], int64_t timeout_ms, char **err_out)
{
    char path[] = "/tmp/fanout-test-run-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(null_fd);
        close(fd);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd);
    int status = -1;
    int64_t until = now_ms() + timeout_ms;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (now_ms() >= until) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            status = -1;
            break;
        }
        sleep_ms(5);
    }
    if (err_out != NULL) {
        /* testproc_output reads nothing but log_path. */
        testproc reader = {.pid = pid};
        memcpy(reader.log_path, path, sizeof path);
        *err_out = testproc_output(&reader);
    }
    unlink(path);
    return status;
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
    int64_t until = now_ms() + timeout_ms;
    do {
        if ((kill(pid, 0) != 0 && errno == ESRCH) || pid_is_zombie(pid))
            return true;
        sleep_ms(10);
    } while (now_ms() < until);
    return false;
}

testproc *testproc_aggregator_for(const testproc *fleet, int64_t timeout_ms, const char *extra_json)
{
    char *path = testproc_write_agg_config(fleet, timeout_ms, extra_json);
    testproc *agg = testproc_aggregator(path);
    unlink(path);
    free(path);
    return agg;
}

testproc *testproc_mock(const char *feature, const char *profile_json)
{
    char *argv[] = {MOCK_SERVICES_BIN,    "--feature",   (char *)feature,
                    "--listen",           "127.0.0.1:0", profile_json ? "--profile" : NULL,
                    (char *)profile_json, NULL};
    return testproc_start(argv, 15000);
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

json_t *testproc_events(const testproc *p, const char *event)
{
    json_t *found = json_array();
    char *out = testproc_output(p);
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
