/* email_kind.h -- the `email` job kind: one mail, sent by the queue (layer:
 * core, core/jobs/).
 *
 * Payload: {"to", "subject", "text"[, "html"]}. The server's own mails (auth
 * flows) and the scripts' go this way, so a mail is a row of the database
 * before it is sent: a crash or an SMTP outage delays it, never loses it.
 * One attempt per run (net_mailer_deliver): accepted or, without an SMTP
 * host, logged: done; network errors, timeouts, 4xx: retried with the
 * queue's backoff; a 5xx or a payload that is no mail: dead. */
#ifndef TARMAC_CORE_JOBS_EMAIL_KIND_H
#define TARMAC_CORE_JOBS_EMAIL_KIND_H

#include <jansson.h>

#include "core/jobs/registry.h"

void core_job_email_run(const struct core_job_env *env, const struct core_job *job,
                        struct core_job_result *res);
/* Why payload is not a mail (a sentence), NULL when it is. */
const char *core_job_email_check(json_t *payload);
/* The payload of a mail: {to, subject, text[, html]} (html may be NULL). */
json_t *core_job_email_payload(const char *to, const char *subject, const char *text,
                               const char *html);

#endif
