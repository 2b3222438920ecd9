/* otp.h -- one-time password codes, kept in the `_otps` system collection
 * (layer: core).
 *
 * _otps (PocketBase's, spec §5.5) keeps an HMAC of each code keyed by its
 * collection's secret, never the code; its `password` field is hidden and
 * never output, like every password field. A check compares in constant
 * time and also requires the OTP to belong to the collection and to be
 * younger than its OTP duration. Writes are writer jobs (exec_job.h); a new
 * code also purges its collection's expired ones, so the table holds only
 * what can still be used. */
#ifndef TARMAC_CORE_OTP_H
#define TARMAC_CORE_OTP_H

#include <stdbool.h>

#include "core/record/exec_job.h"
#include "core/record/worker.h"
#include "core/schema/collection.h"

#define CORE_OTPS_ID "pbc_1638494021"
#define CORE_OTP_ID_LEN 15
/* The recordRef of a sign-up code (tarmac's phone sign-up): texted to a
 * number no account holds yet, for an account made once the code is
 * right; sentTo holds the number. ':' is one of the characters no record id
 * may hold (record_input.c, as PocketBase's forbiddenPKCharacters), so the
 * marker never names a record and `_otps`' list and view rules
 * (recordRef = @request.auth.id) never show the row to anyone but a
 * superuser. */
#define CORE_OTP_SIGNUP_REF ":signup"

/* The collection JSON of `_otps`, for the bootstrap (app.c). */
extern const char *const core_otps_collection_json;

/* hex(HMAC-SHA256(collection secret, otpId ":" code)) into out (65 bytes). */
void core_otp_digest(const struct core_collection *col, const char *otp_id, const char *code,
                     char out[65]);
/* True when otp_id of col holds code and has not expired; then record_id and
 * sent_to name its record and the address the code went to. Reads through
 * cw's connection. */
bool core_otp_check(struct core_worker *cw, const struct core_collection *col, const char *otp_id,
                    const char *code, char record_id[64], char sent_to[256]);
/* Fills job to store the code of otp_id (its digest) for record_id of col,
 * mailed to sent_to, after deleting col's expired codes. */
void core_otp_store_job(const struct core_collection *col, const char *otp_id,
                        const char *record_id, const char *digest, const char *sent_to,
                        struct core_exec_job *job);
/* Fills job to delete otp_id: a code works once (job->changes is 0 when a
 * concurrent use spent it first). */
void core_otp_spend_job(const char *otp_id, struct core_exec_job *job);

#endif
