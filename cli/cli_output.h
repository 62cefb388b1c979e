/*
 * cli_output: how fanout-cli shows analytics on stdout, as canonical proto3
 * JSON or as a short table for a person:
 *
 *       #  FEATURE   OUTCOME                         LATENCY  EVENTS
 *       0  listings  ok                               6.7 ms  692
 *       1  tours     DEADLINE (DEADLINE_EXCEEDED)   501.6 ms  -
 *     succeeded 1  failed 1  partial yes  elapsed 503.0 ms  events 692  active users 7  top feature listings
 */
#ifndef CLI_OUTPUT_H
#define CLI_OUTPUT_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fanout/v1/aggregator.pb-c.h"

/* msg as JSON: indented by two spaces like grpcurl, or on one line. */
void cli_output_json(const ProtobufCMessage *msg, bool pretty);

/* Column widths of the table. */
typedef struct cli_table {
    int feature;
    int outcome;
} cli_table;

/* Widths for rows printed as they arrive, before the longest is known. */
cli_table cli_table_fixed(void);
void cli_output_header(const cli_table *t);
void cli_output_row(const cli_table *t, const Fanout__V1__FeatureResult *r);

/* The whole table of a unary reply, then its counts and totals. */
void cli_output_summary(const Fanout__V1__AnalyticsResponse *resp);
/* The closing line of a streamed table: the counts, and the time the client waited. */
void cli_output_stream_footer(size_t succeeded, size_t failed, int64_t elapsed_us);

#endif
