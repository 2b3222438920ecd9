/* record_write.c -- see record_write.h. */
#include "core/record/record_write.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "core/credential/password.h"
#include "core/schema/field_type.h"
#include "core/schema/index.h"
#include "core/record/record_out.h"
#include "store/sql.h"
#include "store/store.h"
#include "store/writer.h"

#define CASCADE_MAX_DEPTH 16

/* Adds a validation_not_unique error for each column a unique index refused
 * (the step that failed was st's on db); false when the conflict was another
 * constraint. */
static bool unique_errors(struct store_conn *db, struct core_problem *p)
{
    struct str cols[2 * CORE_INDEX_MAX_COLUMNS];
    size_t n = store_unique_columns(db, cols, sizeof(cols) / sizeof(cols[0]));
    for (size_t i = 0; i < n; i++) {
        char name[128];
        size_t len = cols[i].len < sizeof(name) ? cols[i].len : sizeof(name) - 1;
        memcpy(name, cols[i].ptr, len);
        name[len] = '\0';
        core_problem_field(p, name, "validation_not_unique", "Value must be unique.", NULL);
    }
    return n > 0;
}

/* The ids relation field f holds in values, as a JSON array (a new
 * reference), or NULL when it holds none. */
static json_t *relation_ids(const struct core_field *f, json_t *values)
{
    json_t *v = json_object_get(values, f->name);
    if (json_is_array(v))
        return json_array_size(v) ? json_incref(v) : NULL;
    if (!json_is_string(v) || !json_string_length(v))
        return NULL;
    json_t *ids = json_array();
    json_array_append(ids, v);
    return ids;
}

/* Adds to q a count of how many ids of a JSON array (bound to the returned
 * parameter) exist in t. One primary-key probe per id, a scalar subquery:
 * PostgreSQL's planner, guessing 100 array elements, would otherwise hash
 * the whole target table for each check. */
static unsigned add_found_count(struct store_sql *q, const struct core_collection *t)
{
    store_sql_add(q, "(SELECT COUNT(*) FROM ");
    store_sql_json_each_open(q);
    unsigned p_ids = store_sql_param(q);
    store_sql_json_each_close(q, "je");
    store_sql_add(q, " WHERE (SELECT 1 FROM ");
    store_sql_ident(q, str_from_cstr(t->name));
    store_sql_add(q, " \"t\" WHERE \"t\".\"id\" = \"je\".\"value\" LIMIT 1) IS NOT NULL)");
    return p_ids;
}

static void missing_records(struct core_problem *p, const struct core_field *f)
{
    core_problem_field(p, f->name, "validation_missing_rel_records",
                       "Failed to find all relation records with the provided ids.", NULL);
}

enum rc core_record_check_relations(struct store_conn *db, const struct core_schema *schema,
                                    const struct core_collection *c, json_t *values,
                                    struct core_problem *p)
{
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (f->type != CORE_FIELD_RELATION)
            continue;
        json_t *ids = relation_ids(f, values);
        if (!ids)
            continue;
        size_t n = json_array_size(ids);
        const struct core_collection *t =
            core_schema_find_exact(schema, str_from_cstr(f->collection_id));
        if (!t) {
            json_decref(ids);
            core_problem_field(p, f->name, "validation_missing_rel_collection",
                               "The related collection doesn't exist.", NULL);
            continue;
        }
        struct buf sql;
        buf_init(&sql, 4096);
        struct store_sql q;
        store_sql_begin(&q, &sql);
        store_sql_add(&q, "SELECT ");
        unsigned p_ids = add_found_count(&q, t);
        struct store_stmt *st = NULL;
        enum rc rc = store_sql_prepare(&q, db, &st);
        buf_cleanup(&sql);
        if (rc) {
            json_decref(ids);
            return rc;
        }
        char *text = json_dumps(ids, JSON_COMPACT);
        /* text outlives the step: borrowed */
        size_t found = 0;
        rc = store_bind_text(st, (int)p_ids, str_from_cstr(text ? text : ""));
        if (!rc)
            rc = store_step(st);
        if (!rc)
            found = (size_t)store_column_int64(st, 0);
        store_done(st);
        xfree(text);
        json_decref(ids);
        if (rc) /* a read that failed is no missing record (a 400); COUNT(*) has a row */
            return rc == RC_NOT_FOUND ? RC_INTERNAL : rc;
        if (found != n)
            missing_records(p, f);
    }
    return core_problem_has_fields(p) ? RC_INVALID : RC_OK;
}

