/* test_it_mock: fixtures and checks shared by the mock services' integration tests. */
#include "test_it_mock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fo_time.h"
#include "mock_data.h"

int it_mock_start_listings(void **state)
{
    *state = testproc_mock("listings", NULL);
    return *state == NULL ? -1 : 0;
}

int it_mock_stop(void **state)
{
    tool_proc *p = *state;
    *state = NULL;
    if (p == NULL)
        return 0;
    /* One that exited already did so in the test, which judged how. */
    int status = tool_proc_exited(p) ? 0 : tool_proc_stop(p, SIGTERM, IT_STOP_WAIT_MS);
    if (status != 0)
        print_error("pid %d did not stop cleanly on SIGTERM: waitpid status 0x%x\n", (int)p->pid, status);
    tool_proc_free(p);
    return status == 0 ? 0 : -1;
}

int it_mock_rpc_init(void **state)
{
    (void)state;
    fo_rpc_init();
    return 0;
}

int it_mock_rpc_shutdown(void **state)
{
    (void)state;
    fo_rpc_shutdown();
    return 0;
}

void it_mock_usage(const tool_proc *p, const char *mock_fault, tool_rpc_result *out)
{
    tool_rpc_usage(tool_proc_field(p, "address"), IT_CUSTOMER, IT_WINDOW_START, IT_WINDOW_END, IT_CALL_DEADLINE_MS,
                   mock_fault, out);
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len > 0 ? *len : 1);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

uint8_t *it_mock_pack_reply(const tool_rpc_result *r, size_t *len)
{
    assert_non_null(r->reply);
    return pack(r->reply, len);
}

void it_mock_assert_report(const tool_rpc_result *r, const char *feature, const char *customer, int64_t start,
                           int64_t end)
{
    assert_int_equal(r->status, FO_STATUS_OK);
    const Fanout__Feature__V1__UsageReport *got = tool_rpc_usage_reply(r);
    assert_non_null(got);
    /* Named fields first, so a mismatch says what differs before the bytes do. */
    assert_string_equal(got->feature, feature);
    assert_string_equal(got->customer_id, customer);
    int64_t sum = 0;
    for (size_t i = 0; i < got->n_daily; i++)
        sum += got->daily[i]->events;
    assert_int_equal(sum, got->events);

    mock_report want;
    mock_report_generate(&want, feature, customer, start, end);
    size_t got_len, want_len;
    uint8_t *got_bytes = it_mock_pack_reply(r, &got_len);
    uint8_t *want_bytes = pack(&want.msg.base, &want_len);
    mock_report_release(&want);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got_bytes, want_bytes, want_len);
    free(got_bytes);
    free(want_bytes);
}

bool it_mock_wait_exit(tool_proc *p, int64_t timeout_ms)
{
    int64_t until = fo_now_ns() + timeout_ms * FO_NS_PER_MS;
    while (!tool_proc_exited(p)) {
        if (fo_now_ns() >= until)
            return false;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000L}, NULL);
    }
    return true;
}

/* The first line of out that is an object with these event and feature values, or NULL. */
static json_t *find_event(char *out, const char *event, const char *feature)
{
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_t *obj = json_loads(line, 0, NULL);
        const char *ev = json_string_value(json_object_get(obj, "event"));
        const char *feat = json_string_value(json_object_get(obj, "feature"));
        if (ev != NULL && feat != NULL && strcmp(ev, event) == 0 && strcmp(feat, feature) == 0)
            return obj;
        json_decref(obj);
    }
    return NULL;
}

json_t *it_mock_wait_event(const tool_proc *p, const char *event, const char *feature, int64_t timeout_ms)
{
    int64_t until = fo_now_ns() + timeout_ms * FO_NS_PER_MS;
    for (;;) {
        char *out = tool_proc_output(p);
        json_t *found = find_event(out, event, feature);
        free(out);
        if (found != NULL || fo_now_ns() >= until)
            return found;
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000L}, NULL);
    }
}
