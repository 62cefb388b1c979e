/*
 * agg_reload: the config file read again on SIGHUP, on the main thread
 * (never in a signal handler: main takes the signal with sigwait).
 *
 * A file that does not load (syntax, a rule, a key file that cannot be
 * read) is refused with an error line naming the problem
 * ({"event":"config_reload_failed","error":...}); the generation in force
 * stays, keys included. Otherwise a new generation (agg_generation.h) is
 * published to every worker: features added, removed or changed (target,
 * timeout, load balancing, TLS, breaker), the forwarded headers, the
 * policies and limits, auth and the log level apply to requests that
 * arrive from then on, while requests in flight finish on the generation
 * they started with. Features whose connection settings did not change keep
 * their channels, and their breaker when its settings did not change.
 * {"event":"config_reloaded"} names the generation and the features added,
 * removed and changed.
 *
 * Keys that need a restart (listen, workers, tls, max_message_bytes,
 * shutdown_grace_ms) keep their running value; a warning line
 * ({"event":"config_needs_restart","keys":[...]}) names those that differ.
 */
#ifndef AGG_RELOAD_H
#define AGG_RELOAD_H

#include <stdbool.h>

#include "agg_service.h"

/* keep_log_level: --log-level was given, and wins over the file's. */
void agg_reload(agg_service *svc, const char *path, bool keep_log_level);

#endif
