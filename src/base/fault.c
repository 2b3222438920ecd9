/* fault.c -- see fault.h. Empty unless built with -DTARMAC_FAULTS.
 *
 * One point is counted at a time: `active` holds it (or -1), and a hit of any
 * other point costs one relaxed load. `pending` holds an arm that starts at
 * the next request. With TARMAC_FAULT_TRACE set in the environment, a fault
 * that fires prints the stack that met it to stderr (sanitizer builds), so a
 * failing walk names the code that mishandled it. */
#include "base/fault.h"

#ifdef TARMAC_FAULTS

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

/* In enum fault_point's order. */
static const char *const point_names[FAULT_POINT_COUNT] = {"alloc", "step", "write", "sync",
                                                           "db_alloc"};

static atomic_int active = -1;
static atomic_int pending = -1;
static atomic_uint_fast64_t nth;
static atomic_uint_fast64_t pending_nth;
static atomic_uint_fast64_t hits;
static atomic_bool has_fired;

static bool is_tracing(void)
{
    static int wanted = -1; /* racy first read is harmless: getenv is stable */
    if (wanted < 0)
        wanted = getenv("TARMAC_FAULT_TRACE") != NULL;
    return wanted;
}

static void trace(enum fault_point p, uint64_t n)
{
    if (!is_tracing())
        return;
    fprintf(stderr, "fault: %s #%llu fails here\n", point_names[p], (unsigned long long)n);
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_print_stack_trace();
#endif
}

bool fault_hit(enum fault_point p)
{
    if (atomic_load_explicit(&active, memory_order_acquire) != (int)p)
        return false;
    uint64_t n = atomic_fetch_add(&hits, 1) + 1;
    if (n != atomic_load(&nth))
        return false;
    atomic_store(&has_fired, true);
    trace(p, n);
    return true;
}

static void start(enum fault_point p, uint64_t n)
{
    atomic_store(&active, -1);
    atomic_store(&nth, n ? n : 1);
    atomic_store(&hits, 0);
    atomic_store(&has_fired, false);
    atomic_store_explicit(&active, (int)p, memory_order_release);
}

void fault_arm(enum fault_point p, uint64_t n)
{
    atomic_store(&pending, -1);
    start(p, n);
}

void fault_arm_at_next_request(enum fault_point p, uint64_t n)
{
    if (is_tracing())
        fprintf(stderr, "fault: armed %s #%llu\n", point_names[p], (unsigned long long)n);
    atomic_store(&active, -1);
    atomic_store(&hits, 0);
    atomic_store(&has_fired, false);
    atomic_store(&pending_nth, n);
    atomic_store(&pending, (int)p);
}

void fault_request_begin(void)
{
    if (atomic_load_explicit(&pending, memory_order_relaxed) < 0)
        return;
    int p = atomic_exchange(&pending, -1);
    if (p >= 0)
        start((enum fault_point)p, atomic_load(&pending_nth));
}

bool fault_disarm(uint64_t *out_hits)
{
    atomic_store(&pending, -1);
    atomic_store(&active, -1);
    if (out_hits)
        *out_hits = atomic_load(&hits);
    return atomic_load(&has_fired);
}

bool fault_point_parse(struct str name, enum fault_point *out)
{
    for (int i = 0; i < FAULT_POINT_COUNT; i++) {
        if (str_eq(name, str_from_cstr(point_names[i]))) {
            *out = (enum fault_point)i;
            return true;
        }
    }
    return false;
}

const char *fault_point_name(enum fault_point p)
{
    return (unsigned)p < FAULT_POINT_COUNT ? point_names[p] : "?";
}

#endif
