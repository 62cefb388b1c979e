/*
 * Integration tests of server reflection and health checking, against a real
 * aggregator (with one mock feature behind it) and a real mock service.
 *
 * Reflection is a bidi stream, which the project's client layer does not
 * speak, so this file carries a small blocking stream client written on the
 * gRPC C core directly: each operation is one batch on a pluck queue, waited
 * for with a deadline. The unary health Check goes through tool_rpc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "testproc.h"
#include "tool_rpc.h"

#define V1ALPHA_PATH "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
#define V1_PATH "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
#define CHECK_PATH "/grpc.health.v1.Health/Check"
#define WATCH_PATH "/grpc.health.v1.Health/Watch"
#define OP_TIMEOUT_MS 5000
/* Far longer than the test allows for a drain: open Watch streams must not hold it. */
#define AGG_GRACE_MS 30000

typedef Grpc__Reflection__V1__ServerReflectionRequest refl_request;
typedef Grpc__Reflection__V1__ServerReflectionResponse refl_response;

typedef struct fixture {
    tool_proc *mock;
    tool_proc *agg;
    char config_path[64];
} fixture;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- a blocking stream client on the C core -------------------------------------- */

typedef struct stream {
    grpc_channel *channel;
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array initial_md, trailing_md;
    bool got_initial_md;
    grpc_status_code status;
    grpc_slice details;
} stream;

/* Runs one batch and waits for it; true when it succeeded. */
static bool stream_batch(stream *s, grpc_op *ops, size_t n)
{
    int tag;
    if (grpc_call_start_batch(s->call, ops, n, &tag, NULL) != GRPC_CALL_OK)
        fail_msg("grpc_call_start_batch refused a batch");
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(OP_TIMEOUT_MS, GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_pluck(s->cq, &tag, deadline, NULL);
    if (ev.type != GRPC_OP_COMPLETE)
        fail_msg("no completion within %d ms", OP_TIMEOUT_MS);
    return ev.success != 0;
}

static void stream_open(stream *s, const char *target, const char *path)
{
    memset(s, 0, sizeof *s);
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    s->channel = grpc_channel_create(target, creds, NULL);
    grpc_channel_credentials_release(creds);
    s->cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice method = grpc_slice_from_static_string(path);
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_seconds(60, GPR_TIMESPAN));
    s->call = grpc_channel_create_call(s->channel, NULL, GRPC_PROPAGATE_DEFAULTS, s->cq, method, NULL, deadline, NULL);
    grpc_metadata_array_init(&s->initial_md);
    grpc_metadata_array_init(&s->trailing_md);
    grpc_op op = {.op = GRPC_OP_SEND_INITIAL_METADATA};
    assert_true(stream_batch(s, &op, 1));
}

static void stream_send(stream *s, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    grpc_op op = {.op = GRPC_OP_SEND_MESSAGE};
    op.data.send_message.send_message = bb;
    assert_true(stream_batch(s, &op, 1));
    grpc_byte_buffer_destroy(bb);
}

static void stream_close_send(stream *s)
{
    grpc_op op = {.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT};
    assert_true(stream_batch(s, &op, 1));
}

static ProtobufCMessage *unpack_buffer(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc)
{
    grpc_byte_buffer_reader reader;
    assert_true(grpc_byte_buffer_reader_init(&reader, bb));
    grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    assert_non_null(msg);
    return msg;
}

/* The next message, or NULL at the end of the stream. */
static ProtobufCMessage *stream_recv(stream *s, const ProtobufCMessageDescriptor *desc)
{
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!s->got_initial_md) {
        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
        n++;
        s->got_initial_md = true;
    }
    grpc_byte_buffer *bb = NULL;
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n].data.recv_message.recv_message = &bb;
    n++;
    stream_batch(s, ops, n);
    if (bb == NULL)
        return NULL;
    ProtobufCMessage *msg = unpack_buffer(bb, desc);
    grpc_byte_buffer_destroy(bb);
    return msg;
}

