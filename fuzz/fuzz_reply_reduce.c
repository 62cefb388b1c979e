/*
 * fuzz_reply_reduce: any bytes as the replies of one request's features, decoded as the
 * aggregator decodes them, reduced with agg_reduce, and packed as the server packs the unary
 * response and the streamed results (agg_wire: each report spliced in as the feature sent it).
 *
 * The input is a sequence of records: a tag byte, a little-endian 16-bit length, then that many
 * bytes (a short last record takes what is left). Tag % 4 says how the call ended:
 *   0, 1: status OK, the bytes are the reply: a UsageReport, or MALFORMED_RESPONSE when they do
 *         not unpack or fail agg_reply_ok (the decoding of agg_fanout.c's call_done: one
 *         protobuf_c_message_unpack with the UsageReport descriptor into the request's arena);
 *   2:    the call failed with status (tag / 4) % 17 (0 becomes UNKNOWN), the bytes as message;
 *   3:    the feature is not configured (UNKNOWN_FEATURE).
 * A crash, a leak, a sanitizer report, a packed size that differs from the measured one, a
 * response that does not unpack again, a report that reads back other than it was decoded, or a
 * broken promise of agg_reduce.h is a finding.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg_reduce.h"
#include "fo_alloc.h"
#include "agg_reply.h"
#include "agg_wire.h"
#include "fanout/feature/v1/feature.pb-c.h"
#include "fanout/v1/aggregator.pb-c.h"
#include "fo_arena.h"
#include "fuzz_target.h"

#define MAX_OUTCOMES 64

static const char *const names[] = {"listings", "searches", "tours", "offers", "leads", "documents"};
#define N_NAMES (sizeof names / sizeof names[0])

/*
 * Decodes one record into o, as agg_fanout.c's call_done and task_start would: the report in
 * replies, a failed call's message (a copy, as the fan-out keeps it) in *message.
 */
static void classify(unsigned tag, const uint8_t *bytes, size_t len, int32_t index, fo_arena *replies, char **message,
                     agg_outcome *o)
{
    *o = (agg_outcome){.feature = names[index % N_NAMES], .index = index, .latency_us = 1000 + index, .attempts = 1};
    switch (tag % 4) {
    case 0:
    case 1:
        o->usage = (Fanout__Feature__V1__UsageReport *)protobuf_c_message_unpack(
            &fanout__feature__v1__usage_report__descriptor, fo_arena_protobuf(replies), len, bytes);
        if (o->usage != NULL && !agg_reply_ok(o->usage))
            o->usage = NULL; /* freed with the arena */
        if (o->usage != NULL) {
            o->usage_wire = bytes;
            o->usage_wire_len = len;
        } else {
            o->code = FO_STATUS_INTERNAL;
            o->kind = FANOUT__V1__ERROR_KIND__MALFORMED_RESPONSE;
            o->message = "reply is not a valid fanout.feature.v1.UsageReport";
        }
        return;
    case 2:
        *message = fo_xmalloc(len + 1);
        memcpy(*message, bytes, len);
        (*message)[len] = '\0';
        o->code = (fo_status)((tag / 4) % FO_STATUS_COUNT);
        if (o->code == FO_STATUS_OK)
            o->code = FO_STATUS_UNKNOWN;
        o->kind = agg_error_kind_for_status(o->code);
        o->message = *message;
        return;
    default:
        o->code = FO_STATUS_NOT_FOUND;
        o->kind = FANOUT__V1__ERROR_KIND__UNKNOWN_FEATURE;
        o->message = "feature is not configured";
        o->attempts = 0;
        return;
    }
}

/* A message as protobuf-c packs it (malloc'd), and its size in *n. */
static uint8_t *pack(const ProtobufCMessage *msg, size_t *n)
{
    *n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = fo_xmalloc(*n);
    if (protobuf_c_message_pack(msg, buf) != *n)
        abort();
    return buf;
}

/* A report read back from the response must be the one decoded from the feature's reply. */
static void check_same_report(const Fanout__Feature__V1__UsageReport *a, const Fanout__Feature__V1__UsageReport *b)
{
    size_t na, nb;
    uint8_t *pa = pack(&a->base, &na), *pb = pack(&b->base, &nb);
    if (na != nb || memcmp(pa, pb, na) != 0)
        abort();
    free(pa);
    free(pb);
}

