/* otp.c -- see otp.h. */
#include "core/auth/otp.h"

#include <stdio.h>
#include <string.h>

#include "base/chrono.h"
#include "base/secure.h"

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
    sqlite3_stmt *st;
    if (store_prepare_raw(cw->db,
                             STR_LIT("SELECT collectionRef, recordRef, password, sentTo, created "
                                     "FROM _otps WHERE id = ?1"),
                             &st) != RC_OK)
        return false;
    sqlite3_bind_text(st, 1, otp_id, -1, SQLITE_TRANSIENT);
    bool ok = false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *coll = (const char *)sqlite3_column_text(st, 0);
        const char *rid = (const char *)sqlite3_column_text(st, 1);
        const char *stored = (const char *)sqlite3_column_text(st, 2);
        const char *to = (const char *)sqlite3_column_text(st, 3);
        const char *created = (const char *)sqlite3_column_text(st, 4);
        char digest[65], oldest[32];
        core_otp_digest(col, otp_id, code, digest);
        chrono_format_db_ms(chrono_real_ms() - col->otp_duration_s * 1000, oldest);
        ok = coll && strcmp(coll, col->id) == 0 && stored && strlen(stored) == 64 &&
             secure_equal(stored, digest, 64) && created && strcmp(created, oldest) > 0;
        snprintf(record_id, 64, "%s", rid ? rid : "");
        snprintf(sent_to, 256, "%s", to ? to : "");
    }
    store_done_raw(st);
    return ok;
}
