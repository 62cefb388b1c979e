/*
 * fo_http: the libmicrohttpd daemon behind every HTTP listener (fo_http.h).
 */
#include "fo_http.h"

#include <gnutls/gnutls.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fo_alloc.h"
#include "fo_log.h"
#include "fo_parse.h"

struct fo_http {
    struct MHD_Daemon *daemon;
    char *name;
};

/* Splits "host:port" or "[v6]:port" into host (NULL: every interface) and port. */
static fo_error *http_split(const char *listen, char *host, size_t cap, int64_t *port)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "listen address '%s': expected host:port", listen);
    const char *h = listen;
    size_t hlen = (size_t)(colon - listen);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= cap)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "listen address '%s': host too long", listen);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (fo_parse_int(colon + 1, 0, 65535, port) != FO_PARSE_OK)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "listen address '%s': port must be 0 to 65535", listen);
    return NULL;
}

static fo_error *http_resolve(const char *listen, struct sockaddr_storage *addr)
{
    char host[256];
    int64_t port;
    fo_error *err = http_split(listen, host, sizeof host, &port);
    if (err != NULL)
        return err;
    char service[8];
    snprintf(service, sizeof service, "%d", (int)port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host[0] != '\0' ? host : NULL, service, &hints, &res);
    if (rc != 0)
        return FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "listen address '%s': %s", listen, gai_strerror(rc));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return NULL;
}

static void http_log(void *cls, const char *fmt, va_list ap)
{
    const fo_http *h = cls;
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    fo_log(FO_LOG_WARN, json_pack("{s:s, s:s, s:s}", "event", "http_error", "listener", h->name, "message", text));
}

fo_error *fo_http_start(const fo_http_opts *opts, fo_http **out)
{
    struct sockaddr_storage addr;
    fo_error *err = http_resolve(opts->listen, &addr);
    if (err != NULL)
        return err;
    fo_http *h = fo_xcalloc(1, sizeof *h);
    h->name = fo_xstrdup(opts->name != NULL ? opts->name : "http");

    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    bool tls = opts->tls_cert_pem != NULL && opts->tls_key_pem != NULL;
    if (tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem o[13];
    size_t n = 0;
    /* The logger first: libmicrohttpd warns on stderr, with its own logger, when it is not. */
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)http_log, h};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, opts->timeout_s ? opts->timeout_s : 30, NULL};
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                     (intptr_t)(opts->memory_per_conn ? opts->memory_per_conn : 32 * 1024), NULL};
    /* Requests HTTP/1.1 forbids (no Host, a space before a header's colon) are refused with 400. */
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL};
    if (opts->max_connections > 0)
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, opts->max_connections, NULL};
    if (opts->threads > 1)
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, opts->threads, NULL};
    if (opts->completed != NULL)
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)opts->completed, opts->ctx};
    if (tls) {
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)opts->tls_cert_pem};
        o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)opts->tls_key_pem};
        if (opts->tls_client_ca_pem != NULL)
            o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)opts->tls_client_ca_pem};
    }
    o[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, opts->handler, opts->ctx, MHD_OPTION_ARRAY, o, MHD_OPTION_END);
    if (h->daemon == NULL) {
        err = FO_ERROR(FO_STATUS_UNAVAILABLE, "%s listener: cannot listen on %s (address in use, or a bad TLS file?)",
                       h->name, opts->listen);
        free(h->name);
        free(h);
        return err;
    }
    *out = h;
    return NULL;
}

int fo_http_port(const fo_http *h)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info != NULL ? info->port : 0;
}

void fo_http_stop(fo_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->daemon);
    free(h->name);
    free(h);
}

bool fo_http_client_verified(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info == NULL || info->tls_session == NULL)
        return false;
    gnutls_session_t session = (gnutls_session_t)info->tls_session;
    unsigned n = 0;
    if (gnutls_certificate_get_peers(session, &n) == NULL || n == 0)
        return false;
    unsigned status = 0;
    return gnutls_certificate_verify_peers2(session, &status) == GNUTLS_E_SUCCESS && status == 0;
}

enum MHD_Result fo_http_respond(struct MHD_Connection *conn, unsigned status, const char *content_type,
                                const void *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    if (content_type != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}
