/* job.c -- see job.h. */
#include "core/jobs/job.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "base/secure.h"
#include "core/jobs/registry.h"
#include "store/dialect.h"

/* A queued or failed job is "pending": what a dedupe key folds into. */
enum rc core_job_ddl(struct store_conn *db)
{
    return store_exec(
        db, "CREATE TABLE IF NOT EXISTS _jobs ("
            "id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, "
            "payload JSON NOT NULL DEFAULT '{}', "
            "status TEXT NOT NULL DEFAULT 'queued', "
            "priority INTEGER NOT NULL DEFAULT 0, runAt BIGINT NOT NULL, "
            "attempts INTEGER NOT NULL DEFAULT 0, maxAttempts INTEGER NOT NULL, "
            "leaseUntil BIGINT NOT NULL DEFAULT 0, "
            "lockedBy TEXT NOT NULL DEFAULT '', dedupeKey TEXT DEFAULT NULL, "
            "lastError TEXT NOT NULL DEFAULT '', finishedAt BIGINT NOT NULL "
            "DEFAULT 0, created BIGINT NOT NULL, updated BIGINT NOT NULL" STORE_ROW_KEY ");"
            "CREATE UNIQUE INDEX IF NOT EXISTS _jobs_dedupe ON _jobs (kind, "
            "dedupeKey) WHERE dedupeKey IS NOT NULL AND status IN "
            "('queued', 'failed');"
            "CREATE INDEX IF NOT EXISTS _jobs_due ON _jobs (status, runAt);"
            "CREATE INDEX IF NOT EXISTS _jobs_ready ON _jobs (priority DESC, runAt) "
            "WHERE status IN ('queued', 'failed');"
            "CREATE INDEX IF NOT EXISTS _jobs_finished ON _jobs (finishedAt) "
            "WHERE finishedAt > 0;");
}

/* Time first (9 base-36 digits of the Unix time in ms, good for 3,000
 * years), then 6 random characters: ids grow with time, so each new row
 * goes at the right edge of the id index instead of a random leaf (a
 * commit of 30 jobs dirtied about 30 of its pages), and sort as created. */
static void new_id(char out[CORE_JOB_ID_LEN + 1])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint64_t t = (uint64_t)chrono_real_ms();
    for (int i = CORE_JOB_ID_TIME_LEN - 1; i >= 0; i--) {
        out[i] = digits[t % 36];
        t /= 36;
    }
    (void)secure_random_id(out + CORE_JOB_ID_TIME_LEN, CORE_JOB_ID_LEN - CORE_JOB_ID_TIME_LEN);
    out[CORE_JOB_ID_LEN] = '\0';
}

static enum rc find_pending(struct store_conn *db, struct str kind, struct str key,
                            char id_out[CORE_JOB_ID_LEN + 1])
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("SELECT id FROM _jobs WHERE kind = ?1 AND dedupeKey = ?2 "
                                       "AND status IN ('queued', 'failed')"),
                               &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, kind);
    store_bind_text(st, 2, key);
    rc = store_step(st);
    if (!rc) {
        struct str id = store_column_text(st, 0);
        size_t n = id.len < CORE_JOB_ID_LEN ? id.len : CORE_JOB_ID_LEN;
        memcpy(id_out, id.ptr, n);
        id_out[n] = '\0';
    }
    store_done(st);
    return rc;
}

