/* notify.c -- see push.h: the `notify` job kind, one notification fanned
 * out to a `push` job per device of its recipients. */
#include "core/notify/push.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "core/jobs/email_kind.h"
#include "core/jobs/job.h"
#include "core/notify/inbox.h"
#include "core/notify/prefs.h"
#include "core/notify/sms.h"
#include "core/notify/template.h"
#include "core/filter/sqlgen.h"
#include "core/record/record.h"
#include "store/sql.h"
#include "core/schema/collection.h"
#include "store/writer.h"

/* Devices enqueued per writer transaction: the writer is not held long. */
#define FANOUT_CHUNK 500

static const char *const channel_names[] = {"push", "inbox", "sms", "email"};

bool core_notify_is_channel(const char *name)
{
    for (size_t i = 0; name && i < sizeof(channel_names) / sizeof(channel_names[0]); i++)
        if (strcmp(name, channel_names[i]) == 0)
            return true;
    return false;
}

/* Whether s is a template's name: [a-z0-9][a-z0-9_.-]*, at most 100. */
static bool is_template_name(json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 100 || s[0] == '_' || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '.' || s[i] == '-'))
            return false;
    return true;
}

/* The texts: title (and body), a template (and the record it renders), or
 * locales, one way. */
static const char *texts_check(json_t *payload)
{
    json_t *title = json_object_get(payload, "title");
    json_t *tmpl = json_object_get(payload, "template");
    json_t *locales = json_object_get(payload, "locales");
    json_t *record = json_object_get(payload, "record");
    if (!!title + !!tmpl + !!locales != 1)
        return "title: a notification has a title (and body), a template or locales, one of "
               "them.";
    if (json_object_get(payload, "body") && !title)
        return "body: goes with a title (a template or locales have their own).";
    if (record && !tmpl)
        return "record: names the record a template renders; give a template.";
    if (title && (!json_is_string(title) || !json_string_length(title) ||
                  json_string_length(title) > CORE_NOTIFY_MAX_TITLE))
        return "title: must be a text of 1 to 256 bytes.";
    json_t *body = json_object_get(payload, "body");
    if (body && (!json_is_string(body) || json_string_length(body) > CORE_NOTIFY_MAX_BODY))
        return "body: must be a text of at most 2048 bytes.";
    if (tmpl && !is_template_name(tmpl))
        return "template: must be a template's name (lowercase letters, digits, _ . -).";
    if (record) {
        json_t *c = json_object_get(record, "collection"), *id = json_object_get(record, "id");
        if (!json_is_object(record) || json_object_size(record) != 2 || !json_string_length(c) ||
            json_string_length(c) > 255 || !json_string_length(id) || json_string_length(id) > 64)
            return "record: must be {collection, id}.";
    }
    return locales ? core_template_locales_check(locales) : NULL;
}

