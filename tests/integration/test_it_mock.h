/*
 * test_it_mock: what the integration tests of the mock feature services
 * share: one mock process per test as a cmocka fixture, the expected reply
 * computed locally with the service's own generator, and events read back
 * from a process's stdout.
 */
#ifndef TEST_IT_MOCK_H
#define TEST_IT_MOCK_H

#include <jansson.h>
#include <stdint.h>

#include "testproc.h"
#include "tool_rpc.h"

#define IT_CUSTOMER "cust-42"
/* A fixed window: 30 days ending at 2023-11-14 22:13:20 UTC, not aligned to midnight. */
#define IT_WINDOW_END INT64_C(1700000000)
#define IT_WINDOW_START (IT_WINDOW_END - 30 * INT64_C(86400))
/* Generous for a loaded 2-core machine; the lower bounds are what prove behaviour. */
#define IT_CALL_DEADLINE_MS 10000
#define IT_EXIT_WAIT_MS 10000
/* A fleet stops its children one grace period (5 s) at most after SIGTERM; then it reaps them. */
#define IT_STOP_WAIT_MS 30000
/* Far above every injected delay and deadline in these tests, far below the call deadline: "not hung". */
#define IT_SLOW_MS 3000

/* cmocka setup: a mock "listings" service with no profile, in *state (a tool_proc). */
int it_mock_start_listings(void **state);
/*
 * cmocka teardown: stops and frees the tool_proc in *state, if any. One still
 * running must stop cleanly on SIGTERM (exit 0, which under the sanitizers
 * also means no leak and no error at exit), or the test fails.
 */
int it_mock_stop(void **state);
/* cmocka group setup/teardown: the gRPC library, for the test binary's own client. */
int it_mock_rpc_init(void **state);
int it_mock_rpc_shutdown(void **state);

/* GetUsage on p for the fixed window, with an optional x-mock-fault header. */
void it_mock_usage(const tool_proc *p, const char *mock_fault, tool_rpc_result *out);

/*
 * Asserts that r is an OK reply whose bytes, packed again, are exactly those
 * of the report mock_report_generate makes for (feature, customer, [start, end)),
 * and that its daily counts add up to its events.
 */
void it_mock_assert_report(const tool_rpc_result *r, const char *feature, const char *customer, int64_t start,
                           int64_t end);

/* The reply packed into a fresh buffer (free it); the reply must be there. */
uint8_t *it_mock_pack_reply(const tool_rpc_result *r, size_t *len);

/* Waits until p exits; false if it is still running after timeout_ms. */
bool it_mock_wait_exit(tool_proc *p, int64_t timeout_ms);

/*
 * Waits up to timeout_ms for a stdout line of p that is a JSON object with
 * these "event" and "feature" values; returns it (json_decref it) or NULL.
 */
json_t *it_mock_wait_event(const tool_proc *p, const char *event, const char *feature, int64_t timeout_ms);

#endif
