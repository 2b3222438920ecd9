/* trigger.c -- see trigger.h. */
#include "core/notify/trigger.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "core/jobs/job.h"
#include "core/jobs/outbox.h"
#include "core/jobs/runner.h"
#include "core/jobs/webhook.h"
#include "core/notify/push.h"
#include "core/notify/template.h"
#include "core/problem.h"
#include "core/schema/collection.h"

const char core_triggers_collection_json[] =
    "{\"id\":\"pbc_tarmac_notify_triggers\",\"name\":\"_notifyTriggers\",\"type\":\"base\","
    "\"listRule\":null,\"viewRule\":null,\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":null,"
    "\"fields\":[{\"name\":\"name\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"collection\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"events\",\"type\":\"select\",\"maxSelect\":3,"
    "\"values\":[\"create\",\"update\",\"delete\"]},"
    "{\"name\":\"filter\",\"type\":\"text\",\"max\":4096},"
    "{\"name\":\"changed\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"recipients\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"title\",\"type\":\"text\",\"max\":1024},"
    "{\"name\":\"body\",\"type\":\"text\",\"max\":4096},"
    "{\"name\":\"template\",\"type\":\"text\",\"max\":100},"
    "{\"name\":\"data\",\"type\":\"json\",\"maxSize\":2048},"
    "{\"name\":\"channels\",\"type\":\"select\",\"maxSelect\":4,"
    "\"values\":[\"push\",\"inbox\",\"sms\",\"email\"]},"
    "{\"name\":\"category\",\"type\":\"text\",\"max\":64},"
    "{\"name\":\"active\",\"type\":\"bool\"},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}]}";

struct core_triggers {
    struct core_job_outbox outbox; /* first: the listener's ctx is the outbox too */
};

struct core_triggers *core_triggers_new(core_job_schema_fn *schema_of, void *ctx)
{
    struct core_triggers *t = xcalloc(1, sizeof(*t));
    core_job_outbox_init(&t->outbox, CORE_TRIGGERS_COLLECTION, schema_of, ctx);
    return t;
}

void core_triggers_set_jobs(struct core_triggers *t, struct core_jobs *jobs)
{
    t->outbox.jobs = jobs;
}

void core_triggers_free(struct core_triggers *t)
{
    xfree(t);
}

enum rc core_triggers_load(struct core_triggers *t, struct store_conn *db)
{
    return core_job_outbox_load(&t->outbox, db);
}

static bool is_triggers(const struct core_collection *c)
{
    return strcmp(c->name, CORE_TRIGGERS_COLLECTION) == 0;
}

/* ---- checking a trigger ---------------------------------------------------- */

static enum rc check_trigger(struct store_conn *db, const struct core_schema *schema,
                             json_t *values, struct core_problem *p)
{
    const char *title = json_string_value(json_object_get(values, "title"));
    const char *tmpl = json_string_value(json_object_get(values, "template"));
    bool has_title = title && title[0], has_template = tmpl && tmpl[0];
    if (has_title == has_template)
        core_problem_field(p, has_title ? "template" : "title", "validation_required",
                           "A trigger has a title (and body) or a template, one of them.", NULL);
    else if (has_template && core_template_exists(db, tmpl) != RC_OK)
        core_problem_field(p, "template", "validation_invalid_value",
                           "No template of that name (_notifyTemplates).", NULL);
    const char *name = json_string_value(json_object_get(values, "collection"));
    const struct core_collection *c = name ? core_schema_find(schema, str_from_cstr(name)) : NULL;
    if (!c || c->name[0] == '_')
        core_problem_field(p, "collection", "validation_invalid_value",
                           "No such collection (system collections notify nobody).", NULL);
    const char *filter = json_string_value(json_object_get(values, "filter"));
    if (c && filter && filter[0]) {
        enum rc rc = core_webhook_filter_check(schema, c, str_from_cstr(filter), p);
        if (rc)
            return rc;
    }
    static const struct {
        const char *key;
        const char *why;
    } fields[] = {
        {"changed", "No such field in the collection."},
        {"recipients", "Must be a field of the collection holding user ids (or id on users)."}};
    for (size_t i = 0; c && i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *f = json_string_value(json_object_get(values, fields[i].key));
        if (f && f[0] && !core_collection_field(c, str_from_cstr(f)))
            core_problem_field(p, fields[i].key, "validation_invalid_value", fields[i].why, NULL);
    }
    if (core_problem_has_fields(p)) {
        core_problem_message(p, "Failed to save the trigger.");
        return RC_INVALID;
    }
    return RC_OK;
}

