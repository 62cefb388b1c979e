/* agg_wire: responses with the features' reports spliced in as sent (see agg_wire.h). */
#include "agg_wire.h"

#include <string.h>

#define WIRE_TYPE_LEN 2 /* length-delimited: strings, bytes, embedded messages */
#define RESPONSE_RESULTS_FIELD 2
#define RESULT_USAGE_FIELD 3

/* Writes v as a base-128 varint at out (when not NULL); returns its length. */
static size_t put_varint(uint64_t v, uint8_t *out)
{
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        if (out != NULL)
            out[n] = byte | (v != 0 ? 0x80 : 0);
        n++;
    } while (v != 0);
    return n;
}

/* The key and length of a length-delimited field of len bytes; returns their size. */
static size_t put_len_prefix(uint32_t field, size_t len, uint8_t *out)
{
    size_t n = put_varint((uint64_t)field << 3 | WIRE_TYPE_LEN, out);
    return n + put_varint(len, out != NULL ? out + n : NULL);
}

size_t agg_wire_pack_result(const Fanout__V1__FeatureResult *res, const agg_outcome *o, uint8_t *out)
{
    if (o->usage_wire == NULL || res->outcome_case != FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE)
        return out != NULL ? protobuf_c_message_pack(&res->base, out) : protobuf_c_message_get_packed_size(&res->base);
    Fanout__V1__FeatureResult rest = *res;
    rest.outcome_case = FANOUT__V1__FEATURE_RESULT__OUTCOME__NOT_SET;
    rest.usage = NULL;
    size_t n = out != NULL ? protobuf_c_message_pack(&rest.base, out) : protobuf_c_message_get_packed_size(&rest.base);
    n += put_len_prefix(RESULT_USAGE_FIELD, o->usage_wire_len, out != NULL ? out + n : NULL);
    if (out != NULL)
        memcpy(out + n, o->usage_wire, o->usage_wire_len);
    return n + o->usage_wire_len;
}

size_t agg_wire_pack_response(const agg_response *resp, const agg_outcome *outcomes, uint8_t *out)
{
    Fanout__V1__AnalyticsResponse rest = resp->msg;
    rest.n_results = 0;
    rest.results = NULL;
    size_t len =
        out != NULL ? protobuf_c_message_pack(&rest.base, out) : protobuf_c_message_get_packed_size(&rest.base);
    for (size_t i = 0; i < resp->msg.n_results; i++) {
        const Fanout__V1__FeatureResult *res = resp->msg.results[i];
        size_t size = agg_wire_pack_result(res, &outcomes[i], NULL);
        len += put_len_prefix(RESPONSE_RESULTS_FIELD, size, out != NULL ? out + len : NULL);
        if (out != NULL)
            agg_wire_pack_result(res, &outcomes[i], out + len);
        len += size;
    }
    return len;
}
