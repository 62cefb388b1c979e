/*
 * agg_wire: packs a response, or one streamed result, with every feature's
 * report spliced in as the bytes the feature sent.
 *
 * A report arrives encoded; parsing it is needed for the totals, but
 * encoding the parsed copy again would only rebuild the same bytes, at
 * nearly a tenth of an aggregate's cost. protobuf-c packs everything else;
 * a report goes in as what any embedded message is on the wire: its field's
 * key, its length and its bytes. Fields may come in any order on the wire,
 * so the spliced fields follow the packed ones.
 */
#ifndef AGG_WIRE_H
#define AGG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "agg_reduce.h"

/*
 * Packs res, whose outcome is o (o->usage_wire, when set, replaces o->usage
 * on the wire), into out; with out NULL, only measures. Returns the size.
 */
size_t agg_wire_pack_result(const Fanout__V1__FeatureResult *res, const agg_outcome *o, uint8_t *out);

/* The same for a response that agg_reduce built from outcomes. */
size_t agg_wire_pack_response(const agg_response *resp, const agg_outcome *outcomes, uint8_t *out);

#endif