/* ---- matching ---------------------------------------------------------------- */

/* `changed`: an update changed the field; a create set it; a delete. */
static bool has_changed(const struct core_event *ev, const char *field)
{
    if (!field[0] || ev->action == CORE_EVENT_DELETE)
        return true;
    json_t *now = json_object_get(ev->values, field);
    if (ev->action == CORE_EVENT_CREATE)
        return now && !json_is_null(now) && !(json_is_string(now) && !json_string_length(now)) &&
               !(json_is_array(now) && !json_array_size(now));
    return !ev->previous || !json_equal(now, json_object_get(ev->previous, field));
}

/* The user ids in the record's recipients field (a string or a list). */
static json_t *recipients_of(const struct core_event *ev, const char *field)
{
    json_t *v = json_object_get(ev->values, field), *users = json_array();
    if (json_is_string(v) && json_string_length(v))
        json_array_append(users, v);
    size_t i;
    json_t *e;
    json_array_foreach(json_is_array(v) ? v : NULL, i, e)
    {
        if (json_is_string(e) && json_string_length(e) &&
            json_array_size(users) < CORE_NOTIFY_MAX_USERS)
            json_array_append(users, e);
    }
    return users;
}

struct trigger_row {
    char id[64];
    char *filter, *changed, *recipients, *title, *body, *data, *channels, *category, *tmpl;
};

static void row_free(struct trigger_row *r)
{
    xfree(r->filter);
    xfree(r->changed);
    xfree(r->recipients);
    xfree(r->title);
    xfree(r->body);
    xfree(r->data);
    xfree(r->channels);
    xfree(r->category);
    xfree(r->tmpl);
}

static enum rc fire(struct core_triggers *t, struct store_conn *db, const struct core_event *ev,
                    struct trigger_row *r)
{
    json_t *users = recipients_of(ev, r->recipients);
    if (!json_array_size(users)) {
        json_decref(users);
        return RC_OK;
    }
    json_t *payload = json_pack("{s:o}", "users", users);
    if (r->tmpl[0]) {
        /* every locale rendered now, over the record as this write left it */
        json_t *locales = NULL;
        enum rc rc = core_template_locales(db, r->tmpl, ev->values, ev->c, &locales);
        if (rc == RC_NOT_FOUND || rc == RC_INVALID) {
            log_warn("msg=\"notify trigger skipped: %s\" trigger=%s template=%s",
                     rc == RC_NOT_FOUND ? "no such template" : "a rendered text is not valid",
                     r->id, r->tmpl);
            json_decref(payload);
            return RC_OK;
        }
        if (rc) {
            json_decref(payload);
            return rc;
        }
        json_object_set_new(payload, "locales", locales);
    } else {
        struct buf title, body;
        buf_init(&title, CORE_NOTIFY_MAX_TITLE);
        buf_init(&body, CORE_NOTIFY_MAX_BODY);
        core_template_render(r->title, ev->values, ev->c, false, &title);
        core_template_render(r->body, ev->values, ev->c, false, &body);
        json_t *tv = json_stringn(title.len ? title.data : " ", title.len ? title.len : 1);
        json_t *b = json_stringn(body.data ? body.data : "", body.len);
        buf_cleanup(&title);
        buf_cleanup(&body);
        if (!tv || !b) {
            /* a template cut mid-character at its limit: not valid UTF-8 */
            log_warn("msg=\"notify trigger skipped: the rendered text is not valid\" trigger=%s",
                     r->id);
            json_decref(tv);
            json_decref(b);
            json_decref(payload);
            return RC_OK;
        }
        json_object_set_new(payload, "title", tv);
        json_object_set_new(payload, "body", b);
    }
    json_t *data = r->data[0] ? json_loads(r->data, 0, NULL) : NULL;
    if (json_is_object(data))
        json_object_set(payload, "data", data);
    json_decref(data);
    json_t *channels = r->channels[0] ? json_loads(r->channels, 0, NULL) : NULL;
    if (json_is_array(channels) && json_array_size(channels))
        json_object_set(payload, "channels", channels);
    json_decref(channels);
    if (r->category[0])
        json_object_set_new(payload, "category", json_string(r->category));
    enum rc rc = RC_OK;
    const char *why = core_notify_check(payload);
    if (why) {
        log_warn("msg=\"notify trigger skipped\" trigger=%s why=\"%s\"", r->id, why);
    } else {
        struct core_job_spec spec = {.kind = STR_LIT("notify"), .payload = payload};
        char id[CORE_JOB_ID_LEN + 1];
        bool is_folded;
        rc = core_job_enqueue(db, &spec, id, &is_folded);
        core_job_outbox_enqueued(&t->outbox);
    }
    json_decref(payload);
    return rc;
}

