/* mock_fleet: starting, watching, restarting and stopping the fleet's children. */
#include "mock_fleet.h"
#include "fo_alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fleet_config.h"
#include "fo_log.h"
#include "fo_time.h"

#define START_TIMEOUT_MS 15000
#define STOP_GRACE_MS 5000
/* The longest child line we forward; the services' log lines are far shorter. */
#define LINE_MAX_BYTES 65536
#define REASON_MAX 256
/* How much of a bad first line a start-up failure quotes. */
#define QUOTE_MAX 80

typedef enum child_state {
    CHILD_STARTING, /* forked; its listening line not read yet */
    CHILD_RUNNING,  /* listening */
    CHILD_DEAD,     /* reaped, or never started, and not coming back */
} child_state;

typedef struct fleet_child {
    const mock_fleet_entry *entry; /* borrowed from the run's fleet */
    child_state state;
    pid_t pid;                      /* 0 when there is no process to reap */
    int fd;                         /* read end of its stdout; -1 when closed */
    char *address;                  /* owned; what it first bound, NULL before */
    int admin_port;                 /* its admin listener's, from its listening line; 0: none */
    int64_t start_deadline;         /* while STARTING; FO_DEADLINE_NONE once given up on */
    char start_failure[REASON_MAX]; /* why a restart was given up on; "" if it was not */
    bool skipping;                  /* dropping the rest of an over-long line */
    size_t len;                     /* bytes in buf: lines not yet handed on */
    char buf[LINE_MAX_BYTES];
} fleet_child;

typedef struct fleet_run {
    mock_fleet fleet;
    fleet_child *children; /* owned; fleet.count of them, in file order */
    struct pollfd *pfds;   /* owned; the signalfd, then one per child */
    const char *argv0;
    const char *admin_listen; /* passed on to every child; NULL: none */
    int sigfd;
    bool announced; /* the fleet line is out, so child lines and events may follow */
    bool stopping;
    bool failed; /* a child failed to start before the announcement */
    int64_t stop_deadline;
} fleet_run;

static void begin_stop(fleet_run *run);

/*
 * Writes all of text to stdout. A reader that went away (EPIPE; SIGPIPE is
 * ignored) must not stop the supervision, so errors are dropped.
 */
static void write_stdout(const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

/* "exit 70" or "signal 9", as the child_exited event says it. */
static void describe_status(int status, char *buf, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(buf, cap, "signal %d", WTERMSIG(status));
    else
        snprintf(buf, cap, "exit %d", WEXITSTATUS(status));
}

static void close_pipe(fleet_child *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->skipping = false;
}

static size_t live_children(const fleet_run *run)
{
    size_t live = 0;
    for (size_t i = 0; i < run->fleet.count; i++)
        live += run->children[i].pid > 0;
    return live;
}

static void signal_all(const fleet_run *run, int sig)
{
    for (size_t i = 0; i < run->fleet.count; i++) {
        if (run->children[i].pid > 0)
            kill(run->children[i].pid, sig);
    }
}

/*
 * c did not come up. Before the announcement that sinks the whole fleet; after
 * it (a restart) c is killed, and its reap reports the reason.
 */
__attribute__((format(printf, 3, 4))) static void start_failed(fleet_run *run, fleet_child *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->start_failure, sizeof c->start_failure, fmt, ap);
    va_end(ap);
    c->start_deadline = FO_DEADLINE_NONE;
    close_pipe(c);
    if (!run->announced) {
        fprintf(stderr, "mock_services: fleet: feature \"%s\" failed to start: %s\n", c->entry->name, c->start_failure);
        run->failed = true;
        begin_stop(run);
    } else if (c->pid > 0) {
        kill(c->pid, SIGKILL);
    }
}

/* In the forked child: become c's feature service or die. Async-signal-safe calls only. */
_Noreturn static void exec_child(pid_t parent, int out_fd, char *const args[], const char *argv0)
{
    /* Die with the fleet even when it is SIGKILLed, and it may be gone already. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);
    /* dup2 clears close-on-exec on the copy, so only stdout survives exec. */
    if (dup2(out_fd, STDOUT_FILENO) < 0)
        _exit(127);
    /*
     * A blocked mask and ignored signals survive exec; the service expects
     * neither, and an ignored SIGTERM would defeat PDEATHSIG.
     */
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv("/proc/self/exe", args);
    execvp(argv0, args);
    _exit(127);
}

