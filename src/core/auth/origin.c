/* origin.c -- see origin.h. PocketBase hashes ip + user agent with MD5; we
 * use SHA-256 (libsodium has no MD5), so origins imported from PocketBase
 * count as new once. */
#include "core/auth/origin.h"

#include <stdio.h>
#include <string.h>

#include "base/chrono.h"
#include "base/secure.h"

const char *const core_auth_origins_collection_json =
    "{\"id\":\"" CORE_AUTH_ORIGINS_ID "\",\"name\":\"_authOrigins\",\"type\":\"base\","
    "\"listRule\":\"@request.auth.id != '' && recordRef = @request.auth.id && "
    "collectionRef = @request.auth.collectionId\","
    "\"viewRule\":\"@request.auth.id != '' && recordRef = @request.auth.id && "
    "collectionRef = @request.auth.collectionId\","
    "\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":\"@request.auth.id != '' && recordRef = @request.auth.id && "
    "collectionRef = @request.auth.collectionId\","
    "\"fields\":[{\"name\":\"collectionRef\",\"type\":\"text\",\"required\":true,\"system\":true},"
    "{\"name\":\"recordRef\",\"type\":\"text\",\"required\":true,\"system\":true},"
    "{\"name\":\"fingerprint\",\"type\":\"text\",\"required\":true,\"system\":true},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true,\"system\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true,"
    "\"system\":true}],"
    "\"indexes\":[\"CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` "
    "(`collectionRef`, `recordRef`, `fingerprint`)\"]}";

void core_auth_origin_user_agent(struct str user_agent, char out[CORE_AUTH_ORIGIN_UA_MAX + 4])
{
    if (user_agent.len > CORE_AUTH_ORIGIN_UA_MAX)
        snprintf(out, CORE_AUTH_ORIGIN_UA_MAX + 4, "%.*s...", CORE_AUTH_ORIGIN_UA_MAX,
                 user_agent.ptr);
    else
        snprintf(out, CORE_AUTH_ORIGIN_UA_MAX + 4, "%.*s", (int)user_agent.len,
                 user_agent.ptr ? user_agent.ptr : "");
}

void core_auth_origin_fingerprint(struct str ip, struct str user_agent,
                                  char out[CORE_AUTH_FINGERPRINT_LEN + 1])
{
    char ua[CORE_AUTH_ORIGIN_UA_MAX + 4];
    core_auth_origin_user_agent(user_agent, ua);
    char joined[CORE_AUTH_ORIGIN_UA_MAX + 4 + 64];
    int n = snprintf(joined, sizeof(joined), "%.*s%s", (int)(ip.len < 60 ? ip.len : 60),
                     ip.ptr ? ip.ptr : "", ua);
    unsigned char digest[32];
    secure_sha256(joined, n < 0 ? 0 : (size_t)n, digest);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[CORE_AUTH_FINGERPRINT_LEN] = '\0';
}

/* Runs sql (no row expected) with the text values given. */
static enum rc exec(struct store_conn *db, struct str sql, const char *const *values, int n)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db, sql, &st);
    for (int i = 0; i < n && !rc; i++)
        rc = store_bind_text(st, i + 1, str_from_cstr(values[i]));
    if (!rc)
        rc = store_step(st);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

enum rc core_auth_origin_record(struct store_conn *db, const char *collection_id,
                                const char *record_id, const char *fingerprint, bool *is_new,
                                bool *is_first)
{
    *is_new = true;
    *is_first = true;
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("SELECT id, fingerprint FROM \"_authOrigins\" WHERE "
                                       "\"collectionRef\" = ?1 AND \"recordRef\" = ?2 "
                                       "ORDER BY created DESC, rowid DESC"),
                               &st);
    if (rc)
        return rc;
    /* Newest first: the ones past the newest MAX - 1 make room for a new one. */
    char known[16] = "", stale[64][16];
    int n = 0, n_stale = 0;
    rc = store_bind_text(st, 1, str_from_cstr(collection_id));
    if (!rc)
        rc = store_bind_text(st, 2, str_from_cstr(record_id));
    while (!rc && (rc = store_step(st)) == RC_OK) {
        struct str id = store_column_text(st, 0);
        if (id.len >= sizeof(known))
            continue; /* not an id this server made: left alone */
        if (str_eq(store_column_text(st, 1), str_from_cstr(fingerprint)))
            snprintf(known, sizeof(known), "%.*s", (int)id.len, id.ptr);
        if (++n >= CORE_AUTH_ORIGINS_MAX && n_stale < 64)
            snprintf(stale[n_stale++], sizeof(stale[0]), "%.*s", (int)id.len, id.ptr);
    }
    store_done(st);
    if (rc != RC_NOT_FOUND)
        return rc;
    *is_first = n == 0;
    *is_new = !known[0];
    char now[32];
    chrono_format_db_ms(chrono_real_ms(), now);
    if (!*is_new) {
        const char *v[] = {now, known};
        return exec(db, STR_LIT("UPDATE \"_authOrigins\" SET updated = ?1 WHERE id = ?2"), v, 2);
    }
    rc = RC_OK;
    for (int i = 0; i < n_stale && !rc; i++) {
        const char *v[] = {stale[i]};
        rc = exec(db, STR_LIT("DELETE FROM \"_authOrigins\" WHERE id = ?1"), v, 1);
    }
    if (rc)
        return rc;
    char id[16];
    secure_random_id(id, 15);
    id[15] = '\0';
    const char *v[] = {id, collection_id, record_id, fingerprint, now};
    return exec(
        db,
        STR_LIT("INSERT INTO \"_authOrigins\" (id, \"collectionRef\", \"recordRef\", fingerprint, "
                "created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"),
        v, 5);
}