/* SELECT 1 FROM c r WHERE r.id = ?1 AND (rule): true when the record passes. */
static enum rc passes_rule(struct store_conn *db, const struct core_write_job *job, bool *ok)
{
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT 1 FROM ");
    store_sql_ident(&q, str_from_cstr(job->c->name));
    store_sql_add(&q, " \"r\" WHERE \"r\".\"id\" = ");
    unsigned p_id = store_sql_param(&q); /* the rule's numbers follow */
    if (job->has_rule && job->rule.sql.len) {
        store_sql_add(&q, " AND (");
        store_sql_addn(&q, job->rule.sql);
        store_sql_add(&q, ")");
    }
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_prepare(&q, db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    rc = store_bind_text(st, (int)p_id, str_from_cstr(job->id));
    if (!rc && job->has_rule && job->rule.sql.len)
        rc = core_sql_fragment_bind(st, &job->rule, p_id);
    if (!rc)
        rc = store_step(st);
    store_done(st);
    if (rc && rc != RC_NOT_FOUND)
        return rc;
    *ok = rc == RC_OK;
    return RC_OK;
}

/* A create's sole_field (record_write.h): RC_INVALID with
 * validation_not_unique when a stored record of c already holds the value
 * the new one gives it (an empty value is nobody's). */
static enum rc check_sole(struct store_conn *db, const struct core_write_job *job,
                          struct core_problem *p)
{
    const char *value = json_string_value(json_object_get(job->values, job->sole_field));
    if (!value || !value[0])
        return RC_OK;
    struct buf sql;
    buf_init(&sql, 4096);
    /* Several instances' writers (PostgreSQL): one check of this value at
     * a time, until the transaction that may insert it ends. */
    (void)buf_append_cstr(&sql, "sole\x1f");
    (void)buf_append_cstr(&sql, job->c->id);
    (void)buf_append_cstr(&sql, "\x1f");
    (void)buf_append_cstr(&sql, job->sole_field);
    (void)buf_append_cstr(&sql, "\x1f");
    (void)buf_append_cstr(&sql, value);
    enum rc lrc = store_lock_key(db, buf_str(&sql));
    if (lrc) {
        buf_cleanup(&sql);
        return lrc;
    }
    buf_reset(&sql);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT 1 FROM ");
    store_sql_ident(&q, str_from_cstr(job->c->name));
    store_sql_add(&q, " WHERE ");
    store_sql_ident(&q, str_from_cstr(job->sole_field));
    store_sql_add(&q, " = ");
    unsigned p_value = store_sql_param(&q);
    store_sql_add(&q, " LIMIT 1");
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_prepare(&q, db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    rc = store_bind_text(st, (int)p_value, str_from_cstr(value));
    if (!rc)
        rc = store_step(st);
    store_done(st);
    if (rc == RC_NOT_FOUND)
        return RC_OK;
    if (rc)
        return rc;
    core_problem_field(p, job->sole_field, "validation_not_unique", "Value must be unique.", NULL);
    return RC_INVALID;
}

/* INSERT INTO c [AS "r"] (every field) VALUES (?1, ...): field i binds
 * i + 1 (core_record_bind_values); "r" is the name rules give the row. */
static void add_insert(struct store_sql *q, const struct core_collection *c, bool is_aliased)
{
    store_sql_add(q, "INSERT INTO ");
    store_sql_ident(q, str_from_cstr(c->name));
    store_sql_add(q, is_aliased ? " AS \"r\" (" : " (");
    for (size_t i = 0; i < c->field_count; i++) {
        if (i)
            store_sql_add(q, ", ");
        store_sql_ident(q, str_from_cstr(c->fields[i].name));
    }
    store_sql_add(q, ") VALUES (");
    for (size_t i = 0; i < c->field_count; i++) {
        if (i)
            store_sql_add(q, ", ");
        store_sql_param(q);
    }
    store_sql_add(q, ")");
}

static enum rc write_row(struct store_conn *db, const struct core_write_job *job, json_t *values,
                         bool is_insert, struct core_problem *p)
{
    const struct core_collection *c = job->c;
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    unsigned p_id = 0;
    if (is_insert) {
        add_insert(&q, c, false);
    } else {
        store_sql_add(&q, "UPDATE ");
        store_sql_ident(&q, str_from_cstr(c->name));
        store_sql_add(&q, " SET ");
        for (size_t i = 0; i < c->field_count; i++) {
            if (i)
                store_sql_add(&q, ", ");
            store_sql_ident(&q, str_from_cstr(c->fields[i].name));
            store_sql_add(&q, " = ");
            store_sql_param(&q);
        }
        store_sql_add(&q, " WHERE \"id\" = ");
        p_id = store_sql_param(&q);
    }
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_prepare(&q, db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    rc = core_record_bind_values(st, c, values);
    if (!rc && p_id)
        rc = store_bind_text(st, (int)p_id, str_from_cstr(job->id));
    if (!rc)
        rc = store_step(st);
    if (rc == RC_CONFLICT && unique_errors(db, p))
        rc = RC_INVALID;
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc; /* RC_NOT_FOUND: done, no row */
}

/* A create in one round trip where the engine allows (PostgreSQL): the
 * INSERT returns what the separate statements would have answered, its
 * rule over the row itself (job->rule_at_insert) and, per relation field,
 * how many of its targets exist; sub-SELECTs of a RETURNING see the tables
 * as they were before the INSERT, as the check before it did. A unique
 * conflict inserts nothing (ON CONFLICT DO NOTHING) and leaves the
 * transaction usable: *is_done false then, and the caller runs the
 * separate checks and INSERT, which name the refused columns in the order
 * they always did (missing relations first). */
static enum rc create_in_one(struct store_conn *db, const struct core_write_job *job,
                             struct core_problem *p, bool *is_done)
{
    const struct core_collection *c = job->c;
    *is_done = false;
    struct rel {
        const struct core_field *f;
        char *ids; /* JSON array text */
        size_t want;
        unsigned param;
    } *rels = xcalloc(c->field_count ? c->field_count : 1, sizeof(*rels));
    size_t nrel = 0;
    enum rc rc = RC_OK;
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    add_insert(&q, c, true);
    store_sql_add(&q, " ON CONFLICT DO NOTHING RETURNING ");
    if (job->has_rule_at_insert) {
        store_sql_add(&q, "CASE WHEN (");
        store_sql_addn(&q, job->rule_at_insert.sql);
        store_sql_add(&q, ") THEN 1 ELSE 0 END");
        q.params += (unsigned)job->rule_at_insert.param_count; /* numbered in the text */
    } else {
        store_sql_add(&q, "1");
    }
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        json_t *ids = f->type == CORE_FIELD_RELATION ? relation_ids(f, job->values) : NULL;
        if (!ids)
            continue;
        const struct core_collection *t =
            core_schema_find_exact(job->schema, str_from_cstr(f->collection_id));
        struct rel *r = &rels[nrel++];
        r->f = f;
        r->want = json_array_size(ids);
        r->ids = json_dumps(ids, JSON_COMPACT);
        json_decref(ids);
        if (!t || !r->ids) {
            rc = RC_NOT_FOUND; /* the separate check says which */
            break;
        }
        store_sql_add(&q, ", ");
        r->param = add_found_count(&q, t);
    }
    struct store_stmt *st = NULL;
    if (!rc)
        rc = store_sql_prepare(&q, db, &st);
    buf_cleanup(&sql);
    if (!rc)
        rc = core_record_bind_values(st, c, job->values);
    if (!rc && job->has_rule_at_insert)
        rc = core_sql_fragment_bind(st, &job->rule_at_insert, c->field_count);
    for (size_t i = 0; !rc && i < nrel; i++)
        rc = store_bind_text(st, (int)rels[i].param, str_from_cstr(rels[i].ids));
    if (!rc)
        rc = store_step(st);
    if (rc == RC_OK) {
        *is_done = true;
        for (size_t i = 0; i < nrel; i++) {
            if ((size_t)store_column_int64(st, (int)i + 1) != rels[i].want)
                missing_records(p, rels[i].f);
        }
        if (core_problem_has_fields(p))
            rc = RC_INVALID; /* the savepoint takes the row back */
        else if (job->has_rule_at_insert && store_column_int64(st, 0) != 1)
            rc = RC_INVALID; /* spec §2.3: a failed create rule is a 400 */
    } else if (rc == RC_NOT_FOUND) {
        rc = RC_OK; /* nothing inserted: a unique conflict (or a relation to look at) */
    } else {
        *is_done = true;
    }
    if (st)
        store_done(st);
    for (size_t i = 0; i < nrel; i++)
        xfree(rels[i].ids);
    xfree(rels);
    return rc;
}

/* -------------------------------------------------------------------------
 * Delete with references (spec §2.5)
 * ------------------------------------------------------------------------- */

static enum rc delete_record(struct store_conn *db, const struct core_schema *schema,
                             const struct core_collection *c, const char *id, int depth,
                             struct core_problem *p, struct core_event **events);

/* Handles every record that references (c, id) through relation field f of x. */
static enum rc release_references(struct store_conn *db, const struct core_schema *schema,
                                  const struct core_collection *x, const struct core_field *f,
                                  const char *id, int depth, struct core_problem *p,
                                  struct core_event **events)
{
    bool multi = core_field_is_multi(f);
    struct str column = str_from_cstr(f->name);
    struct buf sql;
    buf_init(&sql, 4096);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT \"id\", ");
    store_sql_ident(&q, column);
    store_sql_add(&q, " FROM ");
    store_sql_ident(&q, str_from_cstr(x->name));
    if (multi) {
        store_sql_add(&q, " WHERE EXISTS (SELECT 1 FROM ");
        store_sql_json_each_open(&q);
        store_sql_ident(&q, column);
        store_sql_json_each_close(&q, "je");
        store_sql_add(&q, " WHERE \"je\".\"value\" = ");
    } else {
        store_sql_add(&q, " WHERE ");
        store_sql_ident(&q, column);
        store_sql_add(&q, " = ");
    }
    unsigned p_id = store_sql_param(&q);
    if (multi)
        store_sql_add(&q, ")");
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_prepare(&q, db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc;
    rc = store_bind_text(st, (int)p_id, str_from_cstr(id));
    if (rc) {
        store_done(st);
        return rc;
    }
    /* Collect first: the changes below must not run under an open SELECT on the same rows. */
    json_t *refs = json_array();
    while (store_step(st) == RC_OK) {
        struct str ref = store_column_text(st, 0);
        json_t *row = json_pack("{s:s%, s:o}", "id", ref.ptr, ref.len, "value",
                                core_record_column_json(f, st, 1));
        json_array_append_new(refs, row);
    }
    store_done(st);
    size_t i;
    json_t *row;
    json_array_foreach(refs, i, row)
    {
        const char *ref_id = json_string_value(json_object_get(row, "id"));
        json_t *value = json_object_get(row, "value");
        json_t *left = json_array();
        if (multi) {
            size_t k;
            json_t *v;
            json_array_foreach(value, k, v)
            {
                if (strcmp(json_string_value(v), id) != 0)
                    json_array_append(left, v);
            }
        }
        size_t remaining = json_array_size(left);
        if (f->cascade_delete && remaining == 0) {
            rc = delete_record(db, schema, x, ref_id, depth + 1, p, events);
        } else if (f->is_required && remaining == 0) {
            core_problem_message(p, "Failed to delete record. Make sure that the record is not "
                                    "part of a required relation reference.");
            rc = RC_INVALID;
        } else {
            buf_init(&sql, 4096);
            store_sql_begin(&q, &sql);
            store_sql_add(&q, "UPDATE ");
            store_sql_ident(&q, str_from_cstr(x->name));
            store_sql_add(&q, " SET ");
            store_sql_ident(&q, column);
            store_sql_add(&q, " = ");
            unsigned p_value = store_sql_param(&q);
            store_sql_add(&q, " WHERE \"id\" = ");
            unsigned p_ref = store_sql_param(&q);
            struct store_stmt *up = NULL;
            rc = store_sql_prepare(&q, db, &up);
            buf_cleanup(&sql);
            if (!rc) {
                /* Both values outlive the step: bound borrowed. */
                char *text = multi ? json_dumps(left, JSON_COMPACT) : NULL;
                rc = store_bind_text(up, (int)p_value, str_from_cstr(text ? text : ""));
                if (!rc)
                    rc = store_bind_text(up, (int)p_ref, str_from_cstr(ref_id));
                if (!rc)
                    rc = store_step(up);
                store_done(up);
                xfree(text);
                if (rc == RC_NOT_FOUND)
                    rc = RC_OK; /* done: an UPDATE has no rows */
            }
        }
        json_decref(left);
        if (rc)
            break;
    }
    json_decref(refs);
    return rc;
}

/* -------------------------------------------------------------------------
 * What system collections keep about an auth record
 * ------------------------------------------------------------------------- */

/* The system collections whose rows point at an auth record by
 * collectionRef + recordRef (PocketBase's recordRefHooks): MFA sessions,
 * one-time passwords, sign-in origins, OAuth2 links. Their names are
 * written here, below auth/ that owns them, because the writes that end an
 * auth record (a delete, a cascade, a password change) all pass here; one
 * indexed DELETE each. */
enum rc core_record_delete_auth_refs(struct store_conn *db, const struct core_collection *c,
                                     const char *id, unsigned which)
{
    static const char *const tables[] = {"_mfas", "_otps", "_authOrigins", "_externalAuths"};
    enum rc rc = RC_OK;
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]) && !rc; i++) {
        if (!(which & (1u << i)))
            continue;
        struct buf sql;
        buf_init(&sql, 4096);
        struct store_sql q;
        store_sql_begin(&q, &sql);
        store_sql_add(&q, "DELETE FROM ");
        store_sql_ident(&q, str_from_cstr(tables[i]));
        store_sql_add(&q, " WHERE \"collectionRef\" = ");
        store_sql_param(&q);
        if (id) {
            store_sql_add(&q, " AND \"recordRef\" = ");
            store_sql_param(&q);
        }
        struct store_stmt *st;
        rc = store_sql_prepare(&q, db, &st);
        buf_cleanup(&sql);
        if (rc)
            break;
        rc = store_bind_text(st, 1, str_from_cstr(c->id));
        if (!rc && id)
            rc = store_bind_text(st, 2, str_from_cstr(id));
        if (!rc)
            rc = store_step(st);
        store_done(st);
        if (rc == RC_NOT_FOUND)
            rc = RC_OK; /* done: a DELETE returns no row */
    }
    return rc;
}

