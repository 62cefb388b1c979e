/*
 * testjwt: the auth tests' keys and tokens, made by tests/support/auth_fixture.py
 * (PyJWT from Debian's python3-jwt), never by the code under test: the keys
 * of scripts/gen-jwt-keys.sh and cases.json, one token per outcome.
 */
#ifndef TESTJWT_H
#define TESTJWT_H

#include <jansson.h>

/* Fills in dir (a mkdtemp template), makes the keys and tokens there; cases.json, or NULL (printed). */
json_t *testjwt_make(char *dir);
/* Frees the fixture and removes dir; 0, or -1 when the removal failed. */
int testjwt_remove(const char *dir, json_t *fixture);
/* dir/name, in one of four buffers used in turn (so a call may take a few). */
const char *testjwt_path(const char *dir, const char *name);
/* The token of the fixture's case called name; fails the test when there is none. */
const char *testjwt_token(const json_t *fixture, const char *name);

#endif
