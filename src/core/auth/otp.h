/* otp.h -- one-time password codes (layer: core).
 *
 * _otps keeps an HMAC of each code keyed by its collection's secret, never
 * the code; a check compares in constant time and also requires the OTP to
 * belong to the collection and to be younger than its OTP duration. */
#ifndef TARMAC_CORE_OTP_H
#define TARMAC_CORE_OTP_H

#include <stdbool.h>

#include "core/record/worker.h"
#include "core/schema/collection.h"

/* hex(HMAC-SHA256(collection secret, otpId ":" code)) into out (65 bytes). */
void core_otp_digest(const struct core_collection *col, const char *otp_id, const char *code,
                     char out[65]);
/* True when otp_id of col holds code and has not expired; then record_id and
 * sent_to name its record and the address the code went to. Reads through
 * cw's connection. */
bool core_otp_check(struct core_worker *cw, const struct core_collection *col, const char *otp_id,
                    const char *code, char record_id[64], char sent_to[256]);

#endif
