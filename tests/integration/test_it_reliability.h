/*
 * test_it_reliability: what the reliability and hostile-input tests share: a
 * fleet and an aggregator as one fixture that must stop cleanly (exit 0,
 * which under the sanitizers also means no leak and no error at exit), the
 * "still answers" check run after every hostile act, and the mock services'
 * call counts read back from their stats lines.
 */
#ifndef TEST_IT_RELIABILITY_H
#define TEST_IT_RELIABILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fanout/v1/aggregator.pb-c.h"
#include "testproc.h"

#define REL_CUSTOMER "cust-5"
/* Generous: nothing these tests wait for should take this long. */
#define REL_CALL_DEADLINE_MS 10000
/* A fleet stops its children one grace period (5 s) at most after SIGTERM. */
#define REL_STOP_WAIT_MS 30000

typedef struct rel_fixture {
    tool_proc *fleet;
    tool_proc *agg;
    char *fleet_path; /* a temporary fleet file to remove, or NULL */
    size_t n_features;
} rel_fixture;

/* The features of the fleets these tests start, in fleet (and so in config) order. */
#define REL_N_FEATURES 4
extern const char *const rel_features[REL_N_FEATURES];

/*
 * Starts a fleet of rel_features, each entry with the keys of entry_json
 * (may be NULL), e.g. {"restart": true} or {"profile": {...}}, and an
 * aggregator for it, as rel_start does.
 */
rel_fixture *rel_start_fleet(const char *entry_json, int64_t timeout_ms, const char *extra_json);

/*
 * Starts the fleet in fleet_path (owned: removed and freed at the end when
 * owned is true) and an aggregator for it with feature timeouts of
 * timeout_ms and the extra config keys of extra_json (may be NULL). NULL on
 * failure.
 */
rel_fixture *rel_start(char *fleet_path, bool owned, int64_t timeout_ms, const char *extra_json);
/*
 * Stops the aggregator, then the fleet, on SIGTERM, and frees f; -1 when one
 * of them did not exit with status 0.
 */
int rel_stop(rel_fixture *f);
/*
 * For cmocka group set-ups: gRPC initialised, then rel_start_fleet with plain
 * entries and an aggregator whose max_message_bytes is given. NULL on failure.
 */
rel_fixture *rel_group_start(int64_t timeout_ms, int max_message_bytes);
/* Its tear-down: rel_stop, then gRPC shut down; returns rel_stop's result. */
int rel_group_stop(rel_fixture *f);
/* Stops the fleet alone (its children print their stats lines); true when it exited with status 0. */
bool rel_stop_fleet(rel_fixture *f);

/* The aggregator's address, "127.0.0.1:PORT". */
const char *rel_address(const rel_fixture *f);

/*
 * A GetCustomerAnalytics request for every feature, without faults: asserts
 * that it is answered OK with all f->n_features results, every one a usage.
 */
void rel_assert_serves(const rel_fixture *f);
/* The same with a deadline of deadline_ms; returns how long the request took, ms. */
int64_t rel_assert_serves_within(const rel_fixture *f, int64_t deadline_ms);

void rel_sleep_ms(int ms);

/* Retries a request like rel_assert_serves every 200 ms until it succeeds in full; false after timeout_ms. */
bool rel_wait_serving(const rel_fixture *f, int64_t timeout_ms);

/* The fleet's mock call counts, summed over every "stats" line in its output. */
typedef struct rel_mock_counts {
    uint64_t ok, error, malformed, huge, cancelled, invalid;
    size_t lines; /* stats lines read */
} rel_mock_counts;
void rel_mock_counts_read(const tool_proc *fleet, rel_mock_counts *out);
uint64_t rel_mock_counts_total(const rel_mock_counts *c);

/* The result of feature in resp, or NULL. */
const Fanout__V1__FeatureResult *rel_result_of(const Fanout__V1__AnalyticsResponse *resp, const char *feature);

#endif
