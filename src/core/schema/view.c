/* view.c -- see view.h. */
#include "core/schema/view.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "core/schema/collection_json.h"
#include "core/schema/field_type.h"
#include "core/schema/view_query.h"

/* A field error at viewQuery, as PocketBase words it ("Invalid query - ..."). */
static void fail(struct core_problem *p, const char *fmt, ...)
{
    char reason[400], msg[440];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof(msg), "Invalid query - %s", reason);
    core_problem_field(p, "viewQuery", "validation_invalid_view_query", msg, NULL);
}

static const struct core_collection *collection_named(const struct core_schema *s, const char *name)
{
    for (size_t i = 0; i < s->count; i++) {
        if (strcasecmp(s->items[i]->name, name) == 0)
            return s->items[i];
    }
    return NULL;
}

/* PocketBase matches a referenced column to a field without case, as SQLite does. */
static const struct core_field *field_named_str(const struct core_collection *c, struct str name)
{
    for (size_t i = 0; i < c->field_count; i++) {
        if (str_eq_nocase(str_from_cstr(c->fields[i].name), name))
            return &c->fields[i];
    }
    return NULL;
}

static const struct core_field *field_named(const struct core_collection *c, const char *name)
{
    return field_named_str(c, str_from_cstr(name));
}

/* The tables of the query's FROM clause, to resolve a plain reference's qualifier. */
struct sources {
    struct core_view_source *list;
    size_t count;
};

/* The view collection a plain reference reads: the table its qualifier
 * names (an alias or a name of the FROM clause), or the first table when
 * it has none (PocketBase's main table); NULL when that is no view
 * collection. */
static const struct core_collection *view_of(const struct core_schema *s, const struct sources *src,
                                             struct str qualifier)
{
    const struct core_view_source *hit = NULL;
    for (size_t i = 0; i < src->count && !hit; i++) {
        if (qualifier.len ? str_eq_nocase(src->list[i].alias, qualifier) : i == 0)
            hit = &src->list[i];
    }
    if (!hit)
        return NULL;
    for (size_t i = 0; i < s->count; i++) {
        if (str_eq_nocase(str_from_cstr(s->items[i]->name), hit->name))
            return s->items[i]->type == CORE_COLLECTION_VIEW ? s->items[i] : NULL;
    }
    return NULL;
}

/* The read policy (store_may_read_fn) over schema ctx: collections' tables
 * and views, and the JSON table functions; never an internal table nor a
 * secret column. A column no field names (rowid) is the engine's own. */
static bool may_read(void *ctx, const char *table, const char *column)
{
    const struct core_schema *s = ctx;
    if (strcasecmp(table, "json_each") == 0 || strcasecmp(table, "json_tree") == 0)
        return true;
    const struct core_collection *c = collection_named(s, table);
    if (!c)
        return false;
    const struct core_field *f = column[0] ? field_named(c, column) : NULL;
    return !f || !core_field_is_secret(c, f);
}

static void fail_check(struct core_problem *p, const struct store_query_info *info)
{
    switch (info->fault) {
    case STORE_QUERY_OK:
    case STORE_QUERY_EMPTY: fail(p, "the query is empty."); return;
    case STORE_QUERY_SYNTAX: fail(p, "%s.", info->detail); return;
    case STORE_QUERY_MANY: fail(p, "multiple statements are not supported."); return;
    case STORE_QUERY_NOT_SELECT:
        fail(p, "only a single read-only SELECT is allowed (found %s).", info->detail);
        return;
    case STORE_QUERY_UNSUPPORTED:
        fail(p, "view collections are not supported on %s yet.", info->detail);
        return;
    case STORE_QUERY_READ_DENIED:
        fail(p,
             "a view may not read \"%s\" (internal tables, password fields and tokenKey are "
             "never readable).",
             info->detail);
        return;
    }
}

/* f as an empty field of type t named name (every string set, as a field
 * read from JSON has them). */
static void field_init(struct core_field *f, const char *name, enum core_field_type t)
{
    memset(f, 0, sizeof(*f));
    f->name = xstrdup(name);
    f->id = xstrdup("");
    f->help = xstrdup("");
    f->type = t;
    f->min_date = xstrdup("");
    f->max_date = xstrdup("");
    f->pattern = xstrdup("");
    f->autogenerate_pattern = xstrdup("");
    f->collection_id = xstrdup("");
    f->max_select = 1;
}

