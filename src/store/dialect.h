/* dialect.h -- SQL text for one database engine (layer: store).
 *
 * Handlers and core never write engine-specific SQL by hand: identifiers are
 * quoted here and column types chosen here, so a PostgreSQL dialect can
 * produce its own text for the same schema. Today: SQLite only (PostgreSQL
 * comes with issue #10). Core writes statements with store/sql.h, which calls
 * the _as functions here with its dialect. Identifiers
 * passed in must already be validated names (core checks ^\w+$); quoting is
 * the second wall, not the first. */
#ifndef TARMAC_STORE_DIALECT_H
#define TARMAC_STORE_DIALECT_H

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"

/* The engines whose SQL text we write. */
enum store_dialect {
    STORE_DIALECT_SQLITE,
    STORE_DIALECT_POSTGRES,
};

/* The dialect of the database the process opened (store_open sets it). */
enum store_dialect store_dialect_current(void);
/* Sets it (store_open, when a database opens). */
void store_dialect_set_current(enum store_dialect d);

/* How a column stores its values (spec §5.3's storage column). */
enum store_column_kind {
    STORE_COLUMN_ID,         /* TEXT primary key */
    STORE_COLUMN_TEXT,       /* TEXT NOT NULL DEFAULT '' */
    STORE_COLUMN_NUMBER,     /* NUMERIC NOT NULL DEFAULT 0 */
    STORE_COLUMN_BOOL,       /* 0/1: BOOLEAN in SQLite, SMALLINT in PostgreSQL */
    STORE_COLUMN_JSON,       /* JSON DEFAULT NULL */
    STORE_COLUMN_JSON_ARRAY, /* JSON NOT NULL DEFAULT '[]' */
    STORE_COLUMN_JSON_POINT, /* JSON NOT NULL DEFAULT '{"lon":0,"lat":0}' */
};

/* Appends name as a quoted identifier ("name", inner quotes doubled). */
enum rc store_dialect_ident_as(struct buf *out, enum store_dialect d, struct str name);
/* Appends a column definition: quoted name and type with its default. */
enum rc store_dialect_column_as(struct buf *out, enum store_dialect d, struct str name,
                                enum store_column_kind kind);
/* Appends an expression for an integer column of Unix ms (column, a
 * validated name) as the contract's date text "2006-01-02 15:04:05.000Z",
 * '' when it is 0 or less. */
enum rc store_dialect_ms_date_as(struct buf *out, enum store_dialect d, struct str column);
/* The words around a JSON array's expression that make a table of its
 * elements, columns "value" (each element as text) and "key" (their
 * order): open, the expression, close, the alias, columns. SQLite:
 * json_each(...); PostgreSQL: json_array_elements_text(...) WITH
 * ORDINALITY, the expression cast to json. */
struct store_dialect_json_each {
    const char *open, *close, *columns;
};
const struct store_dialect_json_each *store_dialect_json_each(enum store_dialect d);
/* Appends the numbered placeholder for parameter n (1-based): ?n in SQLite,
 * $n in PostgreSQL. */
enum rc store_dialect_param_as(struct buf *out, enum store_dialect d, unsigned n);

#endif
