/* records.c -- the records API of C extensions (include/tarmac.h): record
 * handles, and reads and writes through core's own paths, as Lua's
 * tarmac.records (core/hooks/records.c) runs them.
 *
 * Reads run on the calling worker's read connection and answer at once (a
 * before hook's get reads the write's transaction instead, without rules);
 * writes run core's save path (record_save.h) and answer through a callback
 * on the same loop, so an extension never blocks its loop. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "core/ext/ext_int.h"
#include "core/filter/filter_bind.h"
#include "core/record/record_save.h"

#define MAX_ANSWER (64u << 20) /* bytes of JSON a read may answer */

/* -------------------------------------------------------------------------
 * Record handles
 * ------------------------------------------------------------------------- */

const char *tarmac_record_id(const struct tarmac_record *rec)
{
    return tarmac_record_get_string(rec, "id");
}

const char *tarmac_record_get_string(const struct tarmac_record *rec, const char *field)
{
    return rec ? json_string_value(json_object_get(rec->v, field)) : NULL;
}

double tarmac_record_get_number(const struct tarmac_record *rec, const char *field)
{
    return rec ? json_number_value(json_object_get(rec->v, field)) : 0;
}

bool tarmac_record_get_bool(const struct tarmac_record *rec, const char *field)
{
    return rec && json_is_true(json_object_get(rec->v, field));
}

bool tarmac_record_has(const struct tarmac_record *rec, const char *field)
{
    return rec && json_object_get(rec->v, field) != NULL;
}

/* Sets field to v (takes ownership of v, also on failure). */
static int set_value(struct tarmac_record *rec, const char *field, json_t *v)
{
    if (!rec || !rec->is_writable) {
        json_decref(v);
        return TARMAC_FORBIDDEN;
    }
    if (!v || !field) {
        json_decref(v);
        return TARMAC_INVALID;
    }
    return json_object_set_new(rec->v, field, v) ? TARMAC_INVALID : TARMAC_OK;
}

int tarmac_record_set_string(struct tarmac_record *rec, const char *field, const char *value)
{
    return set_value(rec, field, value ? json_string(value) : NULL);
}

int tarmac_record_set_number(struct tarmac_record *rec, const char *field, double value)
{
    if (!isfinite(value))
        return TARMAC_INVALID;
    /* a whole number stays an integer in the JSON the record is stored as */
    bool whole = value == floor(value) && fabs(value) < 9007199254740992.0;
    return set_value(rec, field, whole ? json_integer((json_int_t)value) : json_real(value));
}

int tarmac_record_set_bool(struct tarmac_record *rec, const char *field, bool value)
{
    return set_value(rec, field, json_boolean(value));
}

int tarmac_record_set_json(struct tarmac_record *rec, const char *field, const char *json)
{
    return set_value(rec, field, json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL);
}

char *tarmac_record_json(const struct tarmac_record *rec)
{
    return rec ? json_dumps(rec->v, JSON_COMPACT) : NULL;
}

void tarmac_record_free(struct tarmac_record *rec)
{
    if (!rec || !rec->is_owned)
        return;
    json_decref(rec->v);
    xfree(rec);
}

void tarmac_free(void *p)
{
    xfree(p);
}

const char *tarmac_ctx_error(const struct tarmac_ctx *ctx)
{
    return ctx->scope->error;
}

/* -------------------------------------------------------------------------
 * Reads
 * ------------------------------------------------------------------------- */

/* Remembers why a call failed and returns its code. */
static int fail(struct tarmac_ctx *x, enum rc rc, const char *message)
{
    snprintf(x->scope->error, sizeof(x->scope->error), "%s",
             message && message[0] ? message : rc_name(rc));
    return core_problem_status(rc);
}

static int fail_problem(struct tarmac_ctx *x, enum rc rc, struct core_problem *p)
{
    int code = fail(x, rc, p->message);
    core_problem_cleanup(p);
    return code;
}

static const struct core_collection *collection_of(struct tarmac_ctx *x, const char *name)
{
    return name ? core_schema_find(x->r->schema, str_from_cstr(name)) : NULL;
}

static struct tarmac_record *owned_record(json_t *v)
{
    struct tarmac_record *rec = xmalloc(sizeof(*rec));
    *rec = (struct tarmac_record){.v = v, .is_writable = true, .is_owned = true};
    return rec;
}

