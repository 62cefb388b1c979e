/* testcli: runs a command line to its end and captures what it printed. */
#include "testcli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *slurp(FILE *f)
{
    size_t cap = 4096, len = 0, got;
    char *buf = malloc(cap);
    if (buf == NULL)
        abort();
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (buf == NULL)
                abort();
        }
    }
    buf[len] = '\0';
    return buf;
}

int testcli_run(const char *cmd, char **out, char **err)
{
    /* stderr goes to a temporary file: two pipes read in turn could deadlock. */
    char err_path[] = "/tmp/fanout-testcli.XXXXXX";
    int fd = mkstemp(err_path);
    if (fd < 0)
        abort();
    close(fd);
    size_t n = strlen(cmd) + sizeof err_path + 16;
    char *full = malloc(n);
    if (full == NULL)
        abort();
    if (err != NULL)
        snprintf(full, n, "%s 2>'%s'", cmd, err_path);
    else
        snprintf(full, n, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    free(full);
    if (p == NULL)
        abort();
    *out = slurp(p);
    int status = pclose(p);
    if (err != NULL) {
        FILE *f = fopen(err_path, "r");
        if (f == NULL)
            abort();
        *err = slurp(f);
        fclose(f);
    }
    unlink(err_path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
