/*
 * fo_metrics_process: the standard process metrics every Prometheus client
 * library exports, read from /proc/self at scrape time:
 * process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds and
 * process_start_time_seconds. Linux only, like the rest of the project.
 */
#ifndef FO_METRICS_PROCESS_H
#define FO_METRICS_PROCESS_H

#include "fo_metrics.h"

/* Adds the collector to m (before fo_metrics_seal). */
void fo_metrics_process_register(fo_metrics *m);

#endif
