/* migrate.c -- see migrate.h. The folder, the _migrations table, and the
 * steps `m` runs (core/hooks/migrate.h) over a schema transaction. */
#include "core/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/jsonw.h"
#include "core/hooks/migrate.h"
#include "core/record/record.h"
#include "core/record/record_input.h"
#include "core/record/record_save.h"
#include "core/record/record_write.h"
#include "core/schema/collection_json.h"
#include "core/schema_change.h"
#include "store/store.h"

#define FILE_MAX ((size_t)64 << 20) /* bytes of one migration file */

bool core_migrate_name_is_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > CORE_MIGRATE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* -------------------------------------------------------------------------
 * The steps of `m`, inside the migration's transaction
 * ------------------------------------------------------------------------- */

struct step {
    struct core_app *app;
    const char *file;
    struct str code;
    bool is_up;
    struct core_schema_tx *tx; /* while the job runs */
    char err[1024];
};

static json_t *collection_json(const struct core_collection *c)
{
    struct buf b;
    buf_init(&b, 1 << 24);
    struct jsonw w;
    jsonw_init(&w, &b);
    core_collection_write_json(&w, c, false);
    json_t *j = jsonw_finish(&w) ? NULL : json_loadb(b.data, b.len, 0, NULL);
    buf_cleanup(&b);
    return j;
}

static enum rc collection_get(void *ctx, struct str name, json_t **out)
{
    struct step *s = ctx;
    const struct core_collection *c = core_schema_find(s->tx->cur, name);
    if (!c)
        return RC_NOT_FOUND;
    *out = collection_json(c);
    return *out ? RC_OK : RC_NOMEM;
}

static enum rc collection_save(void *ctx, json_t *def, json_t **out, struct core_problem *p)
{
    struct step *s = ctx;
    char *id = NULL;
    enum rc rc = core_schema_tx_save(s->tx, def, p, &id);
    const struct core_collection *c =
        rc ? NULL : core_schema_find_exact(s->tx->cur, str_from_cstr(id));
    xfree(id);
    if (c)
        *out = collection_json(c);
    return rc;
}

static enum rc collection_delete(void *ctx, struct str name, struct core_problem *p)
{
    struct step *s = ctx;
    return core_schema_tx_delete(s->tx, name, p);
}

static enum rc collection_import(void *ctx, json_t *list, bool delete_missing,
                                 struct core_problem *p)
{
    struct step *s = ctx;
    json_t *body = json_pack("{s:O, s:b}", "collections", list, "deleteMissing", delete_missing);
    enum rc rc = core_schema_tx_import(s->tx, body, p);
    json_decref(body);
    return rc;
}

/* A record step's request: a superuser on the migration's schema. */
struct record_step {
    struct core_auth root;
    struct arena arena;
    struct core_request r;
    const struct core_collection *c;
};

static enum rc record_begin(struct step *s, struct record_step *rs, struct str collection,
                            struct core_problem *p)
{
    rs->root = (struct core_auth){.is_superuser = true};
    arena_init(&rs->arena, 4096);
    rs->r = (struct core_request){.schema = s->tx->cur, .arena = &rs->arena, .auth = &rs->root};
    rs->r.filter_request.method = "POST";
    rs->r.filter_request.context = "default";
    rs->c = core_schema_find(s->tx->cur, collection);
    if (!rs->c) {
        core_problem_message(p, "Missing collection context.");
        return RC_NOT_FOUND;
    }
    return RC_OK;
}

static void record_end(struct record_step *rs)
{
    arena_cleanup(&rs->arena);
}

/* Runs job on the transaction; its problem moves to p. */
static enum rc apply_job(struct step *s, struct core_write_job *job, struct core_problem *p)
{
    enum rc rc = core_record_apply(s->tx->db, job);
    if (rc) {
        core_problem_cleanup(p);
        *p = job->problem;
        core_problem_init(&job->problem);
        if (!p->message[0])
            core_problem_message(p, rc_text(rc));
    }
    core_write_job_cleanup(job);
    return rc;
}

static enum rc record_get(void *ctx, struct str collection, struct str id, json_t **out,
                          struct core_problem *p)
{
    struct step *s = ctx;
    struct record_step rs;
    enum rc rc = record_begin(s, &rs, collection, p);
    if (!rc)
        rc = core_record_load(s->tx->db, rs.c, id, out);
    record_end(&rs);
    return rc;
}

