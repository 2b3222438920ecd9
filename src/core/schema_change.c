/* schema_change.c -- see schema_change.h. */
#include "core/schema_change.h"

#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "core/schema/collection_ddl.h"
#include "core/schema/collection_json.h"
#include "core/schema/view.h"
#include "core/record/record.h"
#include "core/record/record_write.h"
#include "core/files/files.h"
#include "store/sql.h"
#include "store/writer.h"

/* A deep copy through the stored JSON form: schema changes are rare, and this
 * keeps one way of building a collection. */
static struct core_collection *clone_collection(const struct core_collection *c)
{
    struct buf b;
    buf_init(&b, 1 << 24);
    struct jsonw w;
    jsonw_init(&w, &b);
    core_collection_write_json(&w, c, true);
    json_t *j = jsonw_finish(&w) ? NULL : json_loadb(b.data, b.len, 0, NULL);
    buf_cleanup(&b);
    struct core_problem p;
    core_problem_init(&p);
    struct core_collection *out = NULL;
    if (core_collection_from_json(j, NULL, NULL, "", &out, &p) == RC_OK) {
        out->is_system = c->is_system;
        xfree(out->created);
        out->created = xstrdup(c->created ? c->created : "");
        xfree(out->updated);
        out->updated = xstrdup(c->updated ? c->updated : "");
    }
    core_problem_cleanup(&p);
    json_decref(j);
    return out;
}

/* The next snapshot: every collection of cur except skip_id, replaced by
 * with (if it has the same id) or followed by it. Takes ownership of with.
 * NULL when a copy could not be made (no memory for its JSON): a snapshot
 * missing a collection would serve as if it had been deleted (a superuser
 * token no longer verifies once _superusers is gone) until a restart. */
static struct core_schema *next_schema(const struct core_schema *cur, const char *skip_id,
                                       struct core_collection *with)
{
    struct core_schema *s = xcalloc(1, sizeof(*s));
    s->items = xcalloc(cur->count + 1, sizeof(*s->items));
    bool placed = false;
    for (size_t i = 0; i < cur->count; i++) {
        const struct core_collection *c = cur->items[i];
        if (skip_id && strcmp(c->id, skip_id) == 0)
            continue;
        if (with && strcmp(c->id, with->id) == 0) {
            s->items[s->count++] = with;
            placed = true;
            continue;
        }
        struct core_collection *copy = clone_collection(c);
        if (!copy) {
            if (with && !placed)
                core_collection_free(with);
            core_schema_free(s);
            return NULL;
        }
        s->items[s->count++] = copy;
    }
    if (with && !placed)
        s->items[s->count++] = with;
    return s;
}

static const char *const rule_names[CORE_RULE_COUNT] = {"listRule", "viewRule", "createRule",
                                                        "updateRule", "deleteRule"};

/* Compiles rule (NULL or "": nothing to check) for c; a failure is an error
 * at key. RC_NOMEM when memory ran out (no verdict on the rule). */
static enum rc check_rule(struct core_request *r, const struct core_collection *c, const char *rule,
                          const char *key, struct core_problem *p)
{
    if (!rule || !rule[0])
        return RC_OK;
    struct core_sql_fragment f;
    struct core_problem tmp;
    core_problem_init(&tmp);
    enum rc rc = core_compile_filter(r, c, str_from_cstr(rule), false, 1, &f, &tmp);
    if (rc && rc != RC_NOMEM)
        core_problem_field(p, key, "validation_invalid_rule",
                           tmp.message[0] ? tmp.message : "Invalid rule.", NULL);
    core_problem_cleanup(&tmp);
    return rc == RC_NOMEM ? rc : RC_OK;
}

/* Every rule must compile against the schema the change produces: the
 * five API rules, and an auth collection's authRule, manageRule and (when
 * MFA is on) mfa.rule. */
static enum rc check_rules(const struct core_schema *s, const struct core_collection *c,
                           struct core_problem *p)
{
    struct arena a;
    arena_init(&a, 4096);
    struct core_auth guest = {0};
    struct core_request r = {.schema = s, .arena = &a, .auth = &guest};
    r.filter_request.method = "GET";
    r.filter_request.context = "default";
    enum rc failed = RC_OK;
    for (int i = 0; i < CORE_RULE_COUNT && !failed; i++)
        failed = check_rule(&r, c, c->rules[i], rule_names[i], p);
    if (!failed && c->type == CORE_COLLECTION_AUTH)
        failed = check_rule(&r, c, c->auth_rule, "authRule", p);
    if (!failed && c->type == CORE_COLLECTION_AUTH)
        failed = check_rule(&r, c, c->manage_rule, "manageRule", p);
    /* mfa.rule decides per record whether MFA applies: checked when on, as
     * PocketBase does (a rule left behind while off is not used). */
    if (!failed && c->type == CORE_COLLECTION_AUTH && c->mfa.is_enabled)
        failed = check_rule(&r, c, c->mfa.rule, "mfa.rule", p);
    arena_cleanup(&a);
    if (failed)
        return failed;
    return core_problem_has_fields(p) ? RC_INVALID : RC_OK;
}

