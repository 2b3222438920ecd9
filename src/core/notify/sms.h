/* sms.h -- text messages through the provider the settings name (layer:
 * core, core/notify/).
 *
 * The `sms` job kind (payload {to, text}) is one HTTP request by the
 * provider's row of a table, from the settings' sms section:
 *   - twilio: the Messages API (POST /2010-04-01/Accounts/<sid>/
 *     Messages.json, form To, From, Body, HTTP Basic with the account SID
 *     and auth token; StatusCallback when sms.twilio.statusCallback is set:
 *     the delivery reports, for an inbound webhook of scheme twilio);
 *   - msg91: the Flow API (POST /api/v5/flow/ with the authkey header,
 *     {flow_id, sender, recipients: [{mobiles, <textVar>: text}]}, the
 *     number without its "+": India's DLT templates carry the text in a
 *     variable);
 *   - http: any gateway: method, URL, "Name: value" header lines and a body
 *     template where {{to}} and {{text}} become the values escaped as JSON
 *     string content.
 * 2xx is sent (MSG91 also wants "type": "success"); 429, 5xx and 401/403
 * (credentials a superuser may fix) are retried with backoff; another
 * answer (a number the provider refuses) is dead with the provider's
 * message. No provider configured: dead with that reason. Numbers are E.164
 * ("+" and 7 to 15 digits, no leading 0), checked at enqueue. */
#ifndef TARMAC_CORE_NOTIFY_SMS_H
#define TARMAC_CORE_NOTIFY_SMS_H

#include <stdbool.h>

#include "core/jobs/registry.h"

#define CORE_SMS_MAX_TEXT 1600 /* ten concatenated segments */

extern const struct core_job_kind core_sms_kind;

/* "+" then 7 to 15 digits, the first not 0 (ITU-T E.164). */
bool core_sms_is_e164(const char *number);

#endif
