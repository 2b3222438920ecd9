/* report.c -- see report.h. */
#include "core/jobs/report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "base/email.h"
#include "base/log.h"
#include "core/files/file_name.h"
#include "core/files/storage.h"
#include "core/jobs/email_kind.h"
#include "core/jobs/job.h"
#include "core/record/record.h"
#include "core/record/record_out.h"
#include "core/record/record_write.h"
#include "store/sql.h"
#include "store/store.h"
#include "store/writer.h"

#define OWNER_RULE                                                                                 \
    "\"@request.auth.id != '' && owner = @request.auth.id && "                                     \
    "ownerCollection = @request.auth.collectionId\""

const char core_reports_collection_json[] =
    "{\"id\":\"pbc_tarmac_reports\",\"name\":\"_reports\",\"type\":\"base\","
    "\"listRule\":" OWNER_RULE ",\"viewRule\":" OWNER_RULE ",\"createRule\":null,"
    "\"updateRule\":null,\"deleteRule\":" OWNER_RULE ","
    "\"fields\":[{\"name\":\"collection\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"filter\",\"type\":\"text\"},"
    "{\"name\":\"sort\",\"type\":\"text\"},"
    "{\"name\":\"file\",\"type\":\"file\",\"maxSelect\":1,\"maxSize\":67108864,"
    "\"protected\":true},"
    "{\"name\":\"rows\",\"type\":\"number\",\"onlyInt\":true},"
    "{\"name\":\"truncated\",\"type\":\"bool\"},"
    "{\"name\":\"ownerCollection\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"owner\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}]}";

#define PATH_BYTES 4096
#define MAX_FIELDS 256

/* -------------------------------------------------------------------------
 * The payload
 * ------------------------------------------------------------------------- */

static bool is_nonempty_string(json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

/* Absent, null or a string. */
static bool is_optional_string(json_t *v)
{
    return !v || json_is_null(v) || json_is_string(v);
}

const char *core_job_report_check(json_t *payload)
{
    if (!is_nonempty_string(json_object_get(payload, "collection")))
        return "payload.collection must be a collection's name or id";
    if (!is_optional_string(json_object_get(payload, "filter")))
        return "payload.filter must be a string (the filter language)";
    if (!is_optional_string(json_object_get(payload, "sort")))
        return "payload.sort must be a string (\"-created,title\")";
    json_t *fields = json_object_get(payload, "fields");
    if (fields && !json_is_null(fields)) {
        if (!json_is_array(fields) || json_array_size(fields) == 0 ||
            json_array_size(fields) > MAX_FIELDS)
            return "payload.fields must be an array of 1 to 256 field names";
        size_t i;
        json_t *v;
        json_array_foreach(fields, i, v)
        {
            if (!is_nonempty_string(v))
                return "payload.fields must be an array of 1 to 256 field names";
        }
    }
    json_t *req = json_object_get(payload, "requester");
    if (req && !json_is_null(req) &&
        (!json_is_object(req) || !is_nonempty_string(json_object_get(req, "collectionId")) ||
         !is_nonempty_string(json_object_get(req, "id"))))
        return "payload.requester must be {\"collectionId\", \"id\"} of an auth record";
    json_t *mail = json_object_get(payload, "mailTo");
    if (mail && !json_is_null(mail) &&
        (!json_is_string(mail) ||
         !email_is_valid((struct str){json_string_value(mail), json_string_length(mail)})))
        return "payload.mailTo must be one plain e-mail address";
    json_t *max = json_object_get(payload, "maxRows");
    if (max && !json_is_null(max) &&
        (!json_is_integer(max) || json_integer_value(max) < 1 ||
         json_integer_value(max) > CORE_REPORT_MAX_ROWS))
        return "payload.maxRows must be an integer from 1 to 100000";
    return NULL;
}

/* -------------------------------------------------------------------------
 * CSV
 * ------------------------------------------------------------------------- */

enum rc core_report_csv_cell(struct buf *out, json_t *v)
{
    char *owned = NULL;
    struct str s = {"", 0};
    bool is_text = false;
    if (json_is_string(v)) {
        s = (struct str){json_string_value(v), json_string_length(v)};
        is_text = true;
    } else if (json_is_true(v)) {
        s = STR_LIT("true");
    } else if (json_is_false(v)) {
        s = STR_LIT("false");
    } else if (v && !json_is_null(v)) {
        owned = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!owned)
            return RC_NOMEM;
        s = str_from_cstr(owned);
    }
    /* OWASP's CSV injection: a spreadsheet runs a cell starting with these. */
    bool is_guarded = is_text && s.len && strchr("=+-@\t\r", s.ptr[0]);
    bool is_quoted = false;
    for (size_t i = 0; i < s.len && !is_quoted; i++)
        is_quoted = s.ptr[i] == ',' || s.ptr[i] == '"' || s.ptr[i] == '\r' || s.ptr[i] == '\n';
    enum rc rc = RC_OK;
    if (is_quoted)
        rc = buf_append(out, "\"", 1);
    if (!rc && is_guarded)
        rc = buf_append(out, "'", 1);
    for (size_t i = 0, from = 0; !rc && i <= s.len; i++) {
        if (i < s.len && !(is_quoted && s.ptr[i] == '"'))
            continue;
        rc = buf_append(out, s.ptr + from, i - from);
        if (!rc && i < s.len)
            rc = buf_append(out, "\"\"", 2);
        from = i + 1;
    }
    if (!rc && is_quoted)
        rc = buf_append(out, "\"", 1);
    xfree(owned);
    return rc;
}

