/* schema_change.h -- collection create, update, delete, truncate, import (layer: core).
 *
 * A change is a writer job: it validates the new definition against the
 * current snapshot (names, fields, indexes, rules compiled with the filter
 * compiler), changes the tables inside the writer's transaction, builds the
 * next snapshot, and installs it on the writer thread right after the commit,
 * so snapshots change in commit order. A failed change leaves data, tables
 * and snapshot as they were. */
#ifndef TARMAC_CORE_SCHEMA_CHANGE_H
#define TARMAC_CORE_SCHEMA_CHANGE_H

#include <jansson.h>

#include "core/app.h"
#include "core/problem.h"

enum core_schema_op {
    CORE_SCHEMA_CREATE,
    CORE_SCHEMA_UPDATE,
    CORE_SCHEMA_DELETE,
    CORE_SCHEMA_TRUNCATE,
    CORE_SCHEMA_IMPORT,
    CORE_SCHEMA_RUN, /* the job's run function (core_schema_run) */
};

/* Changes chained inside one writer transaction (a migration): each step is
 * checked as the REST API checks it, against the schema the previous steps
 * left. A step that fails leaves cur as it was, but may have changed tables:
 * the caller fails the whole transaction then. */
struct core_schema_tx {
    struct store_conn *db;
    struct core_schema *cur; /* the schema as the steps left it */
    bool owns_cur;           /* cur is a new snapshot (not the app's) */
    json_t *dropped_files;   /* as core_schema_job's, borrowed */
    json_t *emptied_collections;
};
typedef enum rc core_schema_tx_fn(struct core_schema_tx *tx, void *ctx);

/* Creates def (a collection's JSON, as POST /api/collections takes it), or
 * updates the collection its id, else its name, names (as PATCH). *id_out
 * (freed first) takes the collection's id. RC_INVALID with p filled. */
enum rc core_schema_tx_save(struct core_schema_tx *tx, json_t *def, struct core_problem *p,
                            char **id_out);
/* Deletes the collection of that id or name: RC_NOT_FOUND, RC_INVALID (a
 * system collection, one a relation references) with p. */
enum rc core_schema_tx_delete(struct core_schema_tx *tx, struct str name_or_id,
                              struct core_problem *p);
/* PUT /api/collections/import's body {collections, deleteMissing}. */
enum rc core_schema_tx_import(struct core_schema_tx *tx, json_t *body, struct core_problem *p);

/* Most records whose files an update dropping a file field removes (the
 * rest stay on disk, unreachable, and a warning is logged). */
#define CORE_SCHEMA_DROPPED_MAX 100000

struct core_schema_job;
typedef void core_schema_done_fn(struct core_schema_job *job);

struct core_schema_job {
    enum core_schema_op op;
    struct core_app *app;
    json_t *input;          /* create/update: collection JSON; import: the request body (owned) */
    char *target_id;        /* update/delete/truncate: the collection's id (owned) */
    core_schema_tx_fn *run; /* CORE_SCHEMA_RUN: the steps, on the writer thread */
    void *run_ctx;
    /* results */
    enum rc rc;
    struct core_problem problem;
    char *result_id; /* create/update: the collection's id (owned) */
    /* {collectionId: [[recordId, [names]]]} of the file fields dropped
     * (update, import), and [collectionId] of the collections left without
     * records (delete, truncate, an import's deleteMissing); both owned,
     * for removing their files after the commit */
    json_t *dropped_files;
    json_t *emptied_collections;
    struct core_schema *next;
    struct core_worker *cw;
    core_schema_done_fn *done;
    void *ctx;
    struct core_schema_job *waiting_next; /* the app's queue of schema changes */
    bool is_reload;         /* another instance's change read back: not told to the others */
    uint64_t change_ticket; /* app->on_local_change's, for the answer to wait on */
};

/* Queues the change; job->done runs on cw's loop after the commit (cw NULL:
 * on the writer thread, for the CLI). Changes reach the writer one at a
 * time, in submission order, each after the previous one's commit: two in
 * one group commit would both build on the same snapshot, and the second
 * swapped in would drop the first from memory. */
void core_schema_submit(struct core_app *app, struct core_worker *cw, struct core_schema_job *job);
/* Runs fn(tx, ctx) as one schema change (one transaction on the writer,
 * queued after the changes before it; the snapshot installed after the
 * commit) and waits for it: for threads without a loop (the CLI, start-up).
 * fn may run more than once (store/writer.h). Returns what fn returned (or
 * RC_IO when the commit failed); *p (initialised) takes the job's problem.
 * After a commit, the files of dropped file fields and deleted collections
 * are removed on the app's offload pool. */
enum rc core_schema_run(struct core_app *app, core_schema_tx_fn *fn, void *ctx,
                        struct core_problem *p);
/* Reads the collections again from the database and installs them as the
 * next snapshot, queued as a change (after those before it): another
 * instance changed the schema (--redis). Any thread; returns at once;
 * done(ctx, rc) (may be NULL) runs on the writer thread once installed (or
 * failed). */
void core_schema_reload(struct core_app *app, void (*done)(void *ctx, enum rc rc), void *ctx);
/* Frees what the job owns. */
void core_schema_job_cleanup(struct core_schema_job *job);

#endif
