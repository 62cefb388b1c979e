/*
 * testload: a closed loop of GetCustomerAnalytics calls for integration
 * tests, on the test's own fo_loop: a fixed number of requests, N in flight,
 * each answered call replaced at once, and every answer tallied feature by
 * feature. Unlike fanout-bench it never cancels the tail of a run, so the
 * tally covers every call the aggregator made and can be checked exactly
 * against what the feature services counted.
 */
#ifndef TESTLOAD_H
#define TESTLOAD_H

#include <stdatomic.h>
#include <stdint.h>

#include "fanout/v1/aggregator.pb-c.h"
#include "fo_error.h"

/* Room for every ErrorKind value, indexed by it. */
#define TESTLOAD_KINDS 8

typedef struct testload_tally {
    uint64_t replies;                    /* calls ended, whatever the status */
    uint64_t by_status[FO_STATUS_COUNT]; /* of those */
    uint64_t unparsed;                   /* OK without a reply that parses */
    uint64_t partial;                    /* OK replies with a failed feature */
    uint64_t succeeded;                  /* feature results with a usage */
    uint64_t by_kind[TESTLOAD_KINDS];    /* feature results with an error, by ErrorKind */
    uint64_t attempts;                   /* calls made to features, summed over results */
    int64_t max_ms;                      /* the slowest call */
} testload_tally;

/*
 * Called on the loop after each answer is tallied: resp is the unpacked
 * reply, NULL when status is not OK or it did not parse.
 */
typedef void (*testload_reply_fn)(fo_status status, const Fanout__V1__AnalyticsResponse *resp, void *ud);

typedef struct testload {
    const char *target;
    uint64_t requests;
    int concurrency;
    int64_t deadline_ms;        /* per call */
    const char *mock_fault;     /* an x-mock-fault header for every call, or NULL */
    testload_reply_fn on_reply; /* optional */
    void *ud;
    const atomic_bool *stop; /* optional: once true, no new call starts (the run ends with those in flight) */
} testload;

/* Runs o->requests calls to their ends and adds what they said to *tally. */
void testload_run(const testload *o, testload_tally *tally);

/* Feature results in the tally, failed or not. */
uint64_t testload_results(const testload_tally *t);

#endif
