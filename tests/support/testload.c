/* testload: a fixed number of aggregate calls, N at a time, every answer tallied. */
#include "testload.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fo_loop.h"
#include "fo_rpc.h"
#include "fo_time.h"

#define ANALYTICS_PATH "/fanout.v1.Aggregator/GetCustomerAnalytics"
/* Distinct customers asked for in turn, so the replies are not all alike. */
#define CUSTOMERS 16

typedef struct load_run load_run;

/* One of the concurrency places a call may be in flight in. */
typedef struct load_slot {
    load_run *run;
    fo_client_call *cc; /* NULL between calls */
    int64_t started_ns;
} load_slot;

struct load_run {
    const testload *o;
    testload_tally *tally;
    fo_loop *loop;
    fo_channel *channel;
    fo_payload *requests[CUSTOMERS];
    fo_md md;
    uint64_t started;
    uint64_t in_flight;
    bool done;
};

static void call_done(fo_client_call *cc, void *ud);

/* Starts the next request in slot s; a call that cannot even start counts as answered with its error. */
static void start_next(load_slot *s)
{
    load_run *run = s->run;
    const testload *o = run->o;
    fo_call_spec spec = {
        .channel = run->channel,
        .path = ANALYTICS_PATH,
        .loop = run->loop,
        .deadline_ns = fo_deadline_in_ms(o->deadline_ms),
        .md = &run->md,
        .nmd = o->mock_fault != NULL,
        .request = run->requests[run->started % CUSTOMERS],
    };
    run->started++;
    s->started_ns = fo_now_ns();
    fo_error *err = NULL;
    s->cc = fo_client_call_start(&spec, call_done, s, &err);
    if (s->cc != NULL) {
        run->in_flight++;
        return;
    }
    fprintf(stderr, "testload: a call did not start: %s\n", err->message);
    run->tally->replies++;
    run->tally->by_status[err->code]++;
    fo_error_free(err);
}

static void tally_reply(testload_tally *t, fo_status status, const Fanout__V1__AnalyticsResponse *resp)
{
    t->replies++;
    t->by_status[(unsigned)status < FO_STATUS_COUNT ? status : FO_STATUS_UNKNOWN]++;
    if (status != FO_STATUS_OK)
        return;
    if (resp == NULL) {
        t->unparsed++;
        return;
    }
    t->partial += resp->partial;
    for (size_t i = 0; i < resp->n_results; i++) {
        const Fanout__V1__FeatureResult *r = resp->results[i];
        t->attempts += (uint64_t)r->attempts;
        if (r->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE)
            t->succeeded++;
        else if (r->error != NULL && (unsigned)r->error->kind < TESTLOAD_KINDS)
            t->by_kind[r->error->kind]++;
        else
            t->by_kind[FANOUT__V1__ERROR_KIND__ERROR_KIND_UNSPECIFIED]++;
    }
}

static void call_done(fo_client_call *cc, void *ud)
{
    load_slot *s = ud;
    load_run *run = s->run;
    int64_t ms = (fo_now_ns() - s->started_ns) / FO_NS_PER_MS;
    if (ms > run->tally->max_ms)
        run->tally->max_ms = ms;
    fo_status status = fo_client_call_status(cc);
    Fanout__V1__AnalyticsResponse *resp =
        status == FO_STATUS_OK
            ? (Fanout__V1__AnalyticsResponse *)fo_client_call_unpack(cc, &fanout__v1__analytics_response__descriptor)
            : NULL;
    tally_reply(run->tally, status, resp);
    if (run->o->on_reply != NULL)
        run->o->on_reply(status, resp, run->o->ud);
    if (resp != NULL)
        fanout__v1__analytics_response__free_unpacked(resp, NULL);
    fo_client_call_free(cc);
    s->cc = NULL;
    run->in_flight--;
    while (s->cc == NULL && run->started < run->o->requests && !(run->o->stop && atomic_load(run->o->stop)))
        start_next(s);
    run->done = run->in_flight == 0;
}

static void pack_requests(load_run *run)
{
    for (int i = 0; i < CUSTOMERS; i++) {
        char customer[32];
        snprintf(customer, sizeof customer, "cust-%d", i);
        Fanout__V1__AnalyticsRequest req = FANOUT__V1__ANALYTICS_REQUEST__INIT;
        req.customer_id = customer;
        req.failure_policy = FANOUT__V1__FAILURE_POLICY__ALLOW_PARTIAL;
        run->requests[i] = fo_payload_pack(&req.base);
    }
}

void testload_run(const testload *o, testload_tally *tally)
{
    load_run run = {.o = o, .tally = tally, .loop = fo_loop_create()};
    run.md = (fo_md){"x-mock-fault", o->mock_fault, o->mock_fault ? strlen(o->mock_fault) : 0};
    fo_error *err = fo_channel_create(o->target, NULL, &run.channel);
    if (err != NULL) {
        fprintf(stderr, "testload: %s\n", err->message);
        fo_error_free(err);
        fo_loop_destroy(run.loop);
        return;
    }
    pack_requests(&run);
    load_slot *slots = calloc((size_t)o->concurrency, sizeof *slots);
    if (slots == NULL)
        abort();
    for (int i = 0; i < o->concurrency; i++) {
        slots[i].run = &run;
        while (slots[i].cc == NULL && run.started < o->requests)
            start_next(&slots[i]);
    }
    run.done = run.in_flight == 0;
    fo_loop_run(run.loop, &run.done);
    free(slots);
    for (int i = 0; i < CUSTOMERS; i++)
        fo_payload_free(run.requests[i]);
    fo_channel_destroy(run.channel);
    fo_loop_destroy(run.loop);
}

uint64_t testload_results(const testload_tally *t)
{
    uint64_t n = t->succeeded;
    for (int i = 0; i < TESTLOAD_KINDS; i++)
        n += t->by_kind[i];
    return n;
}
