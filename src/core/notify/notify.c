/* notify.c -- see push.h: the `notify` job kind, one notification fanned
 * out to a `push` job per device of its recipients. */
#include "core/notify/push.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/jobs/job.h"
#include "core/notify/inbox.h"
#include "core/notify/prefs.h"
#include "core/notify/sms.h"
#include "core/filter/sqlgen.h"
#include "core/record/record.h"
#include "store/sql.h"
#include "core/schema/collection.h"
#include "store/writer.h"

/* Devices enqueued per writer transaction: the writer is not held long. */
#define FANOUT_CHUNK 500

const char *core_notify_check(json_t *payload)
{
    if (!payload)
        return "A notification needs users and a title.";
    static const char *const known[] = {"users", "filter",   "title",   "body",
                                        "data",  "channels", "category"};
    const char *k;
    json_t *v;
    json_object_foreach(payload, k, v)
    {
        bool is_known = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            is_known = is_known || strcmp(k, known[i]) == 0;
        if (!is_known)
            return "Unknown key: a notification has users or filter, title, body, data, "
                   "channels and category.";
    }
    json_t *users = json_object_get(payload, "users");
    json_t *filter = json_object_get(payload, "filter");
    if (users && filter)
        return "users or filter: a notification names its users one way.";
    if (filter && (!json_is_string(filter) || !json_string_length(filter) ||
                   json_string_length(filter) > 4096))
        return "filter: must be a filter over users of 1 to 4096 bytes.";
    if (!filter && (!json_is_array(users) || json_array_size(users) == 0 ||
                    json_array_size(users) > CORE_NOTIFY_MAX_USERS))
        return "users: must be a list of 1 to 10000 user ids (or give a filter).";
    size_t i;
    json_array_foreach(users, i, v)
    {
        if (!json_string_length(v) || json_string_length(v) > 64)
            return "users: every item must be a user id.";
    }
    json_t *channels = json_object_get(payload, "channels");
    if (channels && (!json_is_array(channels) || json_array_size(channels) == 0))
        return "channels: must be a list of push, inbox and sms.";
    json_array_foreach(channels, i, v)
    {
        const char *ch = json_string_value(v);
        if (!ch || (strcmp(ch, "push") != 0 && strcmp(ch, "inbox") != 0 && strcmp(ch, "sms") != 0))
            return "channels: push, inbox and sms are the channels (email comes later).";
    }
    json_t *category = json_object_get(payload, "category");
    if (category &&
        (!json_is_string(category) || !json_string_length(category) ||
         json_string_length(category) > 64 || strcmp(json_string_value(category), "*") == 0))
        return "category: must be a name of 1 to 64 bytes (not *).";
    json_t *title = json_object_get(payload, "title");
    if (!json_is_string(title) || !json_string_length(title) ||
        json_string_length(title) > CORE_NOTIFY_MAX_TITLE)
        return "title: must be a text of 1 to 256 bytes.";
    json_t *body = json_object_get(payload, "body");
    if (body && (!json_is_string(body) || json_string_length(body) > CORE_NOTIFY_MAX_BODY))
        return "body: must be a text of at most 2048 bytes.";
    json_t *data = json_object_get(payload, "data");
    if (data && !json_is_object(data))
        return "data: must be an object.";
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    size_t n = text ? strlen(text) : 0;
    xfree(text);
    if (n > CORE_NOTIFY_MAX_DATA)
        return "data: must be at most 2048 bytes as JSON.";
    return NULL;
}

/* Jobs of one kind enqueued by a fan-out: items is [{payload, dedupe}]. */
struct fanout {
    struct str kind;
    json_t *items;
};

static enum rc enqueue_items(struct store_conn *db, void *ctx)
{
    struct fanout *f = ctx;
    size_t i;
    json_t *item;
    json_array_foreach(f->items, i, item)
    {
        char id[CORE_JOB_ID_LEN + 1];
        json_t *dedupe = json_object_get(item, "dedupe");
        struct core_job_spec spec = {
            .kind = f->kind,
            .payload = json_object_get(item, "payload"),
            .dedupe_key = {json_string_value(dedupe), json_string_length(dedupe)}};
        bool is_folded = false;
        enum rc rc = core_job_enqueue(db, &spec, id, &is_folded);
        if (rc)
            return rc;
    }
    return RC_OK;
}

/* Enqueues items (taken) as jobs of kind, FANOUT_CHUNK a writer transaction. */
static enum rc enqueue_all(const struct core_job_env *env, struct str kind, json_t *items)
{
    enum rc rc = RC_OK;
    size_t total = json_array_size(items);
    for (size_t at = 0; !rc && at < total; at += FANOUT_CHUNK) {
        struct fanout f = {.kind = kind, .items = json_array()};
        for (size_t k = at; k < total && k < at + FANOUT_CHUNK; k++)
            json_array_append(f.items, json_array_get(items, k));
        rc = store_writer_run(env->writer, enqueue_items, &f);
        json_decref(f.items);
    }
    json_decref(items);
    return rc;
}

