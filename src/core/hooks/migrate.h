/* migrate.h -- the Lua side of a migration file (layer: core, core/hooks/).
 *
 * A migration file (core/migrate.h) returns a table {up = function(m) ...
 * end, down = function(m) ... end}. This runs one of the two in a fresh
 * sandboxed state (core/hooks/vm.h: the same standard library and `tarmac`
 * helpers as the hooks, no tarmac.records, tarmac.http or tarmac.jobs),
 * with `m` giving the collection and record steps of docs/hooks.md
 * ("Migrations"). The steps themselves are the caller's (a function table),
 * so this file holds only the Lua: arguments in, JSON out, errors raised. A
 * step the table refuses fails the migration even when the script catches
 * its error with pcall: the tables may be half changed, and only the
 * transaction's rollback undoes that. */
#ifndef TARMAC_CORE_HOOKS_MIGRATE_H
#define TARMAC_CORE_HOOKS_MIGRATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"
#include "base/str.h"
#include "core/problem.h"

/* The steps `m` offers, run by the caller inside the migration's one
 * transaction. Each returns RC_OK, or an error with p filled (a refused
 * step); the gets return RC_NOT_FOUND for "nil". Outputs are new
 * references. */
struct core_hooks_migration_ops {
    enum rc (*collection_get)(void *ctx, struct str name_or_id, json_t **out);
    enum rc (*collection_save)(void *ctx, json_t *def, json_t **out, struct core_problem *p);
    enum rc (*collection_delete)(void *ctx, struct str name_or_id, struct core_problem *p);
    enum rc (*collection_import)(void *ctx, json_t *list, bool delete_missing,
                                 struct core_problem *p);
    enum rc (*record_get)(void *ctx, struct str collection, struct str id, json_t **out,
                          struct core_problem *p);
    enum rc (*record_first)(void *ctx, struct str collection, struct str filter, json_t **out,
                            struct core_problem *p);
    enum rc (*record_create)(void *ctx, struct str collection, json_t *data, json_t **out,
                             struct core_problem *p);
    enum rc (*record_update)(void *ctx, struct str collection, struct str id, json_t *data,
                             json_t **out, struct core_problem *p);
    enum rc (*record_delete)(void *ctx, struct str collection, struct str id,
                             struct core_problem *p);
};

/* Loads the migration file name (its text code) and runs its up (is_up) or
 * down function with m over ops and ctx. RC_OK; RC_NOT_FOUND when the file
 * has no such function (a migration without down cannot be reverted);
 * RC_INVALID when it does not load, does not return a table, raises an
 * error, runs past its budget or memory, or a step was refused. err
 * (errlen bytes) then says why, starting with "name:LINE: " when a line is
 * known. Borrows everything. */
enum rc core_hooks_migration_run(const struct core_hooks_migration_ops *ops, void *ctx,
                                 const char *name, struct str code, bool is_up, char *err,
                                 size_t errlen);

#endif