/* An update of an auth record, as PocketBase: a new password ends its MFA
 * sessions and forgets its sign-in origins; a new tokenKey (a password or
 * email change) voids its one-time passwords. */
static enum rc update_auth_refs(struct store_conn *db, const struct core_collection *c,
                                const char *id, json_t *before, json_t *after)
{
    if (c->type != CORE_COLLECTION_AUTH)
        return RC_OK;
    unsigned which = 0;
    if (!json_equal(json_object_get(before, "password"), json_object_get(after, "password")))
        which |= CORE_AUTH_REF_MFAS | CORE_AUTH_REF_ORIGINS;
    if (!json_equal(json_object_get(before, "tokenKey"), json_object_get(after, "tokenKey")))
        which |= CORE_AUTH_REF_OTPS;
    return which ? core_record_delete_auth_refs(db, c, id, which) : RC_OK;
}

/* Adds a delete event with the record as it is now (spec §7.4: the payload
 * and the checks use the record before its removal). */
static void note_delete(struct store_conn *db, const struct core_schema *schema,
                        const struct core_collection *c, const char *id, struct core_event **events)
{
    json_t *values = NULL;
    if (!events || core_record_load(db, c, str_from_cstr(id), &values) != RC_OK)
        return;
    struct core_event *ev = core_event_new(CORE_EVENT_DELETE, schema, c, values);
    json_decref(values);
    ev->next = *events;
    *events = ev;
}

