/*
 * fuzz_mock_fault: mock_fault_parse on any bytes, as the x-mock-fault header value, for a few
 * features (one the header is likely to name, one it is not, the empty name). Errors are
 * expected; a crash, a leak, a sanitizer report or a broken promise of mock_fault.h is a finding.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "mock_fault.h"

static const char *const features[] = {"tours", "offers", "leads", "a", ""};

static bool is_zero(const mock_fault *f)
{
    return f->delay_us == 0 && f->kind == MOCK_FAULT_NONE && f->error_code == FO_STATUS_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so reading past the header's end is caught by ASan. */
    char *header = malloc(size > 0 ? size : 1);
    if (header == NULL)
        abort();
    memcpy(header, data, size);
    for (size_t i = 0; i < 2 * sizeof features / sizeof features[0]; i++) {
        mock_fault f;
        memset(&f, 0xa5, sizeof f);
        /* Each feature as its first attempt and as its second (@attempt=N). */
        fo_error *err = mock_fault_parse(header, size, features[i / 2], (int)(i % 2), &f);
        if (err != NULL) {
            if (err->code != FO_STATUS_INVALID_ARGUMENT || !is_zero(&f))
                abort();
            fo_error_free(err);
            continue;
        }
        if (f.delay_us < 0)
            abort();
        /* error_code is set exactly when the fault is an error, and never OK then. */
        if ((f.kind == MOCK_FAULT_ERROR) != (f.error_code != FO_STATUS_OK))
            abort();
    }
    free(header);
    return 0;
}
