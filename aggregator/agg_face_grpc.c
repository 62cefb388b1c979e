/* agg_face_grpc: agg_face's operations on an fo_server_call, one line each. */
#include "agg_face_grpc.h"

static fo_server_call *call_of(const agg_face *f) { return ((const agg_face_grpc *)(const void *)f)->call; }

static int grpc_worker(const agg_face *f) { return fo_server_call_worker(call_of(f)); }

static fo_loop *grpc_loop(agg_face *f) { return fo_server_call_loop(call_of(f)); }

static int64_t grpc_deadline(const agg_face *f) { return fo_server_call_deadline(call_of(f)); }

static const char *grpc_metadata(const agg_face *f, const char *key, size_t *len)
{
    return fo_server_call_metadata(call_of(f), key, len);
}

static bool grpc_add_header(agg_face *f, const char *key, const char *value, size_t len)
{
    return fo_server_call_add_header(call_of(f), key, value, len);
}

static ProtobufCMessage *grpc_request(agg_face *f, const ProtobufCMessageDescriptor *desc, fo_error **err)
{
    return fo_server_call_request(call_of(f), desc, err);
}

static void grpc_on_cancel(agg_face *f, void (*fn)(void *ud), void *ud)
{
    fo_server_call_on_cancel(call_of(f), fn, ud);
}

static bool grpc_cancelled(const agg_face *f) { return fo_server_call_cancelled(call_of(f)); }

static void grpc_send(agg_face *f, const fo_payload *msg, fo_tag *done) { fo_server_call_send(call_of(f), msg, done); }

static void grpc_finish(agg_face *f, fo_status code, const char *message, const fo_payload *reply,
                        const fo_md *trailers, size_t ntrailers)
{
    fo_server_call_finish(call_of(f), code, message, reply, trailers, ntrailers);
}

static const agg_face_ops grpc_ops = {
    .name = "grpc",
    .worker = grpc_worker,
    .loop = grpc_loop,
    .deadline = grpc_deadline,
    .metadata = grpc_metadata,
    .add_header = grpc_add_header,
    .request = grpc_request,
    .on_cancel = grpc_on_cancel,
    .cancelled = grpc_cancelled,
    .send = grpc_send,
    .finish = grpc_finish,
};

void agg_face_grpc_init(agg_face_grpc *f, fo_server_call *call)
{
    f->base.ops = &grpc_ops;
    f->call = call;
}
