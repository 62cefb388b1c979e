/* agg_reply: replies that the response can carry (see agg_reply.h). */
#include "agg_reply.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fo_utf8.h"

/*
 * Two things protobuf-c decodes but must not pass on. A tag whose field number
 * is 0, written as an overlong varint (bytes 80 00): protobuf-c 1.4 keeps it
 * as an unknown field and packs it back as the one-byte tag 00, which every
 * parser, protobuf-c included, rejects. And a string that is not UTF-8, which
 * proto3 forbids and strict parsers refuse. Walks every field through the
 * descriptor, so the check follows the proto when it grows.
 */
static bool message_ok(const ProtobufCMessage *m);

static bool field_ok(const ProtobufCFieldDescriptor *f, const void *value)
{
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(const char *const *)value;
        return s == NULL || fo_utf8_valid(s, strlen(s));
    }
    const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)value;
    return sub == NULL || message_ok(sub);
}

static bool message_ok(const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++) {
        if (m->unknown_fields[i].tag == 0)
            return false;
    }
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            const char *items = *(const char *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++) {
                if (!field_ok(f, items + j * sizeof(void *)))
                    return false;
            }
            continue;
        }
        /* A oneof member's pointer is only meaningful while the oneof holds that member. */
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (!field_ok(f, base + f->offset))
            return false;
    }
    return true;
}

bool agg_reply_ok(const Fanout__Feature__V1__UsageReport *r) { return message_ok(&r->base); }
