/*
 * cli_query: `fanout-cli query`, one fanout.v1.Aggregator call:
 * GetCustomerAnalytics, or StreamCustomerAnalytics with --stream, which
 * prints each FeatureResult as it arrives.
 */
#ifndef CLI_QUERY_H
#define CLI_QUERY_H

#include "cli_args.h"

/* Runs the query; returns the exit status. */
int cli_query(const cli_opts *o);

#endif
