/* agg_http_exchange: an HTTP request's agg_face on its worker, and its SSE outbox. */
#include "agg_http_exchange.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agg_generation.h"
#include "agg_http.h"
#include "agg_http_status.h"
#include "agg_request.h"
#include "fo_alloc.h"
#include "fo_pbjson.h"
#include "fo_time.h"

/* How often the worker looks whether the client has gone: a browser's tab closed mid-stream, say. */
#define WATCH_NS (50 * FO_NS_PER_MS)
#define FAILED_FEATURE_TRAILER "fanout-failed-feature"

static agg_http_exchange *of_face(const agg_face *f) { return (agg_http_exchange *)(void *)f; }

void agg_http_exchange_unref(agg_http_exchange *x)
{
    if (atomic_fetch_sub(&x->refs, 1) != 1)
        return;
    free(x->headers);
    if (x->msg != NULL)
        fanout__v1__analytics_request__free_unpacked(x->msg, NULL);
    fo_error_free(x->parse_error);
    free(x->upload);
    free(x->origin);
    free(x->out);
    free(x->body);
    free(x->failed_feature);
    pthread_mutex_destroy(&x->mu);
    free(x);
}

/* --- the worker's side: watching, answering ---------------------------------- */

/* Under mu, on the worker: lets libmicrohttpd send what the worker has put out. */
static void resume_locked(agg_http_exchange *x)
{
    if (x->suspended && x->conn != NULL) {
        x->suspended = false;
        MHD_resume_connection(x->conn);
    }
}

/* Under mu: libmicrohttpd is done with the connection, or its peer has shut it. */
static bool client_gone_locked(const agg_http_exchange *x)
{
    if (x->conn == NULL)
        return true;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(x->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == NULL)
        return false;
    /* The socket stays open until the request-completed callback has cleared conn, under mu. */
    struct pollfd p = {.fd = info->connect_fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static void cancel(agg_http_exchange *x, xchg_cancel why)
{
    if (x->cancel != XC_NONE)
        return;
    x->cancel = why;
    if (x->cancel_fn != NULL)
        x->cancel_fn(x->cancel_ud);
}

static void watch(fo_timer *t)
{
    agg_http_exchange *x = fo_container_of(t, agg_http_exchange, tick);
    pthread_mutex_lock(&x->mu);
    bool gone = client_gone_locked(x);
    pthread_mutex_unlock(&x->mu);
    int64_t now = fo_now_ns();
    /* A cancellation may answer and free x before it returns. */
    if (gone)
        cancel(x, XC_CLIENT_GONE);
    else if (now >= x->deadline_ns)
        cancel(x, XC_DEADLINE);
    else
        fo_timer_start(x->loop, &x->tick, now + WATCH_NS < x->deadline_ns ? now + WATCH_NS : x->deadline_ns);
}

static void live_add(agg_http_exchange *x)
{
    agg_http_worker *w = &x->http->workers[x->worker];
    x->next = w->live;
    if (w->live != NULL)
        w->live->prev = x;
    w->live = x;
}

static void live_remove(agg_http_exchange *x)
{
    agg_http_worker *w = &x->http->workers[x->worker];
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        w->live = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
}

/*
 * On the worker, whose config (reloads included) names the headers that go
 * on to the features: one gRPC could not carry is a bad request.
 */
static void check_forwarded(agg_http_exchange *x)
{
    const agg_config *cfg = x->http->svc->current[x->worker]->cfg;
    for (size_t i = 0; i < x->nheaders && x->parse_error == NULL; i++) {
        for (size_t j = 0; !x->headers[i].printable && j < cfg->n_forward_metadata; j++) {
            if (strcasecmp(x->headers[i].key, cfg->forward_metadata[j]) == 0) {
                x->parse_error =
                    FO_ERROR(FO_STATUS_INVALID_ARGUMENT, "header %s: not printable ASCII", cfg->forward_metadata[j]);
                break;
            }
        }
    }
}

void agg_http_exchange_begin(void *arg)
{
    agg_http_exchange *x = arg;
    if (x->parse_error == NULL)
        check_forwarded(x);
    live_add(x);
    /* The worker runs until the request is answered, also through a drain. */
    fo_loop_hold(x->loop);
    fo_timer_start(x->loop, &x->tick, fo_now_ns());
    agg_request_start_face(&x->face, x->http->svc, x->streaming);
}

void agg_http_exchange_drain(agg_http_exchange *x) { cancel(x, XC_DRAIN); }

/* --- rendering ------------------------------------------------------------------- */

/* Appends an SSE event; under mu. data is one line (compact JSON has no newline). */
static void event_locked(agg_http_exchange *x, const char *event, unsigned id, const char *data)
{
    size_t cap = strlen(event) + strlen(data) + 64;
    x->out = fo_xrealloc(x->out, x->out_len + cap);
    int n = id > 0 ? snprintf(x->out + x->out_len, cap, "event: %s\nid: %u\ndata: %s\n\n", event, id, data)
                   : snprintf(x->out + x->out_len, cap, "event: %s\ndata: %s\n\n", event, data);
    x->out_len += (size_t)n;
}

/* The payload as proto3 JSON, rendered as fanout-cli renders it; NULL when it does not parse. */
static char *render(const fo_payload *p, const ProtobufCMessageDescriptor *desc, bool pretty)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, fo_payload_size(p), fo_payload_data(p));
    if (m == NULL)
        return NULL;
    char *text = fo_pbjson_render(m, pretty);
    protobuf_c_message_free_unpacked(m, NULL);
    return text;
}

