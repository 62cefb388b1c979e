/* agg_http: the HTTP/JSON face's listener: routes, the connection's side of each exchange, the drain. */
#include "agg_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

#include "agg_generation.h"
#include "agg_http_request.h"
#include "agg_http_status.h"
#include "agg_page.h"
#include "fo_alloc.h"
#include "fo_file.h"
#include "fo_log.h"
#include "fo_time.h"

#define API_PREFIX "/v1/customers/"
#define QUERY_PATH "/v1/analytics:query"
#define FEATURES_PATH "/v1/features"
#define JSON_TYPE "application/json"
/* What a browser may send and read across origins (CORS). */
#define CORS_ALLOW_HEADERS                                                                                             \
    "authorization, content-type, grpc-timeout, traceparent, tracestate, x-request-id, x-timeout-ms"
#define CORS_EXPOSE_HEADERS "x-request-id, fanout-failed-feature"
/* Idle connections (no request, or a client that stopped sending) are closed after this long. */
#define IDLE_TIMEOUT_S 10
/* At most this many HTTP connections, and never more than half the descriptors: the rest are the gRPC face's. */
#define MAX_CONNECTIONS 4096
/* Request headers the request path reads, besides the config's forward_metadata. */
static const char *const own_headers[] = {"x-request-id", "authorization", "grpc-timeout",
                                          "x-timeout-ms", "traceparent",   "tracestate"};
#define N_OWN_HEADERS (sizeof own_headers / sizeof *own_headers)

/*
 * Markers for *req_cls: the headers are in (libmicrohttpd's first call, which must not answer: an
 * answer queued before the request has been read in full closes the connection), and a request
 * answered by the listener itself, so that the completed callback knows there is no exchange.
 */
static int headers_seen;
static int no_exchange;

/* --- plain answers ------------------------------------------------------------ */

static const char *allowed_origin(const agg_http *h, struct MHD_Connection *conn)
{
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    return agg_http_config_cors(&h->svc->started->http, origin);
}

static void add_cors(struct MHD_Response *r, const char *origin)
{
    if (origin == NULL)
        return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(r, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
    MHD_add_response_header(r, "Vary", "Origin");
}

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *r)
{
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static struct MHD_Response *text_response(const char *type, const char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    return r;
}

/* An error answered by the listener itself (no route, wrong method, body too large, draining). */
static enum MHD_Result respond_error(agg_http *h, struct MHD_Connection *conn, unsigned status, fo_status code,
                                     const char *message, const char *allow)
{
    char *json = agg_http_error_json(code, message);
    size_t len = strlen(json);
    json = fo_xrealloc(json, len + 2);
    json[len++] = '\n';
    struct MHD_Response *r = text_response(JSON_TYPE, json, len);
    free(json);
    if (allow != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    add_cors(r, allowed_origin(h, conn));
    return queue(conn, status, r);
}

/* {"features": [...]} of g's config, newline-terminated, into *(char **)ctx (malloc'd). */
static void features_json(const agg_generation *g, void *ctx)
{
    json_t *names = json_array();
    for (size_t i = 0; i < g->cfg->n_features; i++)
        json_array_append_new(names, json_string(g->cfg->features[i].name));
    json_t *j = json_pack("{s:o}", "features", names);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    size_t len = strlen(text);
    text = fo_xrealloc(text, len + 2);
    memcpy(text + len, "\n", 2);
    *(char **)ctx = text;
}

/* The features of the newest config, reloads included (a rare call: the lock is no hot path). */
static enum MHD_Result respond_features(agg_http *h, struct MHD_Connection *conn)
{
    char *json = NULL;
    agg_service_with_latest(h->svc, features_json, &json);
    struct MHD_Response *r = text_response(JSON_TYPE, json, strlen(json));
    free(json);
    add_cors(r, allowed_origin(h, conn));
    return queue(conn, MHD_HTTP_OK, r);
}

/* The live page (agg_page.h), with a policy that lets the browser hold it to its own listener. */
static enum MHD_Result respond_page(struct MHD_Connection *conn, const unsigned char *page, size_t len)
{
    struct MHD_Response *r = text_response(AGG_PAGE_CONTENT_TYPE, (const char *)page, len);
    MHD_add_response_header(r, "Content-Security-Policy", AGG_PAGE_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    return queue(conn, MHD_HTTP_OK, r);
}

/* A CORS preflight: what the page may send, for an allowed origin only. */
static enum MHD_Result respond_preflight(agg_http *h, struct MHD_Connection *conn)
{
    const char *origin = allowed_origin(h, conn);
    if (origin == NULL)
        return respond_error(h, conn, MHD_HTTP_FORBIDDEN, FO_STATUS_PERMISSION_DENIED,
                             "cross-origin requests from this origin are not allowed (cors_origins)", NULL);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    add_cors(r, origin);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    return queue(conn, MHD_HTTP_NO_CONTENT, r);
}

/* --- exchanges: from the connection to a worker ------------------------------------ */

static char *copy_or_null(const char *s) { return s != NULL ? fo_xstrdup(s) : NULL; }

/* The size of the request's headers, for copy_headers: how many, and their bytes. */
typedef struct header_sizes {
    size_t n, bytes;
} header_sizes;

static enum MHD_Result measure_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_len,
                                      const char *value, size_t value_len)
{
    (void)kind;
    (void)key;
    (void)value;
    header_sizes *sizes = cls;
    sizes->n++;
    sizes->bytes += key_len + value_len + 2;
    return MHD_YES;
}

static bool printable(const char *value, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (value[i] < 0x20 || value[i] > 0x7e)
            return false;
    }
    return true;
}

static char *copy_bytes(char **to, const char *from, size_t len)
{
    char *start = *to;
    memcpy(start, from, len);
    start[len] = '\0';
    *to += len + 1;
    return start;
}

/* Headers the request path reads or sends on whatever the config says. */
static bool read_by_request_path(const char *key)
{
    for (size_t i = 0; i < N_OWN_HEADERS; i++) {
        if (strcasecmp(key, own_headers[i]) == 0)
            return true;
    }
    return false;
}

/* Where store_header puts the next header. */
typedef struct header_copy {
    agg_http_exchange *x;
    char *bytes;
} header_copy;

/* Copies one header into the room copy_headers made. */
static enum MHD_Result store_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_len,
                                    const char *value, size_t value_len)
{
    (void)kind;
    header_copy *c = cls;
    agg_http_exchange *x = c->x;
    xchg_header *h = &x->headers[x->nheaders++];
    h->key = copy_bytes(&c->bytes, key, key_len);
    h->value = copy_bytes(&c->bytes, value, value_len);
    h->len = value_len;
    h->printable = printable(value, value_len);
    if (!h->printable && x->parse_error == NULL && read_by_request_path(h->key))
        x->parse_error = FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "header %s: not printable ASCII", h->key);
    return MHD_YES;
}

