/*
 * cli_call: what every fanout-cli command does around its RPC: the channel
 * from the flags, the call spec (deadline, metadata), a blocking unary call,
 * and the one way a failed call is reported:
 *
 *     ERROR: <CODE_NAME>: <message>
 *     fanout-failed-feature: <name>     (only when the server sent it)
 */
#ifndef CLI_CALL_H
#define CLI_CALL_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "cli_args.h"
#include "fo_error.h"
#include "fo_rpc.h"

/* The trailer by which the aggregator names the feature that failed a FAIL_FAST call. */
#define CLI_FAILED_FEATURE_TRAILER "fanout-failed-feature"

/* The channel to --addr with the TLS flags; CLI_EXIT_OK, or the usage error's status after printing it. */
int cli_call_channel(const cli_opts *o, fo_channel **out);

/* A spec for path with --timeout and --metadata; the caller sets loop where it needs one. */
fo_call_spec cli_call_spec(const cli_opts *o, fo_channel *ch, const char *path, const fo_payload *request);

/* Prints the ERROR line, and the failed-feature line when failed_feature is not NULL, to stderr. */
void cli_call_report(fo_status code, const char *message, const char *failed_feature, size_t failed_len);

/*
 * Calls path with request and waits. Returns the reply unpacked as
 * reply_desc (free with protobuf_c_message_free_unpacked), or NULL after
 * reporting why there is none.
 */
ProtobufCMessage *cli_call_unary(const cli_opts *o, fo_channel *ch, const char *path, const ProtobufCMessage *request,
                                 const ProtobufCMessageDescriptor *reply_desc);

#endif
