/* cli_call: channels, specs, blocking unary calls and error reports for fanout-cli. */
#include "cli_call.h"

#include <stdint.h>
#include <stdio.h>

#include "fo_time.h"

int cli_call_channel(const cli_opts *o, fo_channel **out)
{
    fo_error *err = fo_channel_create(o->addr, &o->channel, out);
    if (err == NULL)
        return CLI_EXIT_OK;
    /* Unreadable TLS files and unusable addresses are mistakes in the flags. */
    int rc = cli_usage_error("%s", err->message);
    fo_error_free(err);
    return rc;
}

fo_call_spec cli_call_spec(const cli_opts *o, fo_channel *ch, const char *path, const fo_payload *request)
{
    int64_t now = fo_now_ns();
    int64_t deadline = FO_DEADLINE_NONE;
    if (o->timeout_us < (FO_DEADLINE_NONE - now) / FO_NS_PER_US)
        deadline = now + o->timeout_us * FO_NS_PER_US;
    return (fo_call_spec){
        .channel = ch,
        .path = path,
        .deadline_ns = deadline,
        .md = o->md,
        .nmd = o->nmd,
        .request = request,
    };
}

void cli_call_report(fo_status code, const char *message, const char *failed_feature, size_t failed_len)
{
    fprintf(stderr, "ERROR: %s: %s\n", fo_status_name(code), message);
    if (failed_feature != NULL)
        fprintf(stderr, "%s: %.*s\n", CLI_FAILED_FEATURE_TRAILER, (int)failed_len, failed_feature);
}

ProtobufCMessage *cli_call_unary(const cli_opts *o, fo_channel *ch, const char *path, const ProtobufCMessage *request,
                                 const ProtobufCMessageDescriptor *reply_desc)
{
    fo_payload *payload = fo_payload_pack(request);
    fo_call_spec spec = cli_call_spec(o, ch, path, payload);
    fo_client_call *cc = NULL;
    ProtobufCMessage *reply = NULL;
    fo_error *err = fo_client_call_blocking(&spec, &cc);
    if (err != NULL) {
        cli_call_report(err->code, err->message, NULL, 0);
        goto out;
    }
    fo_status status = fo_client_call_status(cc);
    if (status != FO_STATUS_OK) {
        size_t len = 0;
        const char *failed = fo_client_call_trailer(cc, CLI_FAILED_FEATURE_TRAILER, &len);
        cli_call_report(status, fo_client_call_message(cc), failed, len);
        goto out;
    }
    reply = fo_client_call_unpack(cc, reply_desc);
    if (reply == NULL) {
        char why[256];
        snprintf(why, sizeof why, "the reply is not a valid %s", reply_desc->name);
        cli_call_report(FO_STATUS_INTERNAL, why, NULL, 0);
    }
out:
    fo_client_call_free(cc);
    fo_error_free(err);
    fo_payload_free(payload);
    return reply;
}