/* {payload, dedupe: "notify:<notify id>:<what>"} */
static json_t *item_of(json_t *payload, const char *notify_id, const char *what)
{
    char dedupe[CORE_JOB_DEDUPE_MAX + 1];
    snprintf(dedupe, sizeof(dedupe), "notify:%s:%s", notify_id, what);
    return json_pack("{s:o, s:s}", "payload", payload, "dedupe", dedupe);
}

/* Queues a push job per device of user, FANOUT_CHUNK a writer transaction
 * (*items holds the chunk being filled), so a fan-out to many devices holds
 * one chunk in memory, not all of them. */
static enum rc devices_of(const struct core_job_env *env, struct store_stmt *st,
                          const char *notify_id, const char *user, json_t *message, json_t **items)
{
    store_reset(st);
    store_bind_text(st, 1, str_from_cstr(user));
    enum rc rc;
    while ((rc = store_step(st)) == RC_OK) {
        struct str id = store_column_text(st, 0), provider = store_column_text(st, 1);
        struct str token = store_column_text(st, 2), keys = store_column_text(st, 3);
        json_t *p = json_object();
        json_object_set_new(p, "device", json_stringn(id.ptr, id.len));
        json_object_set_new(p, "provider", json_stringn(provider.ptr, provider.len));
        json_object_set_new(p, "token", json_stringn(token.ptr, token.len));
        json_t *k = keys.len ? json_loadb(keys.ptr, keys.len, 0, NULL) : NULL;
        if (json_is_object(k))
            json_object_set(p, "keys", k);
        json_decref(k);
        json_object_set(p, "message", message);
        json_array_append_new(
            *items, item_of(p, notify_id, json_string_value(json_object_get(p, "device"))));
        if (json_array_size(*items) >= FANOUT_CHUNK) {
            /* The writer commits on its own connection; this cursor reads on. */
            rc = enqueue_all(env, STR_LIT("push"), *items);
            *items = json_array();
            if (rc)
                return rc;
        }
    }
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* Compiles filter over the users collection (*users, alias "r") into f
 * (in a). RC_INVALID with err when it does not compile or there are no users. */
static enum rc compile_users_filter(const struct core_schema *schema, const char *filter,
                                    struct arena *a, struct core_sql_fragment *f,
                                    const struct core_collection **users, char *err, size_t errlen)
{
    *users = schema ? core_schema_find(schema, STR_LIT("_pb_users_auth_")) : NULL;
    if (!*users) {
        snprintf(err, errlen, "there is no users collection");
        return RC_INVALID;
    }
    struct core_filter_options o = {
        .schema = schema, .collection = *users, .alias = "r", .allow_hidden = true};
    return core_filter_compile(&o, str_from_cstr(filter), a, f, err, errlen);
}

enum rc core_notify_filter_check(const struct core_schema *schema, const char *filter, char *err,
                                 size_t errlen)
{
    struct arena a;
    arena_init(&a, 4096);
    struct core_sql_fragment f;
    const struct core_collection *users;
    enum rc rc = compile_users_filter(schema, filter, &a, &f, &users, err, errlen);
    arena_cleanup(&a);
    return rc;
}

enum rc core_notify_filter_users(const struct core_job_env *env, const char *filter, json_t **out,
                                 char *err, size_t errlen)
{
    *out = NULL;
    const struct core_schema *schema = env->schema ? env->schema(env->schema_ctx) : NULL;
    struct arena a;
    arena_init(&a, 4096);
    struct core_sql_fragment f;
    const struct core_collection *users;
    enum rc rc = compile_users_filter(schema, filter, &a, &f, &users, err, errlen);
    if (rc) {
        arena_cleanup(&a);
        return rc;
    }
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT \"r\".\"id\" FROM ");
    store_sql_ident(&q, str_from_cstr(users->name));
    store_sql_add(&q, " \"r\" WHERE ");
    store_sql_addn(&q, f.sql);
    store_sql_add(&q, " ORDER BY \"r\".\"id\"");
    struct store_stmt *st = NULL;
    if (!rc)
        rc = store_sql_end(&q);
    if (!rc)
        rc = store_prepare(env->db, buf_str(&sql), &st);
    buf_cleanup(&sql);
    if (!rc)
        rc = core_sql_fragment_bind(st, &f, 0);
    json_t *ids = json_array();
    while (!rc && (rc = store_step(st)) == RC_OK) {
        struct str id = store_column_text(st, 0);
        json_array_append_new(ids, json_stringn(id.ptr, id.len));
    }
    if (rc == RC_NOT_FOUND)
        rc = RC_OK;
    if (st)
        store_done(st);
    arena_cleanup(&a);
    if (rc)
        json_decref(ids);
    else
        *out = ids;
    return rc;
}

