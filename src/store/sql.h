/* sql.h -- a builder of SQL text for the engine at hand (layer: store).
 *
 * Core assembles statements from its schema (table and column names, which
 * core has already checked against ^\w+$) and parameters; this builder turns
 * them into the engine's text: identifiers quoted its way, parameters
 * numbered for you ($n in PostgreSQL, ?n in SQLite), column types chosen by
 * kind. Values never enter the text: they are bound to the numbered
 * parameters (store.h). The first error is kept and every later call does
 * nothing (curl's dynbuf, STYLE.md §4), so a statement is written as a run
 * of calls and checked once at the end:
 *
 *     struct store_sql q;
 *     store_sql_begin(&q, &buf);
 *     store_sql_add(&q, "SELECT id FROM ");
 *     store_sql_ident(&q, c->name);
 *     store_sql_add(&q, " WHERE id = ");
 *     unsigned p = store_sql_param(&q);
 *     if ((rc = store_sql_end(&q)) != RC_OK) ...
 *
 * The text goes to a caller's buffer (often reused between statements), so
 * a builder owns nothing and needs no cleanup. */
#ifndef TARMAC_STORE_SQL_H
#define TARMAC_STORE_SQL_H

#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"
#include "store/dialect.h"
#include "store/store.h"

struct store_sql {
    struct buf *out;            /* where the text goes (appended) */
    enum store_dialect dialect; /* whose quoting, placeholders and types */
    unsigned params;            /* parameters numbered so far */
    enum rc rc;                 /* the first error; RC_OK while none */
};

/* Starts appending to out in the process's dialect (store_dialect_current),
 * numbering parameters from 1. */
void store_sql_begin(struct store_sql *q, struct buf *out);
/* As store_sql_begin for a given dialect (tests, migrations between engines). */
void store_sql_begin_as(struct store_sql *q, struct buf *out, enum store_dialect dialect);
/* The dialect of db's engine: a process that holds connections to both
 * engines (`tarmac db copy`) writes each one's statements in its own. */
enum store_dialect store_conn_dialect(const struct store_conn *db);
/* Appends SQL text written in the code (keywords, punctuation): never a
 * value or a name that came from outside. */
void store_sql_add(struct store_sql *q, const char *text);
void store_sql_addn(struct store_sql *q, struct str text);
/* Appends name as a quoted identifier. */
void store_sql_ident(struct store_sql *q, struct str name);
/* Appends a JSON column's name as its text (store_dialect_json_text_as). */
void store_sql_json_text(struct store_sql *q, struct str name);
/* Appends "table"."column". */
void store_sql_ident2(struct store_sql *q, struct str table, struct str column);
/* Appends the next parameter's placeholder and returns its number (1-based). */
unsigned store_sql_param(struct store_sql *q);
/* A new parameter typed as a column of kind (store_dialect_typed_param_as). */
unsigned store_sql_param_typed(struct store_sql *q, enum store_column_kind kind);
/* Appends the placeholder of parameter n again (a value used twice). */
void store_sql_param_at(struct store_sql *q, unsigned n);
/* Appends an integer literal (LIMIT, OFFSET, computed constants). */
void store_sql_int(struct store_sql *q, int64_t v);
/* A JSON array's elements as a table: json_each_open, the array's
 * expression, then json_each_close with the alias; its columns are "value"
 * (each element as text) and "key" (their order). SQLite: json_each(...);
 * PostgreSQL: json_array_elements_text(...) WITH ORDINALITY. */
void store_sql_json_each_open(struct store_sql *q);
void store_sql_json_each_close(struct store_sql *q, const char *alias);
/* Appends an integer column of Unix ms as date text (store_dialect_ms_date_as). */
void store_sql_ms_date(struct store_sql *q, struct str column);
/* Appends a column definition: quoted name, type and default for kind. */
void store_sql_column(struct store_sql *q, struct str name, enum store_column_kind kind);
/* Records an error found by the caller while building (the first one wins). */
void store_sql_fail(struct store_sql *q, enum rc rc);
/* The first error met, or RC_OK: the text in *q->out is then complete. */
enum rc store_sql_end(const struct store_sql *q);
/* store_sql_end, then the statement for the text from db's cache
 * (store_prepare): the first error of either. The buffer stays the
 * caller's. */
static inline enum rc store_sql_prepare(const struct store_sql *q, struct store_conn *db,
                                        struct store_stmt **out)
{
    return q->rc ? q->rc : store_prepare(db, buf_str(q->out), out);
}

#endif
