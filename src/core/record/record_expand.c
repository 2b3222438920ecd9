/* record_expand.c -- see record_expand.h. Expanded records are read into
 * JSON objects before their own expansion runs, so no statement is stepped
 * while another use of it (a nested expansion of the same shape) is open. */
#include "core/record/record_expand.h"

#include <string.h>

#include "base/alloc.h"
#include "core/schema/index.h"
#include "core/record/record_out.h"
#include "store/sql.h"

/* Resolves one segment of a path below collection c. */
static bool resolve_segment(struct core_request *r, const struct core_collection *c, struct str seg,
                            struct core_expand *out)
{
    memset(out, 0, sizeof(*out));
    out->name = seg;
    const char *via = NULL;
    for (size_t i = 0; i + 5 <= seg.len; i++) {
        if (memcmp(seg.ptr + i, "_via_", 5) == 0) {
            via = seg.ptr + i;
            break;
        }
    }
    if (via) {
        struct str coll = {seg.ptr, (size_t)(via - seg.ptr)};
        struct str fname = {via + 5, seg.len - coll.len - 5};
        const struct core_collection *t = core_schema_find_exact(r->schema, coll);
        if (!t)
            return false;
        const struct core_field *f = core_collection_field(t, fname);
        if (!f || f->type != CORE_FIELD_RELATION || strcmp(f->collection_id, c->id) != 0)
            return false;
        out->target = t;
        out->field = f;
        out->is_back = true;
        for (size_t i = 0; i < t->index_count; i++) {
            struct core_index ix;
            const char *why;
            if (core_index_parse(t->indexes[i], &ix, &why) == RC_OK &&
                core_index_is_unique_on(&ix, f->name) && !core_field_is_multi(f))
                out->is_single = true;
        }
    } else {
        const struct core_field *f = core_collection_field(c, seg);
        if (!f || f->type != CORE_FIELD_RELATION)
            return false;
        const struct core_collection *t =
            core_schema_find_exact(r->schema, str_from_cstr(f->collection_id));
        if (!t)
            return false;
        out->target = t;
        out->field = f;
        out->is_single = !core_field_is_multi(f);
    }
    if (out->field->is_hidden && !core_request_is_superuser(r))
        return false;
    /* A null view rule drops the whole path, parents included (spec §2.6). */
    return out->target->rules[CORE_RULE_VIEW] || core_request_is_superuser(r);
}

static struct core_expand *child_named(struct core_expand *n, struct str name)
{
    for (size_t i = 0; i < n->child_count; i++) {
        if (str_eq(n->children[i].name, name))
            return &n->children[i];
    }
    return NULL;
}

/* Adds one dotted path below root; all or nothing. */
static void add_path(struct core_request *r, const struct core_collection *c,
                     struct core_expand *root, struct str path)
{
    struct core_expand resolved[CORE_EXPAND_MAX_DEPTH];
    size_t depth = 0;
    const struct core_collection *at = c;
    size_t start = 0;
    for (size_t i = 0; i <= path.len; i++) {
        if (i < path.len && path.ptr[i] != '.')
            continue;
        struct str seg = str_trim_ows((struct str){path.ptr + start, i - start});
        start = i + 1;
        if (seg.len == 0 || depth == CORE_EXPAND_MAX_DEPTH)
            return;
        if (!resolve_segment(r, at, seg, &resolved[depth]))
            return;
        at = resolved[depth].target;
        depth++;
    }
    struct core_expand *n = root;
    for (size_t d = 0; d < depth; d++) {
        struct core_expand *next = child_named(n, resolved[d].name);
        if (!next) {
            struct core_expand *grown =
                arena_alloc(r->arena, (n->child_count + 1) * sizeof(struct core_expand));
            if (n->child_count)
                memcpy(grown, n->children, n->child_count * sizeof(struct core_expand));
            n->children = grown;
            next = &n->children[n->child_count++];
            *next = resolved[d];
        }
        n = next;
    }
}

