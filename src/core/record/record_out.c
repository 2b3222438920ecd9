/* record_out.c -- see record_out.h. */
#include "core/record/record_out.h"

#include <string.h>

#include "base/alloc.h"
#include "base/vecmath.h"
#include "core/schema/field_type.h"
#include "core/record/record.h"

void core_record_columns(struct store_sql *q, const struct core_collection *c, const char *alias)
{
    struct str a = str_from_cstr(alias);
    for (size_t i = 0; i < c->field_count; i++) {
        if (i)
            store_sql_add(q, ", ");
        store_sql_ident2(q, a, str_from_cstr(c->fields[i].name));
    }
}

enum rc core_record_step_id(struct store_conn *db, struct store_sql *q, struct str id,
                            struct store_stmt **st)
{
    unsigned p_id = store_sql_param(q);
    *st = NULL;
    enum rc rc = store_sql_prepare(q, db, st);
    if (rc) {
        *st = NULL; /* whatever a failed prepare left */
        return rc;
    }
    rc = store_bind_text(*st, (int)p_id, id);
    return rc ? rc : store_step(*st);
}

/* Whether the row's email may be shown to the requester. */
static bool email_visible(const struct core_collection *c, struct store_stmt *st, int col0,
                          const struct core_auth *auth)
{
    if (auth && auth->is_superuser)
        return true;
    int id_col = -1, vis_col = -1;
    for (size_t i = 0; i < c->field_count; i++) {
        if (strcmp(c->fields[i].name, "id") == 0)
            id_col = col0 + (int)i;
        else if (strcmp(c->fields[i].name, "emailVisibility") == 0)
            vis_col = col0 + (int)i;
    }
    if (vis_col >= 0 && store_column_int64(st, vis_col))
        return true;
    if (auth && auth->collection == c && auth->id && id_col >= 0 &&
        store_column_type(st, id_col) != STORE_TYPE_NULL)
        return str_eq(store_column_text(st, id_col), str_from_cstr(auth->id));
    return false;
}

/* True when field f is left out of the output for this requester. */
static bool is_left_out(const struct core_collection *c, const struct core_field *f,
                        const struct core_auth *auth, bool show_email)
{
    if (core_field_is_secret(c, f))
        return true;
    if (f->is_hidden && !(auth && auth->is_superuser))
        return true;
    return c->type == CORE_COLLECTION_AUTH && !show_email && strcmp(f->name, "email") == 0;
}

/* A vector column's float32 values into v (room for
 * VECMATH_MAX_DIMENSIONS); how many (0: none, null). */
static size_t column_vector(struct store_stmt *st, int col, float *v)
{
    struct buf bytes;
    buf_init(&bytes, (size_t)4 * VECMATH_MAX_DIMENSIONS);
    size_t n = 0;
    if (!store_column_blob(st, col, &bytes) && bytes.len % 4 == 0) {
        n = bytes.len / 4;
        vecmath_decode((const unsigned char *)bytes.data, n, v);
    }
    buf_cleanup(&bytes);
    return n;
}

/* The vector, each value written with the shortest text that reads back
 * as the same float. */
static void write_vector(struct jsonw *w, struct store_stmt *st, int col)
{
    float v[VECMATH_MAX_DIMENSIONS];
    size_t n = column_vector(st, col, v);
    if (!n) {
        jsonw_null(w);
        return;
    }
    jsonw_array_begin(w);
    for (size_t i = 0; i < n; i++)
        jsonw_float(w, v[i]);
    jsonw_array_end(w);
}

/* The same as a JSON value. */
static json_t *vector_json(struct store_stmt *st, int col)
{
    float v[VECMATH_MAX_DIMENSIONS];
    size_t n = column_vector(st, col, v);
    return n ? vecmath_to_json(v, n) : json_null();
}

