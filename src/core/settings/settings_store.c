/* settings_store.c -- the stored layer of the settings in _params, under the
 * id "settings" as PocketBase keeps its own (core/settings_model.go); the
 * value is the JSON of what PATCHes set, not the merged settings, so a flag
 * dropped at the next start stops winning. */
#include "core/settings/settings.h"

#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/chrono.h"
#include "store/store.h"

enum rc core_settings_load(struct store_conn *db, json_t **out)
{
    *out = NULL;
    struct store_stmt *st;
    enum rc rc = store_prepare(db, STR_LIT("SELECT value FROM _params WHERE id = ?1"), &st);
    if (rc)
        return rc;
    rc = store_bind_text(st, 1, STR_LIT("settings"));
    if (!rc)
        rc = store_step(st);
    if (rc == RC_OK) {
        struct str text = store_column_text(st, 0);
        json_t *v = json_loadb(text.ptr ? text.ptr : "", text.len, 0, NULL);
        if (json_is_object(v))
            *out = v;
        else {
            json_decref(v);
            rc = RC_INVALID;
        }
    }
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

enum rc core_settings_save(struct store_conn *db, json_t *stored)
{
    char *text = json_dumps(stored, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return RC_INTERNAL;
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db,
        STR_LIT(
            "INSERT INTO _params (id, value, created, updated) VALUES (?1, ?2, ?3, ?3) "
            "ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated = excluded.updated"),
        &st);
    if (!rc) {
        char now[32];
        chrono_format_db_ms(chrono_real_ms(), now);
        rc = store_bind_text(st, 1, STR_LIT("settings"));
        if (!rc)
            rc = store_bind_text(st, 2, str_from_cstr(text));
        if (!rc)
            rc = store_bind_text(st, 3, str_from_cstr(now));
        if (!rc)
            rc = store_step(st);
        store_done(st);
    }
    xfree(text);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}
