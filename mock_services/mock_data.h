/*
 * mock_data: the usage a mock feature service reports, made up but
 * deterministic.
 *
 * A report is a pure function of (feature, customer_id, window): asking twice
 * gives byte-identical replies, so tests and demos can compare runs. A day's
 * events depend only on (feature, customer_id, day), so overlapping windows
 * agree on the days they share. Request checks live here too, so the service
 * answers INVALID_ARGUMENT before generating anything.
 */
#ifndef MOCK_DATA_H
#define MOCK_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "fanout/feature/v1/feature.pb-c.h"
#include "fo_error.h"

#define MOCK_DAY_S INT64_C(86400)
#define MOCK_WINDOW_MAX_S (366 * MOCK_DAY_S)
/* The window 0/0 stands for: this many whole UTC days before today. */
#define MOCK_DEFAULT_WINDOW_DAYS 7

/*
 * Resolves the request's window: 0/0 becomes the MOCK_DEFAULT_WINDOW_DAYS
 * whole UTC days before the day of now_unix; anything else is kept. True
 * when the default was applied.
 */
bool mock_window_resolve(int64_t start, int64_t end, int64_t now_unix, int64_t *out_start, int64_t *out_end);

/*
 * NULL when req can be answered, else FO_STATUS_INVALID_ARGUMENT naming the
 * field: customer_id empty, a negative time, window_end_unix before
 * window_start_unix, or a window longer than MOCK_WINDOW_MAX_S.
 */
fo_error *mock_request_validate(const Fanout__Feature__V1__UsageRequest *req);

/*
 * One generated UsageReport and the storage it points into. msg is ready for
 * protobuf_c_message_pack. All storage is on the heap, so the struct may be
 * moved; msg's strings and arrays are owned here and freed by
 * mock_report_release (metric keys point at static names).
 */
typedef struct mock_report {
    Fanout__Feature__V1__UsageReport msg;
    Fanout__Feature__V1__DailyCount *days;                   /* msg.daily points at these */
    Fanout__Feature__V1__UsageReport__MetricsEntry *metrics; /* msg.metrics points at these */
} mock_report;

/*
 * Fills r with the usage of feature by customer_id over [start, end), which
 * must be resolved and valid (0 <= start <= end, end - start <=
 * MOCK_WINDOW_MAX_S). Aborts only when out of memory.
 */
void mock_report_generate(mock_report *r, const char *feature, const char *customer_id, int64_t start, int64_t end);

/*
 * Frees everything r owns and zeroes it. r was generated or is all zero, so
 * releasing twice is harmless.
 */
void mock_report_release(mock_report *r);

#endif