static enum rc delete_record(struct store_conn *db, const struct core_schema *schema,
                             const struct core_collection *c, const char *id, int depth,
                             struct core_problem *p, struct core_event **events)
{
    if (depth > CASCADE_MAX_DEPTH) {
        core_problem_message(p, "Failed to delete record: the cascade is too deep.");
        return RC_INVALID;
    }
    note_delete(db, schema, c, id, events);
    struct buf sql;
    buf_init(&sql, 4096);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "DELETE FROM ");
    store_sql_ident(&q, str_from_cstr(c->name));
    store_sql_add(&q, " WHERE \"id\" = ");
    struct store_stmt *st;
    enum rc rc = core_record_step_id(db, &q, str_from_cstr(id), &st);
    buf_cleanup(&sql);
    if (!st)
        return rc;
    int64_t changes = store_changes(db);
    store_done(st);
    if (rc != RC_NOT_FOUND)
        return rc; /* RC_NOT_FOUND is done: a DELETE returns no row */
    if (changes == 0)
        return RC_OK; /* already gone (a cycle of cascades) */
    rc = c->type == CORE_COLLECTION_AUTH
             ? core_record_delete_auth_refs(db, c, id, CORE_AUTH_REF_ALL)
             : RC_OK;
    for (size_t i = 0; i < schema->count && !rc; i++) {
        const struct core_collection *x = schema->items[i];
        if (x->type == CORE_COLLECTION_VIEW)
            continue;
        for (size_t k = 0; k < x->field_count && !rc; k++) {
            const struct core_field *f = &x->fields[k];
            if (f->type == CORE_FIELD_RELATION && strcmp(f->collection_id, c->id) == 0)
                rc = release_references(db, schema, x, f, id, depth, p, events);
        }
    }
    return rc;
}

