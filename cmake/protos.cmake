# Generates protobuf-c code and a serialized descriptor set at build time;
# nothing generated is committed.
#
# Sources: our wire contract in protos/, and gRPC's standard health and
# reflection protos from Debian's grpc-proto package.
#
# Target fanout_protos: a static library of the generated C code, with the
# generated headers on its include path (#include "fanout/v1/aggregator.pb-c.h").
# FANOUT_DESCRIPTOR_SET: the FileDescriptorSet (with imports) of every proto,
# which server reflection embeds.

set(FANOUT_PROTO_ROOT ${CMAKE_SOURCE_DIR}/protos)
find_path(GRPC_PROTO_ROOT grpc/health/v1/health.proto PATHS /usr/share/grpc-proto REQUIRED
          DOC "gRPC's standard protos (Debian package grpc-proto)")
set(FANOUT_GEN_DIR ${CMAKE_BINARY_DIR}/gen)
file(MAKE_DIRECTORY ${FANOUT_GEN_DIR})

set(fanout_gen_sources)
set(fanout_proto_files)
set(fanout_proto_args)

# fanout_protoc_c(ROOT PROTO): C code for ROOT/PROTO, named after PROTO.
function(fanout_protoc_c root proto)
  string(REGEX REPLACE "\\.proto$" "" stem ${proto})
  set(out_c ${FANOUT_GEN_DIR}/${stem}.pb-c.c)
  set(out_h ${FANOUT_GEN_DIR}/${stem}.pb-c.h)
  add_custom_command(
    OUTPUT ${out_c} ${out_h}
    COMMAND ${PROTOC_C} --proto_path=${FANOUT_PROTO_ROOT} --proto_path=${GRPC_PROTO_ROOT}
            --c_out=${FANOUT_GEN_DIR} ${root}/${proto}
    DEPENDS ${root}/${proto}
    COMMENT "protoc-c ${proto}")
  set(fanout_gen_sources ${fanout_gen_sources} ${out_c} PARENT_SCOPE)
  set(fanout_proto_files ${fanout_proto_files} ${root}/${proto} PARENT_SCOPE)
  set(fanout_proto_args ${fanout_proto_args} ${proto} PARENT_SCOPE)
endfunction()

fanout_protoc_c(${FANOUT_PROTO_ROOT} fanout/feature/v1/feature.proto)
fanout_protoc_c(${FANOUT_PROTO_ROOT} fanout/v1/aggregator.proto)
fanout_protoc_c(${GRPC_PROTO_ROOT} grpc/health/v1/health.proto)
fanout_protoc_c(${GRPC_PROTO_ROOT} grpc/reflection/v1alpha/reflection.proto)
fanout_protoc_c(${GRPC_PROTO_ROOT} grpc/reflection/v1/reflection.proto)

add_library(fanout_protos STATIC ${fanout_gen_sources})
target_include_directories(fanout_protos PUBLIC ${FANOUT_GEN_DIR})
target_link_libraries(fanout_protos PUBLIC PkgConfig::PROTOBUFC)
# Generated code is not ours to warn about.
target_compile_options(fanout_protos PRIVATE -w)

set(FANOUT_DESCRIPTOR_SET ${FANOUT_GEN_DIR}/fanout.desc)
add_custom_command(
  OUTPUT ${FANOUT_DESCRIPTOR_SET}
  COMMAND ${PROTOC} --proto_path=${FANOUT_PROTO_ROOT} --proto_path=${GRPC_PROTO_ROOT} --include_imports
          --descriptor_set_out=${FANOUT_DESCRIPTOR_SET} ${fanout_proto_args}
  DEPENDS ${fanout_proto_files}
  COMMENT "protoc descriptor set")
add_custom_target(fanout_descriptor_set ALL DEPENDS ${FANOUT_DESCRIPTOR_SET})

# google/protobuf/descriptor.proto, in C for server reflection, which reads
# the descriptor set above with it. Not part of the descriptor set: no service
# of ours uses it. protoc-c finds it on its built-in path (/usr/include).
find_path(PROTOBUF_PROTO_ROOT google/protobuf/descriptor.proto PATHS /usr/include REQUIRED
          DOC "protobuf's own protos (Debian package libprotobuf-dev)")
fanout_protoc_c(${PROTOBUF_PROTO_ROOT} google/protobuf/descriptor.proto)
target_sources(fanout_protos PRIVATE ${FANOUT_GEN_DIR}/google/protobuf/descriptor.pb-c.c)
