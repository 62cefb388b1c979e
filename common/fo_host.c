/* fo_host: the life of a gRPC server process (see fo_host.h). */
#include "fo_host.h"

#include <stdlib.h>

#include "fo_alloc.h"
#include "fo_health.h"
#include "fo_process.h"
#include "fo_reflection.h"
#include "fo_time.h"

struct fo_host {
    fo_server *server;
    fo_health *health;
    fo_reflection *reflection;
};

fo_error *fo_host_start(const fo_host_opts *opts, char *address, size_t address_len, fo_host **out)
{
    *out = NULL;
    fo_host *h = fo_xcalloc(1, sizeof *h);
    fo_error *err = fo_reflection_create(opts->services, opts->n_services, &h->reflection);
    if (err != NULL) {
        fo_host_destroy(h);
        return err;
    }
    h->health = fo_health_create(opts->services, opts->n_services);
    h->server = fo_server_create(&opts->server);
    opts->add_methods(h->server, opts->ud);
    fo_health_register(h->health, h->server);
    fo_reflection_register(h->reflection, h->server);
    int port = 0;
    err = fo_server_listen(h->server, opts->listen, opts->tls, &port);
    if (err != NULL) {
        fo_host_destroy(h);
        return err;
    }
    fo_server_start(h->server);
    fo_health_set_all(h->health, FO_HEALTH_SERVING);
    fo_address_with_port(opts->listen, port, address, address_len);
    *out = h;
    return NULL;
}

void fo_host_drain_all(fo_host *const *hosts, size_t n, int64_t grace_ms)
{
    for (size_t i = 0; i < n; i++)
        fo_health_drain(hosts[i]->health);
    int64_t deadline = fo_deadline_in_ms(grace_ms);
    for (size_t i = 0; i < n; i++)
        fo_server_shutdown_begin(hosts[i]->server);
    for (size_t i = 0; i < n; i++)
        fo_server_shutdown_end(hosts[i]->server, deadline);
}

void fo_host_log_limits(const fo_host *h) { fo_server_log_limits(h->server); }

void fo_host_drain(fo_host *h, int64_t grace_ms) { fo_host_drain_all(&h, 1, grace_ms); }

void fo_host_destroy(fo_host *h)
{
    if (h == NULL)
        return;
    fo_server_destroy(h->server);
    fo_reflection_destroy(h->reflection);
    fo_health_destroy(h->health);
    free(h);
}

fo_server *fo_host_server(fo_host *h) { return h->server; }
