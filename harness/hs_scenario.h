/*
 * hs_scenario: a scenario file read into what the harness runs: the fleet of
 * mock features with their fault profiles, the aggregator's configuration,
 * and the steps (calls with their expectations, and actions on the fleet).
 *
 * Every key is checked when the file is read, so a typo fails before any
 * process starts, with the JSON path of the offending key. The format is
 * documented in the README ("Scenario harness").
 */
#ifndef HS_SCENARIO_H
#define HS_SCENARIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fanout/v1/aggregator.pb-c.h"
#include "fo_error.h"

/* No bound, no cancellation: values of the optional millisecond fields when absent. */
#define HS_MS_UNSET INT64_C(-1)

/* One mock feature process. name and listen point into the scenario's JSON. */
typedef struct hs_feature {
    const char *name;
    const char *listen; /* "127.0.0.1:0" unless the scenario pins a port */
    char *profile_json; /* owned: the profile object as text for --profile, or NULL */
} hs_feature;

typedef enum hs_method {
    HS_METHOD_UNARY,  /* GetCustomerAnalytics */
    HS_METHOD_STREAM, /* StreamCustomerAnalytics */
} hs_method;

/* In which order streamed results are compared with the expected ones. */
typedef enum hs_order {
    HS_ORDER_ARRIVAL, /* as the aggregator sent them */
    HS_ORDER_INDEX,   /* sorted by their request position, when completion order is a race */
} hs_order;

/* What a call's outcome must be; unset parts are not checked. */
typedef struct hs_expect {
    fo_status status;
    const char *message;        /* the whole status message, or NULL */
    const char *message_prefix; /* its start, or NULL */
    const char *failed_feature; /* the fanout-failed-feature trailer, or NULL */
    const json_t *reply;        /* unary: matched against the reply (hs_match), or NULL */
    const json_t *results;      /* streaming: matched against the results array, or NULL */
    hs_order results_order;
    int64_t min_ms, max_ms; /* bounds on the elapsed time, or HS_MS_UNSET */
} hs_expect;

typedef struct hs_call {
    hs_method method;
    Fanout__V1__AnalyticsRequest *request; /* owned */
    int64_t deadline_ms;
    const char *mock_fault;  /* the x-mock-fault header, or NULL */
    int64_t cancel_after_ms; /* the client cancels then, or HS_MS_UNSET */
    int64_t retry_for_ms;    /* repeated until it passes for this long; 0: once */
    hs_expect expect;
} hs_call;

typedef enum hs_step_kind {
    HS_STEP_CALL,       /* a request and its expectations */
    HS_STEP_KILL,       /* SIGKILL a feature and wait until it is gone */
    HS_STEP_RESTART,    /* start a feature again on the address it had */
    HS_STEP_AWAIT_EXIT, /* wait until a feature process has exited (e.g. crashed) */
    HS_STEP_WAIT,       /* sleep */
} hs_step_kind;

typedef struct hs_step {
    hs_step_kind kind;
    char *name;          /* for the report line */
    const char *feature; /* kill, restart, await_exit */
    int64_t ms;          /* wait; await_exit's timeout */
    hs_call call;        /* HS_STEP_CALL */
} hs_step;

typedef struct hs_scenario {
    json_t *root; /* the file, which the strings above point into */
    const char *name;
    hs_feature *features;
    size_t n_features;
    const json_t *aggregator; /* the config object, targets not yet filled in */
    bool warmup;
    hs_step *steps;
    size_t n_steps;
} hs_scenario;

/* Reads and checks path; on failure *out is NULL and the error names the file and the key. */
fo_error *hs_scenario_load(const char *path, hs_scenario **out);
void hs_scenario_free(hs_scenario *sc);
/* The fleet member called name, or NULL. */
const hs_feature *hs_scenario_feature(const hs_scenario *sc, const char *name);

#endif