enum rc core_job_enqueue(struct store_conn *db, const struct core_job_spec *spec,
                         char id_out[CORE_JOB_ID_LEN + 1], bool *is_folded)
{
    *is_folded = false;
    const struct core_job_kind *k = core_job_kind_find(spec->kind);
    if (!k || spec->dedupe_key.len > CORE_JOB_DEDUPE_MAX)
        return RC_INVALID;
    if (spec->dedupe_key.len) {
        /* Only "none pending" goes on: after a failed lookup (SQLite may
         * have rolled the caller's transaction back, on NOMEM) the INSERT
         * would commit on its own, outside the write it belongs to. */
        enum rc found = find_pending(db, spec->kind, spec->dedupe_key, id_out);
        if (found == RC_OK)
            *is_folded = true;
        if (found != RC_NOT_FOUND)
            return found;
    }
    /* A raw-payload kind's object is stored with its keys sorted: its own
     * texts (written as text) are then told from any other by their order
     * (webhook.c). */
    char *text = spec->payload ? json_dumps(spec->payload,
                                            JSON_COMPACT | (k->raw_payload ? JSON_SORT_KEYS : 0))
                               : NULL;
    struct str payload = text                     ? str_from_cstr(text)
                         : spec->payload_text.len ? spec->payload_text
                                                  : STR_LIT("{}");
    if (payload.len > CORE_JOB_MAX_PAYLOAD) {
        xfree(text);
        return RC_INVALID;
    }
    int64_t now = chrono_real_ms();
    new_id(id_out);
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db,
        STR_LIT("INSERT INTO _jobs (id, kind, payload, priority, runAt, maxAttempts, dedupeKey, "
                "created, updated, attempts, status, lastError, finishedAt) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12)"),
        &st);
    if (!rc) {
        store_bind_text(st, 1, (struct str){id_out, CORE_JOB_ID_LEN});
        store_bind_text(st, 2, str_from_cstr(k->name));
        store_bind_text(st, 3, payload);
        store_bind_int64(st, 4, spec->priority);
        store_bind_int64(st, 5, spec->run_at_ms ? spec->run_at_ms : now);
        store_bind_int64(st, 6,
                         spec->max_attempts > 0 ? spec->max_attempts : k->retry.max_attempts);
        if (spec->dedupe_key.len)
            store_bind_text(st, 7, spec->dedupe_key);
        else
            store_bind_null(st, 7);
        store_bind_int64(st, 8, now);
        struct str err = spec->last_error;
        store_bind_int64(st, 9, spec->attempts);
        store_bind_text(st, 10,
                        spec->is_dead    ? STR_LIT("dead")
                        : spec->attempts ? STR_LIT("failed")
                                         : STR_LIT("queued"));
        store_bind_text(st, 11, err.len > 1000 ? (struct str){err.ptr, 1000} : err);
        store_bind_int64(st, 12, spec->is_dead ? now : 0);
        rc = store_step(st);
        if (rc == RC_NOT_FOUND)
            rc = RC_OK;
        store_done(st);
    }
    xfree(text);
    return rc;
}

enum rc core_job_enqueue_once(struct store_conn *db, const char *kind, json_t *payload,
                              const char *key)
{
    if (!payload)
        return RC_NOMEM;
    size_t len = strlen(key);
    struct core_job_spec spec = {.kind = str_from_cstr(kind),
                                 .payload = payload,
                                 .dedupe_key =
                                     len <= CORE_JOB_DEDUPE_MAX ? str_from_cstr(key) : STR_LIT("")};
    char id[CORE_JOB_ID_LEN + 1];
    bool is_folded;
    enum rc rc = core_job_enqueue(db, &spec, id, &is_folded);
    json_decref(payload);
    return rc;
}

/* The two ways a job is claimable, each a walk of an index in claim order
 * that stops at the limit (one query with both, ORed, sorted every match:
 * a claim cost O(queue) and draining a queue O(queue^2)): a running job
 * whose lease expired (its runner died; rare, and first so a busy queue
 * cannot starve it), then due queued or failed jobs by priority, runAt and
 * arrival (the partial index _jobs_ready, named: without ANALYZE's figures
 * SQLite's planner prefers _jobs_due and sorts every due job).
 * PostgreSQL: the inner SELECTs get FOR UPDATE SKIP LOCKED and lose INDEXED
 * BY (dialect). */
#define CLAIM_SET                                                                                  \
    "UPDATE _jobs SET status = 'running', attempts = attempts + 1, leaseUntil = ?1 + ?2, "         \
    "lockedBy = ?3, updated = ?1 WHERE id IN ("