struct core_expand *core_expand_parse(struct core_request *r, const struct core_collection *c,
                                      struct str expand)
{
    struct core_expand *root = arena_alloc(r->arena, sizeof(*root));
    memset(root, 0, sizeof(*root));
    size_t start = 0;
    for (size_t i = 0; i <= expand.len; i++) {
        if (i < expand.len && expand.ptr[i] != ',')
            continue;
        struct str path = str_trim_ows((struct str){expand.ptr + start, i - start});
        start = i + 1;
        if (path.len)
            add_path(r, c, root, path);
    }
    return root->child_count ? root : NULL;
}

static json_t *expand_node(struct core_request *r, const struct core_expand *n, json_t *key_value,
                           const char *parent_id);

/* A row's size as stored, for the expand caps: text and blobs by length
 * (asking a number for its length would convert it). */
static uint64_t stored_bytes(const struct core_collection *t, struct store_stmt *st)
{
    uint64_t n = 0;
    for (size_t i = 0; i < t->field_count; i++) {
        enum store_type type = store_column_type(st, (int)i);
        n += type == STORE_TYPE_TEXT || type == STORE_TYPE_BLOB
                 ? (uint64_t)store_column_text(st, (int)i).len
                 : 8;
    }
    return n;
}

/* Expands every child of node for one record given as JSON. */
static void expand_json_record(struct core_request *r, const struct core_expand *node,
                               json_t *record)
{
    json_t *ex = json_object();
    const char *id = json_string_value(json_object_get(record, "id"));
    for (size_t i = 0; i < node->child_count && !core_cost_check(r->cost); i++) {
        const struct core_expand *ch = &node->children[i];
        json_t *value = ch->is_back ? NULL : json_object_get(record, ch->field->name);
        json_t *got = expand_node(r, ch, value, id);
        if (got)
            json_object_setn_new(ex, ch->name.ptr, ch->name.len, got);
    }
    json_object_set_new(record, "expand", ex);
}

/* Reads the records node points at: by the relation value (forward) or by the
 * parent's id (back). Returns a JSON object, an array, or NULL for nothing. */
