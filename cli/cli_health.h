/*
 * cli_health: `fanout-cli health`, grpc.health.v1.Health/Check. Prints the
 * serving status name and succeeds only on SERVING, so that it can be a
 * container health probe.
 */
#ifndef CLI_HEALTH_H
#define CLI_HEALTH_H

#include "cli_args.h"

/* Runs the check; returns the exit status. */
int cli_health(const cli_opts *o);

#endif
