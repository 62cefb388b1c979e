/* agg_reply: replies that the response can carry (see agg_reply.h). */
#include "agg_reply.h"

#include <stddef.h>
#include <stdint.h>

/*
 * protobuf-c 1.4 accepts a tag whose field number is 0 when the tag is an
 * overlong varint (bytes 80 00), keeps the field as unknown, and packs it back
 * as the one-byte tag 00, which every parser, protobuf-c included, rejects.
 * Walks every message field through the descriptor, so the check follows the
 * proto when it grows.
 */
static bool has_field_zero(const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++) {
        if (m->unknown_fields[i].tag == 0)
            return true;
    }
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++) {
                if (has_field_zero(items[j]))
                    return true;
            }
            continue;
        }
        /* A oneof member's pointer is only meaningful while the oneof holds that member. */
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
        if (sub != NULL && has_field_zero(sub))
            return true;
    }
    return false;
}

bool agg_reply_ok(const Fanout__Feature__V1__UsageReport *r)
{
    return !has_field_zero(&r->base);
}