#define CLAIM_RETURNING ") RETURNING id, kind, payload, attempts, maxAttempts"
static const struct str claim_sql[] = {
    STR_LIT(CLAIM_SET "SELECT id FROM _jobs WHERE status = 'running' AND leaseUntil < ?1 "
                      "ORDER BY leaseUntil LIMIT ?4" CLAIM_RETURNING),
    STR_LIT(CLAIM_SET "SELECT id FROM _jobs INDEXED BY _jobs_ready "
                      "WHERE status IN ('queued', 'failed') AND runAt <= ?1 "
                      "ORDER BY priority DESC, runAt, rowid LIMIT ?4" CLAIM_RETURNING),
};
/* PostgreSQL: several processes claim from one table; SKIP LOCKED lets each
 * take rows no other claim holds, and never one twice at once. */
static const struct str claim_sql_pg[] = {
    STR_LIT(CLAIM_SET "SELECT id FROM _jobs WHERE status = 'running' AND leaseUntil < ?1 "
                      "ORDER BY leaseUntil LIMIT ?4 FOR UPDATE SKIP LOCKED" CLAIM_RETURNING),
    STR_LIT(CLAIM_SET "SELECT id FROM _jobs WHERE status IN ('queued', 'failed') AND runAt <= ?1 "
                      "ORDER BY priority DESC, runAt, rowid LIMIT ?4 FOR UPDATE SKIP "
                      "LOCKED" CLAIM_RETURNING),
};

enum rc core_job_claim(struct store_conn *db, int64_t now_ms, int64_t lease_ms,
                       struct core_job *out, size_t max, size_t *n)
{
    *n = 0;
    char token[CORE_JOB_TOKEN_LEN + 1];
    (void)secure_random_id(token, CORE_JOB_TOKEN_LEN);
    token[CORE_JOB_TOKEN_LEN] = '\0';
    const struct str *sqls =
        store_dialect_current() == STORE_DIALECT_POSTGRES ? claim_sql_pg : claim_sql;
    for (size_t q = 0; q < sizeof(claim_sql) / sizeof(claim_sql[0]) && *n < max; q++) {
        struct store_stmt *st;
        enum rc rc = store_prepare(db, sqls[q], &st);
        if (rc)
            return rc;
        store_bind_int64(st, 1, now_ms);
        store_bind_int64(st, 2, lease_ms);
        store_bind_text(st, 3, (struct str){token, CORE_JOB_TOKEN_LEN});
        store_bind_int64(st, 4, (int64_t)(max - *n));
        while ((rc = store_step(st)) == RC_OK && *n < max) {
            struct core_job *j = &out[*n];
            memset(j, 0, sizeof(*j));
            struct str id = store_column_text(st, 0), kind = store_column_text(st, 1);
            struct str payload = store_column_text(st, 2);
            snprintf(j->id, sizeof(j->id), "%.*s", (int)id.len, id.ptr);
            snprintf(j->kind, sizeof(j->kind), "%.*s", (int)kind.len, kind.ptr);
            memcpy(j->token, token, sizeof(token));
            /* the text only: the runner parses it (off the writer), for
             * the kinds that want it parsed */
            j->payload_text = xmalloc(payload.len + 1);
            memcpy(j->payload_text, payload.ptr, payload.len);
            j->payload_text[payload.len] = '\0';
            j->payload_len = payload.len;
            j->attempts = (int)store_column_int64(st, 3);
            j->max_attempts = (int)store_column_int64(st, 4);
            j->claimed_ms = now_ms;
            (*n)++;
        }
        store_done(st);
        if (rc != RC_NOT_FOUND && rc != RC_OK)
            return rc;
    }
    return RC_OK;
}

enum rc core_job_next_due(struct store_conn *db, int64_t *at_ms)
{
    *at_ms = -1;
    /* One MIN per status, so each is a seek on _jobs_due (status, runAt). */
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db,
        STR_LIT("SELECT MIN(t) FROM ("
                "SELECT MIN(runAt) AS t FROM _jobs WHERE status = 'queued' UNION ALL "
                "SELECT MIN(runAt) FROM _jobs WHERE status = 'failed' UNION ALL "
                "SELECT MIN(leaseUntil) + 1 FROM _jobs WHERE status = 'running') AS due"),
        &st);
    if (rc)
        return rc;
    rc = store_step(st);
    if (rc == RC_OK && store_column_type(st, 0) != STORE_TYPE_NULL)
        *at_ms = store_column_int64(st, 0);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