/* Whether payload's channels (default: push) hold name. */
static bool has_channel(json_t *payload, const char *name)
{
    json_t *channels = json_object_get(payload, "channels");
    if (!channels)
        return strcmp(name, "push") == 0;
    size_t i;
    json_t *v;
    json_array_foreach(channels, i, v)
    {
        if (strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

/* Enqueues a push job per device of the users, FANOUT_CHUNK a transaction. */
static enum rc fan_out(const struct core_job_env *env, const struct core_job *job, json_t *users,
                       json_t *message)
{
    json_t *items = json_array();
    struct store_stmt *st = NULL;
    enum rc rc = store_prepare(env->db,
                               STR_LIT("SELECT id, provider, token, keys FROM \"_devices\" "
                                       "WHERE \"user\" = ?1 ORDER BY id"),
                               &st);
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u)
    {
        if (!rc)
            rc = devices_of(env, st, job->id, json_string_value(u), message, &items);
    }
    if (st)
        store_done(st);
    if (rc) {
        json_decref(items);
        return rc;
    }
    return enqueue_all(env, STR_LIT("push"), items);
}

/* Enqueues an sms job per user with an E.164 number in users' phone field
 * (the others are skipped): the title, then the body on its own line. */
static enum rc text_users(const struct core_job_env *env, const struct core_job *job,
                          json_t *users_ids, json_t *message)
{
    const struct core_schema *schema = env->schema ? env->schema(env->schema_ctx) : NULL;
    const struct core_collection *users =
        schema ? core_schema_find(schema, STR_LIT("_pb_users_auth_")) : NULL;
    if (!users)
        return RC_OK;
    const char *title = json_string_value(json_object_get(message, "title"));
    const char *body = json_string_value(json_object_get(message, "body"));
    char text[CORE_NOTIFY_MAX_TITLE + CORE_NOTIFY_MAX_BODY + 2];
    snprintf(text, sizeof(text), "%s%s%s", title ? title : "", body && body[0] ? "\n" : "",
             body ? body : "");
    json_t *items = json_array();
    enum rc rc = RC_OK;
    size_t i;
    json_t *u;
    json_array_foreach(users_ids, i, u)
    {
        json_t *record = NULL;
        enum rc lr = core_record_load(env->db, users, str_from_cstr(json_string_value(u)), &record);
        const char *phone = json_string_value(json_object_get(record, "phone"));
        char what[96];
        snprintf(what, sizeof(what), "sms:%s", json_string_value(u));
        if (!lr && core_sms_is_e164(phone))
            json_array_append_new(
                items, item_of(json_pack("{s:s, s:s}", "to", phone, "text", text), job->id, what));
        else if (lr && lr != RC_NOT_FOUND)
            rc = lr;
        json_decref(record);
        if (rc)
            break;
    }
    if (rc) {
        json_decref(items);
        return rc;
    }
    return enqueue_all(env, STR_LIT("sms"), items);
}

static void notify_run(const struct core_job_env *env, const struct core_job *job,
                       struct core_job_result *res)
{
    const char *why = core_notify_check(job->payload);
    if (why) {
        res->outcome = CORE_JOB_DEAD;
        snprintf(res->error, sizeof(res->error), "%s", why);
        return;
    }
    json_t *message = json_object();
    static const char *const parts[] = {"title", "body", "data"};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        json_t *v = json_object_get(job->payload, parts[i]);
        if (v)
            json_object_set(message, parts[i], v);
    }
    json_t *recipients = NULL;
    const char *filter = json_string_value(json_object_get(job->payload, "filter"));
    if (filter) {
        char err[256] = "";
        enum rc fr = core_notify_filter_users(env, filter, &recipients, err, sizeof(err));
        if (fr) {
            json_decref(message);
            res->outcome = fr == RC_INVALID ? CORE_JOB_DEAD : CORE_JOB_RETRY;
            snprintf(res->error, sizeof(res->error), "filter: %s", err[0] ? err : rc_name(fr));
            return;
        }
    } else {
        recipients = json_incref(json_object_get(job->payload, "users"));
    }
    /* Each channel's users: those who did not mute it for this category. */
    const char *category = json_string_value(json_object_get(job->payload, "category"));
    json_t *to[3] = {NULL, NULL, NULL};
    static const char *const channels[3] = {"inbox", "push", "sms"};
    enum rc rc = RC_OK;
    for (int k = 0; !rc && k < 3; k++) {
        if (has_channel(job->payload, channels[k]))
            rc = core_prefs_filter(env->db, recipients, category, channels[k], &to[k]);
    }
    if (!rc && to[0] && json_array_size(to[0]))
        rc = core_inbox_deliver(env, job->id, to[0], message);
    if (!rc && to[1] && json_array_size(to[1]))
        rc = fan_out(env, job, to[1], message);
    if (!rc && to[2] && json_array_size(to[2]))
        rc = text_users(env, job, to[2], message);
    for (int k = 0; k < 3; k++)
        json_decref(to[k]);
    json_decref(recipients);
    json_decref(message);
    if (rc) {
        res->outcome = CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error), "the fan-out failed (%s): run again", rc_name(rc));
        return;
    }
    res->outcome = CORE_JOB_DONE;
    res->error[0] = '\0';
}

/* A fan-out that failed (the database) is run again soon: the pushes it
 * enqueued fold by their dedupe keys. */
const struct core_job_kind core_notify_kind = {.name = "notify",
                                               .max_attempts = 10,
                                               .backoff_base_ms = 1000,
                                               .backoff_cap_ms = 5 * 60 * 1000,
                                               .run = notify_run,
                                               .check = core_notify_check};