int tarmac_records_get(struct tarmac_ctx *x, const char *collection, const char *id,
                       struct tarmac_record **out)
{
    *out = NULL;
    x->scope->error[0] = '\0';
    const struct core_collection *c = collection_of(x, collection);
    if (!c)
        return fail(x, RC_NOT_FOUND, "Missing collection context.");
    if (!id)
        return fail(x, RC_INVALID, "tarmac_records_get: an id");
    json_t *v = NULL;
    if (x->db) {
        /* A before hook: the write's transaction, no rule. */
        enum rc rc = core_record_load(x->db, c, str_from_cstr(id), &v);
        if (rc)
            return fail(x, rc, NULL);
        *out = owned_record(v);
        return TARMAC_OK;
    }
    struct buf b;
    buf_init(&b, MAX_ANSWER);
    struct core_problem p;
    core_problem_init(&p);
    struct core_output_opts o = {0};
    core_worker_begin_read(x->r->cw);
    enum rc rc = core_record_view(x->r, c, str_from_cstr(id), &o, &b, &p);
    if (!rc) {
        v = json_loadb(b.data, b.len, 0, NULL);
        rc = v ? RC_OK : RC_INTERNAL;
    }
    buf_cleanup(&b);
    if (rc)
        return fail_problem(x, rc, &p);
    core_problem_cleanup(&p);
    *out = owned_record(v);
    return TARMAC_OK;
}

int tarmac_records_list(struct tarmac_ctx *x, const char *collection,
                        const struct tarmac_list_opts *opts, char **out_json)
{
    *out_json = NULL;
    x->scope->error[0] = '\0';
    if (x->db)
        return fail(x, RC_INVALID,
                    "tarmac_records_list: not in a before hook (tarmac_records_get works there)");
    const struct core_collection *c = collection_of(x, collection);
    if (!c)
        return fail(x, RC_NOT_FOUND, "Missing collection context.");
    struct tarmac_list_opts none = {0};
    if (!opts)
        opts = &none;
    struct core_list_opts lo = {
        .page = opts->page ? opts->page : 1,
        .per_page = opts->per_page ? opts->per_page : CORE_LIST_DEFAULT_PER_PAGE,
        .sort = str_from_cstr(opts->sort ? opts->sort : ""),
    };
    if (lo.page < 1 || lo.per_page < 1 || lo.per_page > CORE_LIST_MAX_PER_PAGE)
        return fail(x, RC_INVALID, "tarmac_records_list: page >= 1 and per_page 1..1000");
    json_t *params = NULL;
    if (opts->params_json) {
        params = json_loads(opts->params_json, 0, NULL);
        if (!json_is_object(params)) {
            json_decref(params);
            return fail(x, RC_INVALID, "tarmac_records_list: params_json is a JSON object");
        }
    }
    struct buf filter;
    buf_init(&filter, CORE_FILTER_MAX_BOUND * 2);
    char why[160];
    enum rc rc = core_filter_bind(str_from_cstr(opts->filter ? opts->filter : ""), params, &filter,
                                  why, sizeof(why));
    json_decref(params);
    if (rc) {
        buf_cleanup(&filter);
        return fail(x, rc, rc == RC_INVALID ? why : NULL);
    }
    lo.filter = buf_str(&filter);
    struct buf b;
    buf_init(&b, MAX_ANSWER);
    struct core_problem p;
    core_problem_init(&p);
    struct core_output_opts o = {0};
    core_worker_begin_read(x->r->cw);
    rc = core_record_list(x->r, c, &lo, &o, &b, &p, NULL);
    buf_cleanup(&filter);
    if (!rc && buf_append(&b, "", 1) == RC_OK) {
        *out_json = b.data; /* the buffer's memory, NUL-terminated, is the caller's */
        core_problem_cleanup(&p);
        return TARMAC_OK;
    }
    buf_cleanup(&b);
    return fail_problem(x, rc ? rc : RC_TOO_LARGE, &p);
}

/* -------------------------------------------------------------------------
 * Writes
 * ------------------------------------------------------------------------- */

struct pending_write {
    struct tarmac_ctx *x;
    tarmac_write_fn *done;
    void *arg;
    json_t *body; /* kept until the save ends (the save borrows it) */
};

