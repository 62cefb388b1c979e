/*
 * fo_client_stream: one server-streaming client call on a loop, the
 * streaming sibling of fo_client_call (fo_rpc.h).
 *
 * The request goes out in one batch together with the wait for the server's
 * initial metadata; the status is awaited from the start in a batch of its
 * own; replies are read one at a time, each handed to on_message as it
 * arrives. on_done runs once, after the status and the last read, and the
 * caller frees the stream after that.
 */
#ifndef FO_CLIENT_STREAM_H
#define FO_CLIENT_STREAM_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "fo_error.h"
#include "fo_rpc.h"

typedef struct fo_client_stream fo_client_stream;

/*
 * One reply. msg is the reply unpacked as the stream's reply descriptor
 * (NULL when the stream was started without one), owned by the stream and
 * valid during the call only. fo_client_stream_bytes gives the raw bytes.
 */
typedef void (*fo_client_stream_msg_fn)(fo_client_stream *cs, const ProtobufCMessage *msg, void *ud);
typedef void (*fo_client_stream_done_fn)(fo_client_stream *cs, void *ud);

/*
 * Starts a server-streaming call described by spec (the same spec as a unary
 * call). A reply that does not unpack as reply_desc ends the call with
 * INTERNAL; with reply_desc NULL nothing is unpacked. On success both
 * callbacks run on spec->loop: on_message once per reply, then on_done
 * exactly once. On failure returns NULL and sets *err; no callback runs.
 */
fo_client_stream *fo_client_stream_start(const fo_call_spec *spec, const ProtobufCMessageDescriptor *reply_desc,
                                         fo_client_stream_msg_fn on_message, fo_client_stream_done_fn on_done, void *ud,
                                         fo_error **err);
/* Frees a stream whose on_done has run, before its loop is destroyed. */
void fo_client_stream_free(fo_client_stream *cs);

/* The current reply's bytes, valid inside on_message only. */
const void *fo_client_stream_bytes(const fo_client_stream *cs, size_t *len);
/* Replies received so far. */
size_t fo_client_stream_received(const fo_client_stream *cs);

/* The call's outcome, once on_done has run. */
fo_status fo_client_stream_status(const fo_client_stream *cs);
const char *fo_client_stream_message(const fo_client_stream *cs);
/* A trailing-metadata value, or NULL. */
const char *fo_client_stream_trailer(const fo_client_stream *cs, const char *key, size_t *len);

#endif