/* Waits for the call's status; returns its code. */
static grpc_status_code stream_status(stream *s)
{
    grpc_op op = {.op = GRPC_OP_RECV_STATUS_ON_CLIENT};
    op.data.recv_status_on_client.trailing_metadata = &s->trailing_md;
    op.data.recv_status_on_client.status = &s->status;
    op.data.recv_status_on_client.status_details = &s->details;
    assert_true(stream_batch(s, &op, 1));
    return s->status;
}

static void stream_close(stream *s)
{
    grpc_call_unref(s->call);
    grpc_slice_unref(s->details);
    grpc_metadata_array_destroy(&s->initial_md);
    grpc_metadata_array_destroy(&s->trailing_md);
    grpc_completion_queue_shutdown(s->cq);
    while (grpc_completion_queue_pluck(s->cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(s->cq);
    grpc_channel_destroy(s->channel);
}

/* Half-closes, expects the end of the stream and OK, and frees s. */
static void stream_finish_ok(stream *s)
{
    stream_close_send(s);
    assert_null(stream_recv(s, &grpc__reflection__v1__server_reflection_response__descriptor));
    assert_int_equal(stream_status(s), GRPC_STATUS_OK);
    stream_close(s);
}

/* --- reflection requests ---------------------------------------------------------- */

static refl_response *ask(stream *s, refl_request *req)
{
    req->host = "reflection-test-host";
    stream_send(s, &req->base);
    refl_response *resp =
        (refl_response *)stream_recv(s, &grpc__reflection__v1__server_reflection_response__descriptor);
    assert_non_null(resp);
    /* Every answer echoes the host and the request. */
    assert_string_equal(resp->valid_host, "reflection-test-host");
    assert_non_null(resp->original_request);
    assert_int_equal(resp->original_request->message_request_case, req->message_request_case);
    return resp;
}

static refl_response *ask_list(stream *s)
{
    refl_request req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
    req.message_request_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
    req.list_services = "*";
    return ask(s, &req);
}

static refl_response *ask_symbol(stream *s, const char *symbol)
{
    refl_request req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
    req.message_request_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
    req.file_containing_symbol = (char *)symbol;
    refl_response *resp = ask(s, &req);
    assert_string_equal(resp->original_request->file_containing_symbol, symbol);
    return resp;
}

static refl_response *ask_file(stream *s, const char *filename)
{
    refl_request req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
    req.message_request_case = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME;
    req.file_by_filename = (char *)filename;
    return ask(s, &req);
}

static void free_response(refl_response *resp) { protobuf_c_message_free_unpacked(&resp->base, NULL); }

static bool lists_service(const refl_response *resp, const char *name)
{
    assert_int_equal(resp->message_response_case,
                     GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE);
    for (size_t i = 0; i < resp->list_services_response->n_service; i++)
        if (strcmp(resp->list_services_response->service[i]->name, name) == 0)
            return true;
    return false;
}

static void assert_not_found(const refl_response *resp)
{
    assert_int_equal(resp->message_response_case,
                     GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE);
    assert_int_equal(resp->error_response->error_code, GRPC_STATUS_NOT_FOUND);
}

/* The decoded FileDescriptorProtos of a file_descriptor_response. */
typedef struct described {
    Google__Protobuf__FileDescriptorProto **files;
    size_t n;
} described;

static described decode_files(const refl_response *resp)
{
    assert_int_equal(resp->message_response_case,
                     GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE);
    const Grpc__Reflection__V1__FileDescriptorResponse *fdr = resp->file_descriptor_response;
    described d = {.files = calloc(fdr->n_file_descriptor_proto, sizeof *d.files), .n = fdr->n_file_descriptor_proto};
    assert_non_null(d.files);
    for (size_t i = 0; i < d.n; i++) {
        d.files[i] = google__protobuf__file_descriptor_proto__unpack(NULL, fdr->file_descriptor_proto[i].len,
                                                                     fdr->file_descriptor_proto[i].data);
        assert_non_null(d.files[i]);
    }
    return d;
}

static void described_free(described *d)
{
    for (size_t i = 0; i < d->n; i++)
        google__protobuf__file_descriptor_proto__free_unpacked(d->files[i], NULL);
    free(d->files);
}

static const Google__Protobuf__FileDescriptorProto *described_file(const described *d, const char *name)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->files[i]->name, name) == 0)
            return d->files[i];
    return NULL;
}

