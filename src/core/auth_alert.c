/* auth_alert.c -- see auth_alert.h. */
#include "core/auth_alert.h"

#include <stdio.h>
#include <string.h>

#include "base/chrono.h"
#include "core/app.h"
#include "core/auth/mail.h"
#include "core/jobs/email_kind.h"
#include "core/jobs/job.h"
#include "core/jobs/runner.h"
#include "store/writer.h"

enum rc core_auth_alert_prepare(struct core_worker *cw, const struct core_collection *col,
                                json_t *record, struct str ip, struct str user_agent,
                                struct core_auth_alert_job *job)
{
    memset(job, 0, sizeof(*job));
    snprintf(job->collection_id, sizeof(job->collection_id), "%s", col->id);
    snprintf(job->record_id, sizeof(job->record_id), "%s",
             json_string_value(json_object_get(record, "id")));
    core_auth_origin_fingerprint(ip, user_agent, job->fingerprint);
    const char *to = json_string_value(json_object_get(record, "email"));
    if (!to || !to[0])
        return RC_OK;
    /* PocketBase's {ALERT_INFO}: "<date> - <ip> <user agent>" (escaped into
     * the HTML by the renderer, as every value). */
    char now[32], ua[CORE_AUTH_ORIGIN_UA_MAX + 4], info[400];
    chrono_format_db_ms(chrono_real_ms(), now);
    core_auth_origin_user_agent(user_agent, ua);
    snprintf(info, sizeof(info), "%s - %.*s %s", now, (int)(ip.len < 60 ? ip.len : 60),
             ip.ptr ? ip.ptr : "", ua);
    struct core_mail_placeholder extra[] = {{"{ALERT_INFO}", info}};
    const struct core_settings *settings = core_app_settings(cw->app);
    struct core_mail_vars v = {.app_name = settings->app_name,
                               .app_url = settings->app_url,
                               .col = col,
                               .record = record,
                               .extra = extra,
                               .extra_count = 1};
    struct core_mail m;
    core_mail_init(&m);
    enum rc rc = core_mail_render(&col->auth_alert.email, &v, &m);
    if (!rc)
        job->mail = core_job_email_payload(to, m.subject.data, m.text.data, m.html.data);
    core_mail_cleanup(&m);
    return rc;
}

static enum rc apply(struct store_conn *db, void *ctx)
{
    struct core_auth_alert_job *job = ctx;
    job->is_alerted = false; /* a run the writer repeats starts over */
    bool is_new, is_first;
    enum rc rc = core_auth_origin_record(db, job->collection_id, job->record_id, job->fingerprint,
                                         &is_new, &is_first);
    if (rc || !is_new || is_first || !job->mail)
        return rc;
    struct core_job_spec spec = {.kind = STR_LIT("email"), .payload = job->mail};
    char id[CORE_JOB_ID_LEN + 1];
    bool is_folded;
    rc = core_job_enqueue(db, &spec, id, &is_folded);
    job->is_alerted = rc == RC_OK;
    return rc;
}

static void finished(enum rc rc, void *ctx)
{
    struct core_auth_alert_job *job = ctx;
    job->rc = rc;
    core_worker_end_read(job->cw); /* the next read sees the origin */
    if (!rc && job->is_alerted)
        core_jobs_wake(job->cw->app->jobs);
    job->done(job);
}

void core_auth_alert_submit(struct core_worker *cw, struct core_auth_alert_job *job)
{
    job->cw = cw;
    store_writer_submit(cw->writer, cw->mailbox, apply, finished, job);
}

void core_auth_alert_job_cleanup(struct core_auth_alert_job *job)
{
    json_decref(job->mail);
    job->mail = NULL;
}
