/*
 * mock_service: fanout.feature.v1.FeatureService/GetUsage for one feature,
 * answering with deterministic data and injecting the faults that the
 * feature's profile or the call's x-mock-fault header ask for.
 *
 * It counts how its calls ended, so a test can check a client's tally
 * against the service's own; mock_service_write_stats prints the counts as
 * one JSON line on stdout (fo_log_event):
 *
 *     {"event":"stats","feature":"tours","pid":1234,"ok":950,"error":20,
 *      "malformed":0,"huge":0,"cancelled":30,"invalid":0}
 *
 * ok, malformed and huge are answers sent with status OK (a report, bytes
 * that are not one, a padded report); error is an injected error status;
 * cancelled is a call that the caller or the deadline ended first (a hang, a
 * delay that outlasted the caller, a call served only after its deadline);
 * invalid is a request or x-mock-fault header refused with INVALID_ARGUMENT.
 * A crash ends the process uncounted. Two more lists count by attempt, the
 * call's grpc-previous-rpc-attempts (gRFC A6; 0 for a first call, the last
 * entry also counting every later attempt): "calls_by_attempt", every call
 * that arrived, and "cancelled_by_attempt", those of them counted in
 * cancelled (a hedge's loser, say):
 *
 *     "calls_by_attempt":[1000,52,0,0,0],"cancelled_by_attempt":[40,2,0,0,0]
 */
#ifndef MOCK_SERVICE_H
#define MOCK_SERVICE_H

#include <stdatomic.h>
#include <stdint.h>

#include "fo_host.h"
#include "fo_server.h"
#include "mock_profile.h"

#define MOCK_GET_USAGE_PATH "/fanout.feature.v1.FeatureService/GetUsage"
/* Attempts counted apart in the stats: 0 to 3, and 4 or more. */
#define MOCK_ATTEMPT_SLOTS 5

typedef enum mock_outcome {
    MOCK_OUTCOME_OK,
    MOCK_OUTCOME_ERROR,
    MOCK_OUTCOME_MALFORMED,
    MOCK_OUTCOME_HUGE,
    MOCK_OUTCOME_CANCELLED,
    MOCK_OUTCOME_INVALID,
    MOCK_OUTCOME_COUNT,
} mock_outcome;

typedef struct mock_service {
    const char *feature; /* borrowed, outlives the server */
    mock_profile profile;
    /* Calls ended so far, by outcome; workers add to them concurrently. */
    _Atomic uint64_t outcomes[MOCK_OUTCOME_COUNT];
    _Atomic uint64_t calls_by_attempt[MOCK_ATTEMPT_SLOTS];
    _Atomic uint64_t cancelled_by_attempt[MOCK_ATTEMPT_SLOTS];
} mock_service;

/*
 * The fo_host options of svc's server: its service, health checking and
 * reflection for them. The caller fills in listen, server and tls; svc must
 * outlive the server.
 */
fo_host_opts mock_service_host_opts(mock_service *svc);

/* Writes the stats line (see above) to `to` and flushes it. */
void mock_service_write_stats(mock_service *svc);

#endif
