/* job.h -- the durable job queue in the app's own database (layer: core,
 * core/jobs/, after realtime/ in core's folder order).
 *
 * A job is a row of `_jobs`, written in the same transaction as the change
 * that causes it (the transactional outbox, DESIGN.md "Events"): an enqueue
 * is a statement on the writer's connection inside the caller's write, so a
 * write that rolls back enqueues nothing, and a write the writer runs again
 * (writer.h) starts from its savepoint, so nothing is enqueued twice.
 *
 * Runner threads (runner.h) claim due jobs with a lease: one UPDATE ...
 * WHERE id IN (SELECT ... ORDER BY priority DESC, runAt LIMIT n) RETURNING,
 * run on the writer thread. On PostgreSQL the inner SELECT takes FOR UPDATE
 * SKIP LOCKED and several instances share the table. A claim stamps a fresh
 * random token into lockedBy; finishing is an UPDATE guarded by that token,
 * so a runner whose lease expired (and whose job was claimed again) cannot
 * overwrite the newer attempt's outcome. A running job whose lease passed is
 * due again: delivery is at least once, and the job's id is its idempotency
 * key (handlers pass it on: the webhook event id).
 *
 * Status: queued (waiting for runAt), running (claimed, lease held), failed
 * (the last attempt failed; due again at runAt), done, dead (out of attempts
 * or refused for good; kept), canceled. A dedupe key folds an enqueue into
 * the job of the same kind and key that is still queued or failed. */
#ifndef TARMAC_CORE_JOBS_JOB_H
#define TARMAC_CORE_JOBS_JOB_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/rc.h"
#include "base/str.h"
#include "store/store.h"

#define CORE_JOB_ID_LEN 15
#define CORE_JOB_ID_TIME_LEN 9 /* its first characters: the time it was made */
#define CORE_JOB_TOKEN_LEN 16
#define CORE_JOB_MAX_PAYLOAD (1 << 20)
#define CORE_JOB_KIND_MAX 64
#define CORE_JOB_DEDUPE_MAX 255

/* Creates `_jobs` and its indexes when missing (start-up, writer thread). */
enum rc core_job_ddl(struct store_conn *db);

/* What an enqueue asks for. */
struct core_job_spec {
    struct str kind;         /* a registered kind (registry.h) */
    json_t *payload;         /* borrowed; NULL = {} (or payload_text) */
    struct str payload_text; /* instead of payload: a JSON object's text, as is */
    int priority;            /* higher first */
    int64_t run_at_ms;       /* 0 = now */
    struct str dedupe_key;   /* len 0 = none */
    int max_attempts;        /* 0 = the kind's */
    /* A job split off another's attempt (one device of a push batch):
     * the attempts it already had, and its end when that attempt was its
     * last (is_dead, with last_error, written finished). 0 / false: new. */
    int attempts;
    bool is_dead;
    struct str last_error;
};

/* Inserts a job on db (the writer's connection, inside the caller's
 * transaction); its id goes to id_out. With a dedupe key matching a queued or
 * failed job of the same kind, nothing is inserted, *is_folded is set and the
 * pending job's id is returned instead. RC_INVALID for an unknown kind or a
 * payload over CORE_JOB_MAX_PAYLOAD. */
enum rc core_job_enqueue(struct store_conn *db, const struct core_job_spec *spec,
                         char id_out[CORE_JOB_ID_LEN + 1], bool *is_folded);

/* core_job_enqueue of a job of kind with payload (taken; NULL: RC_NOMEM)
 * folded by key while one is pending (a key too long for a dedupe key:
 * none), for the listeners that enqueue work a change makes (thumbnails,
 * embeddings). */
enum rc core_job_enqueue_once(struct store_conn *db, const char *kind, json_t *payload,
                              const char *key);

/* One claimed job, as a runner holds it. */
struct core_job {
    char id[CORE_JOB_ID_LEN + 1];
    char kind[CORE_JOB_KIND_MAX + 1];
    char token[CORE_JOB_TOKEN_LEN + 1]; /* this claim's lease token */
    json_t *payload;                    /* owned; NULL for a raw_payload kind */
    char *payload_text;                 /* owned: the stored text, NUL-ended */
    size_t payload_len;
    int attempts; /* including this one */
    int max_attempts;
    int64_t claimed_ms;
};

