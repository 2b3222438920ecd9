/* inbound.c -- see inbound.h. */
#include "core/jobs/inbound.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "store/sql.h"
#include "store/store.h"

const char core_inbound_collection_json[] =
    "{\"id\":\"pbc_tarmac_inbound\",\"name\":\"_inboundWebhooks\",\"type\":\"base\","
    "\"listRule\":null,\"viewRule\":null,\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":null,"
    "\"fields\":[{\"name\":\"name\",\"type\":\"text\",\"required\":true,\"max\":100,"
    "\"pattern\":\"^[A-Za-z0-9_-]+$\"},"
    "{\"name\":\"scheme\",\"type\":\"select\",\"required\":true,\"maxSelect\":1,"
    "\"values\":[\"stripe\",\"razorpay\",\"github\",\"hmac-sha256\"]},"
    "{\"name\":\"secret\",\"type\":\"text\",\"required\":true,\"max\":1024},"
    "{\"name\":\"header\",\"type\":\"text\",\"max\":100},"
    "{\"name\":\"collection\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"tolerance\",\"type\":\"number\",\"onlyInt\":true,\"min\":0},"
    "{\"name\":\"active\",\"type\":\"bool\"},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}],"
    "\"indexes\":[\"CREATE UNIQUE INDEX `idx_inbound_name` ON `_inboundWebhooks` (`name`)\"]}";

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
