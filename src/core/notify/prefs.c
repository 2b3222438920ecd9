/* prefs.c -- see prefs.h. */
#include "core/notify/prefs.h"

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