static void write_done(struct core_save *s, void *ctx)
{
    struct pending_write *pw = ctx;
    struct core_ext_scope *scope = pw->x->scope;
    enum rc rc = core_record_save_rc(s);
    struct core_problem *sp = core_record_save_problem(s);
    struct core_problem p;
    core_problem_init(&p);
    json_t *v = NULL;
    if (!rc && core_record_save_kind(s) != CORE_WRITE_DELETE) {
        struct buf b;
        buf_init(&b, MAX_ANSWER);
        struct core_output_opts o = {0};
        rc = core_record_save_answer(s, &o, &b, &p);
        v = rc ? NULL : json_loadb(b.data, b.len, 0, NULL);
        if (!rc && !v)
            rc = RC_INTERNAL;
        sp = &p;
        buf_cleanup(&b);
    }
    if (rc) {
        char *errors = sp && sp->data ? json_dumps(sp->data, JSON_COMPACT) : NULL;
        pw->done(pw->arg, core_problem_status(rc), NULL,
                 sp && sp->message[0] ? sp->message : rc_name(rc), errors);
        xfree(errors);
    } else {
        struct tarmac_record rec = {.v = v};
        pw->done(pw->arg, TARMAC_OK, v ? &rec : NULL, "", NULL);
    }
    json_decref(v);
    core_problem_cleanup(&p);
    json_decref(pw->body);
    xfree(pw);
    core_ext_write_ended(scope); /* last: may answer the route and free its arena */
}

static int save_record(struct tarmac_ctx *x, enum core_write_kind kind, const char *collection,
                       const char *id, const char *data_json, tarmac_write_fn *done, void *arg)
{
    x->scope->error[0] = '\0';
    if (x->db)
        return fail(x, RC_INVALID,
                    "tarmac_records: no write in a before hook (it runs inside a write: change "
                    "the event's record, or write from an after hook)");
    if (!done || !x->r->cw)
        return fail(x, RC_INVALID, "tarmac_records: a write needs a callback and a worker");
    const struct core_collection *c = collection_of(x, collection);
    if (!c)
        return fail(x, RC_NOT_FOUND, "Missing collection context.");
    if (kind != CORE_WRITE_CREATE && !id)
        return fail(x, RC_INVALID, "tarmac_records: an id");
    json_t *body = NULL;
    if (kind != CORE_WRITE_DELETE) {
        body = data_json ? json_loads(data_json, 0, NULL) : NULL;
        if (!json_is_object(body)) {
            json_decref(body);
            return fail(x, RC_INVALID, "tarmac_records: data_json is a JSON object of fields");
        }
    }
    /* The rules see this data as @request.body. */
    struct core_request *r = arena_alloc(x->r->arena, sizeof(*r));
    *r = *x->r;
    r->filter_request.body = body;
    r->filter_request.context = "default";
    r->is_manager = false;
    struct core_save_input in = {
        .kind = kind, .c = c, .id = str_from_cstr(id ? id : ""), .body = body};
    struct core_problem p;
    core_problem_init(&p);
    struct core_save *s = NULL;
    enum rc rc = core_record_save_access(r, c, kind, &p);
    if (!rc)
        rc = core_record_save_prepare(r, &in, &p, &s);
    if (!rc) {
        struct pending_write *pw = xmalloc(sizeof(*pw));
        *pw = (struct pending_write){.x = x, .done = done, .arg = arg, .body = body};
        core_ext_write_started(x->scope);
        rc = core_record_save_start(s, write_done, NULL, pw);
        if (!rc) {
            core_problem_cleanup(&p);
            return TARMAC_OK;
        }
        core_ext_write_undo(x->scope); /* nothing runs */
        xfree(pw);
    }
    json_decref(body);
    return fail_problem(x, rc, &p);
}

int tarmac_records_create(struct tarmac_ctx *ctx, const char *collection, const char *data_json,
                          tarmac_write_fn *done, void *arg)
{
    return save_record(ctx, CORE_WRITE_CREATE, collection, NULL, data_json, done, arg);
}

int tarmac_records_update(struct tarmac_ctx *ctx, const char *collection, const char *id,
                          const char *data_json, tarmac_write_fn *done, void *arg)
{
    return save_record(ctx, CORE_WRITE_UPDATE, collection, id, data_json, done, arg);
}

int tarmac_records_delete(struct tarmac_ctx *ctx, const char *collection, const char *id,
                          tarmac_write_fn *done, void *arg)
{
    return save_record(ctx, CORE_WRITE_DELETE, collection, id, NULL, done, arg);
}
