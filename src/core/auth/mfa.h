/* mfa.h -- multi-factor sign-in sessions, kept in the `_mfas` system
 * collection (layer: core).
 *
 * PocketBase's MFA (spec §6.9): when an auth collection has `mfa` enabled
 * and its rule matches the record, the first auth method that succeeds
 * does not sign in; it leaves an `_mfas` row (collection, record, method)
 * whose id the client sends with a second, different method within
 * mfa.duration seconds. The second one consumes the row and signs in. Any
 * two methods pair (password then OTP, OTP then password, OAuth2 then
 * either, ...); the same method twice does not. A new row also purges its
 * collection's expired ones. Reads take a worker's connection; writes are
 * writer jobs (exec_job.h). */
#ifndef TARMAC_CORE_AUTH_MFA_H
#define TARMAC_CORE_AUTH_MFA_H

#include <stdbool.h>

#include "core/record/exec_job.h"
#include "core/record/record.h"
#include "core/schema/collection.h"

#define CORE_MFAS_ID "pbc_2279338944"
#define CORE_MFA_ID_LEN 15

/* The collection JSON of `_mfas`, for the bootstrap (app.c). */
extern const char *const core_mfas_collection_json;

/* Whether MFA applies to record id of col: mfa enabled, and its rule empty
 * or matching the record with r's @request data. RC_INVALID when the rule
 * cannot be evaluated (it no longer compiles against the schema): the
 * caller refuses the sign-in, as PocketBase does, rather than skip MFA. */
enum rc core_mfa_applies(struct core_request *r, const struct core_collection *col, const char *id,
                         bool *out);

/* What a second factor's mfaId is worth. */
enum core_mfa_verdict {
    CORE_MFA_PASS,        /* a live session of this record, from another method */
    CORE_MFA_UNKNOWN,     /* no such session */
    CORE_MFA_EXPIRED,     /* older than mfa.duration (delete it) */
    CORE_MFA_OTHER,       /* a session of another record or collection */
    CORE_MFA_SAME_METHOD, /* the first factor was this method too */
};

/* Judges mfa_id for record_id of col signing in with method; reads through
 * cw's connection. */
enum core_mfa_verdict core_mfa_check(struct core_worker *cw, const struct core_collection *col,
                                     const char *mfa_id, const char *record_id, const char *method);
/* Fills job to start a session for record_id of col after method, with a
 * fresh id written to id_out, after deleting col's expired sessions. */
void core_mfa_start_job(const struct core_collection *col, const char *record_id,
                        const char *method, char id_out[CORE_MFA_ID_LEN + 1],
                        struct core_exec_job *job);
/* Fills job to delete session mfa_id (job->changes is 0 when a concurrent
 * second factor consumed it first). */
void core_mfa_end_job(const char *mfa_id, struct core_exec_job *job);

#endif