void core_job_cleanup(struct core_job *job)
{
    json_decref(job->payload);
    job->payload = NULL;
    xfree(job->payload_text);
    job->payload_text = NULL;
}

enum rc core_job_finish(struct store_conn *db, const struct core_job *job,
                        enum core_job_outcome outcome, int64_t now_ms, int64_t next_run_ms,
                        struct str error, bool *is_stale)
{
    *is_stale = false;
    if (outcome == CORE_JOB_RETRY && job->attempts >= job->max_attempts)
        outcome = CORE_JOB_DEAD;
    const char *status = outcome == CORE_JOB_DONE    ? "done"
                         : outcome == CORE_JOB_RETRY ? "failed"
                         : outcome == CORE_JOB_DEAD  ? "dead"
                                                     : "queued";
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db,
        outcome == CORE_JOB_RELEASE
            ? STR_LIT("UPDATE _jobs SET status = ?1, runAt = ?2, "
                      "lastError = COALESCE(NULLIF(?3, ''), lastError), leaseUntil = 0, "
                      "lockedBy = '', attempts = MAX(attempts - 1, 0), finishedAt = ?4, "
                      "updated = ?5 WHERE id = ?6 AND status = 'running' AND lockedBy = ?7")
            : STR_LIT("UPDATE _jobs SET status = ?1, runAt = ?2, lastError = ?3, leaseUntil = 0, "
                      "lockedBy = '', finishedAt = ?4, updated = ?5 "
                      "WHERE id = ?6 AND status = 'running' AND lockedBy = ?7"),
        &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, str_from_cstr(status));
    store_bind_int64(st, 2, outcome == CORE_JOB_RETRY ? next_run_ms : now_ms);
    store_bind_text(st, 3, error.len > 1000 ? (struct str){error.ptr, 1000} : error);
    store_bind_int64(st, 4, outcome == CORE_JOB_DONE || outcome == CORE_JOB_DEAD ? now_ms : 0);
    store_bind_int64(st, 5, now_ms);
    store_bind_text(st, 6, str_from_cstr(job->id));
    store_bind_text(st, 7, str_from_cstr(job->token));
    rc = store_step(st);
    store_done(st);
    if (rc == RC_NOT_FOUND)
        rc = RC_OK;
    if (!rc && store_changes(db) == 0)
        *is_stale = true;
    return rc;
}

int64_t core_job_retry_at(const struct core_job_kind *k, int attempts,
                          const struct core_job_result *res)
{
    /* A kept-alive connection the server had just closed, or an HTTP/2
     * GOAWAY: Debian 12's libcurl resets each stream it ends, and a server
     * that limits resets (CVE-2023-44487's mitigation in nghttp2 and Node)
     * sends GOAWAY after about a thousand, failing the streams in flight
     * unprocessed. The backoff for them delayed the end of a fan-out by
     * seconds; the next attempts back off as before. */
    if (res->is_connection_lost && attempts == 1)
        return chrono_real_ms();
    double r = (double)secure_random_uniform(1u << 30) / (double)(1u << 30);
    return chrono_real_ms() + core_job_backoff_ms(attempts, k->retry.backoff_base_ms,
                                                  k->retry.backoff_cap_ms, res->retry_after_ms, r);
}

int64_t core_job_backoff_ms(int attempts, int64_t base_ms, int64_t cap_ms, int64_t retry_after_ms,
                            double r)
{
    if (attempts < 1)
        attempts = 1;
    if (base_ms < 1)
        base_ms = 1;
    int64_t d = base_ms;
    for (int i = 1; i < attempts && d < cap_ms; i++)
        d *= 2;
    if (d > cap_ms)
        d = cap_ms;
    if (r < 0)
        r = 0;
    if (r >= 1)
        r = 0.999999;
    d = d / 2 + (int64_t)((double)(d - d / 2) * r);
    if (d < retry_after_ms)
        d = retry_after_ms;
    int64_t top = cap_ms > retry_after_ms ? cap_ms : retry_after_ms;
    return d > top ? top : d;
}

