/* fo_rpc: payloads, channels and unary client calls on the gRPC C core. */
#include "fo_rpc.h"
#include "fo_alloc.h"
#include "fo_loop_internal.h"
#include "fo_rpc_internal.h"

#include <dlfcn.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fo_log.h"
#include "fo_time.h"
#include "fo_tls.h"

/*
 * Debian builds abseil without NDEBUG, so every absl::Mutex that gRPC takes
 * also feeds a lock graph for deadlock detection, a cost paid on every lock
 * of every call. The switch is C++ only, and this mangled name is Debian's
 * (its inline namespace "debian3"): look it up, and leave detection on, with a
 * warning, when this abseil build has no such symbol.
 */
#define ABSL_SET_DEADLOCK_MODE "_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE"
#define ABSL_ON_DEADLOCK_CYCLE_IGNORE 0

static void absl_deadlock_detection_off(void)
{
    void (*set_mode)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, ABSL_SET_DEADLOCK_MODE);
    if (set_mode != NULL) {
        set_mode(ABSL_ON_DEADLOCK_CYCLE_IGNORE);
        return;
    }
    /* A warning (stderr), so that a process's first stdout line stays its own. */
    fo_log(FO_LOG_WARN,
           json_pack("{s:s, s:s, s:s}", "event", "absl_deadlock_detection_on", "symbol", ABSL_SET_DEADLOCK_MODE,
                     "reason", "not a Debian abseil build: every mutex feeds the deadlock graph"));
}

/*
 * The resource quota every client channel of the process shares: gRPC
 * shrinks the channels' buffers under its pressure. Unlimited until a
 * server's memory budget sizes it (fo_rpc_channels_budget).
 */
static grpc_resource_quota *channels_quota;

void fo_rpc_init(void)
{
    absl_deadlock_detection_off();
    grpc_init();
    if (channels_quota == NULL)
        channels_quota = grpc_resource_quota_create("fo_channels");
}

/* gRPC's own answer; C++ only, under a plain mangled name (no namespace), so looked up like abseil's switch. */
#define GRPC_POLL_STRATEGY_NAME "_Z27grpc_get_poll_strategy_namev"

const char *fo_rpc_poll_engine(void)
{
    const char *(*name)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, GRPC_POLL_STRATEGY_NAME);
    return name != NULL ? name() : NULL;
}

void fo_rpc_shutdown(void)
{
    if (channels_quota != NULL)
        grpc_resource_quota_unref(channels_quota);
    channels_quota = NULL;
    grpc_shutdown_blocking();
}

void fo_rpc_channels_budget(int64_t bytes)
{
    if (channels_quota != NULL && bytes > 0)
        grpc_resource_quota_resize(channels_quota, (size_t)bytes);
}

/* --- payloads ------------------------------------------------------------- */

struct fo_payload {
    grpc_slice slice;
};

fo_payload *fo_payload_pack(const ProtobufCMessage *msg)
{
    fo_payload *p = fo_xmalloc(sizeof *p);
    size_t n = protobuf_c_message_get_packed_size(msg);
    p->slice = grpc_slice_malloc(n);
    protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(p->slice));
    return p;
}

fo_payload *fo_payload_alloc(size_t len, uint8_t **data)
{
    fo_payload *p = fo_xmalloc(sizeof *p);
    p->slice = grpc_slice_malloc(len);
    *data = GRPC_SLICE_START_PTR(p->slice);
    return p;
}

fo_payload *fo_payload_from_bytes(const void *data, size_t len)
{
    fo_payload *p = fo_xmalloc(sizeof *p);
    p->slice = grpc_slice_from_copied_buffer(data, len);
    return p;
}

void fo_payload_free(fo_payload *p)
{
    if (p == NULL)
        return;
    grpc_slice_unref(p->slice);
    free(p);
}

size_t fo_payload_size(const fo_payload *p) { return GRPC_SLICE_LENGTH(p->slice); }

const uint8_t *fo_payload_data(const fo_payload *p) { return GRPC_SLICE_START_PTR(p->slice); }

grpc_byte_buffer *fo_payload_buffer(const fo_payload *p)
{
    /* Takes a reference on the slice: the bytes are shared, not copied. */
    grpc_slice s = p->slice;
    return grpc_raw_byte_buffer_create(&s, 1);
}

