/*
 * fo_process: what every fanout binary's main() needs around its server:
 * termination signals taken synchronously by the main thread, and the
 * address a listener really bound.
 */
#ifndef FO_PROCESS_H
#define FO_PROCESS_H

#include <stddef.h>

/*
 * Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and in every thread
 * it creates later: call first thing in main(), before any thread exists, so
 * that only fo_signals_wait() ever sees them.
 */
void fo_signals_block(void);
/* Waits for one of those signals; returns its number. */
int fo_signals_wait(void);

/* "127.0.0.1:0" listened on port 41234 → "127.0.0.1:41234" (IPv6 brackets kept). */
void fo_address_with_port(const char *listen, int port, char *buf, size_t cap);

#endif
