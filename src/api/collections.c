/* collections.c -- /api/collections (spec §5.6): superusers only. Reads come
 * from the schema snapshot; changes are writer jobs (core/schema_change.h)
 * and defer their response until the commit. */
#include "api/handlers.h"

#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "base/alloc.h"
#include "base/jsonw.h"
#include "core/collection_json.h"
#include "core/schema_change.h"
#include "store/dialect.h"

static void write_collection(struct api_call *call, const struct core_collection *c)
{
    struct http_req *req = call->req;
    http_resp_start(req, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, http_resp_body(req));
    core_collection_write_json(&w, c, false);
    if (jsonw_finish(&w) == RC_OK && api_call_query(call, "fields").len)
        (void)core_fields_apply(http_resp_body(req), api_call_query(call, "fields"), false);
}

/* _collections as the filter compiler sees it: the columns a collections
 * list may filter and sort on (spec §5.6). */
static struct core_field meta_fields[] = {
    {.name = "id", .type = CORE_FIELD_TEXT},      {.name = "name", .type = CORE_FIELD_TEXT},
    {.name = "type", .type = CORE_FIELD_TEXT},    {.name = "system", .type = CORE_FIELD_BOOL},
    {.name = "created", .type = CORE_FIELD_DATE}, {.name = "updated", .type = CORE_FIELD_DATE},
};
static struct core_collection meta_collection = {
    .id = "_collections",
    .name = "_collections",
    .fields = meta_fields,
    .field_count = sizeof(meta_fields) / sizeof(meta_fields[0]),
};

static void bind_all(sqlite3_stmt *st, const struct core_sql_fragment *a,
                     const struct core_sql_fragment *b)
{
    core_bind_params(st, a, 0);
    core_bind_params(st, b, a->param_count);
}

enum rc api_collections_list(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    int64_t page = 1, per_page = 30;
    struct str v = api_call_query(c, "page");
    uint64_t n;
    if (v.len && (!str_to_u64(v, &n)))
        return api_call_fail(c, RC_INVALID);
    if (v.len && n > 0)
        page = (int64_t)n;
    v = api_call_query(c, "perPage");
    if (v.len && !str_to_u64(v, &n))
        return api_call_fail(c, RC_INVALID);
    if (v.len && n > 0)
        per_page = n > 1000 ? 1000 : (int64_t)n;
    struct str filter = api_call_query(c, "filter");
    struct str sort = api_call_query(c, "sort");
    struct core_sql_fragment where = {0}, order_params = {0};
    struct str order_by = {"", 0};
    if (filter.len &&
        core_compile_filter(&c->core, &meta_collection, filter, false, 0, &where, &c->problem))
        return api_call_fail(c, RC_INVALID);
    if (sort.len) {
        struct core_filter_options fo = {.schema = c->core.schema,
                                         .collection = &meta_collection,
                                         .alias = "r",
                                         .request = &c->core.filter_request,
                                         .allow_hidden = true,
                                         .param_base = where.param_count};
        char err[256];
        if (core_sort_compile(&fo, sort, req->arena, &order_by, &order_params, err, sizeof(err))) {
            core_problem_message(&c->problem, err);
            return api_call_fail(c, RC_INVALID);
        }
    }
    struct buf sql;
    buf_init(&sql, 1 << 20);
    enum rc rc = buf_append_cstr(&sql, "SELECT \"r\".\"id\", COUNT(*) OVER () FROM _collections \"r\"");
    if (!rc && where.sql.len) {
        rc = buf_append_cstr(&sql, " WHERE ");
        if (!rc)
            rc = buf_append_str(&sql, where.sql);
    }
    if (!rc) {
        rc = buf_append_cstr(&sql, " ORDER BY ");
        if (!rc && order_by.len) {
            rc = buf_append_str(&sql, order_by);
            if (!rc)
                rc = buf_append_cstr(&sql, ", ");
        }
        if (!rc)
            rc = buf_append_cstr(&sql, "\"r\".\"rowid\" LIMIT ");
        if (!rc)
            rc = store_dialect_param(&sql, (unsigned)(where.param_count + order_params.param_count + 1));
        if (!rc)
            rc = buf_append_cstr(&sql, " OFFSET ");
        if (!rc)
            rc = store_dialect_param(&sql, (unsigned)(where.param_count + order_params.param_count + 2));
    }
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = store_sqlite_prepare(c->aw->core.db, buf_str(&sql), &st);
    buf_cleanup(&sql);
    if (rc)
        return api_call_fail(c, RC_INTERNAL);
    bind_all(st, &where, &order_params);
    int base = (int)(where.param_count + order_params.param_count);
    sqlite3_bind_int64(st, base + 1, per_page);
    sqlite3_bind_int64(st, base + 2, (page - 1) * per_page);
    http_resp_start(req, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, http_resp_body(req));
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "items");
    jsonw_array_begin(&w);
    int64_t total = -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        total = sqlite3_column_int64(st, 1);
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const struct core_collection *col =
            core_schema_find_exact(c->core.schema, str_from_cstr(id ? id : ""));
        if (col)
            core_collection_write_json(&w, col, false);
    }
    store_sqlite_done(st);
    jsonw_array_end(&w);
    if (total < 0) {
        /* An empty page says nothing about the total: count without paging. */
        total = 0;
        struct buf cnt;
        buf_init(&cnt, 1 << 20);
        rc = buf_append_cstr(&cnt, "SELECT COUNT(*) FROM _collections \"r\"");
        if (!rc && where.sql.len) {
            rc = buf_append_cstr(&cnt, " WHERE ");
            if (!rc)
                rc = buf_append_str(&cnt, where.sql);
        }
        if (!rc && store_sqlite_prepare(c->aw->core.db, buf_str(&cnt), &st) == RC_OK) {
            core_bind_params(st, &where, 0);
            if (sqlite3_step(st) == SQLITE_ROW)
                total = sqlite3_column_int64(st, 0);
            store_sqlite_done(st);
        }
        buf_cleanup(&cnt);
    }
    jsonw_key_cstr(&w, "page");
    jsonw_int(&w, page);
    jsonw_key_cstr(&w, "perPage");
    jsonw_int(&w, per_page);
    jsonw_key_cstr(&w, "totalItems");
    jsonw_int(&w, total);
    jsonw_key_cstr(&w, "totalPages");
    jsonw_int(&w, (total + per_page - 1) / per_page);
    jsonw_object_end(&w);
    rc = jsonw_finish(&w);
    struct str fields = api_call_query(c, "fields");
    if (!rc && fields.len)
        rc = core_fields_apply(http_resp_body(req), fields, true);
    return rc;
}

