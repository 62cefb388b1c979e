/* agg_http_request: query parameters and JSON bodies into AnalyticsRequests, through fo_pbjson. */
#include "agg_http_request.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fo_alloc.h"
#include "fo_json.h"
#include "fo_parse.h"
#include "fo_pbjson.h"
#include "fo_utf8.h"

/* The most a request may wait: the same bound as a feature's timeout_ms in the config. */
#define TIMEOUT_MAX_MS 3600000

/* A query parameter and the AnalyticsRequest field (its JSON name) it sets. */
typedef struct query_field {
    const char *param;
    const char *json;
} query_field;

static const query_field query_fields[] = {
    {"policy", "failurePolicy"},
    {"window_start", "windowStartUnix"},
    {"window_end", "windowEndUnix"},
};
#define N_QUERY_FIELDS (sizeof query_fields / sizeof *query_fields)
#define KNOWN_PARAMS "features, policy, window_start, window_end, timeout_ms"

/* Checks value alone as the field's proto3 JSON, so that an error names the parameter. */
static fo_error *query_scalar(json_t *obj, const query_field *f, const char *value)
{
    if (json_object_get(obj, f->json) != NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "query parameter %s: given twice", f->param);
    json_t *one = json_pack("{s:s}", f->json, value);
    ProtobufCMessage *m = NULL;
    fo_error *err = fo_pbjson_to_message(one, &fanout__v1__analytics_request__descriptor, &m);
    json_decref(one);
    if (err != NULL) {
        fo_error *named = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "query parameter %s: %s", f->param, err->message);
        fo_error_free(err);
        return named;
    }
    protobuf_c_message_free_unpacked(m, NULL);
    json_object_set_new(obj, f->json, json_string(value));
    return NULL;
}

/* features=a,b (and features=c again): each name in order. */
static void query_features(json_t *features, const char *value)
{
    const char *p = value;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        json_array_append_new(features, json_stringn(p, len));
        if (comma == NULL)
            return;
        p = comma + 1;
    }
}

static fo_error *query_timeout(int64_t *timeout_ms, const char *value)
{
    if (*timeout_ms >= 0)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "query parameter timeout_ms: given twice");
    if (fo_parse_int(value, 1, TIMEOUT_MAX_MS, timeout_ms) != FO_PARSE_OK)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                        "query parameter timeout_ms: must be an integer from 1 to %d, got \"%s\"", TIMEOUT_MAX_MS,
                        value);
    return NULL;
}

static fo_error *query_param(json_t *obj, json_t *features, int64_t *timeout_ms, const agg_http_param *p)
{
    if (p->value == NULL || !fo_utf8_valid(p->value, strlen(p->value)))
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "query parameter %s: expected %s=VALUE in UTF-8", p->key, p->key);
    if (strcmp(p->key, "features") == 0) {
        query_features(features, p->value);
        return NULL;
    }
    if (strcmp(p->key, "timeout_ms") == 0)
        return query_timeout(timeout_ms, p->value);
    for (size_t i = 0; i < N_QUERY_FIELDS; i++) {
        if (strcmp(p->key, query_fields[i].param) == 0)
            return query_scalar(obj, &query_fields[i], p->value);
    }
    return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "query parameter %s: unknown (expected " KNOWN_PARAMS ")", p->key);
}

fo_error *agg_http_request_from_query(const char *customer, const agg_http_param *params, size_t n,
                                      Fanout__V1__AnalyticsRequest **out, int64_t *timeout_ms)
{
    *out = NULL;
    *timeout_ms = -1;
    json_t *customer_json = json_string(customer);
    if (customer_json == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "customer_id: not UTF-8");
    json_t *obj = json_pack("{s:o}", "customerId", customer_json);
    json_t *features = json_array();
    fo_error *err = NULL;
    for (size_t i = 0; i < n && err == NULL; i++)
        err = query_param(obj, features, timeout_ms, &params[i]);
    json_object_set_new(obj, "features", features);
    if (err == NULL)
        err = fo_pbjson_to_message(obj, &fanout__v1__analytics_request__descriptor, (ProtobufCMessage **)out);
    json_decref(obj);
    return err;
}

fo_error *agg_http_request_from_body(const char *body, size_t len, Fanout__V1__AnalyticsRequest **out)
{
    *out = NULL;
    if (memchr(body, '\0', len) != NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "request body: contains a NUL byte");
    char *text = fo_xmalloc(len + 1);
    memcpy(text, body, len);
    text[len] = '\0';
    json_t *json = NULL;
    fo_error *err = fo_json_load_text("request body", text, &json);
    free(text);
    if (err != NULL)
        return err;
    err = fo_pbjson_to_message(json, &fanout__v1__analytics_request__descriptor, (ProtobufCMessage **)out);
    json_decref(json);
    if (err != NULL) {
        fo_error *named = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "request body: %s", err->message);
        fo_error_free(err);
        return named;
    }
    return NULL;
}

/* gRPC's "TimeoutValue TimeoutUnit": at most 8 digits, then H, M, S, m, u or n. */
static bool grpc_timeout_ms(const char *value, int64_t *ms)
{
    size_t len = strlen(value);
    if (len < 2 || len > 9)
        return false;
    char digits[9];
    memcpy(digits, value, len - 1);
    digits[len - 1] = '\0';
    uint64_t n;
    if (fo_parse_uint(digits, 99999999, &n) != FO_PARSE_OK)
        return false;
    /* Nanoseconds per unit, so that a sub-millisecond timeout rounds up to 1 ms. */
    static const char units[] = "HMSmun";
    static const double unit_ns[] = {3600e9, 60e9, 1e9, 1e6, 1e3, 1};
    const char *u = strchr(units, value[len - 1]);
    if (u == NULL || value[len - 1] == '\0')
        return false;
    double total_ms = (double)n * unit_ns[u - units] / 1e6;
    *ms = total_ms > TIMEOUT_MAX_MS ? TIMEOUT_MAX_MS : (int64_t)total_ms + ((double)(int64_t)total_ms < total_ms);
    return true;
}

fo_error *agg_http_timeout_header(const char *name, const char *value, int64_t *ms)
{
    if (strcmp(name, "grpc-timeout") == 0) {
        if (!grpc_timeout_ms(value, ms) || *ms < 1)
            return FO_ERROR(FO_STATUS_INVALID_ARGUMENT,
                            "header grpc-timeout: expected up to 8 digits and a unit (H M S m u n), got \"%s\"", value);
        return NULL;
    }
    if (fo_parse_int(value, 1, TIMEOUT_MAX_MS, ms) != FO_PARSE_OK)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "header %s: must be an integer from 1 to %d, got \"%s\"", name,
                        TIMEOUT_MAX_MS, value);
    return NULL;
}