/*
 * Copies every request header, in one allocation: the worker's config, which
 * a reload may have changed since this thread last looked, picks those that
 * go on to the features (agg_http_exchange_begin checks them).
 */
static void copy_headers(agg_http_exchange *x)
{
    header_sizes sizes = {0, 0};
    MHD_get_connection_values_n(x->conn, MHD_HEADER_KIND, measure_header, &sizes);
    x->headers = fo_xmalloc(sizes.n * sizeof *x->headers + sizes.bytes + 1);
    header_copy c = {x, (char *)(x->headers + sizes.n)};
    MHD_get_connection_values_n(x->conn, MHD_HEADER_KIND, store_header, &c);
}

/* The shortest of timeout_ms and the timeout headers; the deadline counts from arrival. */
static void set_deadline(agg_http_exchange *x, int64_t arrived_ns, int64_t timeout_ms)
{
    static const char *const timeout_headers[] = {"grpc-timeout", "x-timeout-ms"};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        const char *value = x->face.ops->metadata(&x->face, timeout_headers[i], &len);
        int64_t ms;
        if (value == NULL || x->parse_error != NULL)
            continue;
        x->parse_error = agg_http_timeout_header(timeout_headers[i], value, &ms);
        if (x->parse_error == NULL && (timeout_ms < 0 || ms < timeout_ms))
            timeout_ms = ms;
    }
    if (timeout_ms >= 0)
        x->deadline_ns = arrived_ns + timeout_ms * FO_NS_PER_MS;
}

/* Suspends the connection and hands the exchange to a worker; the worker answers. */
static enum MHD_Result hand_over(agg_http *h, agg_http_exchange *x)
{
    atomic_fetch_add(&h->live, 1);
    if (atomic_load(&h->draining)) {
        atomic_fetch_sub(&h->live, 1);
        x->state = XS_SENT;
        return respond_error(h, x->conn, MHD_HTTP_SERVICE_UNAVAILABLE, FO_STATUS_UNAVAILABLE,
                             "the server is shutting down", NULL);
    }
    unsigned w = atomic_fetch_add(&h->next_worker, 1) % (unsigned)h->n_workers;
    x->worker = (int)w;
    x->loop = h->workers[w].loop;
    atomic_fetch_add(&x->refs, 1); /* the worker's, until the request is freed */
    pthread_mutex_lock(&x->mu);
    x->state = XS_WAITING;
    x->suspended = true;
    MHD_suspend_connection(x->conn);
    pthread_mutex_unlock(&x->mu);
    fo_loop_post(x->loop, agg_http_exchange_begin, x);
    return MHD_YES;
}

