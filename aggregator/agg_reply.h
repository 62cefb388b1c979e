/*
 * agg_reply: the check a feature's decoded reply must pass before the reduction
 * embeds it in a response. A reply that fails it is MALFORMED_RESPONSE, like
 * bytes that do not decode at all.
 *
 * The reduction lends each UsageReport to the response as it was decoded,
 * unknown fields included, so a report that protobuf-c decodes but cannot
 * encode back into valid bytes would make the whole response unreadable to the
 * client: one bad feature must not spoil the others.
 */
#ifndef AGG_REPLY_H
#define AGG_REPLY_H

#include <stdbool.h>

#include "fanout/feature/v1/feature.pb-c.h"

/*
 * True when r, and every message inside it, packs back into valid protobuf
 * that strict proto3 parsers accept: no field number 0, every string UTF-8.
 * Linear in its size.
 */
bool agg_reply_ok(const Fanout__Feature__V1__UsageReport *r);

#endif