/* All of bb's bytes as one slice: a new reference when bb has one slice, a copy otherwise. */
static bool buffer_slice(grpc_byte_buffer *bb, grpc_slice *out)
{
    grpc_byte_buffer_reader reader;
    if (bb == NULL || !grpc_byte_buffer_reader_init(&reader, bb))
        return false;
    *out = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    return true;
}

ProtobufCMessage *fo_buffer_unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc)
{
    grpc_slice all;
    if (!buffer_slice(bb, &all))
        return NULL;
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    return msg;
}

/* --- deadlines ------------------------------------------------------------ */

gpr_timespec fo_deadline_to_gpr(int64_t deadline_ns)
{
    if (deadline_ns == FO_DEADLINE_NONE)
        return gpr_inf_future(GPR_CLOCK_MONOTONIC);
    int64_t left = deadline_ns - fo_now_ns();
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_nanos(left > 0 ? left : 0, GPR_TIMESPAN));
}

int64_t fo_deadline_from_gpr(gpr_timespec deadline)
{
    if (gpr_time_cmp(deadline, gpr_inf_future(deadline.clock_type)) == 0)
        return FO_DEADLINE_NONE;
    gpr_timespec mono = gpr_convert_clock_type(deadline, GPR_CLOCK_MONOTONIC);
    gpr_timespec left = gpr_time_sub(mono, gpr_now(GPR_CLOCK_MONOTONIC));
    int64_t left_ns = left.tv_sec * INT64_C(1000000000) + left.tv_nsec;
    int64_t now = fo_now_ns();
    if (left_ns > FO_DEADLINE_NONE - now)
        return FO_DEADLINE_NONE;
    return now + left_ns;
}

/* --- metadata ------------------------------------------------------------- */

const char *fo_md_find(const grpc_metadata_array *arr, const char *key, size_t *len)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < arr->count; i++) {
        const grpc_slice *k = &arr->metadata[i].key;
        if (GRPC_SLICE_LENGTH(*k) == klen && memcmp(GRPC_SLICE_START_PTR(*k), key, klen) == 0) {
            *len = GRPC_SLICE_LENGTH(arr->metadata[i].value);
            return (const char *)GRPC_SLICE_START_PTR(arr->metadata[i].value);
        }
    }
    return NULL;
}

/* md's n pairs into out: static key and value slices only point at the caller's bytes. */
static void md_fill(grpc_metadata *out, const fo_md *md, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i].key = grpc_slice_from_static_string(md[i].key);
        out[i].value = grpc_slice_from_static_buffer(md[i].value, md[i].value_len);
    }
}

grpc_metadata *fo_md_to_grpc(const fo_md *md, size_t n)
{
    if (n == 0)
        return NULL;
    grpc_metadata *out = fo_xcalloc(n, sizeof *out);
    md_fill(out, md, n);
    return out;
}

grpc_metadata *fo_spec_md_to_grpc(const fo_call_spec *spec, size_t *count)
{
    *count = spec->nmd + spec->ncall_md;
    if (*count == 0)
        return NULL;
    grpc_metadata *out = fo_xcalloc(*count, sizeof *out);
    md_fill(out, spec->md, spec->nmd);
    md_fill(out + spec->nmd, spec->call_md, spec->ncall_md);
    return out;
}

/* --- channels ------------------------------------------------------------- */

struct fo_channel {
    grpc_channel *ch;
};

grpc_channel *fo_channel_grpc(fo_channel *channel) { return channel->ch; }

static fo_error *channel_credentials(const fo_channel_opts *o, grpc_channel_credentials **out)
{
    if (o == NULL || o->tls_ca == NULL) {
        *out = grpc_insecure_credentials_create();
        return NULL;
    }
    /* gRPC would take a bad file silently and fail each call without naming it. */
    fo_error *err = fo_tls_check_ca(o->tls_ca);
    if (err == NULL && (o->tls_cert != NULL || o->tls_key != NULL))
        err = fo_tls_check_pair(o->tls_cert, o->tls_key);
    if (err != NULL)
        return err;
    char *ca = NULL, *cert = NULL, *key = NULL;
    err = fo_read_file(o->tls_ca, &ca);
    if (err == NULL && o->tls_cert != NULL)
        err = fo_read_file(o->tls_cert, &cert);
    if (err == NULL && o->tls_key != NULL)
        err = fo_read_file(o->tls_key, &key);
    if (err == NULL) {
        grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
        *out = grpc_ssl_credentials_create(ca, cert && key ? &pair : NULL, NULL, NULL);
    }
    free(ca);
    free(cert);
    free(key);
    return err;
}

