/* cli_output: JSON and table output of fanout-cli. */
#include "cli_output.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fo_error.h"
#include "fo_pbjson.h"

void cli_output_json(const ProtobufCMessage *msg, bool pretty)
{
    char *text = fo_pbjson_render(msg, pretty);
    puts(text);
    /* Streamed results should show the moment they arrive, also through a pipe. */
    fflush(stdout);
    free(text);
}

/* "ok", or the error kind and its status code: "DEADLINE (DEADLINE_EXCEEDED)". */
static void outcome_text(const Fanout__V1__FeatureResult *r, char *buf, size_t n)
{
    if (r->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE) {
        snprintf(buf, n, "ok");
    } else if (r->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_ERROR && r->error != NULL) {
        const ProtobufCEnumValue *kind =
            protobuf_c_enum_descriptor_get_value(&fanout__v1__error_kind__descriptor, (int)r->error->kind);
        if (kind != NULL)
            snprintf(buf, n, "%s (%s)", kind->name, fo_status_name(r->error->code));
        else
            snprintf(buf, n, "%d (%s)", (int)r->error->kind, fo_status_name(r->error->code));
    } else {
        snprintf(buf, n, "-");
    }
}

static int max_int(int a, int b) { return a > b ? a : b; }

/* Widths that fit every result of resp. */
static cli_table table_fit(const Fanout__V1__AnalyticsResponse *resp)
{
    cli_table t = {.feature = (int)strlen("FEATURE"), .outcome = (int)strlen("OUTCOME")};
    char outcome[128];
    for (size_t i = 0; i < resp->n_results; i++) {
        outcome_text(resp->results[i], outcome, sizeof outcome);
        t.feature = max_int(t.feature, (int)strlen(resp->results[i]->feature));
        t.outcome = max_int(t.outcome, (int)strlen(outcome));
    }
    return t;
}

cli_table cli_table_fixed(void)
{
    /* Room for the usual feature names and for the longest kind with its code. */
    return (cli_table){.feature = 16, .outcome = 40};
}

void cli_output_header(const cli_table *t)
{
    printf("%3s  %-*s  %-*s  %11s  %s\n", "#", t->feature, "FEATURE", t->outcome, "OUTCOME", "LATENCY", "EVENTS");
}

void cli_output_row(const cli_table *t, const Fanout__V1__FeatureResult *r)
{
    char outcome[128], latency[32], events[32] = "-";
    outcome_text(r, outcome, sizeof outcome);
    snprintf(latency, sizeof latency, "%.1f ms", (double)r->latency_us / 1000.0);
    if (r->outcome_case == FANOUT__V1__FEATURE_RESULT__OUTCOME_USAGE && r->usage != NULL)
        snprintf(events, sizeof events, "%" PRId64, r->usage->events);
    printf("%3d  %-*s  %-*s  %11s  %s\n", (int)r->index, t->feature, r->feature, t->outcome, outcome, latency, events);
    fflush(stdout);
}

static void print_counts(long succeeded, long failed, bool partial, int64_t elapsed_us)
{
    printf("succeeded %ld  failed %ld  partial %s  elapsed %.1f ms", succeeded, failed, partial ? "yes" : "no",
           (double)elapsed_us / 1000.0);
}

void cli_output_summary(const Fanout__V1__AnalyticsResponse *resp)
{
    cli_table t = table_fit(resp);
    cli_output_header(&t);
    for (size_t i = 0; i < resp->n_results; i++)
        cli_output_row(&t, resp->results[i]);
    print_counts(resp->succeeded, resp->failed, resp->partial, resp->elapsed_us);
    const Fanout__V1__Totals *tot = resp->totals;
    if (tot != NULL) {
        printf("  events %" PRId64 "  active users %" PRId64, tot->events, tot->active_users);
        if (tot->top_feature != NULL && tot->top_feature[0] != '\0')
            printf("  top feature %s", tot->top_feature);
    }
    putchar('\n');
}

void cli_output_stream_footer(size_t succeeded, size_t failed, int64_t elapsed_us)
{
    print_counts((long)succeeded, (long)failed, failed > 0, elapsed_us);
    putchar('\n');
}