static bool keeps_file_field(const struct core_collection *c, const struct core_field *f)
{
    for (size_t i = 0; i < c->field_count; i++) {
        if (strcmp(c->fields[i].id, f->id) == 0)
            return c->fields[i].type == CORE_FIELD_FILE;
    }
    return false;
}

/* Appends [recordId, [names]] of file field f's stored files to out, at
 * most CORE_SCHEMA_DROPPED_MAX records in all. Reads before the rebuild. */
static void list_field_files(struct store_conn *db, const struct core_collection *old,
                             const struct core_field *f, json_t *out)
{
    struct str col = str_from_cstr(f->name);
    struct buf sql;
    buf_init(&sql, 4096);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT ");
    store_sql_ident(&q, STR_LIT("id"));
    store_sql_add(&q, ", ");
    store_sql_ident(&q, col);
    store_sql_add(&q, " FROM ");
    store_sql_ident(&q, str_from_cstr(old->name));
    store_sql_add(&q, " WHERE ");
    store_sql_json_text(&q, col); /* a multiple field's column is JSON */
    store_sql_add(&q, " NOT IN ('', '[]')");
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_prepare(&q, db, &st);
    buf_cleanup(&sql);
    if (rc)
        return;
    bool is_multi = core_field_is_multi(f);
    while (json_array_size(out) < CORE_SCHEMA_DROPPED_MAX && store_step(st) == RC_OK) {
        if (store_column_type(st, 0) == STORE_TYPE_NULL ||
            store_column_type(st, 1) == STORE_TYPE_NULL)
            continue;
        struct str id = store_column_text(st, 0);
        struct str v = store_column_text(st, 1);
        json_t *names =
            is_multi ? json_loadb(v.ptr, v.len, 0, NULL) : json_pack("[s%]", v.ptr, v.len);
        if (json_is_array(names))
            json_array_append_new(out, json_pack("[s%,O]", id.ptr, id.len, names));
        json_decref(names);
    }
    if (json_array_size(out) >= CORE_SCHEMA_DROPPED_MAX)
        log_warn("msg=\"dropped file field: files of more records are left on disk\" "
                 "collection=%s field=%s max=%d",
                 old->name, f->name, CORE_SCHEMA_DROPPED_MAX);
    store_done(st);
}

/* The stored files of old's file fields that c drops: a new array for
 * core_files_remove_many_async() after the commit, or NULL when none. */