/* Collects the query parameters for agg_http_request_from_query. */
typedef struct query_params {
    agg_http_param *items;
    size_t n, cap;
} query_params;

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    query_params *q = cls;
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 8;
        q->items = fo_xrealloc(q->items, q->cap * sizeof *q->items);
    }
    q->items[q->n++] = (agg_http_param){key, value};
    return MHD_YES;
}

static enum MHD_Result start_get(agg_http *h, struct MHD_Connection *conn, const char *customer, bool streaming,
                                 void **req_cls)
{
    int64_t arrived = fo_now_ns();
    agg_http_exchange *x = agg_http_exchange_new(h, conn, streaming);
    *req_cls = x;
    copy_headers(x);
    x->origin = copy_or_null(allowed_origin(h, conn));
    query_params q = {0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, &q);
    int64_t timeout_ms = -1;
    fo_error *err = agg_http_request_from_query(customer, q.items, q.n, &x->msg, &timeout_ms);
    free(q.items);
    if (x->parse_error == NULL)
        x->parse_error = err;
    else
        fo_error_free(err);
    set_deadline(x, arrived, timeout_ms);
    return hand_over(h, x);
}

static enum MHD_Result too_large(agg_http *h, struct MHD_Connection *conn)
{
    char message[96];
    snprintf(message, sizeof message, "the request body is larger than %zu bytes (max_message_bytes)",
             (size_t)h->svc->started->max_message_bytes);
    return respond_error(h, conn, MHD_HTTP_CONTENT_TOO_LARGE, FO_STATUS_RESOURCE_EXHAUSTED, message, NULL);
}

/* The first call: only an announced body over the limit is answered now (and the connection closed). */
static enum MHD_Result headers_in(agg_http *h, struct MHD_Connection *conn, void **req_cls)
{
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length != NULL && strtoull(length, NULL, 10) > (size_t)h->svc->started->max_message_bytes) {
        *req_cls = &no_exchange;
        return too_large(h, conn);
    }
    *req_cls = &headers_seen;
    return MHD_YES;
}

/* The POST body's first piece (or its end): the exchange that collects it. */
static agg_http_exchange *start_post(agg_http *h, struct MHD_Connection *conn, void **req_cls)
{
    agg_http_exchange *x = agg_http_exchange_new(h, conn, false);
    *req_cls = x;
    x->deadline_ns = fo_now_ns(); /* arrival, until the body is in */
    return x;
}

/* A piece of the POST body, or its end: then the request goes to a worker. */
static enum MHD_Result post_body(agg_http *h, agg_http_exchange *x, const char *data, size_t *size)
{
    size_t max = (size_t)h->svc->started->max_message_bytes;
    if (*size > 0) {
        if (!x->upload_too_large && x->upload_len + *size <= max) {
            x->upload = fo_xrealloc(x->upload, x->upload_len + *size);
            memcpy(x->upload + x->upload_len, data, *size);
            x->upload_len += *size;
        } else {
            x->upload_too_large = true;
        }
        *size = 0;
        return MHD_YES;
    }
    if (x->upload_too_large) {
        x->state = XS_SENT;
        return too_large(h, x->conn);
    }
    int64_t arrived = x->deadline_ns;
    x->deadline_ns = FO_DEADLINE_NONE;
    copy_headers(x);
    x->origin = copy_or_null(allowed_origin(h, x->conn));
    fo_error *err = agg_http_request_from_body(x->upload != NULL ? x->upload : "", x->upload_len, &x->msg);
    if (x->parse_error == NULL)
        x->parse_error = err;
    else
        fo_error_free(err);
    set_deadline(x, arrived, -1);
    return hand_over(h, x);
}

/* After the worker resumed the connection: its answer, whole or as a stream. */
static enum MHD_Result respond_exchange(agg_http_exchange *x)
{
    pthread_mutex_lock(&x->mu);
    struct MHD_Response *r;
    unsigned status = MHD_HTTP_OK;
    if (x->state == XS_REPLY) {
        r = text_response(JSON_TYPE, x->body, x->body_len);
        status = x->status;
        if (x->failed_feature != NULL)
            MHD_add_response_header(r, "fanout-failed-feature", x->failed_feature);
        x->state = XS_SENT;
    } else {
        atomic_fetch_add(&x->refs, 1); /* the response's */
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, agg_http_exchange_read, x,
                                              agg_http_exchange_read_done);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        /* Proxies such as nginx would otherwise hold the events back. */
        MHD_add_response_header(r, "X-Accel-Buffering", "no");
    }
    x->response_queued = true;
    if (x->request_id[0] != '\0')
        MHD_add_response_header(r, "x-request-id", x->request_id);
    add_cors(r, x->origin);
    pthread_mutex_unlock(&x->mu);
    return queue(x->conn, status, r);
}

