/* fault.h -- I/O fault injection for the writer's connection (layer: store).
 *
 * A test hook, as SQLite's own tests make the OS layer fail (SimulateIOError):
 * a VFS that wraps the default one and makes reads, writes or syncs of the
 * files it opens fail on the nth call or at a rate. Once installed, the write
 * connection (store_open in WRITE mode) is opened through it; read
 * connections never are, so a test sees what the writer does with a failing
 * disk and reads the outcome back unharmed. Nothing is installed unless a
 * test calls store_fault_install() or tarmac serve finds
 * TARMAC_TEST_IO_FAULTS (armed once the server has started, so start-up
 * never fails by it); disarmed, every call goes straight through. Test
 * builds (-DTARMAC_FAULTS) always install it: base/fault.h's write and sync
 * points fail the writer's xWrite and xSync here too. */
#ifndef TARMAC_STORE_FAULT_H
#define TARMAC_STORE_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/rc.h"
#include "base/str.h"

enum store_fault_op {
    STORE_FAULT_READ = 1,  /* xRead: SQLITE_IOERR_READ */
    STORE_FAULT_WRITE = 2, /* xWrite: SQLITE_IOERR_WRITE */
    STORE_FAULT_SYNC = 4,  /* xSync: SQLITE_IOERR_FSYNC */
};

struct store_fault_plan {
    unsigned ops;      /* enum store_fault_op bits: the calls counted and failed */
    uint64_t nth;      /* > 0: the nth counted call after arming fails (once) */
    uint32_t rate_ppm; /* > 0: each counted call fails with this chance, per million */
    uint64_t seed;     /* makes the rate's choices repeatable */
};

/* Registers the fault VFS (not as the default); later WRITE connections use
 * it. Idempotent and thread-safe. RC_INTERNAL if SQLite refuses it. */
enum rc store_fault_install(void);
/* True once store_fault_install() succeeded. */
bool store_fault_is_installed(void);
/* The VFS name for store_open's WRITE connection: NULL (the default
 * VFS) unless installed. */
const char *store_fault_vfs_name(void);
/* Starts failing calls by plan (copied); resets the counters. Any thread. */
void store_fault_arm(const struct store_fault_plan *plan);
/* Stops failing calls; returns how many failed since store_fault_arm(). */
uint64_t store_fault_disarm(void);
/* How many calls failed since store_fault_arm(). */
uint64_t store_fault_fired(void);
/* Parses TARMAC_TEST_IO_FAULTS's "rate=0.03,seed=7,ops=rw": rate a fraction,
 * or nth=N (or both); ops any of r, w, s (default rw); seed default 1.
 * RC_INVALID on a malformed spec. */
enum rc store_fault_parse(struct str spec, struct store_fault_plan *out);

#endif