/* A value as its field's shape holds it (field_type.h). */
static void write_value(struct jsonw *w, const struct core_field *f, struct store_stmt *st, int col)
{
    switch (core_field_shape(f)) {
    case STORE_COLUMN_NUMBER:
        if (store_column_type(st, col) == STORE_TYPE_INT)
            jsonw_int(w, store_column_int64(st, col));
        else
            jsonw_double(w, store_column_double(st, col));
        return;
    case STORE_COLUMN_BOOL: jsonw_bool(w, store_column_int64(st, col) != 0); return;
    case STORE_COLUMN_JSON:
    case STORE_COLUMN_JSON_POINT:
        if (store_column_type(st, col) == STORE_TYPE_NULL)
            jsonw_null(w);
        else
            jsonw_raw(w, store_column_text(st, col)); /* stored canonical by the writer */
        return;
    case STORE_COLUMN_JSON_ARRAY: {
        struct str v = store_column_text(st, col);
        jsonw_raw(w, v.len ? v : STR_LIT("[]"));
        return;
    }
    case STORE_COLUMN_VECTOR: write_vector(w, st, col); return;
    case STORE_COLUMN_ID:
    case STORE_COLUMN_TEXT: break;
    }
    jsonw_string(w, store_column_text(st, col));
}

static void write_open(struct jsonw *w, const struct core_collection *c, struct store_stmt *st,
                       int col0, const struct core_auth *auth, const struct str *fields)
{
    bool show_email = c->type == CORE_COLLECTION_AUTH && email_visible(c, st, col0, auth);
    jsonw_object_begin(w);
    jsonw_key(w, STR_LIT("collectionId"));
    jsonw_string_cstr(w, c->id);
    jsonw_key(w, STR_LIT("collectionName"));
    jsonw_string_cstr(w, c->name);
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (is_left_out(c, f, auth, show_email) ||
            (fields && !core_fields_wants(*fields, str_from_cstr(f->name))))
            continue;
        jsonw_key_cstr(w, f->name);
        write_value(w, f, st, col0 + (int)i);
    }
}

void core_record_write_open(struct jsonw *w, const struct core_collection *c, struct store_stmt *st,
                            int col0, const struct core_auth *auth)
{
    write_open(w, c, st, col0, auth, NULL);
}

void core_record_write_picked(struct jsonw *w, const struct core_collection *c,
                              struct store_stmt *st, int col0, const struct core_auth *auth,
                              struct str fields)
{
    write_open(w, c, st, col0, auth, &fields);
}

json_t *core_record_column_json(const struct core_field *f, struct store_stmt *st, int col)
{
    switch (core_field_shape(f)) {
    case STORE_COLUMN_NUMBER:
        if (store_column_type(st, col) == STORE_TYPE_INT)
            return json_integer(store_column_int64(st, col));
        return json_real(store_column_double(st, col));
    case STORE_COLUMN_BOOL: return json_boolean(store_column_int64(st, col) != 0);
    case STORE_COLUMN_JSON:
    case STORE_COLUMN_JSON_POINT: {
        if (store_column_type(st, col) == STORE_TYPE_NULL)
            return json_null();
        struct str v = store_column_text(st, col);
        json_t *j = json_loadb(v.ptr, v.len, JSON_DECODE_ANY, NULL);
        return j ? j : json_null();
    }
    case STORE_COLUMN_JSON_ARRAY: {
        struct str v = store_column_text(st, col);
        json_t *j = v.len ? json_loadb(v.ptr, v.len, 0, NULL) : NULL;
        return json_is_array(j) ? j : (json_decref(j), json_array());
    }
    case STORE_COLUMN_VECTOR: return vector_json(st, col);
    case STORE_COLUMN_ID:
    case STORE_COLUMN_TEXT: break;
    }
    struct str v = store_column_text(st, col);
    return json_stringn(v.ptr, v.len);
}

json_t *core_record_to_json(const struct core_collection *c, struct store_stmt *st, int col0,
                            const struct core_auth *auth)
{
    bool show_email = c->type == CORE_COLLECTION_AUTH && email_visible(c, st, col0, auth);
    json_t *o = json_object();
    json_object_set_new(o, "collectionId", json_string(c->id));
    json_object_set_new(o, "collectionName", json_string(c->name));
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (is_left_out(c, f, auth, show_email))
            continue;
        json_object_set_new(o, f->name, core_record_column_json(f, st, col0 + (int)i));
    }
    return o;
}