/* -------------------------------------------------------------------------
 * Password hashes
 * ------------------------------------------------------------------------- */

void core_write_job_add_hash(struct core_write_job *job, const char *field, struct str phc)
{
    if (!job->hashes)
        job->hashes = json_object();
    json_object_set_new(job->hashes, field, json_stringn(phc.ptr, phc.len));
    if (job->values)
        json_object_set_new(job->values, field, json_stringn(phc.ptr, phc.len));
}

void core_write_job_set_hashes(struct core_write_job *job, const struct core_record_input *in)
{
    for (size_t i = 0; i < in->secret_count; i++) {
        if (in->secrets[i].hash)
            core_write_job_add_hash(job, in->secrets[i].field->name,
                                    str_from_cstr(in->secrets[i].hash));
    }
}

/* Puts the job's hashes in the values an update rebuilt from its body: each
 * secret the rebuild found must have been hashed by the worker. */
static enum rc apply_hashes(const struct core_write_job *job, const struct core_record_input *in)
{
    for (size_t i = 0; i < in->secret_count; i++) {
        const char *name = in->secrets[i].field->name;
        json_t *phc = json_object_get(job->hashes, name);
        if (!json_is_string(phc)) {
            log_error("msg=\"password field value without its hash\" collection=%s field=%s",
                      job->c->name, name);
            return RC_INTERNAL;
        }
        json_object_set(in->values, name, phc);
    }
    return RC_OK;
}