static enum rc record_first(void *ctx, struct str collection, struct str filter, json_t **out,
                            struct core_problem *p)
{
    struct step *s = ctx;
    struct record_step rs;
    char *id = NULL;
    enum rc rc = record_begin(s, &rs, collection, p);
    if (!rc)
        rc = core_record_first_id(s->tx->db, &rs.r, rs.c, filter, &id, p);
    if (!rc)
        rc = core_record_load(s->tx->db, rs.c, str_from_cstr(id), out);
    xfree(id);
    record_end(&rs);
    return rc;
}

static struct core_password_params password_params(const struct step *s)
{
    return (struct core_password_params){.m_kib = s->app->password_m_kib, .t = s->app->password_t};
}

/* A create or update: the input built and validated, passwords hashed, the
 * write applied, the record read back from the transaction. */
static enum rc record_write(struct step *s, enum core_write_kind kind, struct str collection,
                            struct str id, json_t *data, json_t **out, struct core_problem *p)
{
    struct record_step rs;
    enum rc rc = record_begin(s, &rs, collection, p);
    if (!rc)
        rc = core_record_save_access(&rs.r, rs.c, kind, p);
    json_t *current = NULL;
    if (!rc && kind == CORE_WRITE_UPDATE) {
        rc = core_record_load(s->tx->db, rs.c, id, &current);
        if (rc == RC_NOT_FOUND)
            core_problem_message(p, "The record does not exist.");
    }
    struct core_record_input in = {0};
    if (!rc)
        rc = core_record_input_build(&rs.r, rs.c, data, current, &in, p);
    if (!rc)
        rc = core_record_input_hash(&in, password_params(s));
    char *new_id = NULL;
    if (!rc) {
        struct core_write_job job = {
            .kind = kind, .schema = s->tx->cur, .c = rs.c, .request = &rs.r};
        core_problem_init(&job.problem);
        if (kind == CORE_WRITE_CREATE) {
            job.id = xstrdup(json_string_value(json_object_get(in.values, "id")));
            job.values = json_incref(in.values);
        } else {
            job.id = xstrndup(id.ptr, id.len);
            job.body = json_incref(data);
        }
        new_id = xstrdup(job.id);
        core_write_job_set_hashes(&job, &in);
        rc = apply_job(s, &job, p);
    }
    if (!rc)
        rc = core_record_load(s->tx->db, rs.c, str_from_cstr(new_id), out);
    xfree(new_id);
    core_record_input_cleanup(&in);
    json_decref(current);
    record_end(&rs);
    return rc;
}

static enum rc record_create(void *ctx, struct str collection, json_t *data, json_t **out,
                             struct core_problem *p)
{
    return record_write(ctx, CORE_WRITE_CREATE, collection, (struct str){"", 0}, data, out, p);
}

static enum rc record_update(void *ctx, struct str collection, struct str id, json_t *data,
                             json_t **out, struct core_problem *p)
{
    return record_write(ctx, CORE_WRITE_UPDATE, collection, id, data, out, p);
}

static enum rc record_delete(void *ctx, struct str collection, struct str id,
                             struct core_problem *p)
{
    struct step *s = ctx;
    struct record_step rs;
    enum rc rc = record_begin(s, &rs, collection, p);
    if (!rc)
        rc = core_record_save_access(&rs.r, rs.c, CORE_WRITE_DELETE, p);
    if (!rc) {
        struct core_write_job job = {.kind = CORE_WRITE_DELETE,
                                     .schema = s->tx->cur,
                                     .c = rs.c,
                                     .request = &rs.r,
                                     .id = xstrndup(id.ptr, id.len)};
        core_problem_init(&job.problem);
        rc = apply_job(s, &job, p);
        if (rc == RC_NOT_FOUND && !strcmp(p->message, rc_text(RC_NOT_FOUND)))
            core_problem_message(p, "The record does not exist.");
    }
    record_end(&rs);
    return rc;
}

static const struct core_hooks_migration_ops steps = {
    .collection_get = collection_get,
    .collection_save = collection_save,
    .collection_delete = collection_delete,
    .collection_import = collection_import,
    .record_get = record_get,
    .record_first = record_first,
    .record_create = record_create,
    .record_update = record_update,
    .record_delete = record_delete,
};

