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

/* Copies s into out (cap bytes with its NUL), cut short when longer. */
static void copy_text(char *out, size_t cap, struct str s)
{
    size_t n = s.len < cap ? s.len : cap - 1;
    memcpy(out, s.ptr, n);
    out[n] = '\0';
}

/* strcmp's order for slices. */
static int compare_text(struct str a, struct str b)
{
    int c = memcmp(a.ptr, b.ptr, a.len < b.len ? a.len : b.len);
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

bool core_otp_check(struct core_worker *cw, const struct core_collection *col, const char *otp_id,
                    const char *code, char record_id[64], char sent_to[256])
{
    struct store_stmt *st;
    if (store_prepare(cw->db,
                      STR_LIT("SELECT collectionRef, recordRef, password, sentTo, created "
                              "FROM _otps WHERE id = ?1"),
                      &st) != RC_OK)
        return false;
    bool ok = false;
    if (store_bind_text(st, 1, str_from_cstr(otp_id)) == RC_OK && store_step(st) == RC_OK) {
        struct str coll = store_column_text(st, 0);
        struct str stored = store_column_text(st, 2);
        struct str created = store_column_text(st, 4);
        char digest[65], oldest[32];
        core_otp_digest(col, otp_id, code, digest);
        chrono_format_db_ms(chrono_real_ms() - col->otp_duration_s * 1000, oldest);
        ok = str_eq(coll, str_from_cstr(col->id)) && stored.len == 64 &&
             secure_equal(stored.ptr, digest, 64) &&
             compare_text(created, str_from_cstr(oldest)) > 0;
        copy_text(record_id, 64, store_column_text(st, 1));
        copy_text(sent_to, 256, store_column_text(st, 3));
    }
    store_done(st);
    return ok;
}