/* What the client is told when the worker gave up on it first. */
static fo_status cancelled_status(const agg_http_exchange *x, fo_status code, const char **message)
{
    switch (x->cancel) {
    case XC_DEADLINE:
        *message = "the request's deadline passed";
        return FO_STATUS_DEADLINE_EXCEEDED;
    case XC_DRAIN:
        *message = "the server is shutting down";
        return FO_STATUS_UNAVAILABLE;
    case XC_CLIENT_GONE:
        *message = "the client went away";
        return FO_STATUS_CANCELLED;
    case XC_NONE:
        break;
    }
    return code;
}

/* Under mu: the whole response, for the handler to queue. */
static void reply_locked(agg_http_exchange *x, fo_status code, const char *message, const fo_payload *reply)
{
    char *text = code == FO_STATUS_OK && reply != NULL
                     ? render(reply, &fanout__v1__analytics_response__descriptor, true)
                     : agg_http_error_json(code, message);
    x->status = agg_http_status_of(code);
    x->body_len = strlen(text) + 1;
    x->body = fo_xrealloc(text, x->body_len + 1);
    x->body[x->body_len - 1] = '\n';
    x->body[x->body_len] = '\0';
    x->state = XS_REPLY;
}

/* Under mu: the stream's last event, the totals or the error. */
static void end_stream_locked(agg_http_exchange *x, fo_status code, const char *message, const fo_payload *reply)
{
    if (code == FO_STATUS_OK && reply != NULL) {
        char *text = render(reply, &fanout__v1__analytics_response__descriptor, false);
        event_locked(x, "done", 0, text);
        free(text);
    } else {
        char *text = agg_http_error_json(code, message);
        event_locked(x, "error", 0, text);
        free(text);
    }
    x->state = XS_STREAM_END;
}

/* --- the face ---------------------------------------------------------------------- */

static int http_worker(const agg_face *f) { return of_face(f)->worker; }

static fo_loop *http_loop(agg_face *f) { return of_face(f)->loop; }

static int64_t http_deadline(const agg_face *f) { return of_face(f)->deadline_ns; }

static const char *http_metadata(const agg_face *f, const char *key, size_t *len)
{
    const agg_http_exchange *x = of_face(f);
    for (size_t i = 0; i < x->nheaders; i++) {
        if (strcasecmp(x->headers[i].key, key) == 0) {
            *len = x->headers[i].len;
            return x->headers[i].value;
        }
    }
    return NULL;
}

static bool http_add_header(agg_face *f, const char *key, const char *value, size_t len)
{
    agg_http_exchange *x = of_face(f);
    /* The request path sets only x-request-id; the connection's side adds it to every answer. */
    if (strcmp(key, "x-request-id") != 0 || len >= sizeof x->request_id)
        return false;
    memcpy(x->request_id, value, len);
    x->request_id[len] = '\0';
    return true;
}

static ProtobufCMessage *http_request(agg_face *f, const ProtobufCMessageDescriptor *desc, fo_error **err)
{
    (void)desc; /* always an AnalyticsRequest: agg_http_request built it */
    agg_http_exchange *x = of_face(f);
    *err = x->parse_error;
    x->parse_error = NULL;
    ProtobufCMessage *m = (ProtobufCMessage *)x->msg;
    x->msg = NULL;
    return m;
}