/* -------------------------------------------------------------------------
 * One migration: its function and its row, one transaction
 * ------------------------------------------------------------------------- */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static enum rc write_row(struct store_conn *db, const char *file, bool is_up)
{
    struct store_stmt *st;
    enum rc rc =
        store_prepare(db,
                      is_up ? STR_LIT("INSERT INTO _migrations (file, applied) VALUES (?1, ?2)")
                            : STR_LIT("DELETE FROM _migrations WHERE file = ?1"),
                      &st);
    if (rc)
        return rc;
    rc = store_bind_text(st, 1, str_from_cstr(file));
    if (!rc && is_up)
        rc = store_bind_int64(st, 2, now_us());
    if (!rc)
        rc = store_step(st);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* The job's steps (core_schema_tx_fn): may run again after a rollback, so
 * it starts from its inputs. */
static enum rc run_step(struct core_schema_tx *tx, void *ctx)
{
    struct step *s = ctx;
    s->tx = tx;
    s->err[0] = '\0';
    enum rc rc =
        core_hooks_migration_run(&steps, s, s->file, s->code, s->is_up, s->err, sizeof(s->err));
    if (!rc) {
        rc = write_row(tx->db, s->file, s->is_up);
        if (rc)
            snprintf(s->err, sizeof(s->err), "%s: cannot record it in _migrations: %s", s->file,
                     rc_text(rc));
    }
    s->tx = NULL;
    return rc;
}

/* Reads path whole (xfree *out). */
static enum rc read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? RC_NOT_FOUND : RC_IO;
    struct buf b;
    buf_init(&b, FILE_MAX);
    char chunk[65536];
    size_t n;
    enum rc rc = RC_OK;
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = buf_append(&b, chunk, n);
    if (!rc && ferror(f))
        rc = RC_IO;
    fclose(f);
    if (rc) {
        buf_cleanup(&b);
        return rc;
    }
    *len = b.len;
    *out = xmalloc(b.len + 1);
    if (b.len)
        memcpy(*out, b.data, b.len);
    (*out)[b.len] = '\0';
    buf_cleanup(&b);
    return RC_OK;
}

static enum rc run_one(struct core_app *app, const char *dir, const char *file, bool is_up,
                       char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    char *code = NULL;
    size_t len = 0;
    enum rc rc = read_file(path, &code, &len);
    if (rc) {
        snprintf(err, errlen, "%s: cannot read it: %s", path,
                 rc == RC_TOO_LARGE ? "larger than 64 MiB" : strerror(errno));
        return rc;
    }
    struct step *s = xcalloc(1, sizeof(*s));
    *s = (struct step){.app = app, .file = file, .code = {code, len}, .is_up = is_up};
    struct core_problem p;
    core_problem_init(&p);
    rc = core_schema_run(app, run_step, s, &p);
    if (rc && s->err[0])
        snprintf(err, errlen, "%s", s->err);
    else if (rc)
        snprintf(err, errlen, "%s: %s", file, p.message[0] ? p.message : rc_text(rc));
    core_problem_cleanup(&p);
    xfree(s);
    xfree(code);
    return rc;
}

/* -------------------------------------------------------------------------
 * The folder and the table
 * ------------------------------------------------------------------------- */

static int compare_files(const void *a, const void *b)
{
    return strcmp(((const struct core_migration *)a)->file,
                  ((const struct core_migration *)b)->file);
}

static struct core_migration *find_file(struct core_migrate_list *l, const char *file)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i].file, file) == 0)
            return &l->items[i];
    return NULL;
}

static struct core_migration *add_file(struct core_migrate_list *l, const char *file, size_t *cap)
{
    if (l->count == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        l->items = xrealloc(l->items, *cap * sizeof(*l->items));
    }
    struct core_migration *m = &l->items[l->count++];
    *m = (struct core_migration){.file = xstrdup(file)};
    return m;
}

static bool is_migration_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".lua") == 0;
}

enum rc core_migrate_list(struct core_app *app, const char *dir, struct core_migrate_list *out,
                          char *err, size_t errlen)
{
    *out = (struct core_migrate_list){0};
    size_t cap = 0;
    DIR *d = opendir(dir);
    if (!d && errno != ENOENT) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return RC_IO;
    }
    if (d) {
        const struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (is_migration_file(de->d_name))
                add_file(out, de->d_name, &cap)->is_on_disk = true;
        }
        closedir(d);
    }
    struct store_conn *db = NULL; /* store_open leaves it unset when it fails */
    enum rc rc = store_open(app->db_path, STORE_OPEN_READ, &db);
    struct store_stmt *st = NULL;
    if (!rc)
        rc = store_prepare(db, STR_LIT("SELECT file, applied FROM _migrations"), &st);
    while (!rc && (rc = store_step(st)) == RC_OK) {
        struct str f = store_column_text(st, 0);
        char *file = xstrndup(f.ptr, f.len);
        struct core_migration *m = find_file(out, file);
        if (!m)
            m = add_file(out, file, &cap);
        m->is_applied = true;
        m->applied_us = store_column_int64(st, 1);
        xfree(file);
    }
    if (rc == RC_NOT_FOUND)
        rc = RC_OK;
    if (st)
        store_done(st);
    if (db)
        store_close(db);
    if (rc) {
        snprintf(err, errlen, "cannot read the table _migrations: %s", rc_text(rc));
        core_migrate_list_cleanup(out);
        return RC_IO;
    }
    if (out->count)
        qsort(out->items, out->count, sizeof(*out->items), compare_files);
    return RC_OK;
}