static json_t *dropped_files(struct store_conn *db, const struct core_collection *old,
                             const struct core_collection *c)
{
    json_t *out = NULL;
    for (size_t i = 0; i < old->field_count; i++) {
        const struct core_field *f = &old->fields[i];
        if (f->type != CORE_FIELD_FILE || keeps_file_field(c, f))
            continue;
        if (!out)
            out = json_array();
        list_field_files(db, old, f, out);
    }
    if (out && !json_array_size(out)) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

/* ---- view collections' SQL views ------------------------------------------
 *
 * A table rebuild (collection_ddl.c) drops the old table and renames the new
 * one, and SQLite refuses that rename while any view reads a table that is
 * gone ("error in view v"); a dropped or renamed table leaves its views
 * unusable. So a change to a collection first drops the views of the view
 * collections that read it (core_view_reads: through other views too) and,
 * once its tables are in place, makes them again as PocketBase resaves
 * them: fields inferred afresh (a source's field options may have changed),
 * rules compiled again. A view the change breaks fails the whole change,
 * naming the view. An import makes them again only at its end, when all of
 * its collections are in place. */

struct pending_views {
    char **ids; /* view collections whose views are dropped, to make again */
    size_t count;
};

static bool pending_has(const struct pending_views *pv, const char *id)
{
    for (size_t i = 0; i < pv->count; i++) {
        if (strcmp(pv->ids[i], id) == 0)
            return true;
    }
    return false;
}

static void pending_add(struct pending_views *pv, const char *id)
{
    if (pending_has(pv, id))
        return;
    pv->ids = xrealloc(pv->ids, (pv->count + 1) * sizeof(char *));
    pv->ids[pv->count++] = xstrdup(id);
}

static void pending_remove(struct pending_views *pv, const char *id)
{
    for (size_t i = 0; i < pv->count; i++) {
        if (strcmp(pv->ids[i], id) == 0) {
            xfree(pv->ids[i]);
            pv->ids[i] = pv->ids[--pv->count];
            return;
        }
    }
}

static void pending_cleanup(struct pending_views *pv)
{
    for (size_t i = 0; i < pv->count; i++)
        xfree(pv->ids[i]);
    xfree(pv->ids);
    pv->ids = NULL;
    pv->count = 0;
}

/* Drops the views of cur's view collections (but skip_id's) that read
 * table, and adds them to pv; a view read by another view goes after it. */
static enum rc drop_readers(struct store_conn *db, const struct core_schema *cur, const char *table,
                            const char *skip_id, struct pending_views *pv)
{
    for (size_t i = 0; i < cur->count; i++) {
        const struct core_collection *x = cur->items[i];
        if (x->type != CORE_COLLECTION_VIEW || strcmp(x->id, skip_id) == 0 ||
            pending_has(pv, x->id))
            continue;
        bool reads = false;
        enum rc rc = core_view_reads(db, x, table, &reads);
        if (rc)
            return rc;
        if (!reads)
            continue;
        /* The views reading x go first: PostgreSQL refuses to drop a view
         * another view reads (SQLite's views are only text). */
        pending_add(pv, x->id);
        rc = drop_readers(db, cur, x->name, skip_id, pv);
        if (!rc)
            rc = core_view_drop(db, x->name);
        if (rc)
            return rc;
    }
    return RC_OK;
}

/* The first field error's message of p, else its message. */
static const char *first_reason(const struct core_problem *p)
{
    const char *key;
    json_t *v;
    json_object_foreach(p->data, key, v)
    {
        const char *m = json_string_value(json_object_get(v, "message"));
        if (m)
            return strncmp(m, "Invalid query - ", 16) == 0 ? m + 16 : m;
    }
    return p->message[0] ? p->message : "invalid";
}

static enum rc upsert(struct store_conn *db, struct core_schema **cur, bool owns_cur, json_t *in,
                      const struct core_collection *old, struct core_problem *p, char **id_out,
                      json_t *dropped, struct pending_views *pending, bool is_refresh);

/* Makes the views of pv again (emptying it) against *cur, which it
 * advances (*cur is the caller's: owned). Views that read other pending
 * views wait for them: passes go on while one succeeds. A view that cannot
 * be made fails with p naming it. */
static enum rc remake_views(struct store_conn *db, struct core_schema **cur,
                            struct pending_views *pv, struct core_problem *p, json_t *dropped)
{
    enum rc rc = RC_OK;
    char failed[512] = "";
    while (pv->count && !rc) {
        bool progress = false;
        failed[0] = '\0'; /* the first failure of the last pass is the answer */
        struct pending_views pass = {0};
        for (size_t i = 0; i < pv->count; i++)
            pending_add(&pass, pv->ids[i]);
        for (size_t i = 0; i < pass.count && !rc; i++) {
            const struct core_collection *v =
                core_schema_find_exact(*cur, str_from_cstr(pass.ids[i]));
            if (!v || !pending_has(pv, pass.ids[i])) {
                pending_remove(pv, pass.ids[i]); /* deleted, or made meanwhile */
                progress = true;
                continue;
            }
            char name[256];
            snprintf(name, sizeof(name), "%s", v->name);
            struct core_problem tmp;
            core_problem_init(&tmp);
            char *id = NULL;
            json_t *patch = json_object();
            rc = upsert(db, cur, true, patch, v, &tmp, &id, dropped, pv, true);
            json_decref(patch);
            xfree(id);
            if (rc == RC_INVALID && !failed[0]) {
                snprintf(failed, sizeof(failed),
                         "The view collection \"%.100s\" would break: %.300s", name,
                         first_reason(&tmp));
            }
            if (rc == RC_INVALID) {
                rc = RC_OK; /* it may read a view still pending: tried again next pass */
            } else if (!rc) {
                pending_remove(pv, pass.ids[i]);
                progress = true;
            }
            core_problem_cleanup(&tmp);
        }
        pending_cleanup(&pass);
        if (!rc && !progress) {
            core_problem_message(p, failed);
            rc = RC_INVALID;
        }
    }
    pending_cleanup(pv);
    return rc;
}

/* Sets *same to whether a resaved view's definition is what it was (then it
 * keeps its "updated" time: nothing about it changed). RC_NOMEM. */
static enum rc same_definition(const struct core_collection *a, const struct core_collection *b,
                               bool *same)
{
    struct buf x, y;
    buf_init(&x, 1 << 22);
    buf_init(&y, 1 << 22);
    struct jsonw wx, wy;
    jsonw_init(&wx, &x);
    jsonw_init(&wy, &y);
    core_collection_write_json(&wx, a, false);
    core_collection_write_json(&wy, b, false);
    enum rc rc = jsonw_finish(&wx);
    enum rc rc_y = jsonw_finish(&wy);
    if (!rc)
        rc = rc_y;
    *same = !rc && x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    buf_cleanup(&x);
    buf_cleanup(&y);
    return rc;
}

/* Validates and applies one create or update against *cur (which it
 * advances). An update that drops file fields lists their files in dropped
 * (an object: collection id -> the pairs of dropped_files()). */
/* A collection's table is named after it, so a new name must not be an
 * internal table's (PocketBase's validation_collection_name_invalid): SQLite
 * reserves sqlite_*, the rebuild of a table uses _tmp_<id> scratch tables,
 * and no table, view or index of the database may share it (our system
 * tables _collections, _params, _jobs, the auth collections' indexes). SQLite
 * compares names without case, so this does too. */
static enum rc check_internal_name(struct store_conn *db, const struct core_collection *c,
                                   const struct core_collection *old, struct core_problem *p)
{
    if (old && strcasecmp(old->name, c->name) == 0)
        return RC_OK; /* its own table */
    struct str name = str_from_cstr(c->name);
    bool is_taken =
        strncasecmp(c->name, "sqlite_", 7) == 0 || strncasecmp(c->name, "_tmp_", 5) == 0;
    if (!is_taken) {
        enum rc rc = store_has_object(db, name, &is_taken);
        if (rc)
            return rc;
    }
    if (!is_taken)
        return RC_OK;
    core_problem_field(p, "name", "validation_collection_name_invalid",
                       "The name shouldn't match with an existing internal table.", NULL);
    return RC_INVALID;
}

/* pending: where the views this change drops wait (an import's list, made
 * again at its end), or NULL to make them again before returning.
 * is_refresh: a view resaved after a change of what it reads. */
static enum rc upsert(struct store_conn *db, struct core_schema **cur, bool owns_cur, json_t *in,
                      const struct core_collection *old, struct core_problem *p, char **id_out,
                      json_t *dropped, struct pending_views *pending, bool is_refresh)
{
    char now[32];
    core_now(now);
    struct core_collection *c = NULL;
    enum rc rc = core_collection_from_json(in, old, *cur, now, &c, p);
    if (!rc && c->type == CORE_COLLECTION_VIEW)
        rc = core_view_infer(db, *cur, c, p);
    if (!rc && is_refresh && old) {
        xfree(c->updated);
        c->updated = xstrdup(old->updated ? old->updated : "");
        bool same = false;
        rc = same_definition(old, c, &same);
        if (!rc && !same) {
            xfree(c->updated);
            c->updated = xstrdup(now);
        }
        if (rc) {
            core_collection_free(c);
            return rc;
        }
    }
    if (!rc)
        rc = check_internal_name(db, c, old, p);
    if (!rc)
        rc = core_ddl_check_indexes(c, p);
    if (!rc) {
        /* Rules are checked against the schema as it will be. */
        struct core_schema probe = **cur;
        probe.items = xcalloc((*cur)->count + 1, sizeof(*probe.items));
        probe.count = 0;
        for (size_t i = 0; i < (*cur)->count; i++) {
            if (!old || strcmp((*cur)->items[i]->id, old->id) != 0)
                probe.items[probe.count++] = (*cur)->items[i];
        }
        probe.items[probe.count++] = c;
        rc = check_rules(&probe, c, p);
        xfree(probe.items);
    }
    if (!rc && old) {
        json_t *pairs = dropped_files(db, old, c);
        if (pairs)
            json_object_set_new(dropped, old->id, pairs);
    }
    struct pending_views local = {0};
    struct pending_views *pv = pending ? pending : &local;
    if (!rc && old)
        rc = drop_readers(db, *cur, old->name, old->id, pv);
    if (!rc && c->type == CORE_COLLECTION_VIEW)
        rc = core_ddl_view(db, old, c, p);
    else if (!rc)
        rc = old ? core_ddl_update(db, old, c) : core_ddl_create(db, c);
    if (rc) {
        pending_cleanup(&local);
        core_collection_free(c);
        return rc;
    }
    pending_remove(pv, c->id);
    xfree(*id_out);
    *id_out = xstrdup(c->id);
    struct core_schema *next = next_schema(*cur, NULL, c);
    if (!next) {
        pending_cleanup(&local);
        return RC_NOMEM; /* the savepoint goes back: the DDL with it */
    }
    if (owns_cur)
        core_schema_free(*cur);
    *cur = next;
    return pending ? RC_OK : remake_views(db, cur, &local, p, dropped);
}

static bool is_referenced(const struct core_schema *s, const struct core_collection *c)
{
    for (size_t i = 0; i < s->count; i++) {
        const struct core_collection *x = s->items[i];
        if (x == c)
            continue;
        if (x->type == CORE_COLLECTION_VIEW)
            continue; /* views that read c are made again, or fail the change */
        for (size_t k = 0; k < x->field_count; k++) {
            if (x->fields[k].type == CORE_FIELD_RELATION &&
                strcmp(x->fields[k].collection_id, c->id) == 0)
                return true;
        }
    }
    return false;
}

/* The rows system collections keep about the records of the auth
 * collection c go with those records. */
static enum rc delete_auth_refs_of(struct store_conn *db, const struct core_collection *c)
{
    if (c->type != CORE_COLLECTION_AUTH)
        return RC_OK;
    return core_record_delete_auth_refs(db, c, NULL, CORE_AUTH_REF_ALL);
}

/* pending: as upsert's. */
static enum rc remove_collection(struct store_conn *db, struct core_schema **cur, bool owns_cur,
                                 const struct core_collection *old, struct core_problem *p,
                                 struct pending_views *pending, json_t *dropped)
{
    if (old->is_system) {
        core_problem_message(p, "System collections cannot be deleted.");
        return RC_INVALID;
    }
    if (is_referenced(*cur, old)) {
        core_problem_message(p, "The collection is referenced by another collection's relation.");
        return RC_INVALID;
    }
    struct pending_views local = {0};
    struct pending_views *pv = pending ? pending : &local;
    enum rc rc = drop_readers(db, *cur, old->name, old->id, pv);
    if (!rc)
        rc = delete_auth_refs_of(db, old);
    if (!rc)
        rc = core_ddl_drop(db, old);
    if (rc) {
        pending_cleanup(&local);
        return rc;
    }
    pending_remove(pv, old->id);
    struct core_schema *next = next_schema(*cur, old->id, NULL);
    if (!next) {
        pending_cleanup(&local);
        return RC_NOMEM;
    }
    if (owns_cur)
        core_schema_free(*cur);
    *cur = next;
    return pending ? RC_OK : remake_views(db, cur, &local, p, dropped);
}

static enum rc truncate_collection(struct store_conn *db, const struct core_collection *c,
                                   struct core_problem *p)
{
    if (c->type == CORE_COLLECTION_VIEW) {
        core_problem_message(p, "View collections cannot be truncated.");
        return RC_INVALID;
    }
    struct buf sql;
    buf_init(&sql, 4096);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "DELETE FROM ");
    store_sql_ident(&q, str_from_cstr(c->name));
    store_sql_addn(&q, (struct str){"", 1}); /* NUL-terminated for store_exec */
    enum rc rc = store_sql_end(&q);
    if (!rc)
        rc = store_exec(db, sql.data);
    buf_cleanup(&sql);
    return rc ? rc : delete_auth_refs_of(db, c);
}

