/* jobs_admin.c -- see jobs_admin.h. */
#include "core/jobs/jobs_admin.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/chrono.h"
#include "core/filter/sqlgen.h"
#include "core/schema/collection_json.h"
#include "core/jobs/registry.h"
#include "core/jobs/schedule.h"
#include "store/sql.h"
#include "store/writer.h"

static const char *const statuses[] = {"queued", "running", "failed", "done", "dead", "canceled"};
#define STATUS_COUNT (sizeof(statuses) / sizeof(statuses[0]))
/* The fields of a job as the API shows them, the _jobs column behind each
 * (made unquoted, so lower case in PostgreSQL; SQLite matches any case),
 * and whether it holds Unix ms shown as date text. */
static const struct job_field {
    const char *name, *column;
    bool is_time;
} job_fields[] = {
    {"id", "id", false},
    {"kind", "kind", false},
    {"payload", "payload", false},
    {"status", "status", false},
    {"priority", "priority", false},
    {"attempts", "attempts", false},
    {"maxAttempts", "maxattempts", false},
    {"lastError", "lasterror", false},
    {"runAt", "runat", true},
    {"finishedAt", "finishedat", true},
    {"created", "created", true},
    {"updated", "updated", true},
};
#define JOB_FIELD_COUNT (sizeof(job_fields) / sizeof(job_fields[0]))

static bool is_status(struct str s)
{
    for (size_t i = 0; i < STATUS_COUNT; i++) {
        if (str_eq(s, str_from_cstr(statuses[i])))
            return true;
    }
    return false;
}

/* The column a sort term names (payload is not sortable), or NULL. */
static const char *sort_column(struct str s)
{
    for (size_t i = 0; i < JOB_FIELD_COUNT; i++) {
        if (str_eq(s, str_from_cstr(job_fields[i].name)) && strcmp(job_fields[i].name, "payload"))
            return job_fields[i].column;
    }
    return NULL;
}
/* The jobs as the list's filter sees them: a collection whose fields are
 * the API's, over the subquery jobs_view writes (times as date text). */
static const char jobs_fields_json[] =
    "{\"name\":\"_jobs\",\"type\":\"base\",\"fields\":["
    "{\"name\":\"kind\",\"type\":\"text\"},{\"name\":\"payload\",\"type\":\"json\"},"
    "{\"name\":\"status\",\"type\":\"text\"},{\"name\":\"priority\",\"type\":\"number\"},"
    "{\"name\":\"runAt\",\"type\":\"date\"},{\"name\":\"attempts\",\"type\":\"number\"},"
    "{\"name\":\"maxAttempts\",\"type\":\"number\"},{\"name\":\"dedupeKey\",\"type\":\"text\"},"
    "{\"name\":\"lastError\",\"type\":\"text\"},{\"name\":\"finishedAt\",\"type\":\"date\"},"
    "{\"name\":\"created\",\"type\":\"date\"},{\"name\":\"updated\",\"type\":\"date\"}]}";
static struct core_collection *jobs_collection;
static pthread_once_t jobs_collection_once = PTHREAD_ONCE_INIT;

static void jobs_collection_load(void)
{
    json_t *j = json_loads(jobs_fields_json, 0, NULL);
    struct core_problem p;
    core_problem_init(&p);
    if (core_collection_from_json(j, NULL, NULL, "", &jobs_collection, &p) != RC_OK)
        jobs_collection = NULL;
    core_problem_cleanup(&p);
    json_decref(j);
}

/* The jobs' rows as the filter names them, aliased "r" (rowid as _rid). */
static void jobs_view(struct store_sql *q)
{
    store_sql_add(q, "(SELECT rowid AS \"_rid\", COALESCE(dedupeKey, '') AS \"dedupeKey\"");
    for (size_t i = 0; i < JOB_FIELD_COUNT; i++) {
        const struct job_field *f = &job_fields[i];
        store_sql_add(q, ", ");
        if (f->is_time)
            store_sql_ms_date(q, str_from_cstr(f->column));
        else
            store_sql_ident(q, str_from_cstr(f->column));
        store_sql_add(q, " AS ");
        store_sql_ident(q, str_from_cstr(f->name));
    }
    store_sql_add(q, " FROM _jobs) AS \"r\"");
}
/* Appends the WHERE clause; binds are numbered in order: statuses, kind,
 * then the filter's (compiled with that base). */