/* --- routing ---------------------------------------------------------------------- */

/* "/v1/customers/{id}/analytics[:stream]": the customer (copied into buf) and the kind. */
static bool analytics_path(const char *url, char *buf, size_t cap, bool *streaming)
{
    if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) != 0)
        return false;
    const char *id = url + strlen(API_PREFIX);
    const char *slash = strchr(id, '/');
    if (slash == NULL || slash == id || (size_t)(slash - id) >= cap)
        return false;
    if (strcmp(slash, "/analytics") == 0)
        *streaming = false;
    else if (strcmp(slash, "/analytics:stream") == 0)
        *streaming = true;
    else
        return false;
    memcpy(buf, id, (size_t)(slash - id));
    buf[slash - id] = '\0';
    return true;
}

static bool is_method(const char *method, const char *want) { return strcmp(method, want) == 0; }

static enum MHD_Result route(agg_http *h, struct MHD_Connection *conn, const char *url, const char *method,
                             void **req_cls)
{
    char customer[1024];
    bool streaming = false;
    bool analytics = analytics_path(url, customer, sizeof customer, &streaming);
    size_t page_len = 0;
    const unsigned char *page = agg_page_for_path(url, &page_len);
    bool known = page != NULL || analytics || strcmp(url, QUERY_PATH) == 0 || strcmp(url, FEATURES_PATH) == 0;
    *req_cls = &no_exchange;
    if (known && is_method(method, MHD_HTTP_METHOD_OPTIONS))
        return respond_preflight(h, conn);
    if (page != NULL && (is_method(method, MHD_HTTP_METHOD_GET) || is_method(method, MHD_HTTP_METHOD_HEAD)))
        return respond_page(conn, page, page_len);
    if (analytics && is_method(method, MHD_HTTP_METHOD_GET))
        return start_get(h, conn, customer, streaming, req_cls);
    if (strcmp(url, FEATURES_PATH) == 0 && is_method(method, MHD_HTTP_METHOD_GET))
        return respond_features(h, conn);
    if (known) {
        const char *allow = strcmp(url, QUERY_PATH) == 0 ? "POST, OPTIONS" : "GET, OPTIONS";
        char message[96];
        snprintf(message, sizeof message, "method %.16s is not allowed here (allowed: %s)", method, allow);
        return respond_error(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED, FO_STATUS_UNIMPLEMENTED, message, allow);
    }
    char message[160];
    snprintf(message, sizeof message, "no route for %.120s", url);
    return respond_error(h, conn, MHD_HTTP_NOT_FOUND, FO_STATUS_NOT_FOUND, message, NULL);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
    (void)version;
    agg_http *h = cls;
    if (*req_cls == NULL)
        return headers_in(h, conn, req_cls);
    if (*req_cls == &headers_seen && h->verify_clients && !fo_http_client_verified(conn)) {
        /* Mutual TLS as on the gRPC face: no certificate from tls.client_ca, no answer. */
        *req_cls = &no_exchange;
        return respond_error(h, conn, MHD_HTTP_UNAUTHORIZED, FO_STATUS_UNAUTHENTICATED,
                             "a client certificate signed by the server's tls.client_ca is required", NULL);
    }
    if (*req_cls == &headers_seen && strcmp(url, QUERY_PATH) == 0 && is_method(method, MHD_HTTP_METHOD_POST))
        return post_body(h, start_post(h, conn, req_cls), upload, upload_size);
    if (*req_cls == &headers_seen && *upload_size > 0) {
        *upload_size = 0; /* a body nobody asked for */
        return MHD_YES;
    }
    if (*req_cls == &headers_seen)
        return route(h, conn, url, method, req_cls);
    if (*req_cls == &no_exchange) {
        *upload_size = 0; /* a body nobody asked for */
        return MHD_YES;
    }
    agg_http_exchange *x = *req_cls;
    if (x->state == XS_BODY)
        return post_body(h, x, upload, upload_size);
    if (x->response_queued || x->state == XS_SENT) {
        *upload_size = 0;
        return MHD_YES;
    }
    return respond_exchange(x);
}

