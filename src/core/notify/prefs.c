/* prefs.c -- see prefs.h. */
#include "core/notify/prefs.h"

#include <stdio.h>
#include <string.h>

const char core_prefs_collection_json[] =
    "{\"id\":\"pbc_tarmac_notify_prefs\",\"name\":\"_notifyPrefs\",\"type\":\"base\","
    "\"listRule\":\"user = @request.auth.id\",\"viewRule\":\"user = @request.auth.id\","
    "\"createRule\":\"@request.auth.id != '' && user = @request.auth.id\","
    "\"updateRule\":\"user = @request.auth.id && (@request.body.user:isset = false || "
    "@request.body.user = @request.auth.id)\","
    "\"deleteRule\":\"user = @request.auth.id\","
    "\"fields\":[{\"name\":\"user\",\"type\":\"relation\",\"collectionId\":\"_pb_users_auth_\","
    "\"required\":true,\"maxSelect\":1,\"cascadeDelete\":true},"
    "{\"name\":\"muted\",\"type\":\"json\",\"maxSize\":4096},"
    "{\"name\":\"quietHours\",\"type\":\"json\",\"maxSize\":256},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}],"
    "\"indexes\":[\"CREATE UNIQUE INDEX idx_notify_prefs_user ON _notifyPrefs (user)\"]}";

/* Whether muted's list for key holds channel. */
static bool lists(json_t *muted, const char *key, const char *channel)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(muted, key), i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), channel) == 0)
            return true;
    }
    return false;
}

enum rc core_prefs_filter(struct store_conn *db, json_t *users, const char *category,
                          const char *channel, json_t **out)
{
    *out = json_array();
    struct store_stmt *st = NULL;
    enum rc rc =
        store_prepare(db, STR_LIT("SELECT muted FROM \"_notifyPrefs\" WHERE \"user\" = ?1"), &st);
    bool has_table = rc == RC_OK;
    if (rc == RC_INVALID)
        rc = RC_OK; /* no table: nothing muted */
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u)
    {
        bool is_muted = false;
        if (!rc && has_table) {
            store_reset(st);
            store_bind_text(st, 1, str_from_cstr(json_string_value(u)));
            enum rc step = store_step(st);
            if (step == RC_OK) {
                struct str text = store_column_text(st, 0);
                json_t *muted = json_loadb(text.ptr, text.len, 0, NULL);
                is_muted =
                    lists(muted, "*", channel) || (category && lists(muted, category, channel));
                json_decref(muted);
            } else if (step != RC_NOT_FOUND) {
                rc = step;
            }
        }
        if (!rc && !is_muted)
            json_array_append(*out, u);
    }
    if (st)
        store_done(st);
    return rc;
}

enum rc core_prefs_quiet(struct store_conn *db, json_t *users, int64_t now_ms, json_t **until)
{
    *until = json_object();
    struct store_stmt *st = NULL;
    enum rc rc = store_prepare(
        db, STR_LIT("SELECT \"quietHours\" FROM \"_notifyPrefs\" WHERE \"user\" = ?1"), &st);
    if (rc)
        return rc == RC_INVALID ? RC_OK : rc; /* no table: no quiet hours */
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u)
    {
        store_reset(st);
        store_bind_text(st, 1, str_from_cstr(json_string_value(u)));
        enum rc step = store_step(st);
        if (step == RC_OK) {
            struct str text = store_column_text(st, 0);
            json_t *q = text.len ? json_loadb(text.ptr, text.len, 0, NULL) : NULL;
            int64_t end = core_prefs_quiet_end(q, now_ms);
            json_decref(q);
            if (end)
                json_object_set_new(*until, json_string_value(u), json_integer(end));
        } else if (step != RC_NOT_FOUND) {
            rc = step;
            break;
        }
    }
    store_done(st);
    return rc;
}

static bool is_prefs(const struct core_collection *c)
{
    return strcmp(c->name, CORE_PREFS_COLLECTION) == 0;
}

static bool wants_nothing(void *ctx, const struct core_collection *c)
{
    (void)ctx;
    (void)c;
    return false;
}

static bool wants_before(void *ctx, const struct core_collection *c)
{
    (void)ctx;
    return is_prefs(c);
}

static enum rc before(void *ctx, struct store_conn *db, enum core_event_action action,
                      const struct core_collection *c, json_t *values, json_t *current,
                      struct core_problem *p)
{
    (void)ctx;
    (void)db;
    (void)current;
    if (action == CORE_EVENT_DELETE || !is_prefs(c))
        return RC_OK;
    return core_prefs_check(values, p);
}

struct core_event_listener core_prefs_listener(void)
{
    return (struct core_event_listener){
        .wants = wants_nothing, .wants_before = wants_before, .before = before};
}