/* The last guard before a row is written: a password field the write sets
 * (every one on a create; on an update, those that differ from stored) holds
 * "" or an argon2id hash, never what a client sent. A stored value is
 * written back as it is, so one odd row does not block its updates. */
static enum rc check_hashed(const struct core_collection *c, json_t *values, json_t *stored)
{
    for (size_t i = 0; i < c->field_count; i++) {
        const struct core_field *f = &c->fields[i];
        if (f->type != CORE_FIELD_PASSWORD)
            continue;
        json_t *v = json_object_get(values, f->name);
        if (stored && json_equal(v, json_object_get(stored, f->name)))
            continue;
        struct core_password_phc phc;
        if (json_string_length(v) &&
            core_password_parse((struct str){json_string_value(v), json_string_length(v)}, &phc)) {
            log_error("msg=\"password field value is not a hash: write refused\" "
                      "collection=%s field=%s",
                      c->name, f->name);
            return RC_INTERNAL;
        }
    }
    return RC_OK;
}

/* -------------------------------------------------------------------------
 * The job
 * ------------------------------------------------------------------------- */

static void add_event(struct core_write_job *job, enum core_event_action action, json_t *values)
{
    struct core_event *ev = core_event_new(action, job->schema, job->c, values);
    ev->next = job->events;
    job->events = ev;
}

/* The fields a before listener changed in copy, against *values, go through
 * the input's validation again, as a superuser's update of the record would;
 * *values becomes the result. A listener may not change the id, nor set a
 * password field (its value would need hashing off this thread). */
static enum rc take_changes(const struct core_write_job *job, json_t **values, json_t *copy,
                            struct core_problem *p)
{
    json_t *diff = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(copy, key, v)
    {
        json_t *old = json_object_get(*values, key);
        if (!old || !json_equal(old, v))
            json_object_set(diff, key, v);
    }
    enum rc rc = RC_OK;
    if (json_object_size(diff) && json_object_get(diff, "id")) {
        log_error("msg=\"a before hook changed the record id: write refused\" collection=%s",
                  job->c->name);
        rc = RC_INTERNAL;
    } else if (json_object_size(diff)) {
        static const struct core_auth superuser = {.is_superuser = true};
        struct core_request r = {.schema = job->schema, .auth = &superuser};
        struct core_record_input in = {0};
        rc = core_record_input_build(&r, job->c, diff, *values, &in, p);
        if (!rc && in.secret_count) {
            log_error("msg=\"a before hook set a password field: write refused\" "
                      "collection=%s",
                      job->c->name);
            rc = RC_INTERNAL;
        }
        if (!rc) {
            json_decref(*values);
            *values = json_incref(in.values);
        }
        core_record_input_cleanup(&in);
    }
    json_decref(diff);
    return rc;
}