/* The collection a definition names: by its id, else by its name. */
static const struct core_collection *named_by(const struct core_schema *s, json_t *def)
{
    const char *want = json_string_value(json_object_get(def, "id"));
    const char *name = json_string_value(json_object_get(def, "name"));
    const struct core_collection *old =
        want ? core_schema_find_exact(s, str_from_cstr(want)) : NULL;
    return !old && name ? core_schema_find(s, str_from_cstr(name)) : old;
}

static bool is_view_def(json_t *def, const struct core_collection *old)
{
    const char *type = json_string_value(json_object_get(def, "type"));
    return type ? strcmp(type, "view") == 0 : old && old->type == CORE_COLLECTION_VIEW;
}

/* Imports the views of list (PocketBase imports views last: their queries
 * read the other collections). A view may read another view of the same
 * import listed after it, so passes go on while one succeeds; the problem
 * of the first failure of the last pass is the answer. */
static enum rc import_views(struct store_conn *db, struct core_schema **cur, bool *owns,
                            json_t *list, struct core_problem *p, json_t *dropped,
                            struct pending_views *pv)
{
    size_t n = json_array_size(list);
    bool *done = xcalloc(n ? n : 1, sizeof(bool));
    size_t left = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(list, i);
        done[i] = !is_view_def(item, named_by(*cur, item));
        left += !done[i];
    }
    enum rc rc = RC_OK;
    char *id = NULL;
    struct core_problem last;
    core_problem_init(&last);
    while (left && !rc) {
        bool progress = false;
        core_problem_cleanup(&last); /* the first failure of the last pass is the answer */
        core_problem_init(&last);
        bool has_failed = false;
        for (size_t i = 0; i < n && !rc; i++) {
            if (done[i])
                continue;
            json_t *item = json_array_get(list, i);
            struct core_problem tmp;
            core_problem_init(&tmp);
            struct core_schema *before = *cur;
            rc = upsert(db, cur, *owns, item, named_by(*cur, item), &tmp, &id, dropped, pv, false);
            if (*cur != before)
                *owns = true;
            if (rc == RC_INVALID) {
                if (!has_failed) {
                    last = tmp;
                    core_problem_init(&tmp);
                    has_failed = true;
                }
                rc = RC_OK;
            } else if (!rc) {
                done[i] = true;
                left--;
                progress = true;
            }
            core_problem_cleanup(&tmp);
        }
        if (!rc && !progress) {
            core_problem_cleanup(p);
            *p = last;
            core_problem_init(&last);
            rc = RC_INVALID;
        }
    }
    core_problem_cleanup(&last);
    xfree(id);
    xfree(done);
    return rc;
}