const char *core_notify_check(json_t *payload)
{
    if (!payload)
        return "A notification needs users and a title.";
    static const char *const known[] = {"users",    "filter",   "title",  "body",
                                        "template", "locales",  "record", "data",
                                        "channels", "category", "urgent"};
    const char *k;
    json_t *v;
    json_object_foreach(payload, k, v)
    {
        bool is_known = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            is_known = is_known || strcmp(k, known[i]) == 0;
        if (!is_known)
            return "Unknown key: a notification has users or filter, title and body (or "
                   "template and record, or locales), data, channels, category and urgent.";
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
        return "channels: must be a list of push, inbox, sms and email.";
    json_array_foreach(channels, i, v)
    {
        if (!core_notify_is_channel(json_string_value(v)))
            return "channels: push, inbox, sms and email are the channels.";
    }
    json_t *category = json_object_get(payload, "category");
    if (category &&
        (!json_is_string(category) || !json_string_length(category) ||
         json_string_length(category) > 64 || strcmp(json_string_value(category), "*") == 0))
        return "category: must be a name of 1 to 64 bytes (not *).";
    json_t *urgent = json_object_get(payload, "urgent");
    if (urgent && !json_is_boolean(urgent))
        return "urgent: must be true or false.";
    const char *why = texts_check(payload);
    if (why)
        return why;
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

/* Jobs of one kind enqueued by a fan-out: items is [{payload or payloadText,
 * dedupe}]. */
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
        json_t *text = json_object_get(item, "payloadText");
        struct core_job_spec spec = {
            .kind = f->kind,
            .payload = json_object_get(item, "payload"),
            .payload_text = {json_string_value(text), json_string_length(text)},
            .run_at_ms = json_integer_value(json_object_get(item, "runAt")),
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

/* {payload, dedupe: "notify:<notify id>:<what>"[, runAt]}: run_at_ms 0 is now;
 * payload NULL: the caller adds payloadText. */
static json_t *item_of(json_t *payload, const char *notify_id, const char *what, int64_t run_at_ms)
{
    char dedupe[CORE_JOB_DEDUPE_MAX + 1];
    snprintf(dedupe, sizeof(dedupe), "notify:%s:%s", notify_id, what);
    json_t *item = json_pack("{s:s}", "dedupe", dedupe);
    if (payload)
        json_object_set_new(item, "payload", payload);
    if (run_at_ms)
        json_object_set_new(item, "runAt", json_integer(run_at_ms));
    return item;
}

/* What a fan-out holds: the job, its texts, and who waits for quiet hours. */
struct reach {
    const struct core_job_env *env;
    const struct core_job *job;
    json_t *locales;  /* {locale: {title, body?, sms?, html?}} */
    json_t *messages; /* {locale: {title, body?, data?}}: what push and inbox send */
    json_t *quiet;    /* {user: unix ms its quiet hours end} */
    const struct core_collection *users;
    struct store_stmt *device_locale; /* a user's most recently seen device's locale */
    json_t *items;                    /* the chunk of jobs being filled */
    size_t item_devices;              /* the devices of its push batches */
    struct batch *batches;            /* OPEN_BATCHES being filled (push) */
    size_t next_closed;               /* the slot closed when all are open */
};

/* A fan-out's pushes go out in `push_batch` jobs of up to PUSH_BATCH
 * devices that share a message and a send time: one job (one row, one
 * claim, one outcome) per batch instead of per device. */
#define PUSH_BATCH 64
/* Batches open at once (one per message and send time met lately); one
 * more closes the oldest. */
#define OPEN_BATCHES 8

struct batch {
    const json_t *message; /* NULL: free slot */
    int64_t run_at;
    json_t *devices; /* [{device, provider, token, keys?}] */
};

/* Closes b: its job into r->items with the dedupe key
 * "notify:<notify id>:<first device>-<last device>". */
static void close_batch(struct reach *r, struct batch *b)
{
    size_t n = json_array_size(b->devices);
    if (n) {
        char what[CORE_JOB_DEDUPE_MAX];
        snprintf(what, sizeof(what), "%.100s-%.100s",
                 json_string_value(json_object_get(json_array_get(b->devices, 0), "device")),
                 json_string_value(json_object_get(json_array_get(b->devices, n - 1), "device")));
        json_t *p = json_pack("{s:O, s:O}", "message", (json_t *)b->message, "devices", b->devices);
        json_array_append_new(r->items, item_of(p, r->job->id, what, b->run_at));
        r->item_devices += n;
    }
    json_decref(b->devices);
    memset(b, 0, sizeof(*b));
}

/* The open batch for message and run_at, opened when there is none. */
static struct batch *batch_for(struct reach *r, const json_t *message, int64_t run_at)
{
    struct batch *slot = NULL;
    for (size_t i = 0; i < OPEN_BATCHES; i++) {
        struct batch *b = &r->batches[i];
        if (b->message == message && b->run_at == run_at)
            return b;
        if (!slot && !b->message)
            slot = b;
    }
    if (!slot) {
        slot = &r->batches[r->next_closed++ % OPEN_BATCHES];
        close_batch(r, slot);
    }
    *slot = (struct batch){.message = message, .run_at = run_at, .devices = json_array()};
    return slot;
}

/* Enqueues what r->items holds (then empty again). */
static enum rc flush_items(struct reach *r)
{
    enum rc rc = enqueue_all(r->env, STR_LIT("push_batch"), r->items);
    r->items = json_array();
    r->item_devices = 0;
    return rc;
}

/* Adds every device of user to the open batches, enqueueing the closed
 * ones FANOUT_CHUNK devices a writer transaction (r->items holds them), so a
 * fan-out to many devices holds one chunk in memory, not all of them. Each
 * device gets the message of its own locale. */
static enum rc devices_of(struct reach *r, struct store_stmt *st, const char *user)
{
    store_reset(st);
    store_bind_text(st, 1, str_from_cstr(user));
    int64_t run_at = json_integer_value(json_object_get(r->quiet, user));
    enum rc rc;
    while ((rc = store_step(st)) == RC_OK) {
        struct str id = store_column_text(st, 0), provider = store_column_text(st, 1);
        struct str token = store_column_text(st, 2), keys = store_column_text(st, 3);
        struct str locale = store_column_text(st, 4);
        char tag[40] = "";
        if (json_object_size(r->messages) > 1 && locale.len < sizeof(tag)) {
            memcpy(tag, locale.ptr, locale.len);
            tag[locale.len] = '\0';
        }
        const json_t *message = core_template_pick(r->messages, tag);
        json_t *d = json_object();
        json_object_set_new(d, "device", json_stringn(id.ptr, id.len));
        json_object_set_new(d, "provider", json_stringn(provider.ptr, provider.len));
        json_object_set_new(d, "token", json_stringn(token.ptr, token.len));
        json_t *k = keys.len ? json_loadb(keys.ptr, keys.len, 0, NULL) : NULL;
        if (json_is_object(k))
            json_object_set(d, "keys", k);
        json_decref(k);
        struct batch *b = batch_for(r, message, run_at);
        json_array_append_new(b->devices, d);
        if (json_array_size(b->devices) >= PUSH_BATCH)
            close_batch(r, b);
        if (r->item_devices >= FANOUT_CHUNK) {
            /* The writer commits on its own connection; this cursor reads on. */
            if ((rc = flush_items(r)) != RC_OK)
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

/* Enqueues the push batches of the users' devices, FANOUT_CHUNK devices a
 * transaction. */
static enum rc fan_out(struct reach *r, json_t *users)
{
    r->items = json_array();
    r->item_devices = 0;
    struct batch batches[OPEN_BATCHES] = {0};
    r->batches = batches;
    struct store_stmt *st = NULL;
    enum rc rc = store_prepare(r->env->db,
                               STR_LIT("SELECT id, provider, token, keys, locale FROM \"_devices\" "
                                       "WHERE \"user\" = ?1 ORDER BY id"),
                               &st);
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u)
    {
        if (!rc)
            rc = devices_of(r, st, json_string_value(u));
    }
    if (st)
        store_done(st);
    for (size_t k = 0; k < OPEN_BATCHES; k++)
        close_batch(r, &batches[k]);
    r->batches = NULL;
    json_t *items = r->items;
    r->items = NULL;
    if (rc) {
        json_decref(items);
        return rc;
    }
    return enqueue_all(r->env, STR_LIT("push_batch"), items);
}

/* The user's locale (into tag): their record's `locale` field, else their
 * most recently seen device's; "" when neither says. Only asked when the
 * notification has texts in more than one locale. */
static enum rc user_locale(struct reach *r, const char *user, json_t *record, char tag[40])
{
    tag[0] = '\0';
    const char *own = json_string_value(json_object_get(record, "locale"));
    if (own && own[0] && strlen(own) < 40) {
        snprintf(tag, 40, "%s", own);
        return RC_OK;
    }
    enum rc rc = RC_OK;
    if (!r->device_locale)
        rc = store_prepare(r->env->db,
                           STR_LIT("SELECT locale FROM \"_devices\" WHERE \"user\" = ?1 AND "
                                   "locale != '' ORDER BY \"lastSeen\" DESC, updated DESC LIMIT 1"),
                           &r->device_locale);
    if (rc)
        return rc;
    store_reset(r->device_locale);
    store_bind_text(r->device_locale, 1, str_from_cstr(user));
    rc = store_step(r->device_locale);
    if (rc == RC_OK) {
        struct str v = store_column_text(r->device_locale, 0);
        if (v.len < 40) {
            memcpy(tag, v.ptr, v.len);
            tag[v.len] = '\0';
        }
    }
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* A text message: the locale's sms text, else the title, then the body on
 * its own line. */
static void sms_text(json_t *texts, struct buf *out)
{
    const char *sms = json_string_value(json_object_get(texts, "sms"));
    if (sms && sms[0]) {
        buf_append_cstr(out, sms);
        return;
    }
    const char *title = json_string_value(json_object_get(texts, "title"));
    const char *body = json_string_value(json_object_get(texts, "body"));
    buf_append_cstr(out, title ? title : "");
    if (body && body[0]) {
        buf_append_cstr(out, "\n");
        buf_append_cstr(out, body);
    }
}

/* A mail: the title as its subject (one line), the body (else the title) as
 * its text, the locale's html or the two escaped as its HTML. */
static json_t *mail_of(const char *to, json_t *texts)
{
    char subject[CORE_NOTIFY_MAX_TITLE + 1];
    snprintf(subject, sizeof(subject), "%s", json_string_value(json_object_get(texts, "title")));
    for (char *c = subject; *c; c++)
        if (*c == '\r' || *c == '\n' || *c == '\t')
            *c = ' ';
    const char *body = json_string_value(json_object_get(texts, "body"));
    struct buf html;
    buf_init(&html, 1024);
    core_template_default_html(texts, &html);
    buf_append(&html, "", 1);
    json_t *mail = core_job_email_payload(to, subject, body && body[0] ? body : subject, html.data);
    buf_cleanup(&html);
    return mail;
}

/* One user reached on channel (inbox, sms or email): the texts of their
 * locale; an sms to their `phone` field (E.164), a mail to their email;
 * users without one are skipped. */
static enum rc reach_user(struct reach *r, const char *channel, const char *user)
{
    bool is_inbox = strcmp(channel, "inbox") == 0, is_sms = strcmp(channel, "sms") == 0;
    bool is_multi = json_object_size(r->locales) > 1;
    json_t *record = NULL;
    if (!is_inbox || is_multi) {
        enum rc lr = core_record_load(r->env->db, r->users, str_from_cstr(user), &record);
        if (lr)
            return lr == RC_NOT_FOUND ? RC_OK : lr; /* gone: nobody to reach */
    }
    char tag[40] = "";
    enum rc rc = is_multi ? user_locale(r, user, record, tag) : RC_OK;
    json_t *texts = core_template_pick(r->locales, tag);
    char what[96];
    snprintf(what, sizeof(what), "%s:%s", channel, user);
    if (!rc && is_inbox) {
        json_t *one = json_pack("[s]", user);
        rc = core_inbox_deliver(r->env, r->job->id, one, core_template_pick(r->messages, tag));
        json_decref(one);
    } else if (!rc && is_sms) {
        const char *phone = json_string_value(json_object_get(record, "phone"));
        if (core_sms_is_e164(phone)) {
            struct buf text;
            buf_init(&text, 256);
            sms_text(texts, &text);
            json_t *p =
                json_pack("{s:s, s:s%}", "to", phone, "text", text.data ? text.data : "", text.len);
            buf_cleanup(&text);
            if (p)
                json_array_append_new(r->items,
                                      item_of(p, r->job->id, what,
                                              json_integer_value(json_object_get(r->quiet, user))));
        }
    } else if (!rc) {
        const char *email = json_string_value(json_object_get(record, "email"));
        json_t *mail = email && email[0] ? mail_of(email, texts) : NULL;
        if (mail)
            json_array_append_new(r->items, item_of(mail, r->job->id, what, 0));
    }
    json_decref(record);
    return rc;
}

/* Reaches users on channel (inbox, sms or email): the inbox records are
 * written as it goes, the sms and email jobs enqueued at the end. */
static enum rc reach_users(struct reach *r, const char *channel, json_t *users)
{
    if (!r->users)
        return RC_OK;
    r->items = json_array();
    enum rc rc = RC_OK;
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u)
    {
        if (!rc)
            rc = reach_user(r, channel, json_string_value(u));
    }
    json_t *items = r->items;
    r->items = NULL;
    if (rc || !json_array_size(items)) {
        json_decref(items);
        return rc;
    }
    return enqueue_all(r->env, str_from_cstr(channel), items);
}

/* The notification's texts per locale, into *locales: its title and body,
 * its locales, or its template rendered over its record. RC_INVALID (the
 * job cannot succeed) or another error (try again) with err. */
static enum rc texts_of(const struct core_job_env *env, json_t *payload, json_t **locales,
                        char *err, size_t errlen)
{
    *locales = NULL;
    json_t *own = json_object_get(payload, "locales");
    if (own) {
        *locales = json_incref(own);
        return RC_OK;
    }
    const char *tmpl = json_string_value(json_object_get(payload, "template"));
    if (!tmpl) {
        json_t *texts = json_pack("{s:O}", "title", json_object_get(payload, "title"));
        json_t *body = json_object_get(payload, "body");
        if (body)
            json_object_set(texts, "body", body);
        *locales = json_pack("{s:o}", "", texts);
        return RC_OK;
    }
    const struct core_schema *schema = env->schema ? env->schema(env->schema_ctx) : NULL;
    json_t *ref = json_object_get(payload, "record");
    const struct core_collection *c = NULL;
    json_t *record = NULL;
    enum rc rc = RC_OK;
    if (ref) {
        const char *name = json_string_value(json_object_get(ref, "collection"));
        const char *id = json_string_value(json_object_get(ref, "id"));
        c = schema ? core_schema_find(schema, str_from_cstr(name)) : NULL;
        rc = c ? core_record_load(env->db, c, str_from_cstr(id), &record) : RC_NOT_FOUND;
        if (rc) {
            snprintf(err, errlen, "record: %s", rc == RC_NOT_FOUND ? "not found" : rc_name(rc));
            return rc == RC_NOT_FOUND ? RC_INVALID : rc;
        }
    }
    rc = core_template_locales(env->db, tmpl, record, c, locales);
    json_decref(record);
    if (rc == RC_NOT_FOUND || rc == RC_INVALID) {
        snprintf(err, errlen, "template: %s",
                 rc == RC_NOT_FOUND ? "no template of that name"
                                    : "a rendered text is not valid UTF-8");
        return RC_INVALID;
    }
    if (rc)
        snprintf(err, errlen, "template: %s", rc_name(rc));
    return rc;
}

/* What push and inbox send of each locale: {title, body?, data?}. */
static json_t *messages_of(json_t *locales, json_t *data)
{
    json_t *out = json_object();
    const char *k;
    json_t *texts;
    json_object_foreach(locales, k, texts)
    {
        json_t *m = json_pack("{s:O}", "title", json_object_get(texts, "title"));
        json_t *body = json_object_get(texts, "body");
        if (json_string_length(body))
            json_object_set(m, "body", body);
        if (data)
            json_object_set(m, "data", data);
        json_object_set_new(out, k, m);
    }
    return out;
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
    const struct core_schema *schema = env->schema ? env->schema(env->schema_ctx) : NULL;
    struct reach r = {.env = env,
                      .job = job,
                      .users =
                          schema ? core_schema_find(schema, STR_LIT("_pb_users_auth_")) : NULL};
    char err[256] = "";
    enum rc rc = texts_of(env, job->payload, &r.locales, err, sizeof(err));
    if (rc) {
        res->outcome = rc == RC_INVALID ? CORE_JOB_DEAD : CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error), "%s", err);
        return;
    }
    r.messages = messages_of(r.locales, json_object_get(job->payload, "data"));
    json_t *recipients = NULL;
    const char *filter = json_string_value(json_object_get(job->payload, "filter"));
    if (filter) {
        enum rc fr = core_notify_filter_users(env, filter, &recipients, err, sizeof(err));
        if (fr) {
            json_decref(r.locales);
            json_decref(r.messages);
            res->outcome = fr == RC_INVALID ? CORE_JOB_DEAD : CORE_JOB_RETRY;
            snprintf(res->error, sizeof(res->error), "filter: %s", err[0] ? err : rc_name(fr));
            return;
        }
    } else {
        recipients = json_incref(json_object_get(job->payload, "users"));
    }
    /* A push or text inside a user's quiet hours waits for their end. */
    bool is_urgent = json_is_true(json_object_get(job->payload, "urgent"));
    if (!is_urgent && (has_channel(job->payload, "push") || has_channel(job->payload, "sms")))
        rc = core_prefs_quiet(env->db, recipients, chrono_real_ms(), &r.quiet);
    /* Each channel's users: those who did not mute it for this category. */
    const char *category = json_string_value(json_object_get(job->payload, "category"));
    for (size_t k = 0; !rc && k < sizeof(channel_names) / sizeof(channel_names[0]); k++) {
        const char *channel = channel_names[k];
        if (!has_channel(job->payload, channel))
            continue;
        json_t *to = NULL;
        rc = core_prefs_filter(env->db, recipients, category, channel, &to);
        if (!rc && json_array_size(to))
            rc = strcmp(channel, "push") == 0 ? fan_out(&r, to) : reach_users(&r, channel, to);
        json_decref(to);
    }
    if (r.device_locale)
        store_done(r.device_locale);
    json_decref(r.quiet);
    json_decref(recipients);
    json_decref(r.locales);
    json_decref(r.messages);
    if (rc) {
        res->outcome = CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error), "the fan-out failed (%s): run again", rc_name(rc));
        return;
    }
    res->outcome = CORE_JOB_DONE;
    res->error[0] = '\0';
}

/* A fan-out that failed (the database) is run again soon: the jobs it
 * enqueued fold by their dedupe keys. */
const struct core_job_kind core_notify_kind = {.name = "notify",
                                               .retry = {10, 1000, 5 * 60 * 1000},
                                               .run = notify_run,
                                               .check = core_notify_check};