/* The before listeners of the app's bus (scripts' hooks), when one wants
 * job's collection: they see a copy of the record and may change it (create,
 * update) or refuse the write. current: the stored record (update, delete). */
static enum rc run_before(struct store_conn *db, const struct core_write_job *job,
                          enum core_event_action action, json_t **values, json_t *current,
                          struct core_problem *p)
{
    if (!job->cw || !core_event_has_before(job->cw->events, job->c))
        return RC_OK;
    json_t *copy = json_deep_copy(*values);
    if (!copy)
        return RC_NOMEM;
    enum rc rc = core_event_before(job->cw->events, db, action, job->c, copy, current, p);
    if (!rc && action != CORE_EVENT_DELETE)
        rc = take_changes(job, values, copy, p);
    json_decref(copy);
    return rc;
}

/* A delete's before listeners see the stored record. */
static enum rc run_before_delete(struct store_conn *db, const struct core_write_job *job,
                                 struct core_problem *p)
{
    if (!job->cw || !core_event_has_before(job->cw->events, job->c))
        return RC_OK;
    json_t *current = NULL;
    enum rc rc = core_record_load(db, job->c, str_from_cstr(job->id), &current);
    if (!rc)
        rc = run_before(db, job, CORE_EVENT_DELETE, &current, current, p);
    json_decref(current);
    return rc;
}

static enum rc apply(struct store_conn *db, void *ctx)
{
    struct core_write_job *job = ctx;
    struct core_problem *p = &job->problem;
    bool ok = true;
    enum rc rc = RC_OK;
    /* The writer may run a job again after a rollback (writer.h): the events
     * of an earlier run went with it. */
    core_event_list_free(job->events);
    job->events = NULL;
    switch (job->kind) {
    case CORE_WRITE_CREATE:
        rc = run_before(db, job, CORE_EVENT_CREATE, &job->values, NULL, p);
        if (!rc)
            rc = check_hashed(job->c, job->values, NULL);
        if (!rc && job->sole_field)
            rc = check_sole(db, job, p);
        bool is_done = false;
        if (!rc && store_is_remote(db))
            rc = create_in_one(db, job, p, &is_done);
        if (!rc && !is_done)
            rc = core_record_check_relations(db, job->schema, job->c, job->values, p);
        if (!rc && !is_done)
            rc = write_row(db, job, job->values, true, p);
        if (!rc && job->has_rule && !(is_done && job->has_rule_at_insert)) {
            rc = passes_rule(db, job, &ok);
            if (!rc && !ok)
                rc = RC_INVALID; /* spec §2.3: a failed create rule is a 400 */
        }
        if (rc == RC_INVALID && !p->message[0])
            core_problem_message(p, "Failed to create record.");
        if (!rc && job->wants_events)
            add_event(job, CORE_EVENT_CREATE, job->values);
        break;
    case CORE_WRITE_UPDATE: {
        rc = passes_rule(db, job, &ok);
        if (!rc && !ok)
            rc = RC_NOT_FOUND;
        json_t *current = NULL;
        if (!rc)
            rc = core_record_load(db, job->c, str_from_cstr(job->id), &current);
        struct core_record_input in = {0};
        if (!rc)
            rc = core_record_input_build(job->request, job->c, job->body, current, &in, p);
        if (!rc)
            rc = apply_hashes(job, &in);
        if (!rc)
            rc = run_before(db, job, CORE_EVENT_UPDATE, &in.values, current, p);
        if (!rc)
            rc = check_hashed(job->c, in.values, current);
        if (!rc)
            rc = core_record_check_relations(db, job->schema, job->c, in.values, p);
        if (!rc)
            rc = write_row(db, job, in.values, false, p);
        if (!rc)
            rc = update_auth_refs(db, job->c, job->id, current, in.values);
        if (rc == RC_INVALID && !p->message[0])
            core_problem_message(p, "Failed to update record.");
        if (!rc && job->wants_events) {
            add_event(job, CORE_EVENT_UPDATE, in.values);
            job->events->previous = json_incref(current); /* after hooks' e.original */
        }
        if (!rc) {
            json_decref(job->written);
            job->written = json_incref(in.values);
            json_decref(job->previous);
            job->previous = json_incref(current);
        }
        core_record_input_cleanup(&in);
        json_decref(current);
        break;
    }
    case CORE_WRITE_DELETE:
        rc = passes_rule(db, job, &ok);
        if (!rc && !ok)
            rc = RC_NOT_FOUND;
        if (!rc)
            rc = run_before_delete(db, job, p);
        if (!rc)
            rc = delete_record(db, job->schema, job->c, job->id, 0, p,
                               job->wants_events ? &job->events : NULL);
        break;
    }
    /* The outbox: listeners that write (jobs) do it in this transaction, so a
     * rolled-back write leaves nothing behind. */
    if (!rc && job->events && job->cw)
        rc = core_event_in_tx(job->cw->events, db, job->events);
    if (rc) {
        /* The savepoint is rolled back: nothing happened to announce. */
        core_event_list_free(job->events);
        job->events = NULL;
    }
    job->rc = rc;
    return rc;
}