void core_migrate_list_cleanup(struct core_migrate_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        xfree(l->items[i].file);
    xfree(l->items);
    *l = (struct core_migrate_list){0};
}

long core_migrate_pending(struct core_app *app, const char *dir)
{
    struct core_migrate_list l;
    char err[256];
    if (core_migrate_list(app, dir, &l, err, sizeof(err)))
        return -1;
    long n = 0;
    for (size_t i = 0; i < l.count; i++)
        n += !l.items[i].is_applied;
    core_migrate_list_cleanup(&l);
    return n;
}

enum rc core_migrate_up(struct core_app *app, const char *dir, size_t n,
                        core_migrate_report_fn *report, void *ctx, size_t *done, char *err,
                        size_t errlen)
{
    size_t count = 0;
    struct core_migrate_list l;
    enum rc rc = core_migrate_list(app, dir, &l, err, errlen);
    for (size_t i = 0; !rc && i < l.count && (n == 0 || count < n); i++) {
        if (l.items[i].is_applied)
            continue;
        rc = run_one(app, dir, l.items[i].file, true, err, errlen);
        if (!rc) {
            count++;
            if (report)
                report(l.items[i].file, true, ctx);
        }
    }
    if (done)
        *done = count;
    core_migrate_list_cleanup(&l);
    return rc;
}

/* Latest applied first: by applied time, then by name. */
static int compare_applied_desc(const void *a, const void *b)
{
    const struct core_migration *x = a, *y = b;
    if (x->applied_us != y->applied_us)
        return x->applied_us < y->applied_us ? 1 : -1;
    return -strcmp(x->file, y->file);
}

enum rc core_migrate_down(struct core_app *app, const char *dir, size_t n,
                          core_migrate_report_fn *report, void *ctx, size_t *done, char *err,
                          size_t errlen)
{
    size_t count = 0;
    struct core_migrate_list l;
    enum rc rc = core_migrate_list(app, dir, &l, err, errlen);
    if (!rc) {
        /* the applied ones, latest first */
        size_t k = 0;
        for (size_t i = 0; i < l.count; i++) {
            if (l.items[i].is_applied)
                l.items[k++] = l.items[i];
            else
                xfree(l.items[i].file);
        }
        l.count = k;
        qsort(l.items, l.count, sizeof(*l.items), compare_applied_desc);
    }
    if (n == 0)
        n = 1;
    for (size_t i = 0; !rc && i < l.count && count < n; i++) {
        if (!l.items[i].is_on_disk) {
            snprintf(err, errlen,
                     "%s is recorded as applied but is not in %s: it cannot be reverted "
                     "(restore the file, or delete its row from _migrations)",
                     l.items[i].file, dir);
            rc = RC_NOT_FOUND;
            break;
        }
        rc = run_one(app, dir, l.items[i].file, false, err, errlen);
        if (!rc) {
            count++;
            if (report)
                report(l.items[i].file, false, ctx);
        }
    }
    if (done)
        *done = count;
    core_migrate_list_cleanup(&l);
    return rc;
}

/* -------------------------------------------------------------------------
 * New files
 * ------------------------------------------------------------------------- */

static const char template_text[] =
    "-- %s: a tarmac migration (docs/hooks.md, \"Migrations\").\n"
    "-- `tarmac migrate up` runs up(m), `tarmac migrate down` runs down(m); each\n"
    "-- runs in one transaction: an error rolls all of it back.\n"
    "--   m.collections.get(nameOrId)                  -> the collection (JSON) or nil\n"
    "--   m.collections.save(def)                      create, or update the one def.id/name "
    "names\n"
    "--   m.collections.delete(nameOrId)\n"
    "--   m.collections.import(list, deleteMissing)\n"
    "--   m.records.create(collection, data)           -> the record\n"
    "--   m.records.update(collection, id, data)       -> the record\n"
    "--   m.records.delete(collection, id)\n"
    "--   m.records.get(collection, id)                -> the record or nil\n"
    "--   m.records.first(collection, filter, params)  -> the first match or nil\n"
    "-- and tarmac.json, tarmac.crypto, tarmac.time, tarmac.log.\n"
    "return {\n"
    "  up = function(m)\n"
    "  end,\n"
    "  down = function(m)\n"
    "  end,\n"
    "}\n";

