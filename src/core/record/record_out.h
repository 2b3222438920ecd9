/* record_out.h -- a record row to JSON, with the visibility rules (layer: core).
 *
 * Private to the record modules (record_*.c). A record is selected with its
 * columns in field order ("r"."id", "r"."title", ...) so column i is field i.
 * Visibility (spec §1.4): password and tokenKey never leave the server;
 * hidden fields only for superusers; an auth record's email only when
 * emailVisibility is true, or for the record itself or a superuser. */
#ifndef TARMAC_CORE_RECORD_OUT_H
#define TARMAC_CORE_RECORD_OUT_H

#include <jansson.h>

#include "base/jsonw.h"
#include "core/credential/identity.h"
#include "core/schema/collection.h"
#include "store/sql.h"
#include "store/store.h"

/* Appends `"r"."f1", "r"."f2", ...` for c's fields to q, with alias in place of r. */
void core_record_columns(struct store_sql *q, const struct core_collection *c, const char *alias);
/* Runs q's statement with a last parameter added for the record id: binds
 * id to it and steps (RC_OK: a row, RC_NOT_FOUND: done, or the error). *st
 * is the statement, to hand back with store_done(), or NULL when it could
 * not be prepared. id is bound borrowed; q's buffer stays the caller's. */
enum rc core_record_step_id(struct store_conn *db, struct store_sql *q, struct str id,
                            struct store_stmt **st);
/* Writes the current row of st (columns from col0 on, in field order) as a
 * record object, leaving it open so the caller can add "expand". */
void core_record_write_open(struct jsonw *w, const struct core_collection *c, struct store_stmt *st,
                            int col0, const struct core_auth *auth);
/* The same, but only the fields a `fields` picker keeps at the top level
 * (core_fields_wants): what it would prune is never formatted. */
void core_record_write_picked(struct jsonw *w, const struct core_collection *c,
                              struct store_stmt *st, int col0, const struct core_auth *auth,
                              struct str fields);
/* The same row as a new JSON object (for expanded records). */
json_t *core_record_to_json(const struct core_collection *c, struct store_stmt *st, int col0,
                            const struct core_auth *auth);
/* Writes a record from its field values (as a write stored them) with the
 * same visibility rules as a row: the answer to a create, without reading
 * the row back. */
void core_record_write_values(struct jsonw *w, const struct core_collection *c, json_t *values,
                              const struct core_auth *auth);
/* Binds c's field values (as a write stores them) to placeholders 1..n in
 * field order. Strings are bound borrowed: values must stay unchanged until
 * st is reset or done. RC_NOMEM, RC_TOO_LARGE (a value past the engine's
 * limit). */
enum rc core_record_bind_values(struct store_stmt *st, const struct core_collection *c,
                                json_t *values);
/* A row's value of field i as JSON (all fields, no visibility rules); new reference. */
json_t *core_record_column_json(const struct core_field *f, struct store_stmt *st, int col);

#endif
