/* otp.c -- see otp.h. */
#include "core/auth/otp.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/secure.h"

/* PocketBase's `_otps` (its init migration): readable by the record it is
 * for, written only by the server (and superusers). */
const char *const core_otps_collection_json =
    "{\"id\":\"" CORE_OTPS_ID "\",\"name\":\"_otps\",\"type\":\"base\","
    "\"listRule\":\"@request.auth.id != '' && recordRef = @request.auth.id && "
    "collectionRef = @request.auth.collectionId\","
    "\"viewRule\":\"@request.auth.id != '' && recordRef = @request.auth.id && "
    "collectionRef = @request.auth.collectionId\","
    "\"createRule\":null,\"updateRule\":null,\"deleteRule\":null,"
    "\"fields\":[{\"name\":\"collectionRef\",\"type\":\"text\",\"required\":true,\"system\":true},"
    "{\"name\":\"recordRef\",\"type\":\"text\",\"required\":true,\"system\":true},"
    "{\"name\":\"password\",\"type\":\"password\",\"required\":true,\"system\":true,"
    "\"hidden\":true},"
    "{\"name\":\"sentTo\",\"type\":\"text\",\"system\":true,\"hidden\":true},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true,\"system\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true,"
    "\"system\":true}],"
    "\"indexes\":[\"CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` "
    "(`collectionRef`, `recordRef`)\"]}";

/* hex(HMAC-SHA256(secret, otpId ":" code)) into out (65 bytes). */
void core_otp_digest(const struct core_collection *col, const char *otp_id, const char *code,
                     char out[65])
{
    struct secure_hmac h;
    const char *secret = col->tokens[CORE_TOKEN_AUTH].secret;
    secure_hmac_init(&h, str_from_cstr(secret ? secret : ""));
    secure_hmac_update(&h, otp_id, strlen(otp_id));
    secure_hmac_update(&h, ":", 1);
    secure_hmac_update(&h, code, strlen(code));
    unsigned char mac[SECURE_HMAC_SHA256_BYTES];
    secure_hmac_final(&h, mac);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < SECURE_HMAC_SHA256_BYTES; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = '\0';
}

bool core_otp_check(struct core_worker *cw, const struct core_collection *col, const char *otp_id,
                    const char *code, char record_id[64], char sent_to[256])
{
    /* The collection and the expiry are matched by the query: only the
     * code's digest is compared here, in constant time. */
    struct store_stmt *st;
    if (store_prepare(cw->db,
                      STR_LIT("SELECT \"recordRef\", password, \"sentTo\" FROM _otps "
                              "WHERE id = ?1 AND \"collectionRef\" = ?2 AND created > ?3"),
                      &st) != RC_OK)
        return false;
    char oldest[32];
    chrono_format_db_ms(chrono_real_ms() - col->otp_duration_s * 1000, oldest);
    bool ok = false;
    if (store_bind_text(st, 1, str_from_cstr(otp_id)) == RC_OK &&
        store_bind_text(st, 2, str_from_cstr(col->id)) == RC_OK &&
        store_bind_text(st, 3, str_from_cstr(oldest)) == RC_OK && store_step(st) == RC_OK) {
        struct str rid = store_column_text(st, 0);
        struct str stored = store_column_text(st, 1);
        struct str to = store_column_text(st, 2);
        char digest[65];
        core_otp_digest(col, otp_id, code, digest);
        ok = stored.len == 64 && secure_equal(stored.ptr, digest, 64);
        snprintf(record_id, 64, "%.*s", (int)rid.len, rid.ptr);
        snprintf(sent_to, 256, "%.*s", (int)to.len, to.ptr);
    }
    store_done(st);
    return ok;
}

void core_otp_store_job(const struct core_collection *col, const char *otp_id,
                        const char *record_id, const char *digest, const char *sent_to,
                        struct core_exec_job *job)
{
    char now[32], oldest[32];
    int64_t now_ms = chrono_real_ms();
    chrono_format_db_ms(now_ms, now);
    chrono_format_db_ms(now_ms - col->otp_duration_s * 1000, oldest);
    job->pre_sql = "DELETE FROM _otps WHERE \"collectionRef\" = ?1 AND created < ?2";
    job->pre_params[0] = xstrdup(col->id);
    job->pre_params[1] = xstrdup(oldest);
    job->pre_param_count = 2;
    job->sql =
        "INSERT INTO _otps (id, \"collectionRef\", \"recordRef\", password, \"sentTo\", created, "
        "updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
    job->params[0] = xstrdup(otp_id);
    job->params[1] = xstrdup(col->id);
    job->params[2] = xstrdup(record_id);
    job->params[3] = xstrdup(digest);
    job->params[4] = xstrdup(sent_to);
    job->params[5] = xstrdup(now);
    job->param_count = 6;
}

void core_otp_spend_job(const char *otp_id, struct core_exec_job *job)
{
    job->sql = "DELETE FROM _otps WHERE id = ?1";
    job->params[0] = xstrdup(otp_id);
    job->param_count = 1;
}