/* mkdir -p dir. */
static int make_dirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -1;
        path[i] = c;
    }
    return 0;
}

/* Writes text to dir/<now>_<name>.lua, never over an existing file. */
static enum rc write_new(const char *dir, const char *name, struct str text, char *path,
                         size_t pathlen, char *err, size_t errlen)
{
    if (!core_migrate_name_is_valid(name)) {
        snprintf(err, errlen, "invalid name \"%s\": use a-z, 0-9 and _ (at most %d)", name,
                 CORE_MIGRATE_NAME_MAX);
        return RC_INVALID;
    }
    if (make_dirs(dir) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return RC_IO;
    }
    snprintf(path, pathlen, "%s/%lld_%s.lua", dir, (long long)time(NULL), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return errno == EEXIST ? RC_CONFLICT : RC_IO;
    }
    size_t off = 0;
    while (off < text.len) {
        ssize_t w = write(fd, text.ptr + off, text.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            return RC_IO;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(path);
        return RC_IO;
    }
    return RC_OK;
}

enum rc core_migrate_create(const char *dir, const char *name, char *path, size_t pathlen,
                            char *err, size_t errlen)
{
    char text[sizeof(template_text) + CORE_MIGRATE_NAME_MAX + 16];
    int n = snprintf(text, sizeof(text), template_text, name);
    if (n < 0 || (size_t)n >= sizeof(text))
        n = 0;
    return write_new(dir, name, (struct str){text, (size_t)n}, path, pathlen, err, errlen);
}

/* The shortest "=" run for a Lua long bracket that json does not close. */
static size_t bracket_level(const char *json)
{
    char close[72];
    for (size_t level = 0; level < 64; level++) {
        close[0] = ']';
        memset(close + 1, '=', level);
        close[level + 1] = ']';
        close[level + 2] = '\0';
        if (!strstr(json, close))
            return level;
    }
    return 64; /* JSON escapes nothing into "]====...]" that long: not reached */
}

enum rc core_migrate_snapshot(struct core_app *app, const char *dir, const char *name, char *path,
                              size_t pathlen, char *err, size_t errlen)
{
    const struct core_schema *s = core_app_schema(app);
    json_t *list = json_array();
    for (size_t i = 0; i < s->count; i++) {
        json_t *c = collection_json(s->items[i]);
        if (!c) {
            json_decref(list);
            snprintf(err, errlen, "collection %s cannot be written as JSON", s->items[i]->name);
            return RC_NOMEM;
        }
        json_array_append_new(list, c);
    }
    char *json = json_dumps(list, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(list);
    if (!json) {
        snprintf(err, errlen, "the collections cannot be written as JSON");
        return RC_NOMEM;
    }
    size_t level = bracket_level(json);
    char eq[65];
    memset(eq, '=', level);
    eq[level] = '\0';
    char stamp[32];
    core_now(stamp);
    char head[512], tail[256];
    snprintf(head, sizeof(head),
             "-- %s: a snapshot of the %zu collections at %s (tarmac migrate snapshot).\n"
             "-- up imports them (deleteMissing = false: collections it does not list are\n"
             "-- kept); down does nothing: a snapshot is not reverted (as PocketBase's).\n"
             "local collections = tarmac.json.decode([%s[\n",
             name, s->count, stamp, eq);
    snprintf(tail, sizeof(tail),
             "\n]%s])\n\n"
             "return {\n"
             "  up = function(m)\n"
             "    m.collections.import(collections, false)\n"
             "  end,\n"
             "  down = function(m)\n"
             "  end,\n"
             "}\n",
             eq);
    struct buf b;
    buf_init(&b, FILE_MAX);
    enum rc brc = buf_append_cstr(&b, head);
    if (!brc)
        brc = buf_append_cstr(&b, json);
    if (!brc)
        brc = buf_append_cstr(&b, tail);
    xfree(json);
    enum rc rc;
    if (brc) {
        snprintf(err, errlen, "the snapshot is larger than 64 MiB");
        rc = RC_TOO_LARGE;
    } else {
        rc = write_new(dir, name, buf_str(&b), path, pathlen, err, errlen);
    }
    buf_cleanup(&b);
    return rc;
}
