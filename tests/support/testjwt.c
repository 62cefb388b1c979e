/* testjwt: the auth tests' keys and tokens (see testjwt.h). */
#include "testjwt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *testjwt_make(char *dir)
{
    if (mkdtemp(dir) == NULL)
        return NULL;
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/support/auth_fixture.py' '%s'", FANOUT_SOURCE_DIR, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "testjwt: %s failed\n", cmd);
        return NULL;
    }
    json_error_t error;
    json_t *fixture = json_load_file(testjwt_path(dir, "cases.json"), 0, &error);
    if (fixture == NULL)
        fprintf(stderr, "testjwt: cases.json: %s\n", error.text);
    return fixture;
}

int testjwt_remove(const char *dir, json_t *fixture)
{
    json_decref(fixture);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *testjwt_path(const char *dir, const char *name)
{
    static char bufs[4][PATH_MAX];
    static int next;
    char *buf = bufs[next++ % 4];
    snprintf(buf, PATH_MAX, "%s/%s", dir, name);
    return buf;
}

const char *testjwt_token(const json_t *fixture, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(fixture, "cases"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
            return json_string_value(json_object_get(c, "token"));
    }
    fail_msg("no case \"%s\"", name);
    return NULL;
}
