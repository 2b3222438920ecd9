/* runner.h -- the threads that run jobs (layer: core, core/jobs/).
 *
 * A few plain threads, never a worker loop (a handler may block on the
 * network for its timeout). Each has its own read connection and loops:
 * claim up to a handful of due jobs (one writer job: core_job_claim), run
 * each through its kind's handler, record every outcome in one writer job
 * (core_job_finish: done, failed with a backoff, or dead). When nothing is
 * due a runner sleeps until woken (a commit that may have enqueued, an API
 * enqueue) or until the next delayed job, retry or lease expiry it read
 * (core_job_next_due), so idle runners do not poll the database; the poll
 * interval only bounds the sleep, for jobs another process wrote. Runner 0
 * prunes finished jobs older than the retention once a minute and fires
 * schedules at their next slot (a commit makes it look again). */
#ifndef TARMAC_CORE_JOBS_RUNNER_H
#define TARMAC_CORE_JOBS_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event/event.h"
#include "core/jobs/registry.h"
#include "core/jobs/webhook.h"
#include "store/writer.h"

struct core_jobs_config {
    size_t runners;             /* threads; 0 = none (jobs wait) */
    bool allow_private_network; /* targets on private addresses allowed */
    int64_t lease_ms;           /* how long a claim holds a job */
    int64_t retention_ms;       /* finished jobs kept this long; 0 = forever */
    int64_t http_timeout_ms;    /* per outbound request */
    int64_t poll_ms;            /* longest sleep when idle (see above) */
    struct net_mailer *mailer;  /* email jobs send through it (borrowed); NULL: none */
};

#define CORE_JOBS_DEFAULT_LEASE_MS (5 * 60 * 1000)
#define CORE_JOBS_DEFAULT_RETENTION_MS (7LL * 24 * 60 * 60 * 1000)
#define CORE_JOBS_DEFAULT_POLL_MS (60 * 1000)

struct core_jobs;
struct net_mailer;

/* What of the app the handlers see (registry.h's env), borrowed until free:
 * the schema getter and its context, the data directory, the app's URL (a
 * buffer the CLI fills before core_jobs_start). */
struct core_jobs_host {
    core_job_schema_fn *schema;
    void *schema_ctx;
    const char *dir;
    core_job_app_url_fn *app_url;        /* the app's URL now (the settings), with schema_ctx */
    core_job_settings_fn *settings;      /* the settings now, with schema_ctx */
    const struct core_event_bus *events; /* the app's (record writes of handlers) */
};

/* A stopped set of runners for the database at db_path (borrowed until
 * free) writing through writer (borrowed). */
struct core_jobs *core_jobs_new(const char *db_path, struct store_writer *writer,
                                const struct core_jobs_host *host);
/* Sets the defaults into *cfg. */
void core_jobs_config_defaults(struct core_jobs_config *cfg);
/* Starts cfg->runners threads; call once. */
void core_jobs_start(struct core_jobs *j, const struct core_jobs_config *cfg);
/* Wakes a sleeping runner; any thread, cheap. Accepts NULL. */
void core_jobs_wake(struct core_jobs *j);
/* A listener that wakes the runners after a committed change that may have
 * enqueued (a change hooks in w may deliver) or may have changed a schedule
 * (of `_schedules`); it wants no other events, so writes nobody listens to
 * make none (app.c). j and w are borrowed for the bus's life. */
struct core_event_listener core_jobs_wake_listener(struct core_jobs *j, struct core_webhooks *w);
/* Stops the threads (each finishes the job in hand) and frees; accepts NULL.
 * Call before the writer stops. */
void core_jobs_free(struct core_jobs *j);

#endif