/* Starts c's service listening on listen; returns 0 or an errno value. */
static int spawn(fleet_run *run, fleet_child *c, const char *listen)
{
    char *profile = mock_profile_to_json_text(&c->entry->profile);
    if (profile == NULL)
        return ENOMEM;
    char *args[] = {(char *)run->argv0, "--feature", c->entry->name, "--listen", (char *)listen,
                    "--profile",        profile,     NULL,           NULL,       NULL};
    if (run->admin_listen != NULL) {
        args[7] = "--admin-listen";
        args[8] = (char *)run->admin_listen;
    }
    /* Close-on-exec on both ends, so no child inherits another child's pipe. */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        free(profile);
        return errno;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        exec_child(parent, fds[1], args, run->argv0);
    int err = pid < 0 ? errno : 0;
    free(profile);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return err;
    }
    /* Non-blocking, so draining a dead child's pipe stops when it is empty. */
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    c->pid = pid;
    c->fd = fds[0];
    c->state = CHILD_STARTING;
    c->start_deadline = fo_deadline_in_ms(START_TIMEOUT_MS);
    c->start_failure[0] = '\0';
    return 0;
}

static bool all_running(const fleet_run *run)
{
    for (size_t i = 0; i < run->fleet.count; i++) {
        if (run->children[i].state != CHILD_RUNNING)
            return false;
    }
    return true;
}

static void take_lines(fleet_run *run, fleet_child *c);

/*
 * Prints the fleet line, then the child lines that were held back for it.
 * last, whose listening line completed the fleet, is inside take_lines: its
 * own later lines follow there.
 */
static void announce(fleet_run *run, const fleet_child *last)
{
    json_t *features = json_object();
    for (size_t i = 0; i < run->fleet.count; i++) {
        const fleet_child *c = &run->children[i];
        json_t *feature = json_pack("{s:s, s:i}", "address", c->address, "pid", (int)c->pid);
        if (c->admin_port != 0)
            json_object_set_new(feature, "admin_port", json_integer(c->admin_port));
        json_object_set_new(features, c->entry->name, feature);
    }
    fo_log_event(json_pack("{s:s, s:o}", "event", "fleet", "features", features));
    run->announced = true;
    for (size_t i = 0; i < run->fleet.count; i++) {
        if (&run->children[i] != last)
            take_lines(run, &run->children[i]);
    }
}

static void listening(fleet_run *run, fleet_child *c, const char *address)
{
    /* Restarts reuse the first address, so clients configured with that port find it again. */
    if (c->address == NULL)
        c->address = fo_xstrdup(address);
    c->state = CHILD_RUNNING;
    c->start_deadline = FO_DEADLINE_NONE;
    if (run->announced) {
        json_t *line = json_pack("{s:s, s:s, s:s, s:i}", "event", "restarted", "feature", c->entry->name, "address",
                                 address, "pid", (int)c->pid);
        if (c->admin_port != 0) /* a new one: the child's admin listener picked it again */
            json_object_set_new(line, "admin_port", json_integer(c->admin_port));
        fo_log_event(line);
    } else if (all_running(run))
        announce(run, c);
}

/* c's first line (len bytes, newline included): its listening event, or why it failed to start. */
static void first_line(fleet_run *run, fleet_child *c, const char *line, size_t len)
{
    json_t *ev = json_loadb(line, len, 0, NULL);
    const char *event = json_string_value(json_object_get(ev, "event"));
    const char *address = json_string_value(json_object_get(ev, "address"));
    if (event != NULL && strcmp(event, "listening") == 0 && address != NULL) {
        c->admin_port = (int)json_integer_value(json_object_get(ev, "admin_port"));
        listening(run, c, address);
    } else {
        size_t text = len - 1; /* without its newline */
        int shown = (int)(text < QUOTE_MAX ? text : QUOTE_MAX);
        start_failed(run, c, "printed '%.*s%s' instead of its listening line", shown, line,
                     text > QUOTE_MAX ? "..." : "");
    }
    json_decref(ev);
}

/* One line from c, newline included; false to hold it until the fleet line is out. */
static bool take_line(fleet_run *run, fleet_child *c, const char *line, size_t len)
{
    if (c->skipping) {
        /* The tail of a line too long to forward. */
        c->skipping = false;
        return true;
    }
    if (c->state == CHILD_STARTING) {
        if (!run->stopping)
            first_line(run, c, line, len);
        return true;
    }
    if (!run->announced)
        return false;
    write_stdout(line, len);
    return true;
}

