/*
 * fo_server_memory: the memory budget (fo_server_opts.max_memory_mb), and
 * memory given back after a flood.
 *
 * gRPC's resource quota, sized to the budget, makes its transports shrink
 * their buffers and close idle connections under pressure, but it does not
 * see the process's own memory, and past it gRPC cancels calls already
 * admitted. So the budget is kept here first, on the process's resident
 * memory, which is what a cgroup limit counts: one thread reads it every
 * SAMPLE_NS, and from HIGH of the budget until it is back under LOW, new
 * calls are refused with RESOURCE_EXHAUSTED before any work (slot_arrived
 * asks fo_server_memory_over: one atomic load). Calls already admitted
 * finish; their memory comes back as they do.
 *
 * An allocator keeps freed memory for reuse, so after a flood the resident
 * size would stay near its peak (and keep the budget's refusals on): the
 * thread hands free pages back (release_memory: jemalloc, which the programs
 * link, purges its arenas; glibc's malloc_trim where it is the allocator)
 * when the resident size is twice its level at start, has grown since the
 * last release (or RETRIM_NS have passed since it) and stopped growing a
 * second ago; and every OVER_TRIM_NS while over the budget. jemalloc matters:
 * glibc gives back only whole free pages, and after a flood a few MB still in
 * use are spread over tens of MB of its heaps.
 */
#include "fo_server_internal.h"

#include <fcntl.h>
#ifdef FANOUT_JEMALLOC
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "fo_log.h"
#include "fo_time.h"

#define MIB (1024LL * 1024)
#define SAMPLE_NS 10000000LL
#define TRIM_NS 1000000000LL
#define OVER_TRIM_NS 100000000LL
#define RETRIM_NS 5000000000LL
/* Refusals from 90% of the budget until back under 80%. */
#define HIGH_PERCENT 90
#define LOW_PERCENT 80
/* Trimming is worth it above this many times the start's level, when this much came since the last. */
#define TRIM_FACTOR 2
#define TRIM_STEP (8 * MIB)

static struct {
    pthread_once_t once;
    atomic_llong budget; /* bytes: the largest budget a server of the process asked for */
    atomic_bool over;
    int statm;
    long page;
} memory = {.once = PTHREAD_ONCE_INIT, .statm = -1};

/* The resident size in bytes, from /proc/self/statm; 0 when unreadable. */
static int64_t resident(void)
{
    char text[128];
    ssize_t n = pread(memory.statm, text, sizeof text - 1, 0);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    long long size = 0, pages = 0;
    if (sscanf(text, "%lld %lld", &size, &pages) != 2)
        return 0;
    return (int64_t)pages * memory.page;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000LL), .tv_nsec = (long)(ns % 1000000000LL)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Flips the refusals on or off, with a log line each way. */
static void set_over(bool over, int64_t rss, int64_t budget)
{
    if (atomic_exchange(&memory.over, over) == over)
        return;
    fo_log(over ? FO_LOG_WARN : FO_LOG_INFO,
           json_pack("{s:s, s:s, s:I, s:I}", "event", "memory_budget", "state", over ? "refusing" : "accepting",
                     "rss_mb", (json_int_t)(rss / MIB), "max_memory_mb", (json_int_t)(budget / MIB)));
}

#ifdef FANOUT_JEMALLOC
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* Every arena's unused pages back to the system now, not after jemalloc's decay (which needs allocations to run). */
static void release_memory(void) { mallctl("arena." STRINGIFY(MALLCTL_ARENAS_ALL) ".purge", NULL, NULL, NULL, 0); }

static void allocator_setup(void) {}
#else
#define MMAP_THRESHOLD (1 << 20)
#define TRIM_THRESHOLD (8 << 20)

static void release_memory(void) { malloc_trim(0); }

/*
 * Fixed thresholds: glibc otherwise raises both after freeing one large
 * block, and then keeps up to twice its size free at the top of each
 * thread's heap, which malloc_trim does not touch (it trims the main
 * heap's top and the free pages inside the heaps, not other heaps' tops).
 */
static void allocator_setup(void)
{
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
}
#endif

static void *monitor_main(void *arg)
{
    (void)arg;
    int64_t start = resident(), last_rss = start, last_trim = 0, grew_at = 0, trimmed_to = start;
    for (;;) {
        sleep_ns(SAMPLE_NS);
        int64_t rss = resident(), budget = atomic_load(&memory.budget), now = fo_now_ns();
        if (rss >= budget / 100 * HIGH_PERCENT)
            set_over(true, rss, budget);
        else if (rss < budget / 100 * LOW_PERCENT)
            set_over(false, rss, budget);
        if (rss > last_rss)
            grew_at = now;
        last_rss = rss;
        /* Grown since the last trim, or trimmed while the memory was still in use (a flood's
         * last calls): try again every RETRIM_NS while swollen. */
        bool swollen = rss > start * TRIM_FACTOR && (rss > trimmed_to + TRIM_STEP || now - last_trim >= RETRIM_NS);
        bool settled = now - grew_at >= TRIM_NS && now - last_trim >= TRIM_NS;
        bool over = atomic_load(&memory.over);
        if ((over && now - last_trim >= OVER_TRIM_NS) || (swollen && settled)) {
            release_memory();
            last_trim = now;
            last_rss = trimmed_to = resident();
        }
    }
    return NULL;
}

static void monitor_start(void)
{
    allocator_setup();
    memory.page = sysconf(_SC_PAGESIZE);
    memory.statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (memory.statm < 0)
        return; /* no /proc: no budget but gRPC's quota */
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attr, monitor_main, NULL) != 0)
        abort();
    pthread_attr_destroy(&attr);
}

void fo_server_memory_configure(int64_t max_memory_mb)
{
    long long bytes = (long long)max_memory_mb * MIB, budget = atomic_load(&memory.budget);
    while (budget < bytes && !atomic_compare_exchange_weak(&memory.budget, &budget, bytes)) {
    }
    pthread_once(&memory.once, monitor_start);
}

bool fo_server_memory_over(void) { return atomic_load_explicit(&memory.over, memory_order_relaxed); }
