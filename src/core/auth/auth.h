/* auth.h -- identities from tokens, and tokens for identities (layer: core).
 *
 * Loads the requester (struct core_auth, credential/identity.h) from a
 * request's token, issues auth, file and mail tokens, finds a record by an
 * identity field and checks the authRule: the record-reading half of sign-in,
 * above record/ in core's folder order. */
#ifndef TARMAC_CORE_AUTH_H
#define TARMAC_CORE_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"

#include "core/credential/identity.h"
#include "core/schema/collection.h"

struct core_worker;
struct buf;

/* Resolves an Authorization header value (a bare token, or "Bearer <token>"
 * with any case of "Bearer") into *out. Anything wrong with the token (bad
 * signature, alg other than HS256, expired, not an auth token, unknown record
 * or collection, a changed tokenKey) leaves a guest and RC_OK: the contract
 * downgrades, it does not fail (spec §1.2). When the token could not be
 * checked at all (the record's read failed: RC_IO, RC_BUSY, RC_NOMEM, ...)
 * *out is a guest too but that code is returned: the caller fails the
 * request rather than serve a signed-in client as a guest (a 401 makes the
 * SDKs drop a valid token). out->record is owned: core_auth_cleanup(). */
enum rc core_auth_load(struct core_worker *cw, const struct core_schema *s, struct str header,
                       int64_t now, struct core_auth *out);
/* Resolves a file token (the `?token=` of a protected file, spec §8.3) into
 * *out as core_auth_load() does for auth tokens: anything wrong leaves a
 * guest. out->record is owned: core_auth_cleanup(). */
void core_auth_load_file(struct core_worker *cw, const struct core_schema *s, struct str token,
                         int64_t now, struct core_auth *out);
/* Appends a file token for record (every field, incl. tokenKey) of the auth
 * collection c, valid for c's fileToken duration from now. */
enum rc core_auth_issue_file(const struct core_collection *c, json_t *record, int64_t now,
                             struct buf *out);
/* A worker's memo of the auth records its tokens named (core_auth_load):
 * one per worker thread, not thread-safe. */
struct core_auth_records;
struct core_auth_records *core_auth_records_new(void);
void core_auth_records_free(struct core_auth_records *ar); /* accepts NULL */
/* Releases what core_auth_load() filled; leaves a guest. */
void core_auth_cleanup(struct core_auth *a);
/* Appends a new auth token for record (all its fields, incl. tokenKey) of the
 * auth collection c, valid for c's token duration from now. */
enum rc core_auth_issue(const struct core_collection *c, json_t *record, int64_t now,
                        bool is_refreshable, struct buf *out);

struct core_token_claims;
struct core_request;

/* The record of the auth collection col whose identity field equals
 * identity (email: without case, as its unique index), every field, into
 * *out (owned); *out NULL when there is none. An error of the read (over
 * the request's budget, the database unavailable) is returned, never taken
 * for "none": a sign-in must not answer "wrong password" for it. Runs on
 * cw's read connection. */
enum rc core_auth_find_identity(struct core_worker *cw, const struct core_collection *col,
                                const char *field, const char *identity, json_t **out);
/* Whether record id of col passes the collection's authRule (spec §4/§6):
 * null = superusers only, "" = anyone, else a filter over the record with
 * r's @request data (a guest during a login). */
bool core_auth_rule_passes(struct core_request *r, const struct core_collection *col,
                           const char *id);
/* Whether record id of col passes rule (NULL: no; "": yes; else a filter
 * with r's @request data). For authRule, manageRule. */
bool core_rule_passes(struct core_request *r, const struct core_collection *col, const char *rule,
                      const char *id);
/* The same, telling a rule that cannot be evaluated (RC_INVALID: it does not
 * compile against the schema; RC_IO and co from the read) from a miss; *ok
 * is false unless the record passes. */
enum rc core_rule_eval(struct core_request *r, const struct core_collection *col, const char *rule,
                       const char *id, bool *ok);

/* Appends a token of another kind ("verification", "passwordReset",
 * "emailChange") for record of c, expiring at exp (Unix seconds), with the
 * email and newEmail claims when not NULL. Signed with the record's tokenKey,
 * so it dies with a password or email change, and with the kind, so it never
 * passes for another kind. */
enum rc core_auth_issue_kind(const struct core_collection *c, json_t *record, const char *kind,
                             int64_t exp, const char *email, const char *new_email,
                             struct buf *out);
/* Verifies a token of kind: on success *col is its collection, *record the
 * record now (owned: json_decref) and *claims its claims (cleanup with
 * core_token_claims_cleanup). RC_INVALID for any bad token. */
enum rc core_auth_verify_kind(struct core_worker *cw, const struct core_schema *s, struct str token,
                              const char *kind, int64_t now, const struct core_collection **col,
                              json_t **record, struct core_token_claims *claims);

struct core_exec_job;
/* Fills job (core/record/exec_job.h) to replace the stored password hash
 * old_phc of record id in the auth collection c by new_phc, only while the
 * stored value is still old_phc (a password changed meanwhile wins): a login
 * upgrading an imported bcrypt hash or older argon2id parameters. The
 * record's tokenKey stays, so its tokens stay valid. */
enum rc core_auth_rehash_job(const struct core_collection *c, const char *id, const char *old_phc,
                             const char *new_phc, struct core_exec_job *job);

#endif