/* Claims up to max due jobs (queued/failed with runAt <= now, or running
 * with an expired lease), highest priority and oldest runAt first, leasing
 * each for lease_ms; writer thread. Fills out[0..*n). */
enum rc core_job_claim(struct store_conn *db, int64_t now_ms, int64_t lease_ms,
                       struct core_job *out, size_t max, size_t *n);
void core_job_cleanup(struct core_job *job);

/* When the next job becomes claimable (unix ms): the earliest runAt of a
 * queued or failed job, or just past the earliest lease of a running one;
 * -1 when no job is pending. A read: any connection, any thread that owns
 * db. Lets an idle runner sleep until then instead of polling. */
enum rc core_job_next_due(struct store_conn *db, int64_t *at_ms);

enum core_job_outcome {
    CORE_JOB_DONE,  /* finished */
    CORE_JOB_RETRY, /* failed this time; again after a backoff, if attempts remain */
    CORE_JOB_DEAD,  /* failed for good (no retry) */
    /* not attempted: handed back to the queue as it was (its attempt not
     * counted), for any runner to claim at once */
    CORE_JOB_RELEASE,
};

/* Records the outcome of job's attempt (writer thread): done; failed with
 * runAt = next_run_ms; or dead (also RETRY with no attempt left); or
 * queued again as before the claim (RELEASE). The update
 * applies only while job's claim token still holds; *is_stale says it did not. */
enum rc core_job_finish(struct store_conn *db, const struct core_job *job,
                        enum core_job_outcome outcome, int64_t now_ms, int64_t next_run_ms,
                        struct str error, bool *is_stale);

/* The wait before attempt attempts+1 after attempts failed ones: base_ms *
 * 2^(attempts-1) capped at cap_ms, then "equal jitter" (half fixed, half
 * random: r is uniform in [0, 1)), never below retry_after_ms (a server's
 * Retry-After; 0 = none) nor above max(cap_ms, retry_after_ms). Pure. */
int64_t core_job_backoff_ms(int attempts, int64_t base_ms, int64_t cap_ms, int64_t retry_after_ms,
                            double r);
/* When an attempt (the job's attempts-th) that ended in RETRY goes again:
 * at once after a first attempt whose connection was lost, else after the
 * kind's backoff with jitter (Retry-After honoured). The types are
 * registry.h's. */
struct core_job_kind;
struct core_job_result;
int64_t core_job_retry_at(const struct core_job_kind *k, int attempts,
                          const struct core_job_result *res);

/* Deletes done, dead and canceled jobs finished before before_ms; the
 * count goes to *n. Writer thread. */
enum rc core_job_prune(struct store_conn *db, int64_t before_ms, int64_t *n);

/* Superuser actions (writer thread). Retry: a failed, dead or canceled job
 * is queued again now with its attempts reset; cancel: a queued or failed
 * job becomes canceled. RC_NOT_FOUND: no such job; RC_CONFLICT: not in a
 * status the action applies to. */
enum rc core_job_retry(struct store_conn *db, struct str id, int64_t now_ms);
enum rc core_job_cancel(struct store_conn *db, struct str id, int64_t now_ms);

/* The columns core_job_row_json() reads, in its order; append WHERE/ORDER. */
#define CORE_JOB_SELECT                                                                            \
    "SELECT id, kind, payload, status, priority, runAt, attempts, maxAttempts, "                   \
    "COALESCE(dedupeKey, ''), lastError, finishedAt, created, updated FROM _jobs"
/* The current row of a CORE_JOB_SELECT statement as the API shows it (a new
 * object; times as "2006-01-02 15:04:05.000Z", "" when unset). */
json_t *core_job_row_json(struct store_stmt *st);

/* The JSON view of one job row (the API's shape), read on any connection:
 * RC_NOT_FOUND when missing. */
enum rc core_job_view(struct store_conn *db, struct str id, json_t **out);

#endif
