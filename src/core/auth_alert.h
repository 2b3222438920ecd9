/* auth_alert.h -- the sign-in alert: an origin recorded and, for a new
 * device, the mail enqueued, in one transaction (layer: core, root).
 *
 * A sign-in of a collection with authAlert enabled (PocketBase's default)
 * records the client's fingerprint in `_authOrigins` (core/auth/origin.h).
 * When the fingerprint is new and the record had signed in from elsewhere
 * before, the collection's authAlert.emailTemplate, filled for the record
 * ({ALERT_INFO}: when, the IP and the user agent), goes to its email as an
 * `email` job written in the same transaction as the origin, so the mail is
 * durable once the origin is (core/jobs/email_kind.h); the runners are woken
 * after the commit. A record without an email gets no mail but its origin is
 * still recorded. It lives at core's root because it composes auth/ (the
 * origins) and jobs/ (the queue). */
#ifndef TARMAC_CORE_AUTH_ALERT_H
#define TARMAC_CORE_AUTH_ALERT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/auth/origin.h"
#include "core/record/worker.h"
#include "core/schema/collection.h"

struct core_auth_alert_job;
typedef void core_auth_alert_done_fn(struct core_auth_alert_job *job);

struct core_auth_alert_job {
    char collection_id[64];
    char record_id[64];
    char fingerprint[CORE_AUTH_FINGERPRINT_LEN + 1];
    json_t *mail; /* the `email` job's payload, or NULL (no address) */
    enum rc rc;
    bool is_alerted; /* the mail was enqueued */
    struct core_worker *cw;
    core_auth_alert_done_fn *done;
    void *ctx;
};

/* Fills job for a sign-in of record (every field, borrowed) of col from the
 * client at ip with user_agent: the fingerprint, and the alert mail rendered
 * now (it is sent only if the origin turns out new). RC_TOO_LARGE when the
 * template renders past a mail's limits (the job then holds no mail). */
enum rc core_auth_alert_prepare(struct core_worker *cw, const struct core_collection *col,
                                json_t *record, struct str ip, struct str user_agent,
                                struct core_auth_alert_job *job);
/* Queues job on the writer; done runs on cw's loop after the commit (or the
 * rollback: job->rc). */
void core_auth_alert_submit(struct core_worker *cw, struct core_auth_alert_job *job);
/* Frees what job holds; accepts a job never prepared (zeroed). */
void core_auth_alert_job_cleanup(struct core_auth_alert_job *job);

#endif