/* A type a CAST names, as PocketBase reads it; false for others. */
static bool cast_field(struct core_field *f, const char *name, const char *type)
{
    if (!strcmp(type, "real") || !strcmp(type, "decimal") || !strcmp(type, "numeric")) {
        field_init(f, name, CORE_FIELD_NUMBER);
    } else if (!strcmp(type, "int") || !strcmp(type, "integer")) {
        field_init(f, name, CORE_FIELD_NUMBER);
        f->only_int = true;
    } else if (!strcmp(type, "text")) {
        field_init(f, name, CORE_FIELD_TEXT);
    } else if (!strcmp(type, "boolean") || !strcmp(type, "bool")) {
        field_init(f, name, CORE_FIELD_BOOL);
    } else {
        return false;
    }
    return true;
}

/* f as a copy of field from, named name; an id becomes a single relation to
 * its collection c. */
static void field_from(struct core_field *f, const char *name, const struct core_collection *c,
                       const struct core_field *from)
{
    if (strcasecmp(from->name, "id") == 0) {
        /* An id is a reference to its record: expand follows it. */
        field_init(f, name, CORE_FIELD_RELATION);
        xfree(f->collection_id);
        f->collection_id = xstrdup(c->id);
        return;
    }
    core_field_copy(f, from);
    xfree(f->name);
    f->name = xstrdup(name);
    xfree(f->id);
    f->id = xstrdup("");
    f->is_primary_key = false;
}

/* The field result column col makes (view.h's rules); item is what its
 * expression starts with, or NULL when the text could not be read. */
static void infer_field(struct core_field *f, const struct core_schema *s,
                        const struct sources *src, const struct store_query_column *col,
                        const struct core_view_item *item)
{
    const char *name = col->name;
    if (strcmp(name, "id") == 0) {
        field_init(f, name, CORE_FIELD_TEXT);
        f->is_system = true;
        f->is_required = true;
        f->is_primary_key = true;
        xfree(f->pattern);
        f->pattern = xstrdup("^[a-z0-9]+$");
        return;
    }
    if (item && item->kind == CORE_VIEW_ITEM_COUNT) {
        field_init(f, name, CORE_FIELD_NUMBER);
        f->only_int = true;
        return;
    }
    if (item && item->kind == CORE_VIEW_ITEM_TOTAL) {
        field_init(f, name, CORE_FIELD_NUMBER);
        return;
    }
    if (item && item->kind == CORE_VIEW_ITEM_CAST && cast_field(f, name, item->cast_type))
        return;
    /* A column of another view collection takes that view's field (SQLite
     * names the view's own source, or none for its expressions). */
    const struct core_collection *view =
        item && item->column.len ? view_of(s, src, item->qualifier) : NULL;
    const struct core_field *from = view ? field_named_str(view, item->column) : NULL;
    if (from) {
        field_from(f, name, view, from);
        return;
    }
    const struct core_collection *table = col->table ? collection_named(s, col->table) : NULL;
    from = table && col->origin ? field_named(table, col->origin) : NULL;
    if (from) {
        field_from(f, name, table, from);
        return;
    }
    field_init(f, name, CORE_FIELD_JSON);
    f->max_size = 1; /* as PocketBase's: unused, no value of a view is written */
}

/* The column names must make valid, distinct field names, one of them "id". */
static bool check_names(const struct store_query_info *info, struct core_problem *p)
{
    bool has_id = false;
    for (size_t i = 0; i < info->count; i++) {
        const char *name = info->cols[i].name;
        if (!core_field_name_is_valid(name, CORE_COLLECTION_VIEW)) {
            fail(p,
                 "the column \"%.100s\" needs an alias that is a valid field name (letters, "
                 "digits and _; not a reserved name), e.g. \"... AS total\".",
                 name);
            return false;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcasecmp(info->cols[k].name, name) == 0) {
                fail(p, "two columns are named \"%s\".", name);
                return false;
            }
        }
        if (strcmp(name, "id") == 0)
            has_id = true;
    }
    if (!has_id)
        fail(p, "missing required id column (you can use `(ROW_NUMBER() OVER()) as id` if you "
                "don't have one).");
    return has_id;
}

