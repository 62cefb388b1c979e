/* fo_rpc_internal: conversions shared by the gRPC layer's files; nothing else includes it. */
#ifndef FO_RPC_INTERNAL_H
#define FO_RPC_INTERNAL_H

#include <grpc/grpc.h>
#include <grpc/support/time.h>

#include "fo_file.h" /* fo_read_file, for the credentials of channels and servers */
#include "fo_rpc.h"

/* A new byte buffer sharing p's bytes; the caller destroys it. */
grpc_byte_buffer *fo_payload_buffer(const fo_payload *p);
/* NULL when bb is NULL or its bytes do not unpack as desc. */
ProtobufCMessage *fo_buffer_unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc);

gpr_timespec fo_deadline_to_gpr(int64_t deadline_ns);
int64_t fo_deadline_from_gpr(gpr_timespec deadline);

const char *fo_md_find(const grpc_metadata_array *arr, const char *key, size_t *len);
/* A grpc_metadata array pointing at md's bytes; free() it after start_batch. */
grpc_metadata *fo_md_to_grpc(const fo_md *md, size_t n);
/* The same for a client call's md then call_md; *count gets their number. */
grpc_metadata *fo_spec_md_to_grpc(const fo_call_spec *spec, size_t *count);

grpc_channel *fo_channel_grpc(fo_channel *channel);

#endif
