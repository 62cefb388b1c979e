/* fo_process: signal handling and bound addresses for the binaries' mains. */
#include "fo_process.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void termination_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

void fo_signals_block(void)
{
    sigset_t set;
    termination_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* A client that vanishes must not kill us through a write to its socket. */
    signal(SIGPIPE, SIG_IGN);
}

int fo_signals_wait(void)
{
    sigset_t set;
    termination_set(&set);
    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    return sig;
}

void fo_address_with_port(const char *listen, int port, char *buf, size_t cap)
{
    const char *colon = strrchr(listen, ':');
    const char *bracket = strrchr(listen, ']');
    size_t host_len = strlen(listen);
    if (colon != NULL && (bracket == NULL || colon > bracket))
        host_len = (size_t)(colon - listen);
    snprintf(buf, cap, "%.*s:%d", (int)host_len, listen, port);
}
