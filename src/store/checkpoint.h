/* checkpoint.h -- WAL checkpoints beside the writer, not inside its commits
 * (layer: store; SQLite only).
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL
 * past 1,000 pages: that commit copies the WAL into the database and syncs
 * it before it returns, so one write in a few hundred waits several
 * milliseconds, and with it every write of its group (a create's p99 went
 * from 1.5 to 5 ms when it wrote two more rows: it crossed the line more
 * often). Here the writer's connection only reports its WAL's size after
 * each commit (sqlite3_wal_hook, which replaces the automatic checkpoint);
 * past STORE_CHECKPOINT_PAGES a thread of its own, on its own connection,
 * runs a PASSIVE checkpoint (it never waits for the writer or a reader, and
 * the writer goes on appending meanwhile). Should that thread fall behind
 * (readers pinning old frames keep a checkpoint from finishing), the writer
 * checkpoints itself once the WAL passes STORE_CHECKPOINT_PAGES_MAX pages,
 * so the WAL stays bounded as before. */
#ifndef TARMAC_STORE_CHECKPOINT_H
#define TARMAC_STORE_CHECKPOINT_H

#include "base/rc.h"
#include "store/store.h"

#define STORE_CHECKPOINT_PAGES 1000 /* SQLite's own default */
/* Past STORE_CHECKPOINT_PAGES, a next checkpoint is asked for once the WAL
 * grew this much more. While readers keep the WAL from starting over, the
 * WAL stays past the line: a checkpoint after every commit wrote the same
 * hot pages again each time, with an fsync each (the job benchmark: one
 * checkpoint every second commit, 190 a second). */
#define STORE_CHECKPOINT_STEP 256
#define STORE_CHECKPOINT_PAGES_MAX 16000 /* the writer checkpoints itself past this */

struct store_checkpointer;

/* Starts checkpointing the database at path for the write connection db
 * (the writer thread's). NULL for an engine without a WAL of ours
 * (PostgreSQL), or when the thread cannot start: SQLite's automatic
 * checkpoint then stays. */
struct store_checkpointer *store_checkpointer_start(const char *path, struct store_conn *db);
/* Stops the thread (a checkpoint under way finishes first) and closes its
 * connection; before db closes. Accepts NULL. */
void store_checkpointer_stop(struct store_checkpointer *cp);

#endif