/* Measures, packs and unpacks one result as the streaming method sends it. */
static void check_result(const agg_outcome *o)
{
    Fanout__V1__FeatureResult res;
    Fanout__V1__FeatureError err_storage;
    agg_result_fill(o, &res, &err_storage);
    size_t n = agg_wire_pack_result(&res, o, NULL);
    uint8_t *buf = fo_xmalloc(n);
    if (agg_wire_pack_result(&res, o, buf) != n)
        abort();
    Fanout__V1__FeatureResult *back = fanout__v1__feature_result__unpack(NULL, n, buf);
    if (back == NULL || back->index != o->index ||
        (back->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE) != (o->usage != NULL))
        abort();
    if (o->usage != NULL)
        check_same_report(o->usage, back->usage);
    fanout__v1__feature_result__free_unpacked(back, NULL);
    free(buf);
}

/* A day's total: every report's events on that day, and whether their plain sum overflowed. */
static int64_t day_sum(const agg_outcome *outcomes, size_t n, int64_t day, bool *seen, bool *overflowed)
{
    int64_t sum = 0;
    *seen = *overflowed = false;
    for (size_t i = 0; i < n; i++) {
        const Fanout__Feature__V1__UsageReport *u = outcomes[i].usage;
        for (size_t j = 0; u != NULL && j < u->n_daily; j++) {
            if (u->daily[j]->day_unix != day)
                continue;
            *seen = true;
            *overflowed |= __builtin_add_overflow(sum, u->daily[j]->events, &sum);
        }
    }
    return sum;
}

/* Every report's day is in the totals once, with the sum of its events (exact unless it overflowed). */
static void check_days(const Fanout__V1__Totals *t, const agg_outcome *outcomes, size_t n)
{
    for (size_t k = 0; k < t->n_daily; k++) {
        bool seen, overflowed;
        int64_t sum = day_sum(outcomes, n, t->daily[k]->day_unix, &seen, &overflowed);
        if (!seen || (!overflowed && t->daily[k]->events != sum))
            abort();
    }
    for (size_t i = 0; i < n; i++) {
        const Fanout__Feature__V1__UsageReport *u = outcomes[i].usage;
        for (size_t j = 0; u != NULL && j < u->n_daily; j++) {
            size_t k = 0;
            while (k < t->n_daily && t->daily[k]->day_unix != u->daily[j]->day_unix)
                k++;
            if (k == t->n_daily)
                abort();
        }
    }
}

/* What agg_reduce.h promises, checked on the response as a client would read it. */
static void check_response(const Fanout__V1__AnalyticsResponse *r, const agg_outcome *outcomes, size_t n)
{
    size_t failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += outcomes[i].usage == NULL;
    if (r->n_results != n || r->n_errors != failed || (size_t)r->failed != failed ||
        (size_t)r->succeeded != n - failed || r->partial != (failed > 0) || r->totals == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (r->results[i]->index != (int32_t)i ||
            (r->results[i]->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE) != (outcomes[i].usage != NULL))
            abort();
        if (outcomes[i].usage != NULL)
            check_same_report(outcomes[i].usage, r->results[i]->usage);
    }
    const Fanout__V1__Totals *t = r->totals;
    for (size_t i = 1; i < t->n_daily; i++) {
        if (t->daily[i - 1]->day_unix >= t->daily[i]->day_unix)
            abort(); /* days are merged and in order */
    }
    check_days(t, outcomes, n);
    if ((failed == n) != (t->top_feature[0] == '\0'))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *messages[MAX_OUTCOMES] = {0};
    agg_outcome outcomes[MAX_OUTCOMES];
    size_t n = 0;
    fo_arena replies;
    fo_arena_init(&replies);
    while (size > 0 && n < MAX_OUTCOMES) {
        unsigned tag = data[0];
        size_t len = size >= 3 ? (size_t)data[1] | (size_t)data[2] << 8 : 0;
        size_t head = size >= 3 ? 3 : size;
        if (len > size - head)
            len = size - head;
        classify(tag, data + head, len, (int32_t)n, &replies, &messages[n], &outcomes[n]);
        n++;
        data += head + len;
        size -= head + len;
    }

    agg_response resp;
    agg_reduce(outcomes, n, "c-42", 12345, &resp);
    size_t packed = agg_wire_pack_response(&resp, outcomes, NULL);
    uint8_t *buf = fo_xmalloc(packed);
    if (agg_wire_pack_response(&resp, outcomes, buf) != packed)
        abort();
    Fanout__V1__AnalyticsResponse *back = fanout__v1__analytics_response__unpack(NULL, packed, buf);
    if (back == NULL)
        abort();
    check_response(back, outcomes, n);
    fanout__v1__analytics_response__free_unpacked(back, NULL);
    free(buf);
    agg_response_release(&resp);

    /* The streaming method sends each result on its own. */
    for (size_t i = 0; i < n; i++)
        check_result(&outcomes[i]);

    for (size_t i = 0; i < n; i++)
        free(messages[i]);
    fo_arena_release(&replies);
    return 0;
}
