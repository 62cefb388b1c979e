/*
 * fo_reflection: gRPC server reflection, so that grpcurl and the like list
 * the services, describe them and call them without .proto files.
 *
 * Both grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo (what
 * grpcurl 1.8 and ghz speak) and grpc.reflection.v1 (what newer clients try
 * first) are served. The answers come from the FileDescriptorSet that protoc
 * writes at build time (cmake/protos.cmake, with --include_imports) and
 * cmake/embed.cmake embeds as fo_descriptor_set.
 *
 * The index over that set (file name -> the serialized FileDescriptorProtos
 * of the file and all its transitive dependencies; symbol -> file) is built
 * once by fo_reflection_create and from then on only read, by every worker
 * thread at once, without locks.
 *
 * Each ServerReflectionInfo stream answers its requests one at a time, in
 * order, with valid_host and original_request echoed:
 *   list_services               the names given to fo_reflection_create
 *   file_by_filename            the file and its transitive dependencies
 *   file_containing_symbol      the same for the file that declares a
 *                               package-qualified service, method
 *                               ("pkg.Service.Method"), message (nested ones
 *                               too, "pkg.Outer.Inner"), enum or enum value
 *                               ("pkg.VALUE", scoped like the enum itself)
 *   anything else               error_response NOT_FOUND (unknown files and
 *                               symbols, and the extension queries: the index
 *                               does not track extensions) or
 *                               INVALID_ARGUMENT (no request set)
 * An error_response does not end the stream. The stream ends with OK when
 * the client half-closes, and ends at once when it cancels.
 */
#ifndef FO_REFLECTION_H
#define FO_REFLECTION_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "fo_error.h"
#include "fo_server.h"

#define FO_REFLECTION_V1ALPHA_SERVICE "grpc.reflection.v1alpha.ServerReflection"
#define FO_REFLECTION_V1_SERVICE "grpc.reflection.v1.ServerReflection"

/* The serialized FileDescriptorSet embedded at build time (cmake/embed.cmake). */
extern const unsigned char fo_descriptor_set[];
extern const size_t fo_descriptor_set_len;

/* --- the descriptor index ---------------------------------------------------- */

typedef struct fo_reflection_index fo_reflection_index;

/*
 * Indexes a serialized FileDescriptorSet. INVALID_ARGUMENT when it does not
 * parse or a file imports one the set lacks (protoc ran without
 * --include_imports). The index copies what it needs: set may go away after.
 */
fo_error *fo_reflection_index_create(const unsigned char *set, size_t len, fo_reflection_index **out);
void fo_reflection_index_free(fo_reflection_index *ix);
/*
 * The serialized FileDescriptorProtos of the file named filename
 * ("fanout/v1/aggregator.proto") and of all its transitive dependencies,
 * that file first, each file once: *n of them. NULL with *n = 0 when the set
 * has no such file. The array belongs to ix.
 */
const ProtobufCBinaryData *fo_reflection_index_file(const fo_reflection_index *ix, const char *filename, size_t *n);
/* The same for the file that declares symbol ("fanout.v1.Aggregator"). */
const ProtobufCBinaryData *fo_reflection_index_symbol(const fo_reflection_index *ix, const char *symbol, size_t *n);

/* --- the service -------------------------------------------------------------- */

typedef struct fo_reflection fo_reflection;

/*
 * Indexes fo_descriptor_set. services are the fully-qualified names of the
 * services the server registers, reported by list_services (copied); each
 * must be declared in the set, or the error is INTERNAL.
 */
fo_error *fo_reflection_create(const char *const *services, size_t n, fo_reflection **out);
/* Adds both versions' ServerReflectionInfo to s; before fo_server_start. */
void fo_reflection_register(fo_reflection *r, fo_server *s);
/* After fo_server_destroy: the server's calls use r until then. */
void fo_reflection_destroy(fo_reflection *r);

#endif