/* *owns: whether *cur is the caller's to free (it becomes true once a step
 * made a new snapshot). */
static enum rc import(struct store_conn *db, struct core_schema **cur, bool *owns, json_t *body,
                      struct core_problem *p, json_t *dropped, json_t *emptied)
{
    json_t *list = json_object_get(body, "collections");
    if (!json_is_array(list) || json_array_size(list) == 0) {
        /* An empty list would only delete (deleteMissing): refused, as PocketBase does. */
        core_problem_message(p, "An error occurred while validating the submitted data.");
        core_problem_field(p, "collections", "validation_required", "Cannot be blank.", NULL);
        return RC_INVALID;
    }
    enum rc rc = RC_OK;
    char *id = NULL;
    size_t i;
    json_t *item;
    struct pending_views pv = {0};
    json_array_foreach(list, i, item)
    {
        if (is_view_def(item, named_by(*cur, item)))
            continue;
        struct core_schema *before = *cur;
        rc = upsert(db, cur, *owns, item, named_by(*cur, item), p, &id, dropped, &pv, false);
        if (*cur != before)
            *owns = true;
        if (rc)
            break;
    }
    if (!rc)
        rc = import_views(db, cur, owns, list, p, dropped, &pv);
    /* deleteMissing: views first, so a source goes after the views reading it. */
    for (int pass = 0; pass < 2 && !rc && json_is_true(json_object_get(body, "deleteMissing"));
         pass++) {
        for (size_t k = 0; k < (*cur)->count && !rc;) {
            const struct core_collection *c = (*cur)->items[k];
            bool listed = false;
            json_array_foreach(list, i, item)
            {
                const char *want = json_string_value(json_object_get(item, "id"));
                const char *name = json_string_value(json_object_get(item, "name"));
                if ((want && strcmp(want, c->id) == 0) || (name && strcasecmp(name, c->name) == 0))
                    listed = true;
            }
            if (listed || c->is_system || (c->type == CORE_COLLECTION_VIEW) != (pass == 0)) {
                k++;
                continue;
            }
            json_t *gone = json_string(c->id); /* c goes with the old snapshot */
            struct core_schema *before = *cur;
            rc = remove_collection(db, cur, *owns, c, p, &pv, dropped);
            if (*cur != before)
                *owns = true;
            if (!rc)
                json_array_append(emptied, gone);
            json_decref(gone);
        }
    }
    if (!rc)
        rc = remake_views(db, cur, &pv, p, dropped);
    pending_cleanup(&pv);
    xfree(id);
    if (rc && !p->message[0])
        core_problem_message(p, "Failed to import collections.");
    return rc;
}

