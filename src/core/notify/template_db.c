/* template_db.c -- see template.h: a template's locales read and rendered
 * (the database half; template.c is pure). */
#include "core/notify/template.h"

#include <string.h>

#include "base/alloc.h"
#include "core/notify/push.h"

/* ---- a template's locales ------------------------------------------------- */

/* Sets key of msg to tmpl rendered (nothing when tmpl is empty); false
 * when the result is not valid UTF-8 or is longer than max. */
static bool set_rendered(json_t *msg, const char *key, struct str tmpl, json_t *record,
                         const struct core_collection *c, bool is_html, size_t max)
{
    if (!tmpl.len)
        return true;
    char *z = xstrndup(tmpl.ptr, tmpl.len);
    struct buf out;
    buf_init(&out, tmpl.len + 64);
    core_template_render(z, record, c, is_html, &out);
    xfree(z);
    size_t n = out.len;
    if (n > max) {
        n = max; /* cut at a character's start: the limit is in bytes */
        while (n > 0 && ((unsigned char)out.data[n] & 0xC0) == 0x80)
            n--;
    }
    json_t *v = json_stringn(out.data ? out.data : "", n);
    buf_cleanup(&out);
    if (!v)
        return false;
    json_object_set_new(msg, key, v);
    return true;
}

enum rc core_template_locales(struct store_conn *db, const char *name, json_t *record,
                              const struct core_collection *c, json_t **out)
{
    *out = NULL;
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("SELECT locale, title, body, sms, html FROM "
                                       "\"_notifyTemplates\" WHERE name = ?1 ORDER BY locale"),
                               &st);
    if (rc)
        return rc == RC_INVALID ? RC_NOT_FOUND : rc; /* no table */
    store_bind_text(st, 1, str_from_cstr(name));
    json_t *locales = json_object();
    bool is_valid = true;
    size_t n = 0;
    while ((rc = store_step(st)) == RC_OK && n < CORE_TEMPLATE_MAX_LOCALES) {
        struct str locale = store_column_text(st, 0);
        json_t *msg = json_object();
        is_valid = is_valid &&
                   set_rendered(msg, "title", store_column_text(st, 1), record, c, false,
                                CORE_NOTIFY_MAX_TITLE) &&
                   set_rendered(msg, "body", store_column_text(st, 2), record, c, false,
                                CORE_NOTIFY_MAX_BODY) &&
                   set_rendered(msg, "sms", store_column_text(st, 3), record, c, false,
                                CORE_NOTIFY_MAX_SMS) &&
                   set_rendered(msg, "html", store_column_text(st, 4), record, c, true,
                                CORE_NOTIFY_MAX_HTML);
        if (!json_string_length(json_object_get(msg, "title")))
            json_object_set_new(msg, "title", json_string(" "));
        char key[40];
        size_t k = locale.len < sizeof(key) - 1 ? locale.len : sizeof(key) - 1;
        memcpy(key, locale.ptr, k);
        key[k] = '\0';
        json_object_set_new(locales, key, msg);
        n++;
    }
    store_done(st);
    if (rc != RC_NOT_FOUND && rc != RC_OK) {
        json_decref(locales);
        return rc;
    }
    if (!n) {
        json_decref(locales);
        return RC_NOT_FOUND;
    }
    if (!is_valid) {
        json_decref(locales);
        return RC_INVALID;
    }
    *out = locales;
    return RC_OK;
}

enum rc core_template_exists(struct store_conn *db, const char *name)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db, STR_LIT("SELECT 1 FROM \"_notifyTemplates\" WHERE name = ?1 LIMIT 1"), &st);
    if (rc)
        return rc == RC_INVALID ? RC_NOT_FOUND : rc;
    store_bind_text(st, 1, str_from_cstr(name));
    rc = store_step(st);
    store_done(st);
    return rc;
}
