/* testconfig: an aggregator config loaded from text (testconfig.h). */
#include "testconfig.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

fo_error *testconfig_load(const char *text, const char *(*getenv_fn)(const char *), agg_config *c)
{
    char path[] = TESTCONFIG_PREFIX "XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len)
        abort();
    close(fd);
    fo_error *err = agg_config_load(path, getenv_fn, c);
    unlink(path);
    return err;
}
