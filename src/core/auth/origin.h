/* origin.h -- where an account signs in from, kept in the `_authOrigins`
 * system collection (layer: core).
 *
 * PocketBase's auth origins (spec §5.5): a successful sign-in of a
 * collection with authAlert enabled records a fingerprint of the client (its
 * IP and user agent) for the record. A fingerprint the record has not used
 * before, when it has used others, is a new device: the caller mails the
 * alert (core/auth_alert.h). A record keeps its 5 newest origins; the owner
 * may list, view and delete them through the records API. A password change
 * or the record's deletion clears them (record/record_write.c). */
#ifndef TARMAC_CORE_AUTH_ORIGIN_H
#define TARMAC_CORE_AUTH_ORIGIN_H

#include <stdbool.h>

#include "base/str.h"
#include "store/store.h"

#define CORE_AUTH_ORIGINS_ID "pbc_4275539003"
#define CORE_AUTH_ORIGINS_MAX 5     /* per record, as PocketBase keeps */
#define CORE_AUTH_ORIGIN_UA_MAX 200 /* user agent bytes kept; longer ones end in "..." */
#define CORE_AUTH_FINGERPRINT_LEN 64

/* The collection JSON of `_authOrigins`, for the bootstrap (app.c). */
extern const char *const core_auth_origins_collection_json;

/* The client's user agent as the origin knows it: at most
 * CORE_AUTH_ORIGIN_UA_MAX bytes, then "..." (PocketBase's cut), into out
 * (CORE_AUTH_ORIGIN_UA_MAX + 4 bytes, NUL-terminated). */
void core_auth_origin_user_agent(struct str user_agent, char out[CORE_AUTH_ORIGIN_UA_MAX + 4]);
/* hex(SHA-256(ip + user agent as cut above)) into out (65 bytes). */
void core_auth_origin_fingerprint(struct str ip, struct str user_agent,
                                  char out[CORE_AUTH_FINGERPRINT_LEN + 1]);
/* Records that record_id of collection_id signed in from fingerprint, on
 * db inside the caller's transaction (writer thread): a known origin is
 * touched (its `updated`), a new one inserted, the oldest beyond
 * CORE_AUTH_ORIGINS_MAX deleted. *is_new: the fingerprint was not known;
 * *is_first: the record had no origin at all (a first sign-in, which alerts
 * nobody). */
enum rc core_auth_origin_record(struct store_conn *db, const char *collection_id,
                                const char *record_id, const char *fingerprint, bool *is_new,
                                bool *is_first);

#endif