static enum rc run_update(struct store_conn *db, struct str sql, struct str id, int64_t now_ms)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db, sql, &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, id);
    store_bind_int64(st, 2, now_ms);
    rc = store_step(st);
    store_done(st);
    if (rc == RC_NOT_FOUND)
        rc = RC_OK;
    if (rc)
        return rc;
    if (store_changes(db) > 0)
        return RC_OK;
    /* nothing changed: tell a missing job from one in the wrong status */
    rc = store_prepare(db, STR_LIT("SELECT 1 FROM _jobs WHERE id = ?1"), &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, id);
    rc = store_step(st);
    store_done(st);
    return rc == RC_OK ? RC_CONFLICT : rc;
}

enum rc core_job_retry(struct store_conn *db, struct str id, int64_t now_ms)
{
    return run_update(db,
                      STR_LIT("UPDATE _jobs SET status = 'queued', attempts = 0, runAt = ?2, "
                              "finishedAt = 0, lastError = '', updated = ?2 WHERE id = ?1 AND "
                              "status IN ('failed', 'dead', 'canceled')"),
                      id, now_ms);
}

enum rc core_job_cancel(struct store_conn *db, struct str id, int64_t now_ms)
{
    return run_update(db,
                      STR_LIT("UPDATE _jobs SET status = 'canceled', finishedAt = ?2, updated = ?2 "
                              "WHERE id = ?1 AND status IN ('queued', 'failed')"),
                      id, now_ms);
}

enum rc core_job_prune(struct store_conn *db, int64_t before_ms, int64_t *n)
{
    *n = 0;
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("DELETE FROM _jobs WHERE finishedAt > 0 AND finishedAt < ?1 "
                                       "AND status IN ('done', 'dead', 'canceled')"),
                               &st);
    if (rc)
        return rc;
    store_bind_int64(st, 1, before_ms);
    rc = store_step(st);
    store_done(st);
    if (rc == RC_NOT_FOUND)
        rc = RC_OK;
    if (!rc)
        *n = store_changes(db);
    return rc;
}

enum rc core_job_view(struct store_conn *db, struct str id, json_t **out)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db, STR_LIT(CORE_JOB_SELECT " WHERE id = ?1"), &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, id);
    rc = store_step(st);
    if (!rc)
        *out = core_job_row_json(st);
    store_done(st);
    return rc;
}

static json_t *ms_date(int64_t ms)
{
    if (ms <= 0)
        return json_string("");
    char t[32];
    chrono_format_db_ms(ms, t);
    return json_string(t);
}

json_t *core_job_row_json(struct store_stmt *st)
{
    json_t *o = json_object();
    static const char *const text_cols[] = {"id", "kind", NULL, "status"};
    for (int i = 0; i < 4; i++) {
        if (!text_cols[i])
            continue;
        struct str s = store_column_text(st, i);
        json_object_set_new(o, text_cols[i], json_stringn(s.ptr, s.len));
    }
    struct str payload = store_column_text(st, 2);
    json_t *p = json_loadb(payload.ptr, payload.len, 0, NULL);
    json_object_set_new(o, "payload", p ? p : json_object());
    json_object_set_new(o, "priority", json_integer(store_column_int64(st, 4)));
    json_object_set_new(o, "runAt", ms_date(store_column_int64(st, 5)));
    json_object_set_new(o, "attempts", json_integer(store_column_int64(st, 6)));
    json_object_set_new(o, "maxAttempts", json_integer(store_column_int64(st, 7)));
    struct str key = store_column_text(st, 8), err = store_column_text(st, 9);
    json_object_set_new(o, "dedupeKey", json_stringn(key.ptr, key.len));
    json_object_set_new(o, "lastError", json_stringn(err.ptr, err.len));
    json_object_set_new(o, "finishedAt", ms_date(store_column_int64(st, 10)));
    json_object_set_new(o, "created", ms_date(store_column_int64(st, 11)));
    json_object_set_new(o, "updated", ms_date(store_column_int64(st, 12)));
    return o;
}