fo_error *fo_channel_create(const char *target, const fo_channel_opts *opts, fo_channel **out)
{
    grpc_channel_credentials *creds = NULL;
    fo_error *err = channel_credentials(opts, &creds);
    if (err != NULL)
        return err;

    /*
     * No gRPC retries: the aggregator makes its own extra attempts (hedges
     * and retries under one budget, agg_fanout.h), and the retry filter
     * would cost a copy of every message (7.7% more instructions per
     * aggregate, docs/performance.md) and strip grpc-previous-rpc-attempts
     * from every call the aggregator makes, its hedges' too (each is the
     * filter's first attempt). Its one
     * retry that matters here, the transparent resend of a call a server's
     * GOAWAY refused, agg_fanout does itself. No channelz: nothing here
     * serves it, and it keeps per-call counters, paid on every call.
     */
    grpc_arg args[7];
    size_t nargs = 0;
    if (channels_quota != NULL)
        args[nargs++] = (grpc_arg){.type = GRPC_ARG_POINTER,
                                   .key = GRPC_ARG_RESOURCE_QUOTA,
                                   .value.pointer = {.p = channels_quota, .vtable = grpc_resource_quota_arg_vtable()}};
    args[nargs++] = (grpc_arg){.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES, .value.integer = 0};
    args[nargs++] = (grpc_arg){.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_CHANNELZ, .value.integer = 0};
    char service_config[160];
    if (opts != NULL && opts->lb_policy != NULL) {
        snprintf(service_config, sizeof service_config, "{\"loadBalancingConfig\":[{\"%s\":{}}]}", opts->lb_policy);
        args[nargs++] =
            (grpc_arg){.type = GRPC_ARG_STRING, .key = GRPC_ARG_SERVICE_CONFIG, .value.string = service_config};
    }
    if (opts != NULL && opts->max_message_bytes > 0) {
        int max = opts->max_message_bytes > INT32_MAX ? INT32_MAX : (int)opts->max_message_bytes;
        args[nargs++] =
            (grpc_arg){.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = max};
        args[nargs++] =
            (grpc_arg){.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, .value.integer = max};
    }
    if (opts != NULL && opts->own_connections)
        args[nargs++] =
            (grpc_arg){.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, .value.integer = 1};
    grpc_channel_args chargs = {.num_args = nargs, .args = args};
    grpc_channel *ch = grpc_channel_create(target, creds, &chargs);
    grpc_channel_credentials_release(creds);
    if (ch == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "cannot create a channel to %s", target);
    fo_channel *c = fo_xmalloc(sizeof *c);
    c->ch = ch;
    *out = c;
    return NULL;
}

void fo_channel_destroy(fo_channel *ch)
{
    if (ch == NULL)
        return;
    grpc_channel_destroy(ch->ch);
    free(ch);
}

void fo_channel_connect(fo_channel *ch) { grpc_channel_check_connectivity_state(ch->ch, 1); }

void *fo_channel_method(fo_channel *ch, const char *path)
{
    return grpc_channel_register_call(ch->ch, path, NULL, NULL);
}

/* --- unary client calls --------------------------------------------------- */

struct fo_client_call {
    fo_tag tag;
    fo_loop *loop;
    grpc_call *call;
    fo_client_call_fn on_done;
    void *ud;
    grpc_byte_buffer *request;
    grpc_metadata_array initial_md;
    grpc_metadata_array trailing_md;
    grpc_byte_buffer *reply;
    grpc_status_code status;
    grpc_slice details;
    char *message; /* NUL-terminated copy of details, made on completion */
};

static void client_call_done(fo_tag *tag, bool ok)
{
    fo_client_call *cc = fo_container_of(tag, fo_client_call, tag);
    if (!ok) {
        /* A batch with RECV_STATUS_ON_CLIENT always succeeds; be defensive. */
        cc->status = GRPC_STATUS_INTERNAL;
    }
    size_t n = GRPC_SLICE_LENGTH(cc->details);
    cc->message = fo_xmalloc(n + 1);
    memcpy(cc->message, GRPC_SLICE_START_PTR(cc->details), n);
    cc->message[n] = '\0';
    cc->on_done(cc, cc->ud);
}