static const Google__Protobuf__ServiceDescriptorProto *find_service(const Google__Protobuf__FileDescriptorProto *fd,
                                                                    const char *name)
{
    for (size_t i = 0; i < fd->n_service; i++)
        if (strcmp(fd->service[i]->name, name) == 0)
            return fd->service[i];
    return NULL;
}

static bool has_method(const Google__Protobuf__ServiceDescriptorProto *svc, const char *name)
{
    for (size_t i = 0; i < svc->n_method; i++)
        if (strcmp(svc->method[i]->name, name) == 0)
            return true;
    return false;
}

/* --- processes -------------------------------------------------------------------- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char *mock_argv[] = {MOCK_SERVICES_BIN, "--feature", "listings", "--listen", "127.0.0.1:0", NULL};
    f->mock = tool_proc_start(mock_argv, 10000);
    assert_non_null(f->mock);

    snprintf(f->config_path, sizeof f->config_path, "/tmp/fanout-refl-XXXXXX");
    int fd = mkstemp(f->config_path);
    assert_true(fd >= 0);
    FILE *cfg = fdopen(fd, "w");
    assert_non_null(cfg);
    fprintf(cfg,
            "{\"listen\": \"127.0.0.1:0\", \"workers\": 2, \"shutdown_grace_ms\": %d,\n"
            " \"features\": [{\"name\": \"listings\", \"target\": \"%s\", \"timeout_ms\": 2000}]}\n",
            AGG_GRACE_MS, tool_proc_field(f->mock, "address"));
    fclose(cfg);
    f->agg = testproc_aggregator(f->config_path);
    assert_non_null(f->agg);
    fo_rpc_init();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tool_proc_free(f->agg);
    tool_proc_free(f->mock);
    unlink(f->config_path);
    free(f);
    fo_rpc_shutdown();
    return 0;
}

static const char *agg_address(void **state) { return tool_proc_field(((fixture *)*state)->agg, "address"); }

static const char *mock_address(void **state) { return tool_proc_field(((fixture *)*state)->mock, "address"); }

/* --- reflection tests -------------------------------------------------------------- */

static void check_listing(const char *target, const char *path, const char *own_service)
{
    stream s;
    stream_open(&s, target, path);
    refl_response *resp = ask_list(&s);
    assert_true(lists_service(resp, own_service));
    assert_true(lists_service(resp, "grpc.health.v1.Health"));
    assert_true(lists_service(resp, "grpc.reflection.v1alpha.ServerReflection"));
    assert_true(lists_service(resp, "grpc.reflection.v1.ServerReflection"));
    assert_int_equal(resp->list_services_response->n_service, 4);
    free_response(resp);
    stream_finish_ok(&s);
}

static void aggregator_lists_its_services(void **state)
{
    check_listing(agg_address(state), V1ALPHA_PATH, "fanout.v1.Aggregator");
    check_listing(agg_address(state), V1_PATH, "fanout.v1.Aggregator");
}

/* What grpcurl does for `describe fanout.v1.Aggregator`, on one stream, then more. */
static void check_describe_aggregator(const char *target, const char *path)
{
    stream s;
    stream_open(&s, target, path);
    refl_response *resp = ask_symbol(&s, "fanout.v1.Aggregator");
    described d = decode_files(resp);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.files[0]->name, "fanout/v1/aggregator.proto");
    const Google__Protobuf__ServiceDescriptorProto *svc = find_service(d.files[0], "Aggregator");
    assert_non_null(svc);
    assert_true(has_method(svc, "GetCustomerAnalytics"));
    assert_true(has_method(svc, "StreamCustomerAnalytics"));
    const Google__Protobuf__FileDescriptorProto *feature = described_file(&d, "fanout/feature/v1/feature.proto");
    assert_non_null(feature);
    assert_non_null(find_service(feature, "FeatureService"));
    described_free(&d);
    free_response(resp);

    resp = ask_file(&s, "fanout/feature/v1/feature.proto");
    d = decode_files(resp);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.files[0]->package, "fanout.feature.v1");
    described_free(&d);
    free_response(resp);

    resp = ask_symbol(&s, "fanout.v1.Aggregator.StreamCustomerAnalytics");
    d = decode_files(resp);
    assert_string_equal(d.files[0]->name, "fanout/v1/aggregator.proto");
    described_free(&d);
    free_response(resp);

    resp = ask_symbol(&s, "fanout.v1.AnalyticsResponse");
    d = decode_files(resp);
    assert_string_equal(d.files[0]->name, "fanout/v1/aggregator.proto");
    described_free(&d);
    free_response(resp);
    stream_finish_ok(&s);
}

