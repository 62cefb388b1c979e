/* cli_health: the health check command. */
#include "cli_health.h"

#include <stdio.h>

#include "cli_call.h"
#include "grpc/health/v1/health.pb-c.h"

#define HEALTH_CHECK_PATH "/grpc.health.v1.Health/Check"

int cli_health(const cli_opts *o)
{
    fo_channel *ch = NULL;
    int rc = cli_call_channel(o, &ch);
    if (rc != CLI_EXIT_OK)
        return rc;
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    /* The empty name asks about the server as a whole. */
    req.service = (char *)(o->service != NULL ? o->service : "");
    ProtobufCMessage *reply =
        cli_call_unary(o, ch, HEALTH_CHECK_PATH, &req.base, &grpc__health__v1__health_check_response__descriptor);
    rc = CLI_EXIT_FAILED;
    if (reply != NULL) {
        Grpc__Health__V1__HealthCheckResponse *resp = (Grpc__Health__V1__HealthCheckResponse *)reply;
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
            &grpc__health__v1__health_check_response__serving_status__descriptor, (int)resp->status);
        if (v != NULL)
            printf("%s\n", v->name);
        else
            printf("%d\n", (int)resp->status);
        if (resp->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING)
            rc = CLI_EXIT_OK;
        protobuf_c_message_free_unpacked(reply, NULL);
    }
    fo_channel_destroy(ch);
    return rc;
}
