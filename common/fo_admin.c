/* fo_admin: /metrics, /healthz and /readyz on fo_http (fo_admin.h). */
#include "fo_admin.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fo_alloc.h"
#include "fo_http.h"

struct fo_admin {
    fo_http *http;
    fo_metrics *metrics;
    atomic_bool ready;
};

static enum MHD_Result text(struct MHD_Connection *conn, unsigned status, const char *body)
{
    return fo_http_respond(conn, status, "text/plain; charset=utf-8", body, strlen(body));
}

static enum MHD_Result serve_metrics(struct MHD_Connection *conn, fo_admin *a)
{
    size_t len;
    char *body = fo_metrics_render(a->metrics, &len);
    enum MHD_Result rc = fo_http_respond(conn, MHD_HTTP_OK, FO_METRICS_CONTENT_TYPE, body, len);
    free(body);
    return rc;
}

/* A GET or HEAD without a body: answered on the first call, before any upload. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)con_cls;
    fo_admin *a = cls;
    if (*upload_data_size != 0)
        return MHD_NO; /* a GET with a body: drop the connection */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(conn, a);
    if (strcmp(url, "/healthz") == 0)
        return text(conn, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/readyz") == 0) {
        bool ready = atomic_load(&a->ready);
        return text(conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, ready ? "ready\n" : "not ready\n");
    }
    return text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /healthz or /readyz\n");
}

fo_error *fo_admin_start(const char *addr, fo_metrics *metrics, fo_admin **out)
{
    fo_admin *a = fo_xcalloc(1, sizeof *a);
    a->metrics = metrics;
    atomic_init(&a->ready, false);
    fo_http_opts opts = {
        .name = "admin",
        .listen = addr,
        .handler = handle,
        .ctx = a,
        .max_connections = 64,
        .timeout_s = 10,
    };
    fo_error *err = fo_http_start(&opts, &a->http);
    if (err != NULL) {
        free(a);
        return err;
    }
    *out = a;
    return NULL;
}

int fo_admin_port(const fo_admin *a) { return fo_http_port(a->http); }

void fo_admin_set_ready(fo_admin *a, bool ready)
{
    if (a != NULL)
        atomic_store(&a->ready, ready);
}

void fo_admin_stop(fo_admin *a)
{
    if (a == NULL)
        return;
    fo_http_stop(a->http);
    free(a);
}