enum rc core_view_infer(struct store_conn *db, const struct core_schema *s,
                        struct core_collection *c, struct core_problem *p)
{
    struct store_query_info info;
    const char *query = c->view_query ? c->view_query : "";
    enum rc rc = store_query_check(db, str_from_cstr(query), may_read, (void *)s, &info);
    if (rc == RC_INVALID)
        fail_check(p, &info);
    struct core_view_item *items = xcalloc(info.count ? info.count : 1, sizeof(*items));
    long listed = rc ? -1 : core_view_select_items(info.sql, items, info.count);
    for (long i = 0; i < listed && (size_t)i < info.count && !rc; i++) {
        if (items[i].kind == CORE_VIEW_ITEM_WILDCARD) {
            fail(p, "wildcard columns (*) are not supported - manually type the collection "
                    "field names you want the view query to have.");
            rc = RC_INVALID;
        }
    }
    if (!rc && !check_names(&info, p))
        rc = RC_INVALID;
    if (!rc) {
        /* The items describe the columns only when they are as many. */
        bool has_items = listed == (long)info.count;
        struct core_view_source list[16];
        struct sources src = {list, core_view_sources(info.sql, list, 16)};
        if (src.count > 16)
            src.count = 16;
        struct core_field *fields = xcalloc(info.count, sizeof(*fields));
        for (size_t i = 0; i < info.count; i++)
            infer_field(&fields[i], s, &src, &info.cols[i], has_items ? &items[i] : NULL);
        for (size_t i = 0; i < c->field_count; i++)
            core_field_cleanup(&c->fields[i]);
        xfree(c->fields);
        c->fields = fields;
        c->field_count = info.count;
        for (size_t i = 0; i < c->field_count; i++)
            core_field_make_id(&c->fields[i], c);
    }
    xfree(items);
    store_query_info_cleanup(&info);
    return rc;
}

enum rc core_view_create(struct store_conn *db, const struct core_collection *c,
                         struct core_problem *p)
{
    struct store_query_info info;
    /* The read policy was applied by core_view_infer in the same change. */
    enum rc rc =
        store_query_check(db, str_from_cstr(c->view_query ? c->view_query : ""), NULL, NULL, &info);
    if (rc == RC_INVALID)
        fail_check(p, &info);
    if (rc) {
        store_query_info_cleanup(&info);
        return rc;
    }
    enum store_view_cast *casts = xcalloc(info.count ? info.count : 1, sizeof(*casts));
    for (size_t i = 0; i < info.count; i++) {
        const struct store_query_column *col = &info.cols[i];
        const struct core_field *f = core_collection_field(c, str_from_cstr(col->name));
        if (f && f->is_primary_key) {
            /* Record ids are text (PocketBase wraps the query the same way): an
             * integer id would not equal the id a client sends. */
            if (!col->decl_type || strcasecmp(col->decl_type, "TEXT") != 0)
                casts[i] = STORE_VIEW_TEXT;
        } else if (f && f->type == CORE_FIELD_JSON) {
            /* Expressions (and json_each values) hold any value; JSON text
             * stored by a json field passes through unchanged. */
            casts[i] = STORE_VIEW_JSON;
        }
    }
    char why[256];
    rc = store_view_create(db, str_from_cstr(c->name), &info, casts, why, sizeof(why));
    if (rc == RC_INVALID)
        fail(p, "%s.", why);
    xfree(casts);
    store_query_info_cleanup(&info);
    return rc;
}

enum rc core_view_drop(struct store_conn *db, const char *name)
{
    return store_view_drop(db, str_from_cstr(name));
}

enum rc core_view_reads(struct store_conn *db, const struct core_collection *c, const char *table,
                        bool *out)
{
    struct store_query_info info;
    enum rc rc =
        store_query_check(db, str_from_cstr(c->view_query ? c->view_query : ""), NULL, NULL, &info);
    *out = rc == RC_INVALID;
    for (size_t i = 0; !rc && i < info.table_count && !*out; i++)
        *out = strcasecmp(info.tables[i], table) == 0;
    store_query_info_cleanup(&info);
    return rc == RC_INVALID ? RC_OK : rc;
}
