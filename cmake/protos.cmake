# Generates protobuf-c code and a serialized descriptor set from protos/ at
# build time; nothing generated is committed.
#
# Target fanout_protos: a static library of the generated C code, with the
# generated headers on its include path (#include "fanout/v1/aggregator.pb-c.h").
# FANOUT_DESCRIPTOR_SET: the FileDescriptorSet (with imports) that server
# reflection embeds.

set(FANOUT_PROTO_ROOT ${CMAKE_SOURCE_DIR}/protos)
set(FANOUT_GEN_DIR ${CMAKE_BINARY_DIR}/gen)
file(MAKE_DIRECTORY ${FANOUT_GEN_DIR})

set(FANOUT_PROTOS
  fanout/feature/v1/feature.proto
  fanout/v1/aggregator.proto)

set(fanout_gen_sources)
set(fanout_proto_files)
foreach(proto ${FANOUT_PROTOS})
  string(REGEX REPLACE "\\.proto$" "" stem ${proto})
  set(out_c ${FANOUT_GEN_DIR}/${stem}.pb-c.c)
  set(out_h ${FANOUT_GEN_DIR}/${stem}.pb-c.h)
  add_custom_command(
    OUTPUT ${out_c} ${out_h}
    COMMAND ${PROTOC_C} --proto_path=${FANOUT_PROTO_ROOT} --c_out=${FANOUT_GEN_DIR}
            ${FANOUT_PROTO_ROOT}/${proto}
    DEPENDS ${FANOUT_PROTO_ROOT}/${proto}
    COMMENT "protoc-c ${proto}")
  list(APPEND fanout_gen_sources ${out_c})
  list(APPEND fanout_proto_files ${FANOUT_PROTO_ROOT}/${proto})
endforeach()

add_library(fanout_protos STATIC ${fanout_gen_sources})
target_include_directories(fanout_protos PUBLIC ${FANOUT_GEN_DIR})
target_link_libraries(fanout_protos PUBLIC PkgConfig::PROTOBUFC)
# Generated code is not ours to warn about.
target_compile_options(fanout_protos PRIVATE -w)

set(FANOUT_DESCRIPTOR_SET ${FANOUT_GEN_DIR}/fanout.desc)
add_custom_command(
  OUTPUT ${FANOUT_DESCRIPTOR_SET}
  COMMAND ${PROTOC} --proto_path=${FANOUT_PROTO_ROOT} --include_imports
          --descriptor_set_out=${FANOUT_DESCRIPTOR_SET} ${FANOUT_PROTOS}
  WORKING_DIRECTORY ${FANOUT_PROTO_ROOT}
  DEPENDS ${fanout_proto_files}
  COMMENT "protoc descriptor set")
add_custom_target(fanout_descriptor_set ALL DEPENDS ${FANOUT_DESCRIPTOR_SET})