/* -------------------------------------------------------------------------
 * The export
 * ------------------------------------------------------------------------- */

struct export
{
    const struct core_job_env *env;
    const struct core_job *job;
    const struct core_schema *schema;
    const struct core_collection *c;       /* exported */
    const struct core_collection *reports; /* _reports */
    struct core_auth auth;
    json_t *auth_record; /* owned */
    const char *columns[MAX_FIELDS];
    size_t column_count;
    int64_t max_rows;
    /* out */
    struct core_storage storage; /* where the report goes (the one in use at the start) */
    char key[PATH_BYTES];        /* <reportsId>/<jobId>/<name>, once stored */
    char name[CORE_FILE_NAME_MAX];
    int64_t rows;
    int64_t bytes;
    bool is_truncated;
};

static void set_error(struct core_job_result *res, enum core_job_outcome outcome, const char *fmt,
                      const char *a, const char *b)
{
    res->outcome = outcome;
    snprintf(res->error, sizeof(res->error), fmt, a, b);
}

static const char *payload_str(const struct core_job *job, const char *key)
{
    const char *s = json_string_value(json_object_get(job->payload, key));
    return s ? s : "";
}

/* Who the export runs as: the payload's requester, else a superuser. */
static bool load_requester(struct export *x, struct core_job_result *res)
{
    x->auth = (struct core_auth){.is_superuser = true};
    json_t *req = json_object_get(x->job->payload, "requester");
    if (!json_is_object(req))
        return true;
    const char *cid = json_string_value(json_object_get(req, "collectionId"));
    const char *id = json_string_value(json_object_get(req, "id"));
    const struct core_collection *ac = core_schema_find_exact(x->schema, str_from_cstr(cid));
    if (!ac || ac->type != CORE_COLLECTION_AUTH) {
        set_error(res, CORE_JOB_DEAD, "payload.requester.collectionId: %s is no auth collection",
                  cid, NULL);
        return false;
    }
    enum rc rc = core_record_load(x->env->db, ac, str_from_cstr(id), &x->auth_record);
    if (rc) {
        set_error(res, rc == RC_NOT_FOUND ? CORE_JOB_DEAD : CORE_JOB_RETRY,
                  "payload.requester.id: no record %s in %s", id, ac->name);
        return false;
    }
    x->auth = (struct core_auth){
        .collection = ac,
        .record = x->auth_record,
        .id = json_string_value(json_object_get(x->auth_record, "id")),
        .is_superuser = strcmp(ac->name, "_superusers") == 0,
    };
    return true;
}

