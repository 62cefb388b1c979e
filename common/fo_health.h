/*
 * fo_health: the standard gRPC health service, grpc.health.v1.Health, which
 * orchestrators and load balancers probe.
 *
 * It knows "" (the whole server) and the service names given to
 * fo_health_create; every one starts NOT_SERVING, and the binary sets them
 * SERVING once it listens.
 *   Check   the status of a known name; NOT_FOUND for any other.
 *   Watch   the status at once, then every change (repeats skipped). A send
 *           that is still in flight when the status changes again is followed
 *           by the latest status only. An unknown name gets SERVICE_UNKNOWN
 *           and the stream stays open, as the health proto says.
 *
 * Draining: fo_health_drain() sets every status NOT_SERVING for good, and
 * each Watch stream, once it has sent NOT_SERVING (at once if it already
 * had), ends with status OK. So a server that drains tells its watchers why
 * it goes away, and its drain does not wait out the whole grace period for
 * Watch streams that would otherwise stay open forever. A Watch that arrives
 * during the drain gets NOT_SERVING and ends with OK at once.
 *
 * Threads: Watch streams live on the server's worker loops.
 * fo_health_set_all and fo_health_drain may be called from any thread; each
 * worker loop learns of a change on its next turn (within 100 ms, see
 * fo_loop_post) and updates its own watchers.
 */
#ifndef FO_HEALTH_H
#define FO_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "fo_server.h"

#define FO_HEALTH_SERVICE "grpc.health.v1.Health"

/* The numbering of grpc.health.v1.HealthCheckResponse.ServingStatus. */
typedef enum fo_health_status {
    FO_HEALTH_UNKNOWN = 0,
    FO_HEALTH_SERVING = 1,
    FO_HEALTH_NOT_SERVING = 2,
    FO_HEALTH_SERVICE_UNKNOWN = 3, /* only ever sent to a Watch of an unknown name */
} fo_health_status;

typedef struct fo_health fo_health;

/* services: the fully-qualified names the server answers for (copied). */
fo_health *fo_health_create(const char *const *services, size_t n);
/*
 * Adds Check and Watch to s; once, before fo_server_start, and before any
 * other thread uses h.
 */
void fo_health_register(fo_health *h, fo_server *s);
/* Every name, "" included. Once fo_health_drain has been called, changes are ignored. */
void fo_health_set_all(fo_health *h, fo_health_status status);
/* Call before fo_server_shutdown; see "Draining" above. */
void fo_health_drain(fo_health *h);
/* After fo_server_destroy: the server's loops and calls use h until then. */
void fo_health_destroy(fo_health *h);

#endif
