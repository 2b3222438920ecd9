/* auth_options.h -- an auth collection's `mfa` and `authAlert` options
 * (layer: core, schema/).
 *
 * mfa (spec §6.9): when enabled, a sign-in whose record matches `rule` ("" =
 * every record) needs a second, different auth method within `duration`
 * seconds of the first (core/auth/mfa.h). authAlert: a mail to the account
 * when it signs in from an origin (IP + user agent) it has not used before,
 * rendered from `emailTemplate` (core/auth/mail.h). PocketBase's
 * MFAConfig and AuthAlertConfig, with its defaults (MFA off for 600 s, the
 * alert on). Parsing applies a partial object over the current values, as a
 * PATCH of the collection does with every option; values of the wrong type
 * and, from a client, values out of range are refused under "mfa.<key>" or
 * "authAlert.<key>". Whether the collection has the two auth methods MFA
 * needs, and whether the rule compiles, are checked by the caller
 * (collection_json.c, schema_change.c), which see the whole collection. */
#ifndef TARMAC_CORE_SCHEMA_AUTH_OPTIONS_H
#define TARMAC_CORE_SCHEMA_AUTH_OPTIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/schema/mail_template.h"

struct jsonw;
struct core_problem;

#define CORE_MFA_DURATION_MIN 10
#define CORE_MFA_DURATION_MAX 86400

struct core_mfa_options {
    bool is_enabled;
    int64_t duration_s; /* how long a first factor waits for the second */
    char *rule;         /* a filter over the signing-in record; "" = every record */
};

struct core_auth_alert_options {
    bool is_enabled;
    struct core_mail_template email; /* schema/mail_template.h */
};

/* Applies the `mfa` object in (borrowed; NULL or null: nothing changes) to o,
 * filling PocketBase's defaults first when o is new (rule NULL).
 * from_client: also check the values against the limits (a stored
 * collection is trusted). Problems go to p. */
void core_mfa_options_parse(json_t *in, struct core_mfa_options *o, bool from_client,
                            struct core_problem *p);
/* The same for `authAlert`; its emailTemplate is read and checked as every
 * mail template is (core_mail_template_parse). */
void core_auth_alert_options_parse(json_t *in, struct core_auth_alert_options *o, bool from_client,
                                   struct core_problem *p);
/* Writes the `mfa` key and its object {enabled, duration, rule}. */
void core_mfa_options_write(struct jsonw *w, const struct core_mfa_options *o);
/* Writes the `authAlert` key and its object {enabled, emailTemplate}. */
void core_auth_alert_options_write(struct jsonw *w, const struct core_auth_alert_options *o);
/* Deep copies of from into to (to holds nothing yet). */
void core_mfa_options_copy(struct core_mfa_options *to, const struct core_mfa_options *from);
void core_auth_alert_options_copy(struct core_auth_alert_options *to,
                                  const struct core_auth_alert_options *from);
/* Free what o owns; leave it zeroed. */
void core_mfa_options_cleanup(struct core_mfa_options *o);
void core_auth_alert_options_cleanup(struct core_auth_alert_options *o);

#endif
