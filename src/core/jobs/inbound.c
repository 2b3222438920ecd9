/* inbound.c -- see inbound.h. */
#include "core/jobs/inbound.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/secure.h"
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

/* Whether hex (64 chars, any case) is the HMAC of prefix + body under secret. */
static bool hmac_matches(const char *secret, struct str prefix, struct str body, struct str hex)
{
    if (hex.len != 2 * SECURE_HMAC_SHA256_BYTES)
        return false;
    unsigned char want[SECURE_HMAC_SHA256_BYTES], got[SECURE_HMAC_SHA256_BYTES];
    for (size_t i = 0; i < sizeof(got); i++) {
        char pair[3] = {hex.ptr[2 * i], hex.ptr[2 * i + 1], 0};
        char *end;
        long v = strtol(pair, &end, 16);
        if (*end)
            return false;
        got[i] = (unsigned char)v;
    }
    struct secure_hmac h;
    secure_hmac_init(&h, str_from_cstr(secret));
    secure_hmac_update(&h, prefix.ptr, prefix.len);
    secure_hmac_update(&h, body.ptr, body.len);
    secure_hmac_final(&h, want);
    return secure_equal(want, got, sizeof(want));
}

static void body_id(struct str body, char out[256])
{
    json_t *j = json_loadb(body.ptr, body.len, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    if (id)
        snprintf(out, 256, "%s", id);
    json_decref(j);
}

static void header_copy(core_inbound_header_fn *header, void *ctx, const char *name, char out[256])
{
    struct str v = header(ctx, name);
    snprintf(out, 256, "%.*s", (int)(v.len < 255 ? v.len : 255), v.ptr);
}

static enum rc verify_stripe(const struct core_inbound *cfg, core_inbound_header_fn *header,
                             void *ctx, struct str body, int64_t now_s, char event_id[256],
                             const char **why)
{
    struct str sig = header(ctx, "Stripe-Signature");
    struct str t = {0};
    bool ok = false;
    /* t first, then every v1 (a rotating secret sends several) */
    for (int pass = 0; pass < 2; pass++) {
        const char *p = sig.ptr, *end = sig.ptr + sig.len;
        while (p && p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            struct str item = {p, comma ? (size_t)(comma - p) : (size_t)(end - p)};
            if (pass == 0 && item.len > 2 && memcmp(item.ptr, "t=", 2) == 0)
                t = (struct str){item.ptr + 2, item.len - 2};
            if (pass == 1 && t.len && item.len > 3 && memcmp(item.ptr, "v1=", 3) == 0) {
                char prefix[40];
                int n = snprintf(prefix, sizeof(prefix), "%.*s.", (int)t.len, t.ptr);
                if (n > 0 && (size_t)n < sizeof(prefix) &&
                    hmac_matches(cfg->secret, (struct str){prefix, (size_t)n}, body,
                                 (struct str){item.ptr + 3, item.len - 3}))
                    ok = true;
            }
            p = comma ? comma + 1 : NULL;
        }
    }
    if (!ok) {
        *why = "bad signature";
        return RC_UNAUTHORIZED;
    }
    char tbuf[24];
    snprintf(tbuf, sizeof(tbuf), "%.*s", (int)(t.len < 20 ? t.len : 20), t.ptr);
    long long ts = strtoll(tbuf, NULL, 10);
    if (llabs(now_s - ts) > cfg->tolerance_s) {
        *why = "timestamp outside the tolerance";
        return RC_UNAUTHORIZED;
    }
    body_id(body, event_id);
    return RC_OK;
}

static enum rc verify_plain(const struct core_inbound *cfg, const char *name, const char *prefix,
                            core_inbound_header_fn *header, void *ctx, struct str body,
                            const char **why)
{
    struct str sig = header(ctx, name);
    size_t pl = strlen(prefix);
    if (pl && sig.len >= pl && strncasecmp(sig.ptr, prefix, pl) == 0)
        sig = (struct str){sig.ptr + pl, sig.len - pl};
    if (!hmac_matches(cfg->secret, (struct str){"", 0}, body, sig)) {
        *why = "bad signature";
        return RC_UNAUTHORIZED;
    }
    return RC_OK;
}

static enum rc verify_razorpay(const struct core_inbound *cfg, core_inbound_header_fn *header,
                               void *ctx, struct str body, int64_t now_s, char event_id[256],
                               const char **why)
{
    (void)now_s;
    enum rc rc = verify_plain(cfg, "X-Razorpay-Signature", "", header, ctx, body, why);
    if (!rc)
        header_copy(header, ctx, "X-Razorpay-Event-Id", event_id);
    return rc;
}

static enum rc verify_github(const struct core_inbound *cfg, core_inbound_header_fn *header,
                             void *ctx, struct str body, int64_t now_s, char event_id[256],
                             const char **why)
{
    (void)now_s;
    enum rc rc = verify_plain(cfg, "X-Hub-Signature-256", "sha256=", header, ctx, body, why);
    if (!rc)
        header_copy(header, ctx, "X-GitHub-Delivery", event_id);
    return rc;
}

static enum rc verify_generic(const struct core_inbound *cfg, core_inbound_header_fn *header,
                              void *ctx, struct str body, int64_t now_s, char event_id[256],
                              const char **why)
{
    (void)now_s;
    if (!cfg->header[0]) {
        *why = "the endpoint names no signature header";
        return RC_INVALID;
    }
    enum rc rc = verify_plain(cfg, cfg->header, "sha256=", header, ctx, body, why);
    if (!rc) {
        header_copy(header, ctx, "X-Event-Id", event_id);
        if (!event_id[0])
            body_id(body, event_id);
    }
    return rc;
}

typedef enum rc verify_fn(const struct core_inbound *cfg, core_inbound_header_fn *header, void *ctx,
                          struct str body, int64_t now_s, char event_id[256], const char **why);

static const struct {
    const char *name;
    verify_fn *verify;
} schemes[] = {{"stripe", verify_stripe},
               {"razorpay", verify_razorpay},
               {"github", verify_github},
               {"hmac-sha256", verify_generic}};

enum rc core_inbound_verify(const struct core_inbound *cfg, core_inbound_header_fn *header,
                            void *ctx, struct str body, int64_t now_s, char event_id[256],
                            const char **why)
{
    event_id[0] = '\0';
    *why = "";
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (strcmp(cfg->scheme, schemes[i].name) == 0)
            return schemes[i].verify(cfg, header, ctx, body, now_s, event_id, why);
    }
    *why = "unknown scheme";
    return RC_INVALID;
}
