/*
 * fo_error: the one error value of the whole program.
 *
 * An error is a gRPC status code (google.rpc.Code numbering, so modules that
 * never include <grpc/grpc.h> can speak it), a message, and the origin: the
 * file:line where FO_ERROR raised it. The origin plays the part of the stack
 * line Go's RunAsyncAllowErrors prints for a recovered panic.
 *
 * Ownership: an fo_error has exactly one owner, who frees it with
 * fo_error_free(). Functions that take an `fo_error *` argument named `err`
 * take ownership of it; functions that return one give ownership away.
 */
#ifndef FO_ERROR_H
#define FO_ERROR_H

#include <stdbool.h>

typedef enum fo_status {
    FO_STATUS_OK = 0,
    FO_STATUS_CANCELLED = 1,
    FO_STATUS_UNKNOWN = 2,
    FO_STATUS_INVALID_ARGUMENT = 3,
    FO_STATUS_DEADLINE_EXCEEDED = 4,
    FO_STATUS_NOT_FOUND = 5,
    FO_STATUS_ALREADY_EXISTS = 6,
    FO_STATUS_PERMISSION_DENIED = 7,
    FO_STATUS_RESOURCE_EXHAUSTED = 8,
    FO_STATUS_FAILED_PRECONDITION = 9,
    FO_STATUS_ABORTED = 10,
    FO_STATUS_OUT_OF_RANGE = 11,
    FO_STATUS_UNIMPLEMENTED = 12,
    FO_STATUS_INTERNAL = 13,
    FO_STATUS_UNAVAILABLE = 14,
    FO_STATUS_DATA_LOSS = 15,
    FO_STATUS_UNAUTHENTICATED = 16,
} fo_status;

#define FO_STATUS_COUNT 17

typedef struct fo_error {
    fo_status code;
    char *message;    /* owned, NUL-terminated, never NULL */
    const char *file; /* static: __FILE__ of the raising site */
    int line;
} fo_error;

/* Raise an error at this source line: FO_ERROR(FO_STATUS_NOT_FOUND, "no %s", x). */
#define FO_ERROR(code, ...) fo_error_new_at((code), __FILE__, __LINE__, __VA_ARGS__)

fo_error *fo_error_new_at(fo_status code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
fo_error *fo_error_copy(const fo_error *e);
void fo_error_free(fo_error *e);

/* "UNAVAILABLE" for 14; "UNKNOWN" for codes out of range. */
const char *fo_status_name(int code);
/* Parses "UNAVAILABLE", "unavailable" or "14"; false when it is neither. */
bool fo_status_parse(const char *text, fo_status *out);

#endif