static void aggregator_describes_itself(void **state)
{
    check_describe_aggregator(agg_address(state), V1ALPHA_PATH);
    check_describe_aggregator(agg_address(state), V1_PATH);
}

static void check_unknown_names(const char *target, const char *path)
{
    stream s;
    stream_open(&s, target, path);
    refl_response *resp = ask_symbol(&s, "fanout.v1.NoSuchThing");
    assert_not_found(resp);
    assert_non_null(strstr(resp->error_response->error_message, "fanout.v1.NoSuchThing"));
    free_response(resp);

    resp = ask_file(&s, "no/such/file.proto");
    assert_not_found(resp);
    free_response(resp);

    refl_request req = GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
    req.message_request_case =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE;
    req.all_extension_numbers_of_type = "fanout.v1.AnalyticsRequest";
    resp = ask(&s, &req);
    assert_not_found(resp);
    free_response(resp);

    /* The stream goes on after errors. */
    resp = ask_list(&s);
    assert_true(lists_service(resp, "fanout.v1.Aggregator"));
    free_response(resp);
    stream_finish_ok(&s);
}

static void unknown_names_leave_the_stream_open(void **state)
{
    check_unknown_names(agg_address(state), V1ALPHA_PATH);
    check_unknown_names(agg_address(state), V1_PATH);
}

/* v1alpha clients (grpcurl 1.8) use their own message types: the same bytes. */
static void v1alpha_messages_are_understood(void **state)
{
    stream s;
    stream_open(&s, agg_address(state), V1ALPHA_PATH);
    Grpc__Reflection__V1alpha__ServerReflectionRequest req = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;
    req.host = "h";
    req.message_request_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
    req.file_containing_symbol = "grpc.health.v1.Health";
    stream_send(&s, &req.base);
    Grpc__Reflection__V1alpha__ServerReflectionResponse *resp =
        (Grpc__Reflection__V1alpha__ServerReflectionResponse *)stream_recv(
            &s, &grpc__reflection__v1alpha__server_reflection_response__descriptor);
    assert_non_null(resp);
    assert_string_equal(resp->valid_host, "h");
    assert_int_equal(resp->message_response_case,
                     GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE);
    assert_int_equal(resp->file_descriptor_response->n_file_descriptor_proto, 1);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    stream_finish_ok(&s);
}

static void mock_reflects_its_service(void **state)
{
    check_listing(mock_address(state), V1ALPHA_PATH, "fanout.feature.v1.FeatureService");
    check_listing(mock_address(state), V1_PATH, "fanout.feature.v1.FeatureService");
    stream s;
    stream_open(&s, mock_address(state), V1_PATH);
    refl_response *resp = ask_symbol(&s, "fanout.feature.v1.FeatureService.GetUsage");
    described d = decode_files(resp);
    assert_int_equal(d.n, 1);
    assert_non_null(find_service(d.files[0], "FeatureService"));
    described_free(&d);
    free_response(resp);
    stream_finish_ok(&s);
}

/* --- health tests -------------------------------------------------------------- */

static void assert_check(const char *target, const char *service, fo_status code,
                         Grpc__Health__V1__HealthCheckResponse__ServingStatus expected)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    tool_rpc_result r;
    tool_rpc_call(target, CHECK_PATH, &req.base, &grpc__health__v1__health_check_response__descriptor, 5000, NULL, &r);
    if (r.status != code)
        fail_msg("Check(\"%s\"): %s (%s), want %s", service, fo_status_name(r.status), r.message, fo_status_name(code));
    if (code == FO_STATUS_OK) {
        assert_non_null(r.reply);
        assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)r.reply)->status, expected);
    }
    tool_rpc_result_release(&r);
}

