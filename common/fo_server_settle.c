/*
 * fo_server_settle: the end of a server on a borrowed loop, which only
 * servers sharing one loop need (mock_services --one-process). Such a loop
 * goes on after the server shuts down, so fo_server_shutdown_end cannot stop
 * and join it as it does its own workers; instead the loop's thread says when
 * nothing of the server is left on its queue (every request back, every call
 * freed), and the shutdown waits for that word (see fo_server.h).
 */
#include "fo_server_internal.h"

#include <pthread.h>
#include <stdatomic.h>

void fo_server_settle_init(fo_server *s)
{
    pthread_mutex_init(&s->settle_mu, NULL);
    pthread_cond_init(&s->settle_cv, NULL);
}

void fo_server_settle_destroy(fo_server *s)
{
    pthread_mutex_destroy(&s->settle_mu);
    pthread_cond_destroy(&s->settle_cv);
}

/* On the loop's thread, its last use of the server: fo_server_shutdown_end may go on. */
static void worker_settled(void *arg)
{
    fo_server *s = ((fo_worker *)arg)->server;
    pthread_mutex_lock(&s->settle_mu);
    s->settled = true;
    pthread_cond_signal(&s->settle_cv);
    pthread_mutex_unlock(&s->settle_mu);
}

/*
 * On the loop's thread, after each request that came back for good and each
 * call freed. Once the shutdown awaits it and neither is left, nothing of
 * the server remains on the queue; the word goes through a post, which runs
 * at the start of the loop's next turn, after every post queued before it.
 */
void fo_worker_check_settled(fo_worker *w)
{
    if (!w->awaited || w->settle_posted)
        return;
    if (atomic_load(&w->slots_out) > 0 || w->calls > 0)
        return;
    w->settle_posted = true;
    fo_loop_post(w->loop, worker_settled, w);
}

/*
 * Posted by fo_server_shutdown_begin: from now on the loop reports when the
 * server has settled. Only after this post has run can worker_settled be
 * posted, so no post of ours is left on the loop once the shutdown returns.
 */
static void worker_await(void *arg)
{
    fo_worker *w = arg;
    w->awaited = true;
    fo_worker_check_settled(w); /* it may have settled already */
}

void fo_server_settle_await(fo_server *s) { fo_loop_post(s->workers[0].loop, worker_await, &s->workers[0]); }

void fo_server_settle_wait(fo_server *s)
{
    pthread_mutex_lock(&s->settle_mu);
    while (!s->settled)
        pthread_cond_wait(&s->settle_cv, &s->settle_mu);
    pthread_mutex_unlock(&s->settle_mu);
}