void core_record_write_values(struct jsonw *w, const struct core_collection *c, json_t *values,
                              const struct core_auth *auth)
{
    bool show_email = false;
    if (c->type == CORE_COLLECTION_AUTH) {
        const char *id = json_string_value(json_object_get(values, "id"));
        show_email = (auth && auth->is_superuser) ||
                     json_is_true(json_object_get(values, "emailVisibility")) ||
                     (auth && auth->collection == c && auth->id && id && strcmp(auth->id, id) == 0);
    }
    jsonw_object_begin(w);
    jsonw_key(w, STR_LIT("collectionId"));
    jsonw_string_cstr(w, c->id);
    jsonw_key(w, STR_LIT("collectionName"));
    jsonw_string_cstr(w, c->name);
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (is_left_out(c, f, auth, show_email))
            continue;
        json_t *v = json_object_get(values, f->name);
        jsonw_key_cstr(w, f->name);
        if (!v || json_is_null(v)) {
            enum store_column_kind shape = core_field_shape(f);
            if (shape == STORE_COLUMN_JSON || shape == STORE_COLUMN_VECTOR)
                jsonw_null(w);
            else if (shape == STORE_COLUMN_JSON_ARRAY)
                jsonw_raw(w, STR_LIT("[]"));
            else if (shape == STORE_COLUMN_NUMBER)
                jsonw_int(w, 0);
            else if (shape == STORE_COLUMN_BOOL)
                jsonw_bool(w, false);
            else
                jsonw_string(w, STR_LIT(""));
            continue;
        }
        if (json_is_string(v)) {
            jsonw_string(w, (struct str){json_string_value(v), json_string_length(v)});
        } else if (json_is_integer(v)) {
            jsonw_int(w, json_integer_value(v));
        } else if (json_is_real(v)) {
            jsonw_double(w, json_real_value(v));
        } else if (json_is_boolean(v)) {
            jsonw_bool(w, json_is_true(v));
        } else {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            jsonw_raw(w, str_from_cstr(text ? text : "null"));
            xfree(text);
        }
    }
    jsonw_object_end(w);
}

/* A vector as float32 bytes; empty (not an array: validated before) NULL. */
static enum rc bind_vector(struct store_stmt *st, int n, json_t *v)
{
    size_t count = json_array_size(v);
    float f[VECMATH_MAX_DIMENSIONS];
    if (!count || count > VECMATH_MAX_DIMENSIONS || !vecmath_from_json(v, count, f))
        return store_bind_null(st, n);
    unsigned char bytes[4 * VECMATH_MAX_DIMENSIONS];
    vecmath_encode(f, count, bytes);
    return store_bind_blob(st, n, bytes, 4 * count);
}

/* A value as its field's shape stores it (field_type.h). */
static enum rc bind_value(struct store_stmt *st, int n, const struct core_field *f, json_t *v)
{
    enum store_column_kind shape = core_field_shape(f);
    if (shape == STORE_COLUMN_VECTOR)
        return bind_vector(st, n, v);
    if (shape == STORE_COLUMN_JSON || shape == STORE_COLUMN_JSON_POINT ||
        shape == STORE_COLUMN_JSON_ARRAY) {
        if (shape == STORE_COLUMN_JSON && (!v || json_is_null(v)))
            return store_bind_null(st, n);
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        enum rc rc = store_bind_text_copy(st, n, str_from_cstr(text ? text : "[]"));
        xfree(text);
        return rc;
    }
    if (shape == STORE_COLUMN_NUMBER) {
        if (json_is_integer(v))
            return store_bind_int64(st, n, json_integer_value(v));
        return store_bind_double(st, n, json_number_value(v));
    }
    if (shape == STORE_COLUMN_BOOL)
        return store_bind_int64(st, n, json_is_true(v));
    return store_bind_text(st, n,
                           json_is_string(v)
                               ? (struct str){json_string_value(v), json_string_length(v)}
                               : STR_LIT(""));
}

enum rc core_record_bind_values(struct store_stmt *st, const struct core_collection *c,
                                json_t *values)
{
    enum rc rc = RC_OK;
    for (size_t i = 0; i < c->field_count && !rc; i++)
        rc = bind_value(st, (int)i + 1, &c->fields[i], json_object_get(values, c->fields[i].name));
    return rc;
}