static void add_where(struct store_sql *q, const struct core_jobs_list_opts *o, size_t nstatus,
                      const struct core_sql_fragment *filter)
{
    store_sql_add(q, " WHERE TRUE");
    if (nstatus) {
        store_sql_add(q, " AND status IN (");
        for (size_t i = 0; i < nstatus; i++) {
            if (i)
                store_sql_add(q, ", ");
            store_sql_param(q);
        }
        store_sql_add(q, ")");
    }
    if (o->kind.len) {
        store_sql_add(q, " AND kind = ");
        store_sql_param(q);
    }
    if (filter) {
        store_sql_add(q, " AND rowid IN (SELECT \"r\".\"_rid\" FROM ");
        jobs_view(q);
        store_sql_add(q, " WHERE ");
        store_sql_addn(q, filter->sql);
        store_sql_add(q, ")");
    }
}

static enum rc bind_where(struct store_stmt *st, const struct core_jobs_list_opts *o,
                          const struct str *status, size_t nstatus,
                          const struct core_sql_fragment *filter)
{
    int n = 1;
    for (size_t i = 0; i < nstatus; i++)
        store_bind_text(st, n++, status[i]);
    if (o->kind.len)
        store_bind_text(st, n++, o->kind);
    return filter ? core_sql_fragment_bind(st, filter, (size_t)n - 1) : RC_OK;
}

/* Compiles o's filter into *f (NULL when none); RC_INVALID with the
 * compiler's message in p. */
static enum rc compile_filter(const struct core_jobs_list_opts *o, size_t base, struct arena *a,
                              struct core_sql_fragment *f, const struct core_sql_fragment **out,
                              struct core_problem *p)
{
    *out = NULL;
    if (!o->filter.len)
        return RC_OK;
    pthread_once(&jobs_collection_once, jobs_collection_load);
    if (!jobs_collection)
        return RC_NOMEM;
    struct core_filter_options fo = {.schema = o->schema,
                                     .collection = jobs_collection,
                                     .alias = "r",
                                     .allow_hidden = true,
                                     .param_base = base};
    char err[256], msg[320];
    enum rc rc = core_filter_compile(&fo, o->filter, a, f, err, sizeof(err));
    if (rc == RC_INVALID) {
        snprintf(msg, sizeof(msg), "Invalid filter: %s", err);
        core_problem_field(p, "filter", "validation_invalid_filter", msg, NULL);
        core_problem_message(p, "Invalid filter.");
    }
    if (!rc)
        *out = f;
    return rc;
}