static bool pick_columns(struct export *x, struct core_job_result *res)
{
    json_t *fields = json_object_get(x->job->payload, "fields");
    if (!json_is_array(fields)) {
        for (size_t i = 0; i < x->c->field_count && x->column_count < MAX_FIELDS; i++) {
            const struct core_field *f = &x->c->fields[i];
            if (!core_field_is_secret(x->c, f) && (!f->is_hidden || x->auth.is_superuser))
                x->columns[x->column_count++] = f->name;
        }
        return true;
    }
    size_t i;
    json_t *v;
    json_array_foreach(fields, i, v)
    {
        const char *name = json_string_value(v);
        const struct core_field *f = core_collection_field(x->c, str_from_cstr(name));
        if (!f || core_field_is_secret(x->c, f) || (f->is_hidden && !x->auth.is_superuser)) {
            set_error(res, CORE_JOB_DEAD, "payload.fields: %s is no field of %s the requester sees",
                      name, x->c->name);
            return false;
        }
        x->columns[x->column_count++] = f->name;
    }
    return true;
}

/* Writes row (the header when item is NULL) through f; false at a limit. */
static enum rc write_row(struct export *x, FILE *f, json_t *item, struct buf *row, bool *is_full)
{
    buf_reset(row);
    enum rc rc = RC_OK;
    for (size_t i = 0; i < x->column_count && !rc; i++) {
        if (i)
            rc = buf_append(row, ",", 1);
        if (!rc && item) {
            rc = core_report_csv_cell(row, json_object_get(item, x->columns[i]));
        } else if (!rc) {
            json_t *name = json_string(x->columns[i]);
            rc = core_report_csv_cell(row, name);
            json_decref(name);
        }
    }
    if (!rc)
        rc = buf_append(row, "\r\n", 2);
    if (rc)
        return rc;
    if (x->bytes + (int64_t)row->len > CORE_REPORT_MAX_BYTES) {
        *is_full = true;
        return RC_OK;
    }
    if (fwrite(row->data, 1, row->len, f) != row->len)
        return RC_IO;
    x->bytes += (int64_t)row->len;
    return RC_OK;
}

/* Reads the pages and writes the rows. RC_INVALID / RC_FORBIDDEN with the
 * reason in res (dead); other codes are retried. */
static enum rc export_rows(struct export *x, FILE *f, struct core_job_result *res)
{
    struct core_worker cw = {.db = x->env->db, .dir = x->env->dir};
    struct arena a;
    arena_init(&a, 16 << 10);
    struct core_request r = {
        .cw = &cw,
        .schema = x->schema,
        .arena = &a,
        .auth = &x->auth,
        .filter_request = {.auth_collection = x->auth.collection,
                           .auth = x->auth.record,
                           .method = "GET",
                           .context = "default"},
    };
    struct core_list_opts lo = {
        .per_page = x->max_rows < CORE_REPORT_PAGE ? x->max_rows + 1 : CORE_REPORT_PAGE,
        .skip_total = true,
        .filter = str_from_cstr(payload_str(x->job, "filter")),
        .sort = str_from_cstr(payload_str(x->job, "sort")),
    };
    struct core_output_opts o = {{0}};
    struct buf page, row;
    buf_init(&page, (size_t)1 << 30);
    buf_init(&row, (size_t)CORE_REPORT_MAX_BYTES);
    bool is_full = false;
    enum rc rc = write_row(x, f, NULL, &row, &is_full);
    for (lo.page = 1; !rc && !is_full; lo.page++) {
        arena_reset(&a);
        buf_reset(&page);
        struct core_problem p;
        core_problem_init(&p);
        rc = core_record_list(&r, x->c, &lo, &o, &page, &p, NULL);
        if (rc == RC_INVALID)
            set_error(res, CORE_JOB_DEAD, "payload.filter/sort: %s%s",
                      p.message[0] ? p.message : "does not compile", "");
        else if (rc == RC_FORBIDDEN)
            set_error(res, CORE_JOB_DEAD, "the requester may not list %s: %s", x->c->name,
                      p.message[0] ? p.message : "refused");
        core_problem_cleanup(&p);
        if (rc)
            break;
        json_t *j = json_loadb(page.data, page.len, 0, NULL);
        json_t *items = json_object_get(j, "items");
        if (!json_is_array(items)) {
            json_decref(j);
            rc = RC_INTERNAL;
            break;
        }
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item)
        {
            if (x->rows >= x->max_rows) {
                is_full = true;
                break;
            }
            rc = write_row(x, f, item, &row, &is_full);
            if (rc || is_full)
                break;
            x->rows++;
        }
        bool is_last = json_array_size(items) < (size_t)lo.per_page;
        json_decref(j);
        if (is_last)
            break;
    }
    x->is_truncated = is_full;
    buf_cleanup(&page);
    buf_cleanup(&row);
    arena_cleanup(&a);
    return rc;
}

