/*
 * agg_face: the protocol a request came in on, as agg_request sees it. The
 * gRPC face (agg_face_grpc) and the HTTP/JSON face (agg_http_face) both
 * hand their requests to the one request path in agg_request.c, which
 * admits, authenticates, validates, fans out and reduces them the same way,
 * and answers through these operations. Every operation runs on the
 * request's worker thread.
 */
#ifndef AGG_FACE_H
#define AGG_FACE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fo_error.h"
#include "fo_loop.h"
#include "fo_rpc.h"

typedef struct agg_face agg_face;

typedef struct agg_face_ops {
    const char *name; /* in the request's log line: "grpc", "http" */
    /*
     * True: a stream's OK status comes with the reduced response (without
     * its results) as the reply, for a face that shows the totals at the end.
     */
    bool stream_summary;
    int (*worker)(const agg_face *f);
    fo_loop *(*loop)(agg_face *f);
    int64_t (*deadline)(const agg_face *f); /* fo_now_ns clock; FO_DEADLINE_NONE: none */
    /* A request header (lowercase key), not NUL-terminated, or NULL. */
    const char *(*metadata)(const agg_face *f, const char *key, size_t *len);
    /* A response header: key a static string, value copied. */
    bool (*add_header)(agg_face *f, const char *key, const char *value, size_t len);
    /* The request message (the caller frees it with protobuf_c_message_free_unpacked), or NULL and *err. */
    ProtobufCMessage *(*request)(agg_face *f, const ProtobufCMessageDescriptor *desc, fo_error **err);
    /*
     * Called once, when the request passed every check and the fan-out starts (the HTTP face opens
     * its event stream then): fn(ud) runs at most once, on the worker, if the client goes away or
     * the deadline passes before finish.
     */
    void (*on_cancel)(agg_face *f, void (*fn)(void *ud), void *ud);
    bool (*cancelled)(const agg_face *f);
    /* Streams one FeatureResult; done->fn(done, ok) runs later on the worker (ok: the client is there). */
    void (*send)(agg_face *f, const fo_payload *msg, fo_tag *done);
    /* The status, with the AnalyticsResponse on a unary success; the face may not be used afterwards but to release it. */
    void (*finish)(agg_face *f, fo_status code, const char *message, const fo_payload *reply, const fo_md *trailers,
                   size_t ntrailers);
    /* NULL, or called once when the request is freed. */
    void (*release)(agg_face *f);
} agg_face_ops;

struct agg_face {
    const agg_face_ops *ops;
};

#endif
