/*
 * fo_server_limits: a server's protections against floods, from its options
 * to what enforces them: gRPC's channel arguments (the resource quota, the
 * same budget for the process's client channels' own quota,
 * MAX_CONCURRENT_STREAMS, the idle and handshake timeouts), the process's
 * connection cap (fo_server_accept.c) and memory budget
 * (fo_server_memory.c).
 */
#include "fo_server_internal.h"

#include <grpc/grpc.h>

#include "fo_limits.h"
#include "fo_log.h"

#define MIB (1024LL * 1024)
/* nginx's http2_max_concurrent_streams is 128, grpc-go's 250 per default: a client that wants more opens
 * another connection, and one connection's burst stays small. */
#define DEFAULT_MAX_CONCURRENT_STREAMS 100
#define DEFAULT_CONNECTION_IDLE_MS (5 * 60 * 1000)
/* gRPC's own default is 120 s: a connection that never finishes its preface would hold a descriptor that long. */
#define DEFAULT_HANDSHAKE_TIMEOUT_MS 10000

static const char *memory_source = "max_memory_mb";

/* Fills in the defaults of the fields left 0 (raising the open-files limit first, once per process). */
static void limits_resolve(fo_server_limits *l)
{
    fo_nofile nofile = fo_limits_nofile_raise();
    if (l->max_memory_mb <= 0) {
        fo_memory_source from;
        l->max_memory_mb = fo_limits_default_memory_mb(&from);
        memory_source = from == FO_MEMORY_CGROUP ? "cgroup" : "machine";
    }
    if (l->max_connections <= 0)
        l->max_connections = fo_limits_default_max_connections(nofile.soft);
    if (l->max_concurrent_streams <= 0)
        l->max_concurrent_streams = DEFAULT_MAX_CONCURRENT_STREAMS;
    if (l->connection_idle_ms <= 0)
        l->connection_idle_ms = DEFAULT_CONNECTION_IDLE_MS;
    if (l->handshake_timeout_ms <= 0)
        l->handshake_timeout_ms = DEFAULT_HANDSHAKE_TIMEOUT_MS;
}

static int clamp_int(int64_t v) { return v > INT32_MAX ? INT32_MAX : (int)v; }

void fo_server_limits_apply(fo_server *s, const fo_server_limits *opts)
{
    s->limits = *opts;
    limits_resolve(&s->limits);
    s->quota = grpc_resource_quota_create("fo_server");
    grpc_resource_quota_resize(s->quota, (size_t)s->limits.max_memory_mb * MIB);
    fo_rpc_channels_budget(s->limits.max_memory_mb * MIB);
    fo_server_accept_configure(s->limits.max_connections);
    fo_server_memory_configure(s->limits.max_memory_mb);
}

size_t fo_server_limits_args(const fo_server *s, grpc_arg *args)
{
    size_t n = 0;
    args[n++] = (grpc_arg){.type = GRPC_ARG_POINTER,
                           .key = GRPC_ARG_RESOURCE_QUOTA,
                           .value.pointer = {.p = s->quota, .vtable = grpc_resource_quota_arg_vtable()}};
    args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
                           .key = GRPC_ARG_MAX_CONCURRENT_STREAMS,
                           .value.integer = clamp_int(s->limits.max_concurrent_streams)};
    args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
                           .key = GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                           .value.integer = clamp_int(s->limits.connection_idle_ms)};
    args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER,
                           .key = GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                           .value.integer = clamp_int(s->limits.handshake_timeout_ms)};
    return n;
}

void fo_server_log_limits(const fo_server *s)
{
    fo_nofile nofile = fo_limits_nofile_raise();
    fo_log(FO_LOG_INFO,
           json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I}", "event", "limits", "nofile_soft_at_start",
                     (json_int_t)nofile.soft_before, "nofile_soft", (json_int_t)nofile.soft, "nofile_hard",
                     (json_int_t)nofile.hard, "max_memory_mb", (json_int_t)s->limits.max_memory_mb, "memory_from",
                     memory_source, "max_connections", (json_int_t)s->limits.max_connections, "max_concurrent_streams",
                     (json_int_t)s->limits.max_concurrent_streams, "connection_idle_ms",
                     (json_int_t)s->limits.connection_idle_ms, "handshake_timeout_ms",
                     (json_int_t)s->limits.handshake_timeout_ms));
}
