/* field_type.h -- one table of field types (layer: core).
 *
 * Each field type (text, number, bool, email, url, editor, date, autodate,
 * select, json, relation, password, file, geoPoint, vector) is described once: a
 * struct core_field_kind in its own file under schema/fields/, and the table
 * core_field_kinds[] indexed by enum core_field_type names them all (as
 * SQLite's FuncDef arrays and libcurl's Curl_handler, STYLE.md §1.4). A kind
 * says how one value is stored (and so bound, read back and written as
 * JSON), how its options are read, written and checked, how a create or
 * update body sets it and what a valid value is, how the filter compiler
 * reads it, and how the OpenAPI document and the typed models describe it.
 * Code that meets a field asks its kind instead of switching on the type.
 *
 * Adding a type: its value in enum core_field_type (collection.h), its file
 * in fields/ (declared in fields/fields_int.h), its line in the table
 * (field_type.c). tests/unit/core/schema/test_field_type.c checks the table
 * is complete. */
#ifndef TARMAC_CORE_FIELD_TYPE_H
#define TARMAC_CORE_FIELD_TYPE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/jsonw.h"
#include "core/problem.h"
#include "core/schema/collection.h"
#include "store/dialect.h"

#define CORE_FIELD_TYPE_COUNT (CORE_FIELD_VECTOR + 1)

/* How a create or update body sets a field (record/record_input.c). */
enum core_field_input {
    CORE_FIELD_INPUT_VALUE,  /* coerced from the body; modifiers when the kind has them */
    CORE_FIELD_INPUT_AUTO,   /* set by the server only (autodate): no input, no "required" */
    CORE_FIELD_INPUT_SECRET, /* write-only (password): a plain value is hashed before the
                                write; never in an answer, a filter or a record model */
    CORE_FIELD_INPUT_UPLOAD, /* names, modifiers and uploads together (file, files/) */
};

/* How the filter compiler reads a field (filter/filter_path.c). */
enum core_field_filter {
    CORE_FIELD_FILTER_COLUMN,   /* the column's value; no sub-fields */
    CORE_FIELD_FILTER_JSON,     /* the JSON value (json_extract), any sub-path inside it */
    CORE_FIELD_FILTER_POINT,    /* only .lon and .lat */
    CORE_FIELD_FILTER_RELATION, /* sub-fields are the related records' */
};

/* Where a field's options are checked (collection_json.c). */
struct core_field_check {
    const struct core_collection *collection; /* the collection being built */
    const struct core_schema *schema;         /* NULL when loading from storage: trusted */
    size_t index;                             /* the field's position: "fields.<index>.<key>" */
};

/* What a value is checked against besides its field (record_input.c). */
struct core_field_value_ctx {
    bool is_identity;       /* one of its auth collection's identity fields: no look-alikes */
    bool is_login_password; /* the auth collection's "password" (8 characters at least) */
};

/* The JSON type an option's value must have; null always passes (it leaves
 * the option unset). */
enum core_field_option_type {
    CORE_FIELD_OPTION_BOOL,
    CORE_FIELD_OPTION_INT,    /* a whole number */
    CORE_FIELD_OPTION_NUMBER, /* any number */
    CORE_FIELD_OPTION_STRING,
    CORE_FIELD_OPTION_STRINGS, /* an array of strings */
};

/* One option key of a field type, as a collection's JSON spells it. */
struct core_field_option {
    const char *key;
    enum core_field_option_type type;
};

/* How the typed models (schema/typegen.c) write one value, or a list of them. */
struct core_field_model {
    const char *ts;           /* TypeScript type */
    const char *ts_input;     /* TypeScript type in a create body, when it differs */
    const char *dart;         /* Dart type of the member */
    const char *dart_get;     /* reading it from RecordModel r, before the quoted name */
    const char *dart_get_end; /* ... and after it */
    const char *dart_put;     /* after the member in toJson(), when it is not the value */
};

struct core_field_kind {
    const char *name;              /* in a collection's JSON: "text", "geoPoint", ... */
    enum store_column_kind column; /* how one value is stored, bound, read back and shown */
    bool is_list;                  /* maxSelect > 1 makes it a JSON array of strings */
    bool is_enum;                  /* its values are the field's "values" (typed enums) */
    enum core_field_input input;
    enum core_field_filter filter;

    /* The kind's own option keys and their JSON types (PocketBase's), ending
     * with {NULL}: a value of another type from a client is refused naming
     * the option (collection_json.c); the common keys (id, name, type,
     * system, hidden, presentable, help, required) are checked for every
     * kind. */
    const struct core_field_option *options;

    /* Options. collection_json.c reads the shared option keys into the
     * field's union of options (a key the kind does not use is kept, never
     * written); parse reads what only this kind has or reads differently.
     * write appends its options after "required"; check adds errors at
     * "fields.<i>.<key>" and may normalise an option. All optional. */
    void (*parse)(struct core_field *f, json_t *in);
    void (*write)(struct jsonw *w, const struct core_field *f);
    void (*check)(struct core_field *f, const struct core_field_check *ctx, struct core_problem *p);

    /* Input (record_input.c). coerce (required) turns a body value into the
     * field's value, leniently (spec §1.4); modify applies "field+",
     * "+field" and "field-" to the old value (none: the old value stays);
     * is_empty replaces the shape's emptiness test; validate checks a
     * non-empty value (a secret kind gets the plain text); on_save returns
     * the value the server sets on a create or update, or NULL. New
     * references. */
    json_t *(*coerce)(const struct core_field *f, json_t *v);
    json_t *(*modify)(const struct core_field *f, json_t *old, json_t *given, char mod,
                      bool prepend);
    bool (*is_empty)(const struct core_field *f, json_t *v);
    void (*validate)(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p);
    json_t *(*on_save)(const struct core_field *f, json_t *v, bool is_create, const char *now);

    /* Documents. openapi (required) is one value as JSON Schema (api/openapi.c);
     * openapi_has_empty: that schema admits "" already. model is one value
     * in the typed models, many a list of them (list kinds); an enum kind's
     * types are named after its collection and field instead. */
    json_t *(*openapi)(const struct core_field *f, bool is_input);
    bool openapi_has_empty;
    struct core_field_model model;
    struct core_field_model many;
};

/* Every kind, by type. */
extern const struct core_field_kind *const core_field_kinds[CORE_FIELD_TYPE_COUNT];

/* Field f's kind. */
static inline const struct core_field_kind *core_field_kind(const struct core_field *f)
{
    return core_field_kinds[f->type];
}

/* How one value of f is held: its kind's column, or a JSON array of strings
 * for a list (select, relation, file with maxSelect > 1). */
static inline enum store_column_kind core_field_shape(const struct core_field *f)
{
    const struct core_field_kind *k = core_field_kinds[f->type];
    return k->is_list && f->max_select > 1 ? STORE_COLUMN_JSON_ARRAY : k->column;
}

/* The column f gets: the primary key's, or its shape. */
static inline enum store_column_kind core_field_column(const struct core_field *f)
{
    return f->is_primary_key ? STORE_COLUMN_ID : core_field_shape(f);
}

/* The type's name ("text", ...); parse is its inverse (false: no such type). */
const char *core_field_type_name(enum core_field_type t);
bool core_field_type_parse(const char *name, enum core_field_type *out);

#endif
