/* dialect.h -- SQL text for one database engine (layer: store).
 *
 * Handlers and core never write engine-specific SQL by hand: identifiers are
 * quoted here and column types chosen here, so a PostgreSQL dialect can
 * produce its own text for the same schema: SQLite's and PostgreSQL's
 * (issue #10). Core writes statements with store/sql.h, which calls the _as
 * functions here with its dialect (the filter compiler calls them itself).
 * Identifiers
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
    STORE_COLUMN_VECTOR,     /* float32 little-endian: BLOB / BYTEA DEFAULT NULL */
};

/* Appends name as a quoted identifier ("name", inner quotes doubled). */
enum rc store_dialect_ident_as(struct buf *out, enum store_dialect d, struct str name);
/* Appends the JSON column name (quoted) as its text, which = and IN compare:
 * the column itself in SQLite, ("name")::text in PostgreSQL (json has no =). */
enum rc store_dialect_json_text_as(struct buf *out, enum store_dialect d, struct str name);
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
/* JSON values read at a path, typed as SQLite's json_extract types them
 * (the filter language's `meta.a.b`, PocketBase's semantics): a number is
 * a number, a string its text, true and false 1 and 0, JSON null or a
 * missing key SQL NULL, an array or an object its JSON text.
 *
 * The path is a parameter whose text store_dialect_json_path_as writes.
 * SQLite: json_extract(json, path), whose value compares as it is.
 * PostgreSQL has no value of several types: the value is a jsonb ordered as
 * SQLite orders those values (a number as itself, text as a one-string
 * array, so numbers sort before text as SQLite's classes do), and what it is
 * compared with goes through store_dialect_json_operand_as first; LIKE and
 * LOWER take its text (store_dialect_json_unwrap_as). On SQLite those two
 * append the expression unchanged. */
/* Appends the path text of keys (\w names; all digits: an array index):
 * SQLite's $."a"[2], PostgreSQL's text[] {"a","2"}. No keys: the whole value. */
enum rc store_dialect_json_path_as(struct buf *out, enum store_dialect d, const struct str *keys,
                                   size_t n);
/* Appends the value of the JSON text expression json at path (an SQL
 * expression, the placeholder of the path's parameter). */
enum rc store_dialect_json_value_as(struct buf *out, enum store_dialect d, struct str json,
                                    struct str path);
/* What an operand compared with a JSON value holds. */
enum store_json_operand {
    STORE_JSON_OPERAND_INT,  /* an integer (a bound int64, a 1/0 literal) */
    STORE_JSON_OPERAND_REAL, /* a bound double */
    STORE_JSON_OPERAND_TEXT, /* text (a bound string) */
    STORE_JSON_OPERAND_NULL, /* NULL */
    STORE_JSON_OPERAND_ANY,  /* an expression of a type the engine knows (a column) */
};
/* Appends expr (holding kind) as a value comparable with a JSON value. */
enum rc store_dialect_json_operand_as(struct buf *out, enum store_dialect d, struct str expr,
                                      enum store_json_operand kind);
/* What a JSON value is unwrapped into. */
enum store_json_as {
    STORE_JSON_AS_TEXT,   /* its text, as SQLite's LIKE and LOWER read it */
    STORE_JSON_AS_NUMBER, /* a double; NULL when it is not a number */
};
/* Appends the JSON value value (a store_dialect_json_value_as result) as
 * a plain value of that kind. */
enum rc store_dialect_json_unwrap_as(struct buf *out, enum store_dialect d, struct str value,
                                     enum store_json_as as);
/* Appends the numbered placeholder for parameter n (1-based): ?n in SQLite,
 * $n in PostgreSQL. */
enum rc store_dialect_param_as(struct buf *out, enum store_dialect d, unsigned n);
/* The same, typed as a column of kind: PostgreSQL gives a bare parameter
 * in a select list the type text (a derived row of bound values would
 * compare its numbers as text), so it is cast there; SQLite's is bare. */
enum rc store_dialect_typed_param_as(struct buf *out, enum store_dialect d, unsigned n,
                                     enum store_column_kind kind);

#endif
