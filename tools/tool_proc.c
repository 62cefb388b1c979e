/* tool_proc: start, watch and stop child processes. */
#include "tool_proc.h"

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

static tool_proc *registry[MAX_PROCS];
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

static void registry_add(tool_proc *p)
{
    if (!atexit_done) {
        atexit(tool_proc_stop_all);
        atexit_done = true;
    }
    for (int i = 0; i < MAX_PROCS; i++) {
        if (registry[i] == NULL) {
            registry[i] = p;
            return;
        }
    }
}

static void registry_remove(tool_proc *p)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (registry[i] == p)
            registry[i] = NULL;
}

char *tool_proc_output(const tool_proc *p)
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

bool tool_proc_exited(tool_proc *p)
{
    if (p->reaped)
        return true;
    if (waitpid(p->pid, &p->status, WNOHANG) == p->pid)
        p->reaped = true;
    return p->reaped;
}

static bool read_first_line(tool_proc *p, int64_t timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    while (now_ms() < until) {
        char *out = tool_proc_output(p);
        char *nl = strchr(out, '\n');
        if (nl != NULL) {
            *nl = '\0';
            json_error_t jerr;
            p->first = json_loads(out, 0, &jerr);
            if (p->first == NULL || !json_is_object(p->first))
                fprintf(stderr, "tool_proc: pid %d: first line is not a JSON object: %s\n", (int)p->pid, out);
            free(out);
            return p->first != NULL;
        }
        free(out);
        if (tool_proc_exited(p)) {
            fprintf(stderr, "tool_proc: pid %d exited before its first line\n", (int)p->pid);
            return false;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "tool_proc: pid %d: no first line within %lld ms\n", (int)p->pid, (long long)timeout_ms);
    return false;
}

tool_proc *tool_proc_start(char *const argv[], int64_t timeout_ms)
{
    tool_proc *p = calloc(1, sizeof *p);
    snprintf(p->log_path, sizeof p->log_path, "/tmp/fanout-proc-XXXXXX");
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
        fprintf(stderr, "tool_proc: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    registry_add(p);
    if (!read_first_line(p, timeout_ms)) {
        tool_proc_free(p);
        return NULL;
    }
    return p;
}

int tool_proc_stop(tool_proc *p, int sig, int64_t timeout_ms)
{
    if (!tool_proc_exited(p)) {
        kill(p->pid, sig);
        int64_t until = now_ms() + timeout_ms;
        while (!tool_proc_exited(p) && now_ms() < until)
            sleep_ms(5);
        if (!tool_proc_exited(p)) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &p->status, 0);
            p->reaped = true;
        }
    }
    return p->status;
}

void tool_proc_free(tool_proc *p)
{
    if (p == NULL)
        return;
    tool_proc_stop(p, SIGTERM, 5000);
    registry_remove(p);
    unlink(p->log_path);
    json_decref(p->first);
    free(p);
}

void tool_proc_stop_all(void)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (registry[i] != NULL)
            tool_proc_free(registry[i]);
}

bool tool_proc_wait_output(const tool_proc *p, const char *needle, int64_t timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    do {
        char *out = tool_proc_output(p);
        bool found = strstr(out, needle) != NULL;
        free(out);
        if (found)
            return true;
        sleep_ms(10);
    } while (now_ms() < until);
    return false;
}

const char *tool_proc_field(const tool_proc *p, const char *key)
{
    return json_string_value(json_object_get(p->first, key));
}

/* --- short-lived processes ----------------------------------------------------- */

int tool_proc_run(char *const argv[], int64_t timeout_ms, char **err_out)
{
    char path[] = "/tmp/fanout-proc-run-XXXXXX";
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
        /* tool_proc_output reads nothing but log_path. */
        tool_proc reader = {.pid = pid};
        memcpy(reader.log_path, path, sizeof path);
        *err_out = tool_proc_output(&reader);
    }
    unlink(path);
    return status;
}