static char *col_dup(struct store_stmt *st, int i)
{
    struct str v = store_column_text(st, i);
    return xstrndup(v.ptr, v.len);
}

static enum rc on_change(void *ctx, struct store_conn *db, const struct core_event *ev)
{
    struct core_triggers *t = ctx;
    if (is_triggers(ev->c))
        atomic_store(&t->outbox.may_have, true);
    if (ev->c->name[0] == '_')
        return RC_OK;
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db,
        STR_LIT("SELECT id, events, filter, changed, recipients, title, body, data, "
                "channels, category, template FROM \"_notifyTriggers\" WHERE active = 1 AND "
                "(collection = ?1 OR collection = ?2)"),
        &st);
    if (rc)
        return rc == RC_INVALID ? RC_OK : rc; /* no table (yet) */
    store_bind_text(st, 1, str_from_cstr(ev->c->name));
    store_bind_text(st, 2, str_from_cstr(ev->c->id));
    /* Collect first: the statements below would reset this one's cursor. */
    struct trigger_row rows[16];
    size_t n = 0;
    while (n < 16 && (rc = store_step(st)) == RC_OK) {
        if (!core_webhook_wants_action(store_column_text(st, 1),
                                       core_event_action_name(ev->action)))
            continue;
        struct trigger_row *r = &rows[n++];
        struct str id = store_column_text(st, 0);
        snprintf(r->id, sizeof(r->id), "%.*s", (int)id.len, id.ptr);
        r->filter = col_dup(st, 2);
        r->changed = col_dup(st, 3);
        r->recipients = col_dup(st, 4);
        r->title = col_dup(st, 5);
        r->body = col_dup(st, 6);
        r->data = col_dup(st, 7);
        r->channels = col_dup(st, 8);
        r->category = col_dup(st, 9);
        r->tmpl = col_dup(st, 10);
    }
    store_done(st);
    rc = rc == RC_NOT_FOUND || rc == RC_OK ? RC_OK : rc;
    for (size_t i = 0; i < n; i++) {
        bool ok = has_changed(ev, rows[i].changed);
        if (!rc && ok && rows[i].filter[0])
            rc = core_webhook_record_passes(db, ev, str_from_cstr(rows[i].filter), &ok);
        if (!rc && ok)
            rc = fire(t, db, ev, &rows[i]);
        row_free(&rows[i]);
    }
    return rc;
}

static enum rc before(void *ctx, struct store_conn *db, enum core_event_action action,
                      const struct core_collection *c, json_t *values, json_t *current,
                      struct core_problem *p)
{
    struct core_triggers *t = ctx;
    (void)current;
    if (action == CORE_EVENT_DELETE || !is_triggers(c))
        return RC_OK;
    return check_trigger(db, core_job_outbox_schema(&t->outbox), values, p);
}

struct core_event_listener core_triggers_listener(struct core_triggers *t)
{
    return (struct core_event_listener){.wants = core_job_outbox_wants,
                                        .wants_before = core_job_outbox_wants_config,
                                        .in_tx = on_change,
                                        .before = before,
                                        .committed = core_job_outbox_committed,
                                        .on_remote = core_job_outbox_on_remote,
                                        .ctx = t};
}
