/* migrate.h -- migrations: schema and seed changes kept as files (layer: core).
 *
 * A migrations folder holds `<unix seconds>_<name>.lua` files, applied in
 * file-name order (bytewise). Each returns {up = function(m) ... end,
 * down = function(m) ... end} (core/hooks/migrate.h runs them; docs/hooks.md,
 * "Migrations", shows `m`). The system table _migrations (file, applied:
 * unix microseconds) lists those applied. A migration runs as one schema
 * change (core_schema_run): its steps, and the insert or delete of its row,
 * in one transaction on the writer, the schema snapshot installed after the
 * commit; an error or a refused step rolls all of it back. A run stops at
 * the first failure; the migrations it applied before stay applied.
 *
 * Record steps go through core's write path as a superuser (validation,
 * relations, unique indexes, password hashing), inside the transaction and
 * against the schema the migration's earlier steps left; they run no hooks
 * and make no realtime or webhook events. Blocking: for the CLI and for
 * `serve --automigrate` before the workers start. */
#ifndef TARMAC_CORE_MIGRATE_H
#define TARMAC_CORE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/rc.h"
#include "core/app.h"

#define CORE_MIGRATE_NAME_MAX 100 /* bytes of a NAME given to create/snapshot */

/* A migration as the folder and _migrations know it. */
struct core_migration {
    char *file;         /* "1700000000_add_posts.lua" */
    bool is_applied;    /* a row of _migrations names it */
    bool is_on_disk;    /* the folder holds it */
    int64_t applied_us; /* when (unix microseconds); 0 when pending */
};

/* Every migration, in file-name order: the folder's and those recorded. */
struct core_migrate_list {
    struct core_migration *items;
    size_t count;
};

/* Called after each migration a run applied or reverted. */
typedef void core_migrate_report_fn(const char *file, bool is_up, void *ctx);

/* True for a NAME of create/snapshot: [a-z0-9_]+, at most
 * CORE_MIGRATE_NAME_MAX bytes. */
bool core_migrate_name_is_valid(const char *name);

/* Fills *out (free with core_migrate_list_cleanup). A missing folder is an
 * empty one. RC_IO with err when the folder or the table cannot be read. */
enum rc core_migrate_list(struct core_app *app, const char *dir, struct core_migrate_list *out,
                          char *err, size_t errlen);
void core_migrate_list_cleanup(struct core_migrate_list *l);
/* The number of migrations of dir not applied yet; -1 when that cannot be
 * told. */
long core_migrate_pending(struct core_app *app, const char *dir);

/* Applies the first n pending migrations (n 0: all), in order, each in its
 * own transaction; report (may be NULL) after each. *done (may be NULL)
 * takes how many were applied. RC_INVALID (or RC_NOT_FOUND, RC_IO, ...) with
 * err naming the file (and the line) at the first that fails. */
enum rc core_migrate_up(struct core_app *app, const char *dir, size_t n,
                        core_migrate_report_fn *report, void *ctx, size_t *done, char *err,
                        size_t errlen);
/* Reverts the last n applied migrations (n 0: 1), latest first, running
 * their down and deleting their rows. Refuses (RC_NOT_FOUND with err) one
 * whose file is gone or that has no down. */
enum rc core_migrate_down(struct core_app *app, const char *dir, size_t n,
                          core_migrate_report_fn *report, void *ctx, size_t *done, char *err,
                          size_t errlen);

/* Writes dir/<unix seconds>_<name>.lua (making dir), a template with empty
 * up and down; path (pathlen bytes) takes its path. RC_INVALID for a bad
 * name; RC_CONFLICT when the file exists; RC_IO. */
enum rc core_migrate_create(const char *dir, const char *name, char *path, size_t pathlen,
                            char *err, size_t errlen);
/* As create, with an up that imports app's current collections (their JSON
 * in the file; deleteMissing false) and a down that does nothing. */
enum rc core_migrate_snapshot(struct core_app *app, const char *dir, const char *name, char *path,
                              size_t pathlen, char *err, size_t errlen);

#endif
