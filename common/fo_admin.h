/*
 * fo_admin: the admin HTTP listener beside a gRPC server, for tools that do
 * not speak gRPC: GET /metrics (a fo_metrics registry in the Prometheus text
 * format), /healthz (200 while the process answers at all) and /readyz (200
 * while it serves and does not drain, else 503). HEAD works too; other
 * methods get 405, other paths 404.
 *
 * It runs on fo_http, whose own thread answers: a scrape sums the metrics'
 * shards there and never touches a completion-queue thread.
 */
#ifndef FO_ADMIN_H
#define FO_ADMIN_H

#include <stdbool.h>

#include "fo_error.h"
#include "fo_metrics.h"

typedef struct fo_admin fo_admin;

/* Listens on addr ("host:port"; port 0 picks one), not ready yet; metrics must outlive the listener. */
fo_error *fo_admin_start(const char *addr, fo_metrics *metrics, fo_admin **out);
/* The bound port. */
int fo_admin_port(const fo_admin *a);
/* /readyz: true once the server takes calls, false again when it starts to drain. Any thread. */
void fo_admin_set_ready(fo_admin *a, bool ready);
/* Closes the listener (NULL: nothing). */
void fo_admin_stop(fo_admin *a);

#endif
