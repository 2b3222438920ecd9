/* worker.h -- what one worker thread holds for core (layer: core).
 *
 * Each worker thread has a struct core_worker: its own read connection (so a
 * read never leaves the loop), the caches on that connection, and its
 * mailbox (so a write's answer comes back to the loop). Reads, writes, auth
 * and realtime take it. core/app.h's core_worker_init() fills it in; what it
 * holds of the app (its directory, writer, offload pool, event bus, realtime
 * registry, password cost) is copied there, so the folders that take a
 * worker never include core/app.h.
 * Worker's thread only, except where a field says otherwise. */
#ifndef TARMAC_CORE_RECORD_WORKER_H
#define TARMAC_CORE_RECORD_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/credential/password.h"
#include "core/files/storage.h"
#include "store/store.h"

struct core_app;
struct core_collection;
struct core_event_bus;
struct core_count_cache;
struct core_page_cache;
struct core_realtime;
struct core_rt_local;
struct net_mailbox;
struct net_offload;
struct store_writer;

/* The worker's statements for "record by id, no rule" (public or superuser
 * reads), found by collection without building and hashing their SQL: the
 * most frequent query of a mobile backend. Entries of an older schema
 * snapshot miss and are replaced. */
#define CORE_VIEW_CACHE 16
struct core_view_stmt {
    const struct core_collection *c;
    uint64_t schema_version;
    struct store_stmt *stmt; /* the connection cache's, kept (store_keep) while here */
};

struct core_token_cache;
struct core_auth_records;
struct core_tasks;

struct core_worker {
    struct core_app *app; /* the owner (core/app.h), for what composes folders */
    /* The statements of db (a task swaps both for its connection's:
     * core/task.h); own_views unless a task runs. */
    struct core_view_stmt *views;
    struct core_view_stmt own_views[CORE_VIEW_CACHE];
    struct store_conn *db;       /* this worker's read connection */
    struct store_writer *writer; /* the app's writer thread */
    struct net_offload *offload; /* the app's pool for slow work (hashes, files) */
    const char *dir;             /* the app's data directory */
    core_storage_fn *storage;    /* the file storage in use now, with storage_ctx */
    void *storage_ctx;
    struct core_password_params password;   /* the app's cost for new hashes */
    struct net_mailbox *mailbox;            /* the worker loop's, for writer replies */
    struct core_count_cache *counts;        /* list totals, see count_cache.h */
    struct core_page_cache *pages;          /* whole list responses, same rule */
    struct core_page_cache *records;        /* whole record views, same rule (record_read.c) */
    struct core_token_cache *tokens;        /* auth tokens verified lately (token_cache.h) */
    struct core_auth_records *auth_records; /* their records, while unchanged (auth/auth.h) */
    bool in_read_tx;                        /* a read transaction spans this loop iteration */
    const struct core_event_bus *events;    /* the app's listeners of record changes */
    struct core_realtime *realtime;         /* the app's registry of realtime clients */
    struct core_rt_local *rt;               /* this worker's realtime clients (realtime.c) */
    struct core_tasks *tasks;     /* on a remote engine: requests as tasks (core/task.h) */
    struct core_vectors *vectors; /* the app's vector indexes (record/vector_index.h) */
};

/* Starts (once per loop iteration) a read transaction on the worker's
 * connection, so the requests of one iteration share one snapshot and one
 * round of the engine's locks (SQLite's fcntl calls were ~12% of a record
 * read). A write acknowledged in an earlier iteration is always visible.
 * Nothing happens when one is open already or the worker has no connection;
 * when it cannot start, reads run in transactions of their own. */
void core_worker_begin_read(struct core_worker *cw);
/* Ends it. The worker calls this after each loop iteration, and a write's
 * completion before handing the result on, so the next read sees the write. */
void core_worker_end_read(struct core_worker *cw);

#endif
