/* fault.h -- named fault points, compiled into test builds only (layer: base).
 *
 * As SQLite's tests make the Nth malloc or the Nth OS call fail
 * (src/test_malloc.c, SimulateIOError), code that can fail asks fault_hit(P)
 * where the real failure would show, and fails the same way when the answer is
 * true. A test arms one point -- "the Nth hit of P from now fails", once --,
 * runs an operation, disarms, learns whether the fault fired, and repeats with
 * N = 1, 2, ... until a run fires nothing (STYLE.md §7; tests/fault/run.py
 * walks the API that way through the test-only route of api/fault.c).
 *
 * Built with -DTARMAC_FAULTS (the asan build, mk/flags.mk) the points are
 * live. Without it fault_hit() is an inline `false` the compiler drops and
 * nothing else here is defined: the release binary has no hook and no route.
 *
 * The points:
 *   FAULT_ALLOC  try_malloc, try_realloc and arena_try_alloc return NULL, and
 *                so every struct buf growth fails (RC_NOMEM). These are the
 *                allocations whose size a client picks, whose failure must be
 *                a clean 503/413. xmalloc & co. are deliberately not a point:
 *                they abort on OOM by contract (alloc.h) and no caller checks
 *                them, so a failing xmalloc could only abort (nothing learnt)
 *                or return NULL into code that trusts it (corrupted state).
 *                jansson and SQLite allocate through their own paths
 *                (jansson through xmalloc, cli.c) and are not counted either.
 *   FAULT_STEP   a database statement fails with an I/O error before it runs:
 *                every step of the engine's (store/sqlite.c wraps the
 *                engine's step function at link time in test builds) and
 *                store_exec (BEGIN, COMMIT, SAVEPOINT, DDL). Reads on a
 *                worker's connection count too.
 *   FAULT_WRITE  a file write fails: the writer connection's database and WAL
 *                writes (store/fault.c's VFS: a write I/O error, which SQLite
 *                may answer by rolling the transaction back) and uploaded
 *                files (core/files/files.c: EIO). One counter for both.
 *   FAULT_SYNC   an fsync of the writer connection's files fails (an fsync
 *                I/O error from store/fault.c's VFS).
 *   FAULT_DB_ALLOC  SQLite's own allocations fail (store/sqlite.c installs
 *                a counting allocator before main): a prepare, step, bind
 *                or column read runs out of memory on any connection.
 *
 * The counters are process-wide atomics: a hit on any thread counts, because
 * one request's work spans its worker, the offload pool and the writer
 * thread. Run one operation at a time while a point is armed. */
#ifndef TARMAC_BASE_FAULT_H
#define TARMAC_BASE_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"

enum fault_point {
    FAULT_ALLOC,    /* "alloc": try_malloc, try_realloc, arena_try_alloc give NULL */
    FAULT_STEP,     /* "step": a statement fails with an I/O error before it runs */
    FAULT_WRITE,    /* "write": a database or uploaded-file write fails */
    FAULT_SYNC,     /* "sync": an fsync of the writer's files fails */
    FAULT_DB_ALLOC, /* "db_alloc": SQLite's own malloc or realloc gives NULL */
    FAULT_POINT_COUNT
};

#ifdef TARMAC_FAULTS

/* Counts a hit of p; true when this hit is the armed one and must fail. Any
 * thread; two atomic operations when p is armed, one load otherwise. */
bool fault_hit(enum fault_point p);
/* Arms p: its nth hit from now (nth >= 1) fails, once. Replaces any armed or
 * pending point and resets the counters. Any thread. */
void fault_arm(enum fault_point p, uint64_t nth);
/* As fault_arm, but counting starts at the next fault_request_begin(): the
 * request that arms answers (and the connection reads the next request)
 * without being counted. */
void fault_arm_at_next_request(enum fault_point p, uint64_t nth);
/* Called by the HTTP server as it dispatches a request: starts a pending arm. */
void fault_request_begin(void);
/* Stops counting (and drops a pending arm). Returns whether the armed hit
 * failed; *hits (may be NULL) gets the hits counted while armed. */
bool fault_disarm(uint64_t *hits);
/* "alloc", "step", "write", "sync", "db_alloc" -> the point; false for
 * anything else. */
bool fault_point_parse(struct str name, enum fault_point *out);
/* The point's name, as fault_point_parse reads it. */
const char *fault_point_name(enum fault_point p);

#else

static inline bool fault_hit(enum fault_point p)
{
    (void)p;
    return false;
}

static inline void fault_request_begin(void) {}

#endif

#endif