/* -------------------------------------------------------------------------
 * The record and the mail, in one writer transaction
 * ------------------------------------------------------------------------- */

struct save {
    struct export *x;
    json_t *values;
    json_t *mail; /* NULL: none */
};

static enum rc save_apply(struct store_conn *db, void *ctx)
{
    struct save *s = ctx;
    /* core's write of a record, in this transaction: no hooks, no events
     * (the record is the system's, written once). */
    struct core_write_job job = {.kind = CORE_WRITE_CREATE,
                                 .schema = s->x->schema,
                                 .c = s->x->reports,
                                 .id = (char *)s->x->job->id,
                                 .values = s->values};
    core_problem_init(&job.problem);
    enum rc rc = core_record_apply(db, &job);
    if (rc)
        log_warn("msg=\"report record not written\" job=%s rc=%s message=\"%s\"", s->x->job->id,
                 rc_name(rc), job.problem.message);
    core_problem_cleanup(&job.problem);
    if (!rc && s->mail) {
        struct core_job_spec spec = {.kind = STR_LIT("email"), .payload = s->mail};
        char id[CORE_JOB_ID_LEN + 1];
        bool is_folded;
        rc = core_job_enqueue(db, &spec, id, &is_folded);
    }
    return rc;
}

static json_t *record_values(struct export *x)
{
    char now[32];
    chrono_format_db_ms(chrono_real_ms(), now);
    json_t *v = json_object();
    json_object_set_new(v, "id", json_string(x->job->id));
    json_object_set_new(v, "collection", json_string(x->c->name));
    json_object_set_new(v, "filter", json_string(payload_str(x->job, "filter")));
    json_object_set_new(v, "sort", json_string(payload_str(x->job, "sort")));
    json_object_set_new(v, "file", json_string(x->name));
    json_object_set_new(v, "rows", json_integer(x->rows));
    json_object_set_new(v, "truncated", json_boolean(x->is_truncated));
    bool is_owned = x->auth.collection && x->auth.id;
    json_object_set_new(v, "ownerCollection", json_string(is_owned ? x->auth.collection->id : ""));
    json_object_set_new(v, "owner", json_string(is_owned ? x->auth.id : ""));
    json_object_set_new(v, "created", json_string(now));
    json_object_set_new(v, "updated", json_string(now));
    return v;
}

static json_t *mail_payload(struct export *x, const char *to)
{
    char link[1024];
    snprintf(link, sizeof(link), "%s/api/files/%s/%s/%s",
             x->env->app_url ? x->env->app_url(x->env->schema_ctx) : "", CORE_REPORTS_COLLECTION,
             x->job->id, x->name);
    char subject[256];
    snprintf(subject, sizeof(subject), "Your export of %s is ready", x->c->name);
    char *text = NULL;
    size_t n = strlen(link) * 2 + strlen(x->c->name) + 512;
    text = xmalloc(n);
    snprintf(text, n,
             "Your CSV export of %s is ready: %lld row(s)%s.\n\n"
             "Download it (add a file token: ?token=, from POST /api/files/token):\n%s\n",
             x->c->name, (long long)x->rows, x->is_truncated ? ", cut at the report limit" : "",
             link);
    json_t *p = core_job_email_payload(to, subject, text, NULL);
    xfree(text);
    return p;
}

/* Whether an earlier attempt of this job saved its report (a lease that
 * expired after the save): RC_OK when it did. */
static enum rc report_exists(struct export *x)
{
    return core_record_find(x->env->db, x->reports, str_from_cstr(x->job->id));
}

static void remove_output(struct export *x, const char *tmp)
{
    if (tmp[0])
        unlink(tmp);
    if (x->key[0])
        (void)x->storage.ops->remove(&x->storage, x->key);
}

