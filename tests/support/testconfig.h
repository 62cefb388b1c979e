/*
 * testconfig: an aggregator config loaded from text, for unit tests of the
 * config's keys: the text goes to a temporary file that is removed again.
 */
#ifndef TESTCONFIG_H
#define TESTCONFIG_H

#include "agg_config.h"

/* Where the temporary file is: config errors start with its path. */
#define TESTCONFIG_PREFIX "/tmp/fanout-testconfig-"

/* agg_config_load of text; getenv_fn as there (NULL: no environment). */
fo_error *testconfig_load(const char *text, const char *(*getenv_fn)(const char *), agg_config *c);

#endif
