/* app.h -- the root object of the product (layer: core).
 *
 * One struct core_app per process: the data directory, the writer thread, the
 * current schema snapshot, the settings. Workers each hold a struct
 * core_worker (core/record/worker.h): their own read connection and their
 * mailbox, so a read never leaves the loop and a write's answer comes back
 * to it.
 *
 * Schema snapshots are immutable. A change builds a new snapshot and swaps the
 * app's pointer; readers load the pointer once per request and use that
 * snapshot for the whole request. Old snapshots are kept until the app closes
 * (schema changes are rare admin actions, a snapshot is a few KiB), which
 * spares every read a reference count. */
#ifndef TARMAC_CORE_APP_H
#define TARMAC_CORE_APP_H

#include <pthread.h>
#include <uv.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/rc.h"
#include "core/auth/mail.h"
#include "core/event/event.h"
#include "core/schema/collection.h"
#include "core/record/cost.h"
#include "core/record/worker.h"
#include "core/realtime/realtime.h"
#include "core/settings/settings.h"

struct core_jobs;
struct core_oidc;
struct core_webhooks;
struct core_triggers;
struct core_recos;
struct core_risk;
struct core_hooks;
struct core_hooks_config;
struct core_backups;
struct core_cluster;
#include "store/writer.h"

struct net_mailbox;

struct net_offload;
struct net_mailer;

struct core_app {
    char *dir;
    char *storage_dir;           /* --storage-dir: uploaded files; NULL: <dir>/storage */
    struct net_mailer *mailer;   /* borrowed; set by the CLI (NULL: no mail) */
    struct net_offload *offload; /* argon2id and other slow work */
    struct core_oidc *oidc;      /* OpenID discovery and key cache (core/auth/oidc.h) */
    bool allow_private_network;  /* outbound HTTP may reach private addresses (tests) */
    uint32_t password_m_kib;     /* argon2id cost for new hashes */
    uint32_t password_t;
    struct core_limits limits; /* what a request may cost (cost.h); set before workers start */
    char *db_path;
    struct store_writer *writer;
    struct core_realtime *realtime; /* clients and subscriptions */
    struct core_vectors *vectors;   /* approximate vector indexes (core/record/vector_index.h) */
    struct core_event_bus events;   /* record changes' listeners; filled by core_app_open */
    struct core_jobs *jobs;         /* job runners (core/jobs/runner.h); the CLI starts them */
    struct core_webhooks *webhooks; /* the webhook listener's state (core/jobs/webhook.h) */
    struct core_triggers *triggers; /* the notify triggers' state (core/notify/trigger.h) */
    struct core_recos *recos;       /* the recommenders' listener (core/reco/reco.h) */
    struct core_risk *risk;         /* the risk scoring listener (core/risk/risk.h) */
    struct core_hooks *hooks;       /* scripts (core/hooks/hooks.h); NULL until started */
    struct core_backups *backups;   /* backups and their schedule (core/backup/backup.h) */
    struct core_cluster *cluster;   /* --redis: the other instances (core/cluster_app.h); NULL */
    _Atomic(struct core_schema *) schema; /* the current snapshot */
    struct core_schema **old_schemas;     /* freed at close */
    size_t old_schema_count;
    uint64_t next_schema_version;
    /* Schema changes run one at a time (schema_change.c): each builds on the
     * snapshot the previous one committed, never two on the same one. */
    pthread_mutex_t schema_mu;
    struct core_schema_job *schema_waiting; /* FIFO of jobs not yet on the writer */
    struct core_schema_job *schema_waiting_tail;
    bool is_schema_busy; /* one schema job is on the writer */
    /* The settings (core/settings/settings.h, settings_change.h): the
     * current snapshot, swapped as the schema's; the layers below it. */
    _Atomic(struct core_settings *) settings;
    struct core_settings **old_settings; /* freed at close; writer thread and start-up */
    size_t old_settings_count;
    struct core_settings *settings_tip; /* writer thread: the newest, maybe not committed */
    struct core_settings_base settings_base;
    void (*on_settings)(const struct core_settings *s, void *ctx); /* after each swap */
    void *on_settings_ctx;
    /* After a schema or settings change made here committed (what:
     * "schema", "settings"), on the writer thread, not after a reload of
     * another instance's: --redis tells the others (core/cluster_app.c).
     * Returns a ticket for await_change (0: nothing to wait for). */
    uint64_t (*on_local_change)(void *ctx, const char *what);
    /* Runs fn(arg) on cw's loop once every other instance installed the
     * change of ticket (at most a bounded time); at once for ticket 0 or a
     * NULL cw. The change's answer waits so: a client finds its new
     * collection on whichever instance it reaches next. */
    void (*await_change)(void *ctx, uint64_t ticket, struct core_worker *cw, void (*fn)(void *arg),
                         void *arg);
    void *on_local_change_ctx;
};

/* Takes the data directory for one server (creating it when missing): a
 * second server would share the database but not the realtime clients,
 * the rate limits or the writer's ordering. An advisory lock on
 * <dir>/serve.lock, held until the process exits (the kernel drops it even
 * after a crash). RC_CONFLICT when another process holds it; RC_OK when the
 * lock cannot be made at all (core_app_open reports a directory it cannot
 * use). Call before core_app_open(); `tarmac superuser` does not, so a
 * superuser can be set while the server runs. */
enum rc core_app_lock_dir(const char *dir);

/* Opens (creating if needed) the app's database, migrates the
 * system tables, loads the schema (after finishing or dropping what an
 * interrupted restore left: core/backup/restore.h), and on a fresh directory creates the
 * `_superusers` and `users` collections; on an older one, upgrades the
 * records it stored (core/data_upgrade.h: plain password field values are
 * hashed once, with the default argon2id cost, ~25 ms each). Blocking: call
 * before workers start. The database is db, a PostgreSQL URL (store_open),
 * or, when db is NULL or "", the SQLite file <dir>/data.db; dir holds
 * uploaded files and local state either way. RC_IO when the directory or
 * database cannot be used (the reason is logged). */
