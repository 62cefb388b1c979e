/*
 * mock_metrics: the mock feature services' Prometheus metrics and admin
 * listener (--admin-listen ADDR), for one feature or a one-process fleet:
 *
 *   fanout_mock_calls_total{feature,outcome}  calls ended, by outcome (the
 *       stats line's ok, error, malformed, huge, cancelled, invalid)
 *   fanout_mock_faults_total{feature,fault}   faults acted on, by kind (delay,
 *       error, hang, malformed, huge; a crash ends the process first)
 *
 * plus the process_* metrics. Counted into the calling thread's shard.
 */
#ifndef MOCK_METRICS_H
#define MOCK_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "fo_error.h"
#include "mock_fault.h"
#include "mock_service.h"

/*
 * Serves the metrics of the n services on addr (n pointers, which must
 * outlive mock_metrics_stop); *port is the bound one. threads: the threads
 * that serve calls.
 */
fo_error *mock_metrics_start(const char *addr, mock_service *const *services, size_t n, int threads, int *port);
/* /readyz: true once the servers listen, false again when they start to drain. */
void mock_metrics_set_ready(bool ready);
/* Stops the listener and forgets the services (nothing when never started). */
void mock_metrics_stop(void);

/* A call of svc ended with outcome, after acting on fault. */
void mock_metrics_call(const mock_service *svc, mock_outcome outcome, const mock_fault *fault);

#endif