void core_job_report_run(const struct core_job_env *env, const struct core_job *job,
                         struct core_job_result *res)
{
    const char *why = core_job_report_check(job->payload);
    if (why) {
        set_error(res, CORE_JOB_DEAD, "%s%s", why, "");
        return;
    }
    if (!env->schema || !env->dir) {
        set_error(res, CORE_JOB_DEAD, "%s%s", "no schema or data directory in this process", "");
        return;
    }
    struct export *x = xcalloc(1, sizeof(*x));
    x->env = env;
    x->job = job;
    x->schema = env->schema(env->schema_ctx);
    json_t *max = json_object_get(job->payload, "maxRows");
    x->max_rows = json_is_integer(max) ? json_integer_value(max) : CORE_REPORT_MAX_ROWS;
    const char *cname = payload_str(job, "collection");
    char tmp[PATH_BYTES] = "";
    FILE *f = NULL;
    x->c = core_schema_find(x->schema, str_from_cstr(cname));
    x->reports = core_schema_find_exact(x->schema, STR_LIT(CORE_REPORTS_COLLECTION));
    if (!x->c) {
        set_error(res, CORE_JOB_DEAD, "payload.collection: no collection %s%s", cname, "");
        goto out;
    }
    if (!x->reports) {
        set_error(res, CORE_JOB_DEAD, "no %s collection%s", CORE_REPORTS_COLLECTION, "");
        goto out;
    }
    if (!load_requester(x, res) || !pick_columns(x, res))
        goto out;
    enum rc rc = report_exists(x);
    if (rc == RC_OK) {
        res->outcome = CORE_JOB_DONE; /* saved by an attempt whose outcome was lost */
        goto out;
    }
    char rnd[CORE_FILE_NAME_MAX];
    snprintf(rnd, sizeof(rnd), "report_%s.csv", x->c->name);
    core_file_name_make(str_from_cstr(rnd), STR_LIT("text/csv"), x->name);
    /* Written to a temporary file, then stored whole (storage.h: renamed
     * into place on local disk, uploaded to S3). */
    const struct core_storage *st = env->storage ? env->storage(env->schema_ctx) : NULL;
    if (st)
        x->storage = *st;
    else
        core_storage_init_local(&x->storage, env->dir);
    char key[PATH_BYTES];
    if (snprintf(key, sizeof(key), "%s/%s/%s", x->reports->id, x->job->id, x->name) >=
        (int)sizeof(key))
        rc = RC_INVALID;
    else
        rc = core_storage_temp_path(&x->storage, "report", tmp, sizeof(tmp));
    if (!rc && !(f = fopen(tmp, "wbx")))
        rc = RC_IO;
    /* One snapshot for every page: offsets neither skip nor repeat a row. */
    bool is_reading = false;
    if (!rc) {
        rc = store_begin_read(env->db); /* no snapshot, no export: retried */
        is_reading = rc == RC_OK;
    }
    if (!rc)
        rc = export_rows(x, f, res);
    if (is_reading)
        store_end_read(env->db);
    if (f && fclose(f) != 0 && !rc)
        rc = RC_IO;
    f = NULL;
    if (!rc) {
        rc = x->storage.ops->put_file(&x->storage, key, tmp, "text/csv"); /* removes tmp */
        tmp[0] = '\0';
        if (!rc)
            memcpy(x->key, key, sizeof(key));
    }
    if (!rc) {
        const char *to = json_string_value(json_object_get(job->payload, "mailTo"));
        struct save s = {
            .x = x, .values = record_values(x), .mail = to ? mail_payload(x, to) : NULL};
        rc = store_writer_run(env->writer, save_apply, &s);
        json_decref(s.values);
        json_decref(s.mail);
    }
    if (rc) {
        remove_output(x, tmp);
        if (res->outcome != CORE_JOB_DEAD)
            set_error(res, CORE_JOB_RETRY, "the report was not written: %s%s", rc_name(rc), "");
        goto out;
    }
    res->outcome = CORE_JOB_DONE;
out:
    json_decref(x->auth_record);
    xfree(x);
}