enum rc core_schema_tx_save(struct core_schema_tx *tx, json_t *def, struct core_problem *p,
                            char **id_out)
{
    const struct core_collection *old = named_by(tx->cur, def);
    struct core_schema *before = tx->cur;
    enum rc rc =
        upsert(tx->db, &tx->cur, tx->owns_cur, def, old, p, id_out, tx->dropped_files, NULL, false);
    if (tx->cur != before)
        tx->owns_cur = true;
    if (rc == RC_CONFLICT)
        rc = RC_INVALID; /* as apply() answers it */
    if (rc == RC_INVALID && !p->message[0])
        core_problem_message(p,
                             old ? "Failed to update collection." : "Failed to create collection.");
    return rc;
}

enum rc core_schema_tx_delete(struct core_schema_tx *tx, struct str name_or_id,
                              struct core_problem *p)
{
    const struct core_collection *old = core_schema_find(tx->cur, name_or_id);
    if (!old) {
        core_problem_message(p, "The requested resource wasn't found.");
        return RC_NOT_FOUND;
    }
    json_t *gone = json_string(old->id); /* old goes with the snapshot */
    struct core_schema *before = tx->cur;
    enum rc rc = remove_collection(tx->db, &tx->cur, tx->owns_cur, old, p, NULL, tx->dropped_files);
    if (tx->cur != before)
        tx->owns_cur = true;
    if (!rc)
        json_array_append(tx->emptied_collections, gone);
    json_decref(gone);
    return rc;
}

