/* agg_face_grpc: the gRPC face of a request, a thin agg_face over its fo_server_call. */
#ifndef AGG_FACE_GRPC_H
#define AGG_FACE_GRPC_H

#include "agg_face.h"
#include "fo_server.h"

typedef struct agg_face_grpc {
    agg_face base;
    fo_server_call *call;
} agg_face_grpc;

void agg_face_grpc_init(agg_face_grpc *f, fo_server_call *call);

#endif
