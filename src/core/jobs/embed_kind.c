/* embed_kind.c -- see embed_kind.h. */
#include "core/jobs/embed_kind.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/vecmath.h"
#include "core/jobs/http_kind.h"
#include "core/jobs/job.h"
#include "core/jobs/runner.h"
#include "core/record/record_write.h"
#include "core/settings/settings.h"
#include "store/sql.h"

static bool is_nonempty_string(json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

const char *core_job_embed_check(json_t *payload)
{
    if (!is_nonempty_string(json_object_get(payload, "collection")))
        return "payload.collection must be a collection's name or id";
    if (!is_nonempty_string(json_object_get(payload, "record")))
        return "payload.record must be a record id";
    return NULL;
}

static void finish(struct core_job_result *res, enum core_job_outcome outcome, const char *fmt,
                   const char *arg)
{
    res->outcome = outcome;
    snprintf(res->error, sizeof(res->error), fmt, arg);
}

/* The settings' embeddings.<key>, "" when unset. */
static const char *setting(const struct core_job_env *env, const char *key)
{
    const struct core_settings *s = env->settings ? env->settings(env->schema_ctx) : NULL;
    const char *v =
        s ? json_string_value(json_object_get(json_object_get(s->value, "embeddings"), key)) : NULL;
    return v ? v : "";
}

/* The sources' text of record, joined by blank lines, into out. */
static enum rc join_sources(const struct core_embedding_options *o, json_t *record, struct buf *out)
{
    enum rc rc = RC_OK;
    for (size_t i = 0; i < o->source_count && !rc; i++) {
        json_t *v = json_object_get(record, o->sources[i]);
        if (!is_nonempty_string(v))
            continue;
        if (out->len)
            rc = buf_append(out, "\n\n", 2);
        if (!rc)
            rc = buf_append(out, json_string_value(v), json_string_length(v));
    }
    return rc;
}

/* data[0].embedding of the answer as a JSON array of dims finite float32
 * numbers (a new reference), or NULL with *why. */
static json_t *read_vector(struct str body, size_t dims, const char **why)
{
    json_t *j = json_loadb(body.ptr, body.len, 0, NULL);
    json_t *e = json_object_get(json_array_get(json_object_get(j, "data"), 0), "embedding");
    json_t *out = NULL;
    float *v = xmalloc((dims ? dims : 1) * sizeof(float));
    if (!json_is_array(e))
        *why = "the answer has no data[0].embedding array";
    else if (json_array_size(e) != dims)
        *why = "the provider's vector does not have the field's dimensions";
    else if (!vecmath_from_json(e, dims, v))
        *why = "the provider's vector holds something else than finite numbers";
    else
        out = vecmath_to_json(v, dims);
    xfree(v);
    json_decref(j);
    return out;
}

/* Sets the vector field of record id to vector (NULL: null), if its
 * sources still hold the text of record (as read). RC_NOT_FOUND: they
 * changed (or the record is gone). */
static enum rc write_vector(const struct core_job_env *env, const struct core_schema *schema,
                            const struct core_collection *c, const char *id, json_t *record,
                            json_t *vector)
{
    const struct core_embedding_options *o = &c->embedding;
    /* The guard: "r"."source" = ?2 AND ... (?1 is the id), as a rule. */
    struct buf sql;
    buf_init(&sql, 1 << 16);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    struct core_sql_param params[CORE_EMBEDDING_MAX_SOURCES];
    for (size_t i = 0; i < o->source_count; i++) {
        json_t *v = json_object_get(record, o->sources[i]);
        if (i)
            store_sql_add(&q, " AND ");
        store_sql_ident2(&q, STR_LIT("r"), str_from_cstr(o->sources[i]));
        store_sql_add(&q, " = ");
        store_sql_param_at(&q, (unsigned)i + 2);
        params[i] = (struct core_sql_param){
            .type = CORE_SQL_TEXT,
            .text = json_is_string(v) ? (struct str){json_string_value(v), json_string_length(v)}
                                      : STR_LIT(""),
        };
    }
    enum rc rc = store_sql_end(&q);
    if (rc) {
        buf_cleanup(&sql);
        return rc;
    }
    struct core_auth root = {.is_superuser = true};
    struct core_request r = {.schema = schema, .auth = &root};
    r.filter_request.context = "default";
    r.filter_request.method = "PATCH";
    json_t *body = json_object();
    json_object_set_new(body, o->field, vector ? json_incref(vector) : json_null());
    struct core_write_job job = {
        .kind = CORE_WRITE_UPDATE,
        .schema = schema,
        .c = c,
        .id = xstrdup(id),
        .body = body,
        .request = &r,
        .rule = {.sql = buf_str(&sql), .params = params, .param_count = o->source_count},
        .has_rule = true,
        .wants_events = core_event_is_wanted(env->events, c),
    };
    core_problem_init(&job.problem);
    rc = core_record_run(env->writer, &job);
    if (!rc) {
        core_event_emit(env->events, job.events); /* realtime: after the commit */
        job.events = NULL;
    }
    job.rule = (struct core_sql_fragment){0}; /* ours: not the job's to free */
    core_write_job_cleanup(&job);
    buf_cleanup(&sql);
    return rc;
}

/* What a call holds between prepare and complete. */
struct embed_state {
    char *url;
    char *collection; /* the payload's */
    char *id;
    json_t *record; /* as read: its sources' text guards the write */
    struct buf answer;
};

static void state_free(struct embed_state *st)
{
    if (!st)
        return;
    xfree(st->url);
    xfree(st->collection);
    xfree(st->id);
    json_decref(st->record);
    buf_cleanup(&st->answer);
    xfree(st);
}

/* The payload's collection while it embeds into a vector field (*vf),
 * else NULL with res done. */
static const struct core_collection *embedding_collection(const struct core_schema *schema,
                                                          const char *name,
                                                          const struct core_field **vf,
                                                          struct core_job_result *res)
{
    const struct core_collection *c = core_schema_find(schema, str_from_cstr(name));
    *vf = c && c->embedding.field ? core_collection_field(c, str_from_cstr(c->embedding.field))
                                  : NULL;
    if (*vf && (*vf)->type == CORE_FIELD_VECTOR)
        return c;
    finish(res, CORE_JOB_DONE, "%s", "the collection no longer embeds: nothing to do");
    return NULL;
}

/* Writes vector (NULL: null) as the outcome of the attempt. */
static void write_outcome(const struct core_job_env *env, const struct core_schema *schema,
                          const struct core_collection *c, const char *id, json_t *record,
                          json_t *vector, struct core_job_result *res)
{
    enum rc rc = write_vector(env, schema, c, id, record, vector);
    if (rc == RC_OK || rc == RC_NOT_FOUND)
        finish(res, CORE_JOB_DONE, "%s",
               rc ? "the text changed meanwhile: the newer write's job embeds it" : "");
    else
        finish(res, CORE_JOB_RETRY, "the vector could not be written: %s", rc_name(rc));
}

bool core_job_embed_prepare(const struct core_job_env *env, const struct core_job *job,
                            struct core_job_call *call, struct core_job_result *res)
{
    const char *why = core_job_embed_check(job->payload);
    if (why) {
        finish(res, CORE_JOB_DEAD, "%s", why);
        return false;
    }
    if (!env->schema || !env->writer) {
        finish(res, CORE_JOB_DEAD, "%s", "no schema or writer in this process");
        return false;
    }
    const char *name = json_string_value(json_object_get(job->payload, "collection"));
    const char *id = json_string_value(json_object_get(job->payload, "record"));
    const struct core_schema *schema = env->schema(env->schema_ctx);
    const struct core_field *vf;
    const struct core_collection *c = embedding_collection(schema, name, &vf, res);
    if (!c)
        return false;
    json_t *record = NULL;
    enum rc rc = core_record_load(env->db, c, str_from_cstr(id), &record);
    if (rc == RC_NOT_FOUND) {
        res->outcome = CORE_JOB_DONE; /* deleted meanwhile */
        return false;
    }
    if (rc) {
        finish(res, CORE_JOB_RETRY, "the record could not be read: %s", rc_name(rc));
        return false;
    }
    struct buf input;
    buf_init(&input, CORE_EMBED_MAX_INPUT);
    rc = join_sources(&c->embedding, record, &input);
    const char *url = setting(env, "url");
    bool is_sent = false;
    if (rc) {
        finish(res, CORE_JOB_DEAD, "%s", "the source text is longer than 256 KiB");
    } else if (!input.len) {
        /* Every source empty: the vector is null, no call. */
        write_outcome(env, schema, c, id, record, NULL, res);
    } else if (!url[0]) {
        finish(res, CORE_JOB_DEAD, "%s", "no embedding endpoint: set settings.embeddings.url");
    } else {
        json_t *body = json_object();
        json_object_set_new(body, "model", json_string(setting(env, "model")));
        json_object_set_new(body, "input", json_stringn(input.data, input.len));
        call->body = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        struct embed_state *st = xcalloc(1, sizeof(*st));
        st->url = xstrdup(url);
        st->collection = xstrdup(name);
        st->id = xstrdup(id);
        st->record = json_incref(record);
        buf_init(&st->answer, CORE_EMBED_MAX_RESPONSE);
        struct net_http_out_req *req = &call->req;
        *req = (struct net_http_out_req){.method = "POST",
                                         .url = st->url,
                                         .timeout_ms = env->http_timeout_ms,
                                         .allow_private_network = env->allow_private_network,
                                         .body = str_from_cstr(call->body ? call->body : "{}"),
                                         .response = &st->answer};
        req->headers[req->header_count++] = "Content-Type: application/json";
        req->headers[req->header_count++] = "Accept: application/json";
        const char *key = setting(env, "apiKey");
        if (key[0] && !strpbrk(key, "\r\n"))
            core_job_call_add_line(call, "Authorization: Bearer %s", key);
        call->state = st;
        is_sent = true;
    }
    json_decref(record);
    buf_cleanup(&input);
    return is_sent;
}

void core_job_embed_complete(const struct core_job_env *env, const struct core_job *job,
                             struct core_job_call *call, struct core_job_result *res)
{
    (void)job;
    struct embed_state *st = call->state;
    call->state = NULL;
    if (core_job_http_outcome(&call->resp, res)) {
        /* The schema now: the option may have gone while the call was out. */
        const struct core_schema *schema = env->schema(env->schema_ctx);
        const struct core_field *vf;
        const struct core_collection *c = embedding_collection(schema, st->collection, &vf, res);
        const char *why = NULL;
        json_t *vector = c ? read_vector(buf_str(&st->answer), (size_t)vf->dimensions, &why) : NULL;
        if (vector)
            write_outcome(env, schema, c, st->id, st->record, vector, res);
        else if (c)
            finish(res, CORE_JOB_DEAD, "%s", why);
        json_decref(vector);
    }
    state_free(st);
}

/* -------------------------------------------------------------------------
 * The listener
 * ------------------------------------------------------------------------- */

static bool wants(void *ctx, const struct core_collection *c)
{
    (void)ctx;
    return c->embedding.field != NULL;
}

/* Whether a create gives a source text, or an update changes one. */
static bool sources_changed(const struct core_collection *c, json_t *values, json_t *previous)
{
    for (size_t i = 0; i < c->embedding.source_count; i++) {
        json_t *now = json_object_get(values, c->embedding.sources[i]);
        json_t *before = previous ? json_object_get(previous, c->embedding.sources[i]) : NULL;
        if (previous ? !json_equal(now ? now : json_null(), before ? before : json_null())
                     : is_nonempty_string(now))
            return true;
    }
    return false;
}

static atomic_bool has_enqueued; /* since the last commit's wake */

static enum rc on_change(void *ctx, struct store_conn *db, const struct core_event *ev)
{
    (void)ctx;
    if (ev->action == CORE_EVENT_DELETE || !ev->c->embedding.field ||
        !sources_changed(ev->c, ev->values, ev->previous))
        return RC_OK;
    char key[CORE_JOB_DEDUPE_MAX + 2];
    snprintf(key, sizeof(key), "embed:%s/%s", ev->c->id, ev->id);
    enum rc rc = core_job_enqueue_once(
        db, "embed", json_pack("{s:s, s:s}", "collection", ev->c->id, "record", ev->id), key);
    if (!rc)
        atomic_store(&has_enqueued, true);
    return rc;
}

static void wake_if_enqueued(void *ctx)
{
    if (atomic_load(&has_enqueued) && atomic_exchange(&has_enqueued, false))
        core_jobs_wake(ctx);
}

struct core_event_listener core_embed_listener(struct core_jobs *jobs)
{
    return (struct core_event_listener){
        .wants = wants, .in_tx = on_change, .committed = wake_if_enqueued, .ctx = jobs};
}