/* Hands on the complete lines in c's buffer, as far as they can go now. */
static void take_lines(fleet_run *run, fleet_child *c)
{
    size_t start = 0;
    while (c->fd >= 0) {
        const char *nl = memchr(c->buf + start, '\n', c->len - start);
        if (nl == NULL)
            break;
        size_t end = (size_t)(nl - c->buf) + 1;
        if (!take_line(run, c, c->buf + start, end - start))
            break;
        start = end;
    }
    /* A failed start closes the pipe and empties the buffer under us. */
    if (c->fd >= 0) {
        memmove(c->buf, c->buf + start, c->len - start);
        c->len -= start;
    }
}

/* c filled its buffer without ending a line: no JSON log line we could forward whole. */
static void drop_long_line(fleet_run *run, fleet_child *c)
{
    if (c->state == CHILD_STARTING && !run->stopping) {
        start_failed(run, c, "printed a line over %d bytes instead of its listening line", LINE_MAX_BYTES);
        return;
    }
    fprintf(stderr, "mock_services: fleet: feature \"%s\": dropped a line over %d bytes\n", c->entry->name,
            LINE_MAX_BYTES);
    c->len = 0;
    c->skipping = true;
}

/* Reads what c printed; false when there is nothing more to read now. */
static bool read_child(fleet_run *run, fleet_child *c)
{
    size_t room = sizeof c->buf - c->len;
    if (c->fd < 0 || room == 0)
        return false;
    ssize_t n = read(c->fd, c->buf + c->len, room);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    if (n <= 0) {
        /* The child is exiting, or closed its stdout; only its reap says which. */
        close_pipe(c);
        return false;
    }
    c->len += (size_t)n;
    take_lines(run, c);
    if (c->len == sizeof c->buf && memchr(c->buf, '\n', c->len) == NULL)
        drop_long_line(run, c);
    return true;
}

static void restart_failed(const fleet_child *c, const char *reason)
{
    fo_log_event(json_pack("{s:s, s:s, s:s}", "event", "restart_failed", "feature", c->entry->name, "reason", reason));
}

static void restart(fleet_run *run, fleet_child *c)
{
    int err = spawn(run, c, c->address);
    if (err != 0)
        restart_failed(c, strerror(err));
}

/* c was reaped with status: report it, and start it again if its entry says so. */
static void on_child_exit(fleet_run *run, fleet_child *c, int status)
{
    char how[32];
    describe_status(status, how, sizeof how);
    pid_t pid = c->pid;
    bool was_running = c->state == CHILD_RUNNING;
    c->pid = 0;
    /* Forward its last words; a child that never listened has none worth forwarding. */
    if (was_running) {
        while (read_child(run, c)) {
        }
    }
    close_pipe(c);
    c->state = CHILD_DEAD;
    if (run->stopping)
        return;
    if (!run->announced) {
        start_failed(run, c, "exited before the fleet was up (%s)", how);
        return;
    }
    fo_log_event(json_pack("{s:s, s:s, s:i, s:s}", "event", "child_exited", "feature", c->entry->name, "pid", (int)pid,
                           "status", how));
    /* A restart that never listened is not retried, so a broken service cannot loop forever. */
    if (!was_running)
        restart_failed(c, c->start_failure[0] != '\0' ? c->start_failure : "exited before listening");
    else if (c->entry->restart)
        restart(run, c);
}

static void reap_children(fleet_run *run)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (size_t i = 0; i < run->fleet.count; i++) {
            if (run->children[i].pid == pid)
                on_child_exit(run, &run->children[i], status);
        }
    }
}

/* SIGTERM to every child, and SIGKILL for those still there STOP_GRACE_MS later. */
static void begin_stop(fleet_run *run)
{
    if (run->stopping)
        return;
    run->stopping = true;
    run->stop_deadline = fo_deadline_in_ms(STOP_GRACE_MS);
    signal_all(run, SIGTERM);
}

static void read_signals(fleet_run *run)
{
    struct signalfd_siginfo si;
    bool child_exited = false;
    while (read(run->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD)
            child_exited = true;
        else
            begin_stop(run);
    }
    if (child_exited)
        reap_children(run);
}

static void check_deadlines(fleet_run *run)
{
    int64_t now = fo_now_ns();
    if (run->stopping) {
        if (now >= run->stop_deadline) {
            signal_all(run, SIGKILL);
            run->stop_deadline = FO_DEADLINE_NONE;
        }
        return;
    }
    for (size_t i = 0; i < run->fleet.count && !run->stopping; i++) {
        fleet_child *c = &run->children[i];
        if (c->state == CHILD_STARTING && now >= c->start_deadline)
            start_failed(run, c, "no listening line within %d s", START_TIMEOUT_MS / 1000);
    }
}