enum rc core_jobs_list(struct core_worker *cw, const struct core_jobs_list_opts *o, json_t **out,
                       struct core_problem *p)
{
    struct str status[STATUS_COUNT];
    size_t nstatus = 0;
    for (struct str rest = o->status, one; str_next_item(&rest, ',', &one);) {
        if (!is_status(one) || nstatus == STATUS_COUNT) {
            core_problem_message(p, "Unknown job status in status.");
            return RC_INVALID;
        }
        status[nstatus++] = one;
    }
    struct arena a;
    arena_init(&a, 4096);
    struct core_sql_fragment fragment;
    const struct core_sql_fragment *filter;
    enum rc rc = compile_filter(o, nstatus + (o->kind.len ? 1 : 0), &a, &fragment, &filter, p);
    if (rc) {
        arena_cleanup(&a);
        return rc;
    }
    struct buf sql;
    buf_init(&sql, 1 << 16);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, CORE_JOB_SELECT);
    add_where(&q, o, nstatus, filter);
    store_sql_add(&q, " ORDER BY ");
    struct str sort = o->sort.len ? o->sort : STR_LIT("-created");
    int terms = 0;
    for (struct str rest = sort, one; str_next_item(&rest, ',', &one);) {
        bool desc = one.len && one.ptr[0] == '-';
        if (one.len && (one.ptr[0] == '-' || one.ptr[0] == '+')) {
            one.ptr++;
            one.len--;
        }
        const char *col = sort_column(one);
        if (!col || terms == 4) {
            buf_cleanup(&sql);
            arena_cleanup(&a);
            core_problem_message(p, "Invalid sort field.");
            return RC_INVALID;
        }
        store_sql_ident(&q, str_from_cstr(col));
        store_sql_add(&q, desc ? " DESC, " : " ASC, ");
        terms++;
    }
    store_sql_add(&q, "rowid DESC LIMIT ");
    store_sql_int(&q, o->per_page);
    store_sql_add(&q, " OFFSET ");
    store_sql_int(&q, (o->page - 1) * o->per_page);
    core_worker_begin_read(cw);
    struct store_stmt *st = NULL;
    rc = store_sql_end(&q);
    if (!rc)
        rc = store_prepare(cw->db, buf_str(&sql), &st);
    json_t *items = json_array();
    if (!rc && (rc = bind_where(st, o, status, nstatus, filter)) != RC_OK)
        store_done(st);
    if (!rc) {
        while ((rc = store_step(st)) == RC_OK)
            json_array_append_new(items, core_job_row_json(st));
        store_done(st);
        if (rc == RC_NOT_FOUND)
            rc = RC_OK;
    }
    int64_t total = 0;
    if (!rc) {
        buf_reset(&sql);
        store_sql_begin(&q, &sql);
        store_sql_add(&q, "SELECT COUNT(*) FROM _jobs");
        add_where(&q, o, nstatus, filter);
        rc = store_sql_end(&q);
        if (!rc)
            rc = store_prepare(cw->db, buf_str(&sql), &st);
        if (!rc && (rc = bind_where(st, o, status, nstatus, filter)) != RC_OK)
            store_done(st);
        if (!rc) {
            rc = store_step(st);
            total = rc == RC_OK ? store_column_int64(st, 0) : 0;
            store_done(st);
            rc = rc == RC_NOT_FOUND ? RC_OK : rc;
        }
    }
    buf_cleanup(&sql);
    arena_cleanup(&a);
    if (rc) {
        json_decref(items);
        return rc;
    }
    *out = json_pack("{s:I, s:I, s:I, s:I, s:o}", "page", (json_int_t)o->page, "perPage",
                     (json_int_t)o->per_page, "totalItems", (json_int_t)total, "totalPages",
                     (json_int_t)((total + o->per_page - 1) / o->per_page), "items", items);
    return RC_OK;
}

enum rc core_jobs_get(struct core_worker *cw, struct str id, json_t **out)
{
    core_worker_begin_read(cw);
    return core_job_view(cw->db, id, out);
}

enum rc core_jobs_stats(struct core_worker *cw, json_t **out)
{
    core_worker_begin_read(cw);
    struct store_stmt *st;
    enum rc rc =
        store_prepare(cw->db, STR_LIT("SELECT status, COUNT(*) FROM _jobs GROUP BY status"), &st);
    if (rc)
        return rc;
    json_t *o = json_object();
    for (size_t i = 0; i < STATUS_COUNT; i++)
        json_object_set_new(o, statuses[i], json_integer(0));
    while ((rc = store_step(st)) == RC_OK) {
        struct str s = store_column_text(st, 0);
        char name[16];
        snprintf(name, sizeof(name), "%.*s", (int)s.len, s.ptr);
        json_object_set_new(o, name, json_integer(store_column_int64(st, 1)));
    }
    store_done(st);
    int64_t now = chrono_real_ms();
    rc = store_prepare(cw->db,
                       STR_LIT("SELECT COUNT(*), MIN(runAt) FROM _jobs WHERE status IN "
                               "('queued', 'failed') AND runAt <= ?1"),
                       &st);
    if (!rc) {
        store_bind_int64(st, 1, now);
        if (store_step(st) == RC_OK) {
            int64_t n = store_column_int64(st, 0);
            json_object_set_new(o, "due", json_integer(n));
            json_object_set_new(o, "oldestDueAgeMs",
                                json_integer(n ? now - store_column_int64(st, 1) : 0));
        }
        store_done(st);
    }
    *out = o;
    return RC_OK;
}