enum rc core_schema_tx_import(struct core_schema_tx *tx, json_t *body, struct core_problem *p)
{
    enum rc rc = import(tx->db, &tx->cur, &tx->owns_cur, body, p, tx->dropped_files,
                        tx->emptied_collections);
    return rc == RC_CONFLICT ? RC_INVALID : rc;
}

static enum rc apply(struct store_conn *db, void *ctx)
{
    struct core_schema_job *job = ctx;
    struct core_problem *p = &job->problem;
    struct core_schema *cur = (struct core_schema *)core_app_schema(job->app);
    if (job->next) {
        /* built by an earlier run the writer rolled back (writer.h) */
        core_schema_free(job->next);
        job->next = NULL;
    }
    json_decref(job->dropped_files);
    json_decref(job->emptied_collections);
    job->dropped_files = json_object();
    job->emptied_collections = json_array();
    const struct core_collection *old =
        job->target_id ? core_schema_find_exact(cur, str_from_cstr(job->target_id)) : NULL;
    enum rc rc = RC_OK;
    if (job->op != CORE_SCHEMA_CREATE && job->op != CORE_SCHEMA_IMPORT &&
        job->op != CORE_SCHEMA_RUN && !old)
        rc = RC_NOT_FOUND;
    else {
        switch (job->op) {
        case CORE_SCHEMA_CREATE:
        case CORE_SCHEMA_UPDATE:
            rc = upsert(db, &cur, false, job->input, old, p, &job->result_id, job->dropped_files,
                        NULL, false);
            /* A unique index the stored rows break cannot be built: PocketBase
             * answers that as a failed save (400), not a conflict. */
            if (rc == RC_CONFLICT)
                rc = RC_INVALID;
            if (rc == RC_INVALID && !p->message[0])
                core_problem_message(p, job->op == CORE_SCHEMA_CREATE
                                            ? "Failed to create collection."
                                            : "Failed to update collection.");
            break;
        case CORE_SCHEMA_DELETE:
            rc = remove_collection(db, &cur, false, old, p, NULL, job->dropped_files);
            if (!rc)
                json_array_append_new(job->emptied_collections, json_string(job->target_id));
            break;
        case CORE_SCHEMA_TRUNCATE:
            rc = truncate_collection(db, old, p);
            if (!rc)
                json_array_append_new(job->emptied_collections, json_string(job->target_id));
            break;
        case CORE_SCHEMA_IMPORT: {
            bool owns = false;
            rc = import(db, &cur, &owns, job->input, p, job->dropped_files,
                        job->emptied_collections);
            break;
        }
        case CORE_SCHEMA_RUN: {
            struct core_schema_tx tx = {.db = db,
                                        .cur = cur,
                                        .dropped_files = job->dropped_files,
                                        .emptied_collections = job->emptied_collections};
            rc = job->run(&tx, job->run_ctx);
            cur = tx.cur;
            break;
        }
        }
    }
    if (!rc && cur != core_app_schema(job->app))
        job->next = cur;
    else if (cur != core_app_schema(job->app))
        core_schema_free(cur);
    return rc;
}

static void submit_now(struct core_schema_job *job);

/* The next waiting change goes to the writer, or nothing is busy any more. */
static void start_next(struct core_app *app)
{
    pthread_mutex_lock(&app->schema_mu);
    struct core_schema_job *next = app->schema_waiting;
    if (next) {
        app->schema_waiting = next->waiting_next;
        if (!app->schema_waiting)
            app->schema_waiting_tail = NULL;
        next->waiting_next = NULL;
    } else {
        app->is_schema_busy = false;
    }
    pthread_mutex_unlock(&app->schema_mu);
    if (next)
        submit_now(next);
}

static void after_commit(enum rc rc, void *ctx)
{
    struct core_schema_job *job = ctx;
    struct core_app *app = job->app;
    if (job->next) {
        if (rc == RC_OK)
            core_app_swap_schema(app, job->next);
        else
            core_schema_free(job->next);
        job->next = NULL;
        if (rc == RC_OK && !job->is_reload && app->on_local_change)
            job->change_ticket = app->on_local_change(app->on_local_change_ctx, "schema");
    }
    start_next(app); /* job may be gone once its done has run: app read first */
}

static void answer(void *arg)
{
    struct core_schema_job *job = arg;
    job->done(job);
}

static void finished(enum rc rc, void *ctx)
{
    struct core_schema_job *job = ctx;
    job->rc = rc;
    if (job->cw)
        core_worker_end_read(job->cw); /* see record_write.c */
    uint64_t ticket = job->change_ticket;
    job->change_ticket = 0;
    struct core_app *app = job->app;
    if (ticket && app->await_change) {
        /* answered once the other instances serve it too (--redis) */
        app->await_change(app->on_local_change_ctx, ticket, job->cw, answer, job);
        return;
    }
    job->done(job);
}

