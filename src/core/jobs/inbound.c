/* inbound.c -- see inbound.h. */
#include "core/jobs/inbound.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonw.h"
#include "core/schema/collection_ddl.h"
#include "core/schema/collection_json.h"
#include "store/sql.h"
#include "store/store.h"

const char core_inbound_collection_json[] =
    "{\"id\":\"pbc_tarmac_inbound\",\"name\":\"_inboundWebhooks\",\"type\":\"base\","
    "\"listRule\":null,\"viewRule\":null,\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":null,"
    "\"fields\":[{\"name\":\"name\",\"type\":\"text\",\"required\":true,\"max\":100,"
    "\"pattern\":\"^[A-Za-z0-9_-]+$\"},"
    "{\"name\":\"scheme\",\"type\":\"select\",\"required\":true,\"maxSelect\":1,"
    "\"values\":[\"stripe\",\"razorpay\",\"github\",\"hmac-sha256\",\"twilio\"]},"
    "{\"name\":\"secret\",\"type\":\"text\",\"required\":true,\"max\":1024},"
    "{\"name\":\"header\",\"type\":\"text\",\"max\":100},"
    "{\"name\":\"collection\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"tolerance\",\"type\":\"number\",\"onlyInt\":true,\"min\":0},"
    "{\"name\":\"active\",\"type\":\"bool\"},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}],"
    "\"indexes\":[\"CREATE UNIQUE INDEX `idx_inbound_name` ON `_inboundWebhooks` (`name`)\"]}";

/* The JSON array of the values field "scheme" of def allows (borrowed). */
static json_t *scheme_values(json_t *def)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(def, "fields"), i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        if (name && strcmp(name, "scheme") == 0)
            return json_object_get(f, "values");
    }
    return NULL;
}

static bool has_value(const struct core_field *f, const char *v)
{
    for (size_t i = 0; i < f->value_count; i++) {
        if (strcmp(f->values[i], v) == 0)
            return true;
    }
    return false;
}

enum rc core_inbound_upgrade(struct store_conn *db, struct core_schema *s, const char *now)
{
    size_t at = 0;
    while (at < s->count && strcmp(s->items[at]->name, CORE_INBOUND_COLLECTION) != 0)
        at++;
    struct core_collection *old = at < s->count ? s->items[at] : NULL;
    const struct core_field *f = old ? core_collection_field(old, STR_LIT("scheme")) : NULL;
    if (!f || f->type != CORE_FIELD_SELECT)
        return RC_OK;
    json_t *builtin = json_loads(core_inbound_collection_json, 0, NULL);
    bool is_missing = false;
    size_t i;
    json_t *v;
    json_array_foreach(scheme_values(builtin), i, v)
    {
        if (!has_value(f, json_string_value(v)))
            is_missing = true;
    }
    if (!is_missing) {
        json_decref(builtin);
        return RC_OK;
    }
    /* the stored definition, its scheme field allowing the built-in values too */
    struct buf text;
    buf_init(&text, 1 << 20);
    struct jsonw w;
    jsonw_init(&w, &text);
    core_collection_write_json(&w, old, false);
    enum rc rc = jsonw_finish(&w);
    json_t *stored = rc ? NULL : json_loadb(text.data, text.len, 0, NULL);
    buf_cleanup(&text);
    json_t *values = scheme_values(stored);
    json_array_foreach(scheme_values(builtin), i, v)
    {
        if (values && !has_value(f, json_string_value(v)))
            json_array_append(values, v);
    }
    json_decref(builtin);
    struct core_collection *next = NULL;
    struct core_problem p;
    core_problem_init(&p);
    json_t *patch = json_pack("{s:O?}", "fields", json_object_get(stored, "fields"));
    rc = values ? core_collection_from_json(patch, old, s, now, &next, &p) : RC_INTERNAL;
    json_decref(patch);
    json_decref(stored);
    core_problem_cleanup(&p);
    if (rc)
        return RC_INTERNAL;
    next->is_system = old->is_system;
    rc = core_ddl_update(db, old, next);
    if (rc) {
        core_collection_free(next);
        return rc;
    }
    s->items[at] = next;
    core_collection_free(old);
    return RC_OK;
}

enum rc core_inbound_find(struct core_worker *cw, struct str name, struct core_inbound *out)
{
    core_worker_begin_read(cw);
    struct store_stmt *st;
    enum rc rc = store_prepare(cw->db,
                               STR_LIT("SELECT scheme, secret, header, collection, tolerance "
                                       "FROM \"_inboundWebhooks\" WHERE name = ?1 AND active = 1"),
                               &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, name);
    rc = store_step(st);
    if (!rc) {
        memset(out, 0, sizeof(*out));
        struct str v[4];
        for (int i = 0; i < 4; i++)
            v[i] = store_column_text(st, i);
        snprintf(out->scheme, sizeof(out->scheme), "%.*s", (int)v[0].len, v[0].ptr);
        snprintf(out->secret, sizeof(out->secret), "%.*s", (int)v[1].len, v[1].ptr);
        snprintf(out->header, sizeof(out->header), "%.*s", (int)v[2].len, v[2].ptr);
        snprintf(out->collection, sizeof(out->collection), "%.*s", (int)v[3].len, v[3].ptr);
        out->tolerance_s = store_column_int64(st, 4);
        if (out->tolerance_s <= 0)
            out->tolerance_s = 300;
    }
    store_done(st);
    return rc;
}

bool core_inbound_is_seen(struct core_worker *cw, const struct core_collection *c,
                          struct str event_id)
{
    if (!event_id.len || !core_collection_field(c, STR_LIT("eventId")))
        return false;
    struct buf sql;
    buf_init(&sql, 4096);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT 1 FROM ");
    store_sql_ident(&q, str_from_cstr(c->name));
    store_sql_add(&q, " WHERE \"eventId\" = ");
    store_sql_param(&q);
    struct store_stmt *st = NULL;
    core_worker_begin_read(cw);
    enum rc rc = store_sql_end(&q);
    if (!rc)
        rc = store_prepare(cw->db, buf_str(&sql), &st);
    buf_cleanup(&sql);
    if (rc)
        return false;
    store_bind_text(st, 1, event_id);
    rc = store_step(st);
    store_done(st);
    return rc == RC_OK;
}