static void finished(enum rc rc, void *ctx)
{
    struct core_write_job *job = ctx;
    job->rc = rc;
    /* A read transaction begun earlier in this loop iteration predates the
     * commit: end it so reading the record back sees the write. */
    if (job->cw)
        core_worker_end_read(job->cw);
    struct core_event *events = job->events;
    job->events = NULL;
    if (rc || !job->cw)
        core_event_list_free(events);
    else
        core_event_emit(job->cw->events, events); /* after the commit (spec §7.4) */
    if (!rc && job->cw)
        core_event_committed(job->cw->events);
    job->done(job);
}

void core_record_submit(struct core_worker *cw, struct core_write_job *job)
{
    job->cw = cw;
    job->wants_events = core_event_is_wanted(cw->events, job->c);
    store_writer_submit(cw->writer, cw->mailbox, apply, finished, job);
}

static enum rc apply_batch(struct store_conn *db, void *ctx)
{
    struct core_write_batch *b = ctx;
    b->rc = RC_OK;
    for (size_t i = 0; i < b->count; i++) {
        if (b->deadline_ns && chrono_mono_ns() > b->deadline_ns) {
            b->rc = RC_BUSY;
            b->failed = i;
            b->is_timed_out = true;
            return RC_BUSY;
        }
        enum rc rc = apply(db, b->jobs[i]);
        if (rc) {
            b->rc = rc;
            b->failed = i;
            return rc; /* the writer rolls the whole batch back */
        }
    }
    return RC_OK;
}

static void finished_batch(enum rc rc, void *ctx)
{
    struct core_write_batch *b = ctx;
    if (rc && !b->rc) {
        /* The commit itself failed (or the transaction broke): every job
         * succeeded, and the first one carries the reason. */
        b->rc = rc;
        b->failed = 0;
    }
    core_worker_end_read(b->cw);
    for (size_t i = 0; i < b->count; i++) {
        struct core_write_job *job = b->jobs[i];
        struct core_event *events = job->events;
        job->events = NULL;
        if (b->rc) {
            core_event_list_free(events);
            if (i == b->failed && !job->rc)
                job->rc = b->rc;
            else if (i != b->failed)
                job->rc = RC_CONFLICT;
        } else {
            job->rc = RC_OK;
            core_event_emit(b->cw->events, events);
        }
    }
    if (!b->rc)
        core_event_committed(b->cw->events);
    b->done(b);
}

void core_record_submit_batch(struct core_worker *cw, struct core_write_batch *b)
{
    b->cw = cw;
    for (size_t i = 0; i < b->count; i++) {
        b->jobs[i]->cw = cw;
        b->jobs[i]->wants_events = core_event_is_wanted(cw->events, b->jobs[i]->c);
    }
    store_writer_submit(cw->writer, cw->mailbox, apply_batch, finished_batch, b);
}

enum rc core_record_apply(struct store_conn *db, struct core_write_job *job)
{
    job->cw = NULL;
    job->wants_events = false;
    return apply(db, job);
}

enum rc core_record_run(struct store_writer *writer, struct core_write_job *job)
{
    job->rc = store_writer_run(writer, apply, job);
    return job->rc;
}

void core_write_job_cleanup(struct core_write_job *job)
{
    xfree(job->id);
    json_decref(job->values);
    json_decref(job->body);
    json_decref(job->written);
    job->written = NULL;
    json_decref(job->previous);
    job->previous = NULL;
    json_decref(job->hashes);
    core_problem_cleanup(&job->problem);
    core_event_list_free(job->events);
    job->events = NULL;
    job->id = NULL;
    job->values = NULL;
    job->body = NULL;
    job->hashes = NULL;
}