enum rc core_app_open(const char *dir, const char *db, struct core_app **out);
/* Keeps uploaded files (and their thumbnails) in dir instead of
 * <dir>/storage: a directory several instances share (--storage-dir).
 * Backups read the files there and restores replace them there. Before
 * core_settings_start. */
void core_app_set_storage_dir(struct core_app *app, const char *dir);
/* Creates on db, when missing, the tables core_app_open makes that belong to
 * no collection: _collections, _params and _migrations
 * (schema/collection_ddl.h), _jobs (jobs/job.h). A collection's table is
 * core_ddl_create's. `tarmac db copy` makes a target's tables with these
 * two, so a table added here is copied too. */
enum rc core_app_system_tables(struct store_conn *db);
/* Appends to s every collection stored in db's _collections, in the order
 * they were made (what core_app_open loads; a reload after another
 * instance's schema change). */
enum rc core_app_load_collections(struct store_conn *db, struct core_schema *s);
/* Loads the scripts of cfg->dir (core/hooks/hooks.h) and lets them hear
 * record changes. Before the workers start. RC_INVALID with err when one
 * fails to load. */
enum rc core_app_start_hooks(struct core_app *app, const struct core_hooks_config *cfg, char *err,
                             size_t errlen);
/* Queues one mail of the app (the auth flows') as an `email` job
 * (core/jobs/email_kind.h): it is sent by a job runner, retried through an
 * SMTP outage and survives a restart. RC_INVALID / RC_TOO_LARGE (nothing
 * queued) for what net_mailer_check refuses; a failure to enqueue is
 * logged. cw's loop. */
enum rc core_app_queue_mail(struct core_worker *cw, const char *to, const char *subject,
                            const char *text, const char *html);
/* Sends an auth mail through its collection's template: renders col's
 * template of kind (core/auth/mail.h) for record (the auth record with every
 * field, for {RECORD:*}; may be NULL) with the app's name and URL and the
 * extra placeholders ({TOKEN}, {OTP}, {OTP_ID}, {ALERT_INFO}, ...), and
 * queues it to `to` as core_app_queue_mail does (HTML body, text
 * alternative). A mail that cannot be made or queued is logged and its rc
 * returned. cw's loop. */
enum rc core_app_send_auth_mail(struct core_worker *cw, const struct core_collection *col,
                                enum core_mail_kind kind, json_t *record, const char *to,
                                const struct core_mail_placeholder *extra, size_t extra_count);
/* Starts the C extensions linked into the binary (core/ext/ext.h) and lets
 * their record hooks hear record changes, after the scripts' hooks. Before
 * the workers start. RC_INVALID with err when one fails to start. */
enum rc core_app_start_ext(struct core_app *app, char *err, size_t errlen);
/* Stops the writer (after its queue) and frees everything; accepts NULL. */
void core_app_close(struct core_app *app);
/* The current schema snapshot; valid until the app closes. Any thread. */
const struct core_schema *core_app_schema(struct core_app *app);
/* The current settings snapshot (app name and URL, mail sender, batch and
 * rate limits, ...); valid until the app closes. Any thread. */
const struct core_settings *core_app_settings(struct core_app *app);
/* The file storage of the current settings (S3 or local disk,
 * core/files/storage.h); valid until the app closes. Any thread. */
const struct core_storage *core_app_storage(struct core_app *app);
/* Installs s as the current settings snapshot (takes ownership), then tells
 * the mailer and app->on_settings. Writer thread, or start-up. */
void core_app_swap_settings(struct core_app *app, struct core_settings *s);
/* Keeps s until the app closes (a snapshot a reader may still hold). */
void core_app_retire_settings(struct core_app *app, struct core_settings *s);
/* Installs s as the current snapshot (takes ownership). Writer thread only:
 * schema changes are writes. */
void core_app_swap_schema(struct core_app *app, struct core_schema *s);
/* Sets cw up for app: copies what it uses of the app (worker.h; set the
 * password cost before), opens its read connection and registers it for
 * realtime events. Call on the worker thread; cw was zeroed. RC_IO when the
 * connection cannot open (core_worker_cleanup() then still undoes the rest). */
enum rc core_worker_init(struct core_worker *cw, struct core_app *app, struct net_mailbox *mailbox);
/* Ends the read transaction, closes the connection and frees the caches;
 * after its realtime clients are gone. Worker's thread. */
void core_worker_cleanup(struct core_worker *cw);
/* On a remote engine (PostgreSQL), the worker's pool of conns connections
 * and its tasks on loop (core/task.h); nothing on SQLite. RC_UNAVAILABLE
 * when the pool cannot connect. */
enum rc core_worker_start_tasks(struct core_worker *cw, uv_loop_t *loop, unsigned conns);
/* The worker begins to stop: no more realtime events are sent to it. */
void core_worker_stop(struct core_worker *cw);
/* True while work posted to the worker (realtime fan-out) is pending. */
bool core_worker_is_busy(struct core_worker *cw);
/* Whether the worker reaches its database: on a remote engine, a round
 * trip (from a task it waits without blocking the loop); true on SQLite. */
bool core_worker_db_is_up(struct core_worker *cw);
/* The number of superusers (records of _superusers); -1 when it cannot be read.
 * Blocking (opens a read connection): start-up only. */
int64_t core_app_superuser_count(struct core_app *app);
/* The current time as "YYYY-MM-DD HH:MM:SS.mmmZ" (spec §1.4) into out (32 bytes). */
void core_now(char out[32]);

#endif
