/* fo_loop_internal: the loop's completion queue, for the gRPC layer's files only. */
#ifndef FO_LOOP_INTERNAL_H
#define FO_LOOP_INTERNAL_H

#include <grpc/grpc.h>

#include "fo_loop.h"

grpc_completion_queue *fo_loop_cq(fo_loop *loop);

#endif