/* libmicrohttpd is done with the request: the client has its answer, or is gone. */
static void completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    if (*req_cls == NULL || *req_cls == &no_exchange || *req_cls == &headers_seen)
        return;
    agg_http_exchange *x = *req_cls;
    pthread_mutex_lock(&x->mu);
    x->conn = NULL; /* the worker's watch sees the client gone */
    pthread_mutex_unlock(&x->mu);
    agg_http_exchange_unref(x);
    *req_cls = NULL;
}

/* --- the listener ---------------------------------------------------------------- */

/* The gRPC listener's certificate, key and client CA (mutual TLS), read for libmicrohttpd (which
 * takes PEM text). */
static fo_error *read_tls(const agg_config *cfg, char *pem[3])
{
    pem[0] = pem[1] = pem[2] = NULL;
    if (!cfg->tls.enabled)
        return NULL;
    fo_error *err = fo_read_file(cfg->tls.cert, &pem[0]);
    if (err == NULL)
        err = fo_read_file(cfg->tls.key, &pem[1]);
    if (err == NULL && cfg->tls.client_ca != NULL)
        err = fo_read_file(cfg->tls.client_ca, &pem[2]);
    return err;
}

static unsigned max_connections(void)
{
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur == RLIM_INFINITY ||
        nofile.rlim_cur / 2 >= MAX_CONNECTIONS)
        return MAX_CONNECTIONS;
    return (unsigned)(nofile.rlim_cur / 2);
}

fo_error *agg_http_start(agg_service *svc, fo_server *server, agg_http **out)
{
    const agg_config *cfg = svc->started;
    char *pem[3];
    fo_error *err = read_tls(cfg, pem);
    if (err != NULL) {
        for (int i = 0; i < 3; i++)
            free(pem[i]);
        return err;
    }
    agg_http *h = fo_xcalloc(1, sizeof *h);
    h->svc = svc;
    h->n_workers = fo_server_worker_count(server);
    h->workers = fo_xcalloc((size_t)h->n_workers, sizeof *h->workers);
    for (int i = 0; i < h->n_workers; i++)
        h->workers[i].loop = fo_server_worker_loop(server, i);
    fo_http_opts opts = {
        .name = "http",
        .listen = cfg->http.listen,
        .handler = handle,
        .ctx = h,
        .completed = completed,
        .threads = h->n_workers < 4 ? (unsigned)h->n_workers : 4,
        .max_connections = max_connections(),
        .timeout_s = IDLE_TIMEOUT_S,
        .tls_cert_pem = pem[0],
        .tls_key_pem = pem[1],
        .tls_client_ca_pem = pem[2],
    };
    h->verify_clients = pem[2] != NULL;
    err = fo_http_start(&opts, &h->listener);
    for (int i = 0; i < 3; i++)
        free(pem[i]);
    if (err != NULL) {
        agg_http_destroy(h);
        return err;
    }
    *out = h;
    return NULL;
}

int agg_http_port(const agg_http *h) { return fo_http_port(h->listener); }

/* On each worker: every request it runs is answered UNAVAILABLE. */
static void drain_worker(void *arg)
{
    agg_http_worker *w = arg;
    agg_http_exchange *x = w->live;
    while (x != NULL) {
        agg_http_exchange *next = x->next;
        agg_http_exchange_drain(x);
        x = next;
    }
}

static void wait_live(const agg_http *h, int64_t deadline_ns)
{
    while (atomic_load(&h->live) > 0 && fo_now_ns() < deadline_ns)
        nanosleep(&(struct timespec){.tv_nsec = 5 * FO_NS_PER_MS}, NULL);
}

static void *drain_main(void *arg)
{
    agg_http *h = arg;
    wait_live(h, h->drain_deadline_ns);
    if (atomic_load(&h->live) == 0)
        return NULL;
    for (int i = 0; i < h->n_workers; i++)
        fo_loop_post(h->workers[i].loop, drain_worker, &h->workers[i]);
    /* Cancelled feature calls end at once; this bound only guards against a wedged worker. */
    wait_live(h, fo_now_ns() + 5000 * FO_NS_PER_MS);
    return NULL;
}

void agg_http_drain_start(agg_http *h, int64_t deadline_ns)
{
    atomic_store(&h->draining, true);
    h->drain_deadline_ns = deadline_ns;
    if (pthread_create(&h->drain_thread, NULL, drain_main, h) != 0)
        abort();
}

void agg_http_destroy(agg_http *h)
{
    if (h == NULL)
        return;
    if (atomic_load(&h->draining))
        pthread_join(h->drain_thread, NULL);
    fo_http_stop(h->listener);
    free(h->workers);
    free(h);
}