static json_t *expand_node(struct core_request *r, const struct core_expand *n, json_t *key_value,
                           const char *parent_id)
{
    const struct core_collection *t = n->target;
    if (core_cost_check(r->cost))
        return NULL; /* the caller answers 400 and drops what was made */
    struct core_request sub = *r;
    sub.filter_request.context = "expand";
    struct core_sql_fragment frag;
    if (core_record_view_rule(&sub, t, t->rules[CORE_RULE_VIEW], 1, &frag, NULL))
        return NULL;
    char *ids_text = NULL;
    if (!n->is_back) {
        json_t *ids = json_is_array(key_value) ? json_incref(key_value) : json_array();
        if (json_is_string(key_value) && json_string_length(key_value))
            json_array_append(ids, key_value);
        if (json_array_size(ids) == 0) {
            json_decref(ids);
            return NULL;
        }
        ids_text = json_dumps(ids, JSON_COMPACT);
        json_decref(ids);
    } else if (!parent_id) {
        return NULL;
    }
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT ");
    core_record_columns(&q, t, "r");
    unsigned p_key;
    if (!n->is_back) {
        store_sql_add(&q, " FROM ");
        store_sql_json_each_open(&q);
        p_key = store_sql_param(&q);
        store_sql_json_each_close(&q, "je");
        store_sql_add(&q, " JOIN ");
        store_sql_ident(&q, str_from_cstr(t->name));
        store_sql_add(&q, " \"r\" ON \"r\".\"id\" = \"je\".\"value\" WHERE TRUE");
    } else {
        bool multi = core_field_is_multi(n->field);
        store_sql_add(&q, " FROM ");
        store_sql_ident(&q, str_from_cstr(t->name));
        if (multi) {
            store_sql_add(&q, " \"r\" WHERE EXISTS (SELECT 1 FROM ");
            store_sql_json_each_open(&q);
            store_sql_add(&q, "\"r\".");
            store_sql_ident(&q, str_from_cstr(n->field->name));
            store_sql_json_each_close(&q, "je");
            store_sql_add(&q, " WHERE \"je\".\"value\" = ");
        } else {
            store_sql_add(&q, " \"r\" WHERE \"r\".");
            store_sql_ident(&q, str_from_cstr(n->field->name));
            store_sql_add(&q, " = ");
        }
        p_key = store_sql_param(&q);
        if (multi)
            store_sql_add(&q, ")");
    }
    if (frag.sql.len) { /* compiled with its numbers after ?1 */
        store_sql_add(&q, " AND (");
        store_sql_addn(&q, frag.sql);
        store_sql_add(&q, ")");
    }
    /* A view has no rowid: its back-relations come in id order. */
    store_sql_add(&q, !n->is_back                       ? " ORDER BY \"je\".\"key\""
                      : t->type == CORE_COLLECTION_VIEW ? " ORDER BY \"r\".\"id\" LIMIT 1000"
                                                        : " ORDER BY \"r\".\"rowid\" LIMIT 1000");
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_prepare(&q, r->cw->db, &st);
    buf_cleanup(&sql);
    if (rc) {
        xfree(ids_text);
        return NULL;
    }
    /* Both keys outlive the statement's run: bound borrowed. */
    const char *key = ids_text ? ids_text : parent_id;
    rc = store_bind_text(st, (int)p_key, str_from_cstr(key ? key : ""));
    if (!rc)
        rc = core_sql_fragment_bind(st, &frag, p_key);
    json_t *list = json_array();
    while (!rc && store_step(st) == RC_OK) {
        if (core_cost_expand(r->cost, stored_bytes(t, st)))
            break;
        json_array_append_new(list, core_record_to_json(t, st, 0, r->auth));
    }
    store_done(st);
    xfree(ids_text); /* jansson's allocation */
    /* Only now, with the statement reset, go one level deeper. */
    if (n->child_count) {
        size_t i;
        json_t *rec;
        json_array_foreach(list, i, rec) expand_json_record(r, n, rec);
    }
    if (json_array_size(list) == 0) {
        json_decref(list);
        return NULL;
    }
    if (n->is_single) {
        json_t *one = json_incref(json_array_get(list, json_array_size(list) - 1));
        json_decref(list);
        return one;
    }
    return list;
}

void core_expand_write(struct core_request *r, const struct core_collection *c,
                       const struct core_expand *root, struct store_stmt *st, int col0,
                       struct jsonw *w)
{
    /* Copy what the children need out of the row before any other query runs. */
    json_t *values = json_object();
    const char *id = NULL;
    for (size_t i = 0; i < c->field_count; i++) {
        if (strcmp(c->fields[i].name, "id") == 0) {
            json_object_set_new(values, "id",
                                core_record_column_json(&c->fields[i], st, col0 + (int)i));
            id = json_string_value(json_object_get(values, "id"));
        }
    }
    for (size_t k = 0; k < root->child_count; k++) {
        const struct core_expand *ch = &root->children[k];
        if (ch->is_back)
            continue;
        for (size_t i = 0; i < c->field_count; i++) {
            if (&c->fields[i] == ch->field)
                json_object_set_new(values, ch->field->name,
                                    core_record_column_json(ch->field, st, col0 + (int)i));
        }
    }
    json_t *ex = json_object();
    for (size_t k = 0; k < root->child_count && !core_cost_check(r->cost); k++) {
        const struct core_expand *ch = &root->children[k];
        json_t *value = ch->is_back ? NULL : json_object_get(values, ch->field->name);
        json_t *got = expand_node(r, ch, value, id);
        if (got)
            json_object_setn_new(ex, ch->name.ptr, ch->name.len, got);
    }
    char *text = json_dumps(ex, JSON_COMPACT);
    jsonw_key(w, STR_LIT("expand"));
    jsonw_raw(w, str_from_cstr(text ? text : "{}"));
    xfree(text);
    json_decref(ex);
    json_decref(values);
}