enum rc api_collections_view(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    const struct core_collection *col;
    if (api_call_collection_or_fail(c, NULL, &col))
        return RC_OK;
    write_collection(c, col);
    return RC_OK;
}

/* A schema change in flight, in the request arena. */
struct pending_change {
    struct api_call *call;
    struct core_schema_job job;
};

static void change_release(void *ctx)
{
    core_schema_job_cleanup(&((struct pending_change *)ctx)->job);
}

static void change_done(struct core_schema_job *job)
{
    struct pending_change *pc =
        (struct pending_change *)((char *)job - offsetof(struct pending_change, job));
    struct api_call *c = pc->call;
    if (http_req_is_gone(c->req)) {
        http_req_resume(c->req);
        return;
    }
    if (job->rc) {
        core_problem_cleanup(&c->problem);
        c->problem = job->problem;
        core_problem_init(&job->problem);
        api_call_fail(c, job->rc);
    } else if (job->op == CORE_SCHEMA_CREATE || job->op == CORE_SCHEMA_UPDATE) {
        const struct core_collection *col =
            core_schema_find_exact(core_app_schema(c->aw->core.app), str_from_cstr(job->result_id));
        if (col)
            write_collection(c, col);
        else
            api_call_fail(c, RC_INTERNAL);
    } else {
        http_resp_start(c->req, 204, NULL);
    }
    http_req_resume(c->req);
}

static enum rc start_change(struct api_call *c, enum core_schema_op op, bool needs_body,
                            bool needs_target)
{
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    const struct core_collection *col = NULL;
    if (needs_target && api_call_collection_or_fail(c, NULL, &col))
        return RC_OK;
    if (needs_body && api_call_body_or_fail(c, "Failed to load the submitted data."))
        return RC_OK;
    struct pending_change *pc = arena_alloc(c->req->arena, sizeof(*pc));
    memset(pc, 0, sizeof(*pc));
    pc->call = c;
    pc->job.op = op;
    core_problem_init(&pc->job.problem);
    pc->job.input = needs_body ? json_incref(c->body) : NULL;
    pc->job.target_id = col ? xstrdup(col->id) : NULL;
    pc->job.done = change_done;
    arena_defer(c->req->arena, change_release, pc);
    http_req_defer(c->req);
    core_schema_submit(c->aw->core.app, &c->aw->core, &pc->job);
    return RC_OK;
}

enum rc api_collections_create(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_change(api_call_new(req), CORE_SCHEMA_CREATE, true, false);
}

enum rc api_collections_update(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_change(api_call_new(req), CORE_SCHEMA_UPDATE, true, true);
}

enum rc api_collections_delete(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_change(api_call_new(req), CORE_SCHEMA_DELETE, false, true);
}

enum rc api_collections_truncate(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_change(api_call_new(req), CORE_SCHEMA_TRUNCATE, false, true);
}

enum rc api_collections_import(struct http_req *req, void *ctx)
{
    (void)ctx;
    return start_change(api_call_new(req), CORE_SCHEMA_IMPORT, true, false);
}

enum rc api_collections_scaffolds(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    if (api_call_require_auth_or_fail(c, true))
        return RC_OK;
    static const char *const types[] = {"base", "auth", "view"};
    http_resp_start(req, 200, "application/json");
    struct jsonw w;
    jsonw_init(&w, http_resp_body(req));
    jsonw_object_begin(&w);
    for (int i = 0; i < 3; i++) {
        /* A view's scaffold is a base one with the view's type: the template
         * stands although view collections are not accepted yet. */
        json_t *in = json_pack("{s:s, s:s}", "type", i == 2 ? "base" : types[i], "name",
                               "scaffold");
        struct core_problem p;
        core_problem_init(&p);
        struct core_collection *col = NULL;
        if (core_collection_from_json(in, NULL, NULL, "", &col, &p) == RC_OK) {
            xfree(col->id);
            col->id = xstrdup("");
            xfree(col->name);
            col->name = xstrdup("");
            if (i == 2) {
                col->type = CORE_COLLECTION_VIEW;
                col->view_query = xstrdup("");
            }
            jsonw_key_cstr(&w, types[i]);
            core_collection_write_json(&w, col, false);
        }
        core_collection_free(col);
        core_problem_cleanup(&p);
        json_decref(in);
    }
    jsonw_object_end(&w);
    return jsonw_finish(&w);
}