fo_client_call *fo_client_call_start(const fo_call_spec *spec, fo_client_call_fn on_done, void *ud, fo_error **err)
{
    fo_client_call *cc = fo_xcalloc(1, sizeof *cc);
    cc->tag.fn = client_call_done;
    cc->on_done = on_done;
    cc->ud = ud;
    cc->details = grpc_empty_slice();
    cc->loop = spec->loop;
    fo_loop_hold(cc->loop);
    grpc_metadata_array_init(&cc->initial_md);
    grpc_metadata_array_init(&cc->trailing_md);

    gpr_timespec deadline = fo_deadline_to_gpr(spec->deadline_ns);
    if (spec->method != NULL) {
        cc->call = grpc_channel_create_registered_call(spec->channel->ch, NULL, 0, fo_loop_cq(spec->loop), spec->method,
                                                       deadline, NULL);
    } else {
        cc->call = grpc_channel_create_call(spec->channel->ch, NULL, 0, fo_loop_cq(spec->loop),
                                            grpc_slice_from_static_string(spec->path), NULL, deadline, NULL);
    }
    cc->request = fo_payload_buffer(spec->request);
    size_t nmd;
    grpc_metadata *md = fo_spec_md_to_grpc(spec, &nmd);

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = nmd;
    ops[0].data.send_initial_metadata.metadata = md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = cc->request;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &cc->initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &cc->reply;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &cc->trailing_md;
    ops[5].data.recv_status_on_client.status = &cc->status;
    ops[5].data.recv_status_on_client.status_details = &cc->details;
    grpc_call_error rc = grpc_call_start_batch(cc->call, ops, 6, &cc->tag, NULL);
    /* The core copies metadata during start_batch. */
    free(md);
    if (rc != GRPC_CALL_OK) {
        *err = FO_ERROR(FO_STATUS_INTERNAL, "grpc_call_start_batch: %s", grpc_call_error_to_string(rc));
        fo_client_call_free(cc);
        return NULL;
    }
    return cc;
}

void fo_client_call_cancel(fo_client_call *cc)
{
    grpc_call_cancel_with_status(cc->call, GRPC_STATUS_CANCELLED, "cancelled by the caller", NULL);
}

void fo_client_call_free(fo_client_call *cc)
{
    if (cc == NULL)
        return;
    if (cc->call != NULL)
        grpc_call_unref(cc->call);
    grpc_byte_buffer_destroy(cc->request);
    grpc_byte_buffer_destroy(cc->reply);
    grpc_metadata_array_destroy(&cc->initial_md);
    grpc_metadata_array_destroy(&cc->trailing_md);
    grpc_slice_unref(cc->details);
    free(cc->message);
    if (cc->loop != NULL)
        fo_loop_release(cc->loop);
    free(cc);
}

fo_status fo_client_call_status(const fo_client_call *cc) { return (fo_status)cc->status; }

const char *fo_client_call_message(const fo_client_call *cc) { return cc->message ? cc->message : ""; }

ProtobufCMessage *fo_client_call_unpack(const fo_client_call *cc, const ProtobufCMessageDescriptor *desc)
{
    return fo_buffer_unpack(cc->reply, desc);
}

fo_payload *fo_client_call_take_reply(fo_client_call *cc)
{
    grpc_slice all;
    if (!buffer_slice(cc->reply, &all))
        return NULL;
    fo_payload *p = fo_xmalloc(sizeof *p);
    p->slice = all;
    return p;
}

const char *fo_client_call_header(const fo_client_call *cc, const char *key, size_t *len)
{
    return fo_md_find(&cc->initial_md, key, len);
}

const char *fo_client_call_trailer(const fo_client_call *cc, const char *key, size_t *len)
{
    return fo_md_find(&cc->trailing_md, key, len);
}

/* --- blocking form -------------------------------------------------------- */

static void blocking_done(fo_client_call *cc, void *ud)
{
    (void)cc;
    *(bool *)ud = true;
}

fo_error *fo_client_call_blocking(const fo_call_spec *spec, fo_client_call **out)
{
    fo_call_spec own = *spec;
    own.loop = fo_loop_create();
    bool done = false;
    fo_error *err = NULL;
    *out = fo_client_call_start(&own, blocking_done, &done, &err);
    if (*out != NULL) {
        fo_loop_run(own.loop, &done);
        /* The private loop dies here; the finished call outlives it. */
        fo_loop_release(own.loop);
        (*out)->loop = NULL;
    }
    fo_loop_destroy(own.loop);
    return err;
}