static void health_checks_answer(void **state)
{
    const Grpc__Health__V1__HealthCheckResponse__ServingStatus serving =
        GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    assert_check(agg_address(state), "", FO_STATUS_OK, serving);
    assert_check(agg_address(state), "fanout.v1.Aggregator", FO_STATUS_OK, serving);
    assert_check(agg_address(state), "grpc.health.v1.Health", FO_STATUS_OK, serving);
    assert_check(agg_address(state), "nope", FO_STATUS_NOT_FOUND, serving);
    assert_check(mock_address(state), "", FO_STATUS_OK, serving);
    assert_check(mock_address(state), "fanout.feature.v1.FeatureService", FO_STATUS_OK, serving);
    assert_check(mock_address(state), "fanout.v1.Aggregator", FO_STATUS_NOT_FOUND, serving);
}

static void watch_open(stream *s, const char *target, const char *service)
{
    stream_open(s, target, WATCH_PATH);
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    stream_send(s, &req.base);
    stream_close_send(s);
}

/* The next status the Watch streams, or -1 at the end of the stream. */
static int watch_next(stream *s)
{
    Grpc__Health__V1__HealthCheckResponse *resp =
        (Grpc__Health__V1__HealthCheckResponse *)stream_recv(s, &grpc__health__v1__health_check_response__descriptor);
    if (resp == NULL)
        return -1;
    int status = resp->status;
    grpc__health__v1__health_check_response__free_unpacked(resp, NULL);
    return status;
}

static void wait_exit_zero(tool_proc *p, int64_t timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    while (!tool_proc_exited(p) && now_ms() < until)
        usleep(20000);
    assert_true(tool_proc_exited(p));
    assert_true(WIFEXITED(p->status));
    assert_int_equal(WEXITSTATUS(p->status), 0);
}

/*
 * Watch("") gets SERVING at once; a Watch of an unknown name gets
 * SERVICE_UNKNOWN and stays open. On SIGTERM both see NOT_SERVING (the
 * unknown one keeps its status) and end with OK, and the process exits 0
 * long before its grace period: open Watch streams do not hold the drain.
 */
static void check_watch_through_drain(tool_proc *p, const char *own_service)
{
    const char *target = tool_proc_field(p, "address");
    stream whole, own, unknown;
    watch_open(&whole, target, "");
    watch_open(&own, target, own_service);
    watch_open(&unknown, target, "nope");
    assert_int_equal(watch_next(&whole), GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    assert_int_equal(watch_next(&own), GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    assert_int_equal(watch_next(&unknown), GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN);

    int64_t t0 = now_ms();
    assert_int_equal(kill(p->pid, SIGTERM), 0);
    assert_int_equal(watch_next(&whole), GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
    assert_int_equal(watch_next(&whole), -1);
    assert_int_equal(stream_status(&whole), GRPC_STATUS_OK);
    assert_int_equal(watch_next(&own), GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
    assert_int_equal(watch_next(&own), -1);
    assert_int_equal(stream_status(&own), GRPC_STATUS_OK);
    assert_int_equal(watch_next(&unknown), -1);
    assert_int_equal(stream_status(&unknown), GRPC_STATUS_OK);
    stream_close(&whole);
    stream_close(&own);
    stream_close(&unknown);
    wait_exit_zero(p, 10000);
    int64_t took = now_ms() - t0;
    if (took > 5000)
        fail_msg("the drain took %lld ms", (long long)took);
}

static void aggregator_watch_sees_the_drain(void **state)
{
    check_watch_through_drain(((fixture *)*state)->agg, "fanout.v1.Aggregator");
}

static void mock_watch_sees_the_drain(void **state)
{
    check_watch_through_drain(((fixture *)*state)->mock, "fanout.feature.v1.FeatureService");
}

int main(void)
{
    /* The drains come last: they stop the processes the other tests use. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aggregator_lists_its_services),       cmocka_unit_test(aggregator_describes_itself),
        cmocka_unit_test(unknown_names_leave_the_stream_open), cmocka_unit_test(v1alpha_messages_are_understood),
        cmocka_unit_test(mock_reflects_its_service),           cmocka_unit_test(health_checks_answer),
        cmocka_unit_test(aggregator_watch_sees_the_drain),     cmocka_unit_test(mock_watch_sees_the_drain),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
