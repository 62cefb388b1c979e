/*
 * fuzz_http_request: any bytes as the HTTP face's request parsers receive them. The first byte
 * picks the parser: even, the POST body (proto3 JSON through fo_json and fo_pbjson); odd, a GET:
 * the rest split at '&' into the customer and then key=value query parameters (a piece without
 * '=' is a key without a value). Errors are expected; a crash, a leak, a sanitizer report, or a
 * parsed body whose JSON rendering does not parse back into the same message is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg_http_request.h"
#include "fanout/v1/aggregator.pb-c.h"
#include "fo_alloc.h"
#include "fo_pbjson.h"
#include "fuzz_target.h"

#define MAX_PARAMS 64

/* What fanout-cli would print of msg reads back as msg: the two faces agree on the JSON. */
static void check_round_trip(const Fanout__V1__AnalyticsRequest *msg)
{
    char *text = fo_pbjson_render(&msg->base, false);
    Fanout__V1__AnalyticsRequest *again = NULL;
    fo_error *err = agg_http_request_from_body(text, strlen(text), &again);
    if (err != NULL)
        abort();
    size_t n = protobuf_c_message_get_packed_size(&msg->base);
    uint8_t *a = fo_xmalloc(n + 1), *b = fo_xmalloc(n + 1);
    if (protobuf_c_message_get_packed_size(&again->base) != n)
        abort();
    protobuf_c_message_pack(&msg->base, a);
    protobuf_c_message_pack(&again->base, b);
    if (memcmp(a, b, n) != 0)
        abort();
    free(a);
    free(b);
    free(text);
    fanout__v1__analytics_request__free_unpacked(again, NULL);
}

static fo_error *parse_query(char *text, Fanout__V1__AnalyticsRequest **out)
{
    agg_http_param params[MAX_PARAMS];
    size_t n = 0;
    char *customer = strtok(text, "&");
    if (customer == NULL)
        customer = text;
    for (char *p = strtok(NULL, "&"); p != NULL && n < MAX_PARAMS; p = strtok(NULL, "&")) {
        char *eq = strchr(p, '=');
        if (eq != NULL)
            *eq = '\0';
        params[n++] = (agg_http_param){p, eq != NULL ? eq + 1 : NULL};
    }
    int64_t timeout_ms;
    return agg_http_request_from_query(customer, params, n, out, &timeout_ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    Fanout__V1__AnalyticsRequest *msg = NULL;
    fo_error *err;
    if ((data[0] & 1) == 0) {
        err = agg_http_request_from_body((const char *)data + 1, size - 1, &msg);
    } else {
        /* Copied, not strndup'ed: the fuzzer's bytes end without a NUL. */
        char *text = fo_xmalloc(size);
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        err = parse_query(text, &msg);
        free(text);
    }
    if ((err == NULL) != (msg != NULL))
        abort();
    if (msg != NULL) {
        check_round_trip(msg);
        fanout__v1__analytics_request__free_unpacked(msg, NULL);
    }
    fo_error_free(err);
    return 0;
}
