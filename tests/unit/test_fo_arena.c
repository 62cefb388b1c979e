/* Unit tests of fo_arena: alignment, chunk growth, big allocations, protobuf-c use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fanout/feature/v1/feature.pb-c.h"
#include "fo_arena.h"

static void test_allocations_are_aligned_and_disjoint(void **state)
{
    (void)state;
    fo_arena a;
    fo_arena_init(&a);
    unsigned char *prev = NULL;
    for (size_t n = 1; n < 3000; n += 7) {
        unsigned char *p = fo_arena_alloc(&a, n);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        memset(p, 0xab, n); /* ASan catches a write past a chunk's end */
        assert_ptr_not_equal(p, prev);
        prev = p;
    }
    fo_arena_release(&a);
    assert_null(a.chunks);
}

static void test_big_allocation_keeps_room_in_the_current_chunk(void **state)
{
    (void)state;
    fo_arena a;
    fo_arena_init(&a);
    unsigned char *small = fo_arena_alloc(&a, 16);
    size_t used = a.used;
    unsigned char *big = fo_arena_alloc(&a, 1 << 20);
    memset(big, 1, 1 << 20);
    assert_int_equal(a.used, used);
    unsigned char *next = fo_arena_alloc(&a, 16);
    assert_ptr_equal(next, small + used);
    fo_arena_release(&a);
}

static void test_big_first_allocation(void **state)
{
    (void)state;
    fo_arena a;
    fo_arena_init(&a);
    memset(fo_arena_alloc(&a, 100000), 2, 100000);
    memset(fo_arena_alloc(&a, 10), 3, 10);
    fo_arena_release(&a);
    /* Usable again after a release. */
    memset(fo_arena_alloc(&a, 10), 4, 10);
    fo_arena_release(&a);
}

static void test_protobuf_unpack_into_the_arena(void **state)
{
    (void)state;
    Fanout__Feature__V1__DailyCount d1 = FANOUT__FEATURE__V1__DAILY_COUNT__INIT, d2 = d1;
    d1.day_unix = 86400;
    d1.events = 3;
    d2.day_unix = 2 * 86400;
    d2.events = 4;
    Fanout__Feature__V1__DailyCount *daily[] = {&d1, &d2};
    Fanout__Feature__V1__UsageReport r = FANOUT__FEATURE__V1__USAGE_REPORT__INIT;
    r.feature = "tours";
    r.customer_id = "c-42";
    r.events = 7;
    r.n_daily = 2;
    r.daily = daily;
    uint8_t buf[256];
    size_t len = fanout__feature__v1__usage_report__pack(&r, buf);

    fo_arena a;
    fo_arena_init(&a);
    Fanout__Feature__V1__UsageReport *got = fanout__feature__v1__usage_report__unpack(fo_arena_protobuf(&a), len, buf);
    assert_non_null(got);
    assert_string_equal(got->feature, "tours");
    assert_string_equal(got->customer_id, "c-42");
    assert_int_equal(got->n_daily, 2);
    assert_int_equal(got->daily[1]->events, 4);
    /* Freeing through the allocator is a no-op; the arena owns the memory. */
    fanout__feature__v1__usage_report__free_unpacked(got, fo_arena_protobuf(&a));
    fo_arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocations_are_aligned_and_disjoint),
        cmocka_unit_test(test_big_allocation_keeps_room_in_the_current_chunk),
        cmocka_unit_test(test_big_first_allocation),
        cmocka_unit_test(test_protobuf_unpack_into_the_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
