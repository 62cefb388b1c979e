/* agg_http_status: gRPC codes as HTTP statuses and google.rpc.Status bodies. */
#include "agg_http_status.h"

#include <jansson.h>
#include <stdlib.h>

#include "fo_utf8.h"

unsigned agg_http_status_of(fo_status code)
{
    static const unsigned http[FO_STATUS_COUNT] = {
        [FO_STATUS_OK] = 200,
        [FO_STATUS_CANCELLED] = 499,
        [FO_STATUS_UNKNOWN] = 500,
        [FO_STATUS_INVALID_ARGUMENT] = 400,
        [FO_STATUS_DEADLINE_EXCEEDED] = 504,
        [FO_STATUS_NOT_FOUND] = 404,
        [FO_STATUS_ALREADY_EXISTS] = 409,
        [FO_STATUS_PERMISSION_DENIED] = 403,
        [FO_STATUS_RESOURCE_EXHAUSTED] = 429,
        [FO_STATUS_FAILED_PRECONDITION] = 400,
        [FO_STATUS_ABORTED] = 409,
        [FO_STATUS_OUT_OF_RANGE] = 400,
        [FO_STATUS_UNIMPLEMENTED] = 501,
        [FO_STATUS_INTERNAL] = 500,
        [FO_STATUS_UNAVAILABLE] = 503,
        [FO_STATUS_DATA_LOSS] = 500,
        [FO_STATUS_UNAUTHENTICATED] = 401,
    };
    return (unsigned)code < FO_STATUS_COUNT ? http[code] : 500;
}

char *agg_http_error_json(fo_status code, const char *message)
{
    /* A feature's message may carry any bytes; JSON needs UTF-8. */
    char *text = fo_utf8_repair(message);
    json_t *j = json_pack("{s:i, s:s, s:[]}", "code", (int)code, "message", text, "details");
    free(text);
    char *out = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (out == NULL)
        abort();
    return out;
}