/* Until the nearest deadline: a start-up, or the end of the stop grace; -1 for none. */
static int poll_timeout_ms(const fleet_run *run)
{
    int64_t deadline = run->stop_deadline;
    for (size_t i = 0; i < run->fleet.count && !run->stopping; i++) {
        if (run->children[i].state == CHILD_STARTING)
            deadline = fo_deadline_min(deadline, run->children[i].start_deadline);
    }
    if (deadline == FO_DEADLINE_NONE)
        return -1;
    int64_t left = deadline - fo_now_ns();
    return left <= 0 ? 0 : (int)((left + FO_NS_PER_MS - 1) / FO_NS_PER_MS);
}

/* The event loop: child pipes, then signals, then deadlines, until stopped with no child left. */
static void supervise(fleet_run *run)
{
    size_t n = run->fleet.count;
    while (!run->stopping || live_children(run) > 0) {
        run->pfds[0] = (struct pollfd){.fd = run->sigfd, .events = POLLIN};
        for (size_t i = 0; i < n; i++) {
            const fleet_child *c = &run->children[i];
            /* A full buffer holds lines waiting for the fleet line: read no more until then. */
            bool wanted = c->fd >= 0 && c->len < sizeof c->buf;
            run->pfds[i + 1] = (struct pollfd){.fd = wanted ? c->fd : -1, .events = POLLIN};
        }
        if (poll(run->pfds, n + 1, poll_timeout_ms(run)) > 0) {
            for (size_t i = 0; i < n; i++) {
                if (run->pfds[i + 1].revents != 0)
                    read_child(run, &run->children[i]);
            }
            if (run->pfds[0].revents != 0)
                read_signals(run);
        }
        check_deadlines(run);
    }
}

static void start_all(fleet_run *run)
{
    for (size_t i = 0; i < run->fleet.count && !run->stopping; i++) {
        int err = spawn(run, &run->children[i], run->children[i].entry->listen);
        if (err != 0)
            start_failed(run, &run->children[i], "cannot start a process: %s", strerror(err));
    }
}

static void release(fleet_run *run)
{
    for (size_t i = 0; i < run->fleet.count; i++) {
        close_pipe(&run->children[i]);
        free(run->children[i].address);
    }
    free(run->children);
    free(run->pfds);
    if (run->sigfd >= 0)
        close(run->sigfd);
    mock_fleet_release(&run->fleet);
}

int mock_fleet_run(const char *fleet_path, const char *argv0, const char *admin_listen)
{
    fleet_run run = {.argv0 = argv0, .admin_listen = admin_listen, .sigfd = -1, .stop_deadline = FO_DEADLINE_NONE};
    fo_error *err = mock_fleet_load(fleet_path, &run.fleet);
    if (err != NULL) {
        fprintf(stderr, "mock_services: %s\n", err->message);
        fo_error_free(err);
        return 2;
    }
    /* Termination signals are blocked already; SIGCHLD too, so that the signalfd sees every one. */
    sigset_t watched, saved;
    sigemptyset(&watched);
    sigaddset(&watched, SIGTERM);
    sigaddset(&watched, SIGINT);
    sigaddset(&watched, SIGHUP);
    sigaddset(&watched, SIGCHLD);
    sigprocmask(SIG_BLOCK, &watched, &saved);
    int rc = 1;
    run.sigfd = signalfd(-1, &watched, SFD_CLOEXEC | SFD_NONBLOCK);
    if (run.sigfd < 0) {
        fprintf(stderr, "mock_services: fleet: signalfd: %s\n", strerror(errno));
        goto out;
    }
    run.children = fo_xcalloc(run.fleet.count, sizeof *run.children);
    run.pfds = fo_xcalloc(run.fleet.count + 1, sizeof *run.pfds);
    for (size_t i = 0; i < run.fleet.count; i++) {
        run.children[i] = (fleet_child){
            .entry = &run.fleet.entries[i], .state = CHILD_DEAD, .fd = -1, .start_deadline = FO_DEADLINE_NONE};
    }
    start_all(&run);
    supervise(&run);
    if (!run.failed) {
        fo_log_event(json_pack("{s:s}", "event", "fleet_stopped"));
        rc = 0;
    }
out:
    release(&run);
    sigprocmask(SIG_SETMASK, &saved, NULL);
    return rc;
}
