/*
 * fo_pbjson: the proto3 canonical JSON mapping for any protobuf-c message,
 * driven by its descriptors alone (no generated JSON code), on jansson.
 *
 * Output (what grpcurl prints):
 * - keys are lowerCamelCase, the json_name protoc derives from the field name;
 * - int64, uint64, sint64, fixed64 and sfixed64 are decimal strings, the
 *   32-bit integers are numbers;
 * - enums are their value names, or numbers for values the enum does not know;
 * - bytes are standard base64 with padding;
 * - NaN and the infinities are the strings "NaN", "Infinity", "-Infinity";
 * - map<k, v> fields (repeated entry messages in protobuf-c) are objects keyed
 *   by the key's text;
 * - fields at their proto3 default (0, false, "", empty, unset message) are
 *   left out; of a oneof only the set member appears, even at its default.
 * Keys come in field-number order.
 *
 * Input accepts the output, and also the proto field names (snake_case),
 * 64-bit integers as numbers, 32-bit integers as strings, enums as numbers,
 * URL-safe or unpadded base64, and null for "leave at the default". Unknown
 * fields are errors.
 *
 * The well-known types (Timestamp, Duration, wrappers, Any) get no special
 * form: our protos use none of them.
 */
#ifndef FO_PBJSON_H
#define FO_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "fo_error.h"

/* A new JSON object for msg; never NULL (aborts when out of memory). */
json_t *fo_pbjson_from_message(const ProtobufCMessage *msg);

/*
 * Builds a desc message from json into *out, allocated as
 * protobuf_c_message_unpack would with the default allocator: free it with
 * protobuf_c_message_free_unpacked(*out, NULL). On failure *out is NULL and
 * the error is FO_STATUS_INVALID_ARGUMENT naming the JSON path, e.g.
 * "features[2]: expected a string".
 */
fo_error *fo_pbjson_to_message(const json_t *json, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out);

/*
 * json_dumps(json, flags), with the reals written at the smallest precision at
 * which every real of the document reads back exactly: 12.34 stays "12.34"
 * instead of jansson's default "12.339999999999999". The caller frees the
 * text; NULL only when json_dumps fails.
 */
char *fo_pbjson_dumps(const json_t *json, size_t flags);

/*
 * msg as the text fanout-cli prints and the HTTP face serves (without the
 * final newline): indented by two spaces like grpcurl, or on one line; keys
 * in field-number order. The caller frees it.
 */
char *fo_pbjson_render(const ProtobufCMessage *msg, bool pretty);

#endif
