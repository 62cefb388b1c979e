/* mock_metrics: the mocks' families, hook and admin listener (mock_metrics.h). */
#include "mock_metrics.h"

#include <stdlib.h>

#include "fo_admin.h"
#include "fo_alloc.h"
#include "fo_metrics_process.h"

/* Indexed by mock_outcome. */
static const char *const outcomes[MOCK_OUTCOME_COUNT] = {"ok", "error", "malformed", "huge", "cancelled", "invalid"};
/* Indexed by mock_fault_kind, but for NONE, which is "delay" when the call was delayed and nothing otherwise. */
static const char *const faults[] = {"delay", "error", "hang", "malformed", "crash", "huge"};
#define N_FAULTS (sizeof faults / sizeof *faults)

static const char *const label_feature_outcome[] = {"feature", "outcome", NULL};
static const char *const label_feature_fault[] = {"feature", "fault", NULL};

typedef struct service_series {
    fo_metric_series calls[MOCK_OUTCOME_COUNT];
    fo_metric_series faults[N_FAULTS];
} service_series;

typedef struct mock_metrics {
    fo_metrics *reg;
    fo_admin *admin;
    mock_service *const *services;
    size_t n;
    service_series *series; /* parallel to services */
} mock_metrics;

/* NULL: off. Set before the servers start and cleared after they stopped. */
static mock_metrics *the_metrics;

static void declare(mock_metrics *mm)
{
    fo_metric_family *calls =
        fo_metrics_counter(mm->reg, "fanout_mock_calls_total",
                           "Mock feature calls ended, by outcome (ok, error, malformed, huge, cancelled, invalid).",
                           label_feature_outcome);
    fo_metric_family *injected =
        fo_metrics_counter(mm->reg, "fanout_mock_faults_total",
                           "Faults the mock acted on, from a profile or x-mock-fault, by kind.", label_feature_fault);
    mm->series = fo_xcalloc(mm->n, sizeof *mm->series);
    for (size_t i = 0; i < mm->n; i++) {
        const char *name = mm->services[i]->feature;
        for (int o = 0; o < MOCK_OUTCOME_COUNT; o++)
            mm->series[i].calls[o] = fo_metrics_series(calls, (const char *const[]){name, outcomes[o]});
        for (size_t f = 0; f < N_FAULTS; f++)
            mm->series[i].faults[f] = fo_metrics_series(injected, (const char *const[]){name, faults[f]});
    }
}

static void release(mock_metrics *mm)
{
    fo_admin_stop(mm->admin);
    fo_metrics_destroy(mm->reg);
    free(mm->series);
    free(mm);
}

fo_error *mock_metrics_start(const char *addr, mock_service *const *services, size_t n, int threads, int *port)
{
    mock_metrics *mm = fo_xcalloc(1, sizeof *mm);
    mm->services = services;
    mm->n = n;
    mm->reg = fo_metrics_create();
    declare(mm);
    fo_metrics_process_register(mm->reg);
    fo_metrics_seal(mm->reg, (unsigned)threads + 1);
    fo_error *err = fo_admin_start(addr, mm->reg, &mm->admin);
    if (err != NULL) {
        release(mm);
        return err;
    }
    *port = fo_admin_port(mm->admin);
    the_metrics = mm;
    return NULL;
}

void mock_metrics_set_ready(bool ready)
{
    if (the_metrics != NULL)
        fo_admin_set_ready(the_metrics->admin, ready);
}

void mock_metrics_stop(void)
{
    if (the_metrics == NULL)
        return;
    release(the_metrics);
    the_metrics = NULL;
}

void mock_metrics_call(const mock_service *svc, mock_outcome outcome, const mock_fault *fault)
{
    mock_metrics *mm = the_metrics;
    if (mm == NULL)
        return;
    size_t i = 0;
    while (i < mm->n && mm->services[i] != svc)
        i++;
    if (i == mm->n)
        return;
    fo_metrics_add(mm->reg, mm->series[i].calls[outcome], 1);
    if (fault->delay_us > 0)
        fo_metrics_add(mm->reg, mm->series[i].faults[0], 1);
    if (fault->kind != MOCK_FAULT_NONE)
        fo_metrics_add(mm->reg, mm->series[i].faults[fault->kind], 1);
}