enum rc core_jobs_crons(struct core_worker *cw, json_t **out)
{
    core_worker_begin_read(cw);
    struct store_stmt *st;
    enum rc rc =
        store_prepare(cw->db, STR_LIT("SELECT name, cron FROM \"_schedules\" ORDER BY name"), &st);
    if (rc)
        return rc;
    json_t *a = json_array();
    while ((rc = store_step(st)) == RC_OK) {
        struct str name = store_column_text(st, 0), expr = store_column_text(st, 1);
        json_array_append_new(a, json_pack("{s:s%,s:s%}", "id", name.ptr, name.len, "expression",
                                           expr.ptr, expr.len));
    }
    store_done(st);
    if (rc != RC_NOT_FOUND) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return RC_OK;
}

enum rc core_jobs_enqueue_parse(json_t *body, struct core_jobs_action *a, struct core_problem *p)
{
    a->op = CORE_JOBS_ENQUEUE;
    const char *kind = json_string_value(json_object_get(body, "kind"));
    json_t *payload = json_object_get(body, "payload");
    if (core_job_kind_check(kind, payload, p))
        snprintf(a->kind, sizeof(a->kind), "%s", kind);
    if (!json_is_object(payload))
        payload = NULL;
    json_t *run_at = json_object_get(body, "runAt");
    int64_t at = 0;
    if (json_is_integer(run_at))
        at = json_integer_value(run_at);
    else if (json_is_string(run_at) && json_string_length(run_at) &&
             (!chrono_parse_db_ms(json_string_value(run_at), &at) || at < 0))
        at = -1;
    else if (run_at && !json_is_null(run_at) && !json_is_string(run_at))
        at = -1;
    if (at < 0)
        core_problem_field(p, "runAt", "validation_invalid_value",
                           "Must be a date or unix milliseconds.", NULL);
    json_t *key = json_object_get(body, "dedupeKey");
    if (key && !json_is_null(key) &&
        (!json_is_string(key) || json_string_length(key) > CORE_JOB_DEDUPE_MAX))
        core_problem_field(p, "dedupeKey", "validation_invalid_value",
                           "Must be a string of at most 255 bytes.", NULL);
    else if (json_is_string(key))
        snprintf(a->dedupe, sizeof(a->dedupe), "%s", json_string_value(key));
    json_t *prio = json_object_get(body, "priority");
    if (prio && !json_is_integer(prio))
        core_problem_field(p, "priority", "validation_invalid_value", "Must be an integer.", NULL);
    json_t *max = json_object_get(body, "maxAttempts");
    if (max &&
        (!json_is_integer(max) || json_integer_value(max) < 1 || json_integer_value(max) > 100))
        core_problem_field(p, "maxAttempts", "validation_invalid_value", "Must be 1..100.", NULL);
    if (core_problem_has_fields(p))
        return RC_INVALID;
    a->payload = payload ? json_incref(payload) : json_object();
    a->spec = (struct core_job_spec){.kind = str_from_cstr(a->kind),
                                     .payload = a->payload,
                                     .priority = (int)json_integer_value(prio),
                                     .run_at_ms = at,
                                     .dedupe_key = str_from_cstr(a->dedupe),
                                     .max_attempts = (int)json_integer_value(max)};
    return RC_OK;
}

static enum rc action_apply(struct store_conn *db, void *ctx)
{
    struct core_jobs_action *a = ctx;
    int64_t now = chrono_real_ms();
    switch (a->op) {
    case CORE_JOBS_ENQUEUE: return core_job_enqueue(db, &a->spec, a->id, &a->is_folded);
    case CORE_JOBS_RETRY: return core_job_retry(db, str_from_cstr(a->id), now);
    case CORE_JOBS_CANCEL: return core_job_cancel(db, str_from_cstr(a->id), now);
    case CORE_JOBS_RUN_SCHEDULE:
        return core_schedule_run_now(db, str_from_cstr(a->schedule), now, a->id);
    }
    return RC_INTERNAL;
}

static void action_done(enum rc rc, void *ctx)
{
    struct core_jobs_action *a = ctx;
    a->rc = rc;
    a->done(a);
}

void core_jobs_action_submit(struct core_worker *cw, struct core_jobs_action *a)
{
    store_writer_submit(cw->writer, cw->mailbox, action_apply, action_done, a);
}

void core_jobs_action_cleanup(struct core_jobs_action *a)
{
    json_decref(a->payload);
    a->payload = NULL;
}