/* The request path calls this once the request passed every check and the fan-out starts. */
static void http_on_cancel(agg_face *f, void (*fn)(void *ud), void *ud)
{
    agg_http_exchange *x = of_face(f);
    x->cancel_fn = fn;
    x->cancel_ud = ud;
    if (!x->streaming)
        return;
    pthread_mutex_lock(&x->mu);
    x->state = XS_STREAM;
    resume_locked(x);
    pthread_mutex_unlock(&x->mu);
}

static bool http_cancelled(const agg_face *f) { return of_face(f)->cancel != XC_NONE; }

static void sent(fo_timer *t)
{
    agg_http_exchange *x = fo_container_of(t, agg_http_exchange, sent);
    fo_tag *done = x->send_done;
    x->send_done = NULL;
    done->fn(done, x->cancel != XC_CLIENT_GONE);
}

static void http_send(agg_face *f, const fo_payload *msg, fo_tag *done)
{
    agg_http_exchange *x = of_face(f);
    char *text = render(msg, &fanout__v1__feature_result__descriptor, false);
    pthread_mutex_lock(&x->mu);
    if (text != NULL)
        event_locked(x, "result", ++x->events, text);
    resume_locked(x);
    pthread_mutex_unlock(&x->mu);
    free(text);
    /* The event is queued: done runs on the loop's next turn, not inside the request path's send. */
    x->send_done = done;
    fo_timer_start(x->loop, &x->sent, fo_now_ns());
}

static void http_finish(agg_face *f, fo_status code, const char *message, const fo_payload *reply,
                        const fo_md *trailers, size_t ntrailers)
{
    agg_http_exchange *x = of_face(f);
    fo_timer_cancel(x->loop, &x->tick);
    live_remove(x);
    fo_loop_release(x->loop);
    code = cancelled_status(x, code, &message);
    pthread_mutex_lock(&x->mu);
    for (size_t i = 0; i < ntrailers; i++) {
        if (strcmp(trailers[i].key, FAILED_FEATURE_TRAILER) == 0)
            x->failed_feature = fo_xstrndup(trailers[i].value, trailers[i].value_len);
    }
    if (x->state == XS_STREAM)
        end_stream_locked(x, code, message, reply);
    else
        reply_locked(x, code, message, reply);
    resume_locked(x);
    pthread_mutex_unlock(&x->mu);
    atomic_fetch_sub(&x->http->live, 1);
}

static void http_release(agg_face *f)
{
    agg_http_exchange *x = of_face(f);
    fo_timer_cancel(x->loop, &x->sent);
    agg_http_exchange_unref(x);
}

static const agg_face_ops http_ops = {
    .name = "http",
    .stream_summary = true,
    .worker = http_worker,
    .loop = http_loop,
    .deadline = http_deadline,
    .metadata = http_metadata,
    .add_header = http_add_header,
    .request = http_request,
    .on_cancel = http_on_cancel,
    .cancelled = http_cancelled,
    .send = http_send,
    .finish = http_finish,
    .release = http_release,
};

agg_http_exchange *agg_http_exchange_new(agg_http *h, struct MHD_Connection *conn, bool streaming)
{
    agg_http_exchange *x = fo_xcalloc(1, sizeof *x);
    x->face.ops = &http_ops;
    x->http = h;
    pthread_mutex_init(&x->mu, NULL);
    atomic_init(&x->refs, 1);
    x->streaming = streaming;
    x->state = XS_BODY;
    x->conn = conn;
    x->deadline_ns = FO_DEADLINE_NONE;
    fo_timer_init(&x->tick, watch);
    fo_timer_init(&x->sent, sent);
    return x;
}

/* --- the SSE response's reader, on libmicrohttpd's thread ------------------------------ */

ssize_t agg_http_exchange_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    agg_http_exchange *x = cls;
    ssize_t n = 0;
    pthread_mutex_lock(&x->mu);
    if (x->out_off < x->out_len) {
        size_t left = x->out_len - x->out_off;
        size_t take = left < max ? left : max;
        memcpy(buf, x->out + x->out_off, take);
        x->out_off += take;
        if (x->out_off == x->out_len)
            x->out_off = x->out_len = 0;
        n = (ssize_t)take;
    } else if (x->state == XS_STREAM_END) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        /* Nothing yet: the worker resumes the connection with the next event. */
        x->suspended = true;
        MHD_suspend_connection(x->conn);
    }
    pthread_mutex_unlock(&x->mu);
    return n;
}

void agg_http_exchange_read_done(void *cls) { agg_http_exchange_unref(cls); }