static void submit_now(struct core_schema_job *job)
{
    store_writer_submit_after(job->app->writer, job->cw ? job->cw->mailbox : NULL, apply,
                              after_commit, finished, job);
}

void core_schema_submit(struct core_app *app, struct core_worker *cw, struct core_schema_job *job)
{
    job->app = app;
    job->cw = cw;
    job->waiting_next = NULL;
    pthread_mutex_lock(&app->schema_mu);
    bool is_now = !app->is_schema_busy;
    if (is_now) {
        app->is_schema_busy = true;
    } else if (app->schema_waiting_tail) {
        app->schema_waiting_tail->waiting_next = job;
        app->schema_waiting_tail = job;
    } else {
        app->schema_waiting = app->schema_waiting_tail = job;
    }
    pthread_mutex_unlock(&app->schema_mu);
    if (is_now)
        submit_now(job);
}

/* The reload's one step: the stored collections replace the snapshot. */
static enum rc reload_run(struct core_schema_tx *tx, void *ctx)
{
    (void)ctx;
    struct core_schema *s = xcalloc(1, sizeof(*s));
    enum rc rc = core_app_load_collections(tx->db, s);
    if (rc) {
        core_schema_free(s);
        return rc;
    }
    if (tx->owns_cur)
        core_schema_free(tx->cur);
    tx->cur = s;
    tx->owns_cur = true;
    return RC_OK;
}

/* A reload job and who waits for it. */
struct reload_job {
    struct core_schema_job job; /* first: done gets it */
    void (*done)(void *ctx, enum rc rc);
    void *ctx;
};

static void reload_done(struct core_schema_job *job)
{
    struct reload_job *r = (struct reload_job *)job;
    if (job->rc)
        log_warn("msg=\"schema not read again after another instance's change\" rc=%s",
                 rc_name(job->rc));
    if (r->done)
        r->done(r->ctx, job->rc);
    core_schema_job_cleanup(job);
    xfree(r);
}

void core_schema_reload(struct core_app *app, void (*done)(void *ctx, enum rc rc), void *ctx)
{
    struct reload_job *r = xcalloc(1, sizeof(*r));
    r->done = done;
    r->ctx = ctx;
    struct core_schema_job *job = &r->job;
    job->op = CORE_SCHEMA_RUN;
    job->run = reload_run;
    job->done = reload_done;
    job->is_reload = true;
    core_problem_init(&job->problem);
    core_schema_submit(app, NULL, job);
}

void core_schema_job_cleanup(struct core_schema_job *job)
{
    json_decref(job->input);
    json_decref(job->dropped_files);
    json_decref(job->emptied_collections);
    job->dropped_files = NULL;
    job->emptied_collections = NULL;
    xfree(job->target_id);
    xfree(job->result_id);
    core_problem_cleanup(&job->problem);
    job->input = NULL;
    job->target_id = job->result_id = NULL;
}

/* core_schema_run's wait for its job. */
struct run_wait {
    struct core_schema_job job;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool is_done;
};

static void run_done(struct core_schema_job *job)
{
    struct run_wait *w = (struct run_wait *)job; /* job is its first member */
    pthread_mutex_lock(&w->mu);
    w->is_done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

enum rc core_schema_run(struct core_app *app, core_schema_tx_fn *fn, void *ctx,
                        struct core_problem *p)
{
    struct run_wait w = {
        .job = {.op = CORE_SCHEMA_RUN, .run = fn, .run_ctx = ctx, .done = run_done}};
    core_problem_init(&w.job.problem);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cond, NULL);
    core_schema_submit(app, NULL, &w.job);
    pthread_mutex_lock(&w.mu);
    while (!w.is_done)
        pthread_cond_wait(&w.cond, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.mu);
    enum rc rc = w.job.rc;
    if (!rc) {
        /* Files go with their records, as after the REST API's changes. */
        const char *col_id;
        json_t *pairs;
        json_object_foreach(w.job.dropped_files, col_id, pairs)
        {
            core_files_remove_many_async(app->offload, core_app_storage(app), col_id,
                                         json_incref(pairs));
        }
        size_t i;
        json_t *gone;
        json_array_foreach(w.job.emptied_collections, i, gone)
        {
            core_files_remove_collection_async(app->offload, core_app_storage(app),
                                               json_string_value(gone));
        }
    }
    core_problem_cleanup(p);
    *p = w.job.problem;
    core_problem_init(&w.job.problem);
    core_schema_job_cleanup(&w.job);
    return rc;
}
