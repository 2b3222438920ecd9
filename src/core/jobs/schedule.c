/* schedule.c -- see schedule.h. */
#include "core/jobs/schedule.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/cron.h"
#include "core/jobs/registry.h"
#include "base/log.h"

const char core_schedules_collection_json[] =
    "{\"id\":\"pbc_tarmac_schedules\",\"name\":\"_schedules\",\"type\":\"base\","
    "\"listRule\":null,\"viewRule\":null,\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":null,"
    "\"fields\":[{\"name\":\"name\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"cron\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"kind\",\"type\":\"text\",\"required\":true,\"max\":64},"
    "{\"name\":\"payload\",\"type\":\"json\",\"maxSize\":1048576},"
    "{\"name\":\"active\",\"type\":\"bool\"},"
    "{\"name\":\"lastRunAt\",\"type\":\"number\",\"onlyInt\":true},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}],"
    "\"indexes\":[\"CREATE UNIQUE INDEX `idx_schedules_name` ON `_schedules` (`name`)\"]}";

enum rc core_schedule_check(json_t *values, struct core_problem *p)
{
    const char *cron = json_string_value(json_object_get(values, "cron"));
    struct cron c;
    if (!cron || !cron_parse(str_from_cstr(cron), &c))
        core_problem_field(p, "cron", "validation_invalid_value",
                           "Must be a cron expression: five fields (minute hour day month "
                           "weekday) or @hourly, @daily, @weekly, @monthly, @yearly.",
                           NULL);
    (void)core_job_kind_check(json_string_value(json_object_get(values, "kind")),
                              json_object_get(values, "payload"), p);
    if (core_problem_has_fields(p)) {
        core_problem_message(p, "Failed to save the schedule.");
        return RC_INVALID;
    }
    return RC_OK;
}

#define MAX_PER_TICK 64

struct due {
    char id[64];
    int64_t last;
    bool is_run; /* false: only stamp (a new schedule) */
};

struct tick {
    struct due due[MAX_PER_TICK];
    size_t n;
    int64_t now;
    size_t fired;
};

/* Enqueues the job of schedule id (writer connection). */
static enum rc enqueue_for(struct store_conn *db, struct str id, char job_id[CORE_JOB_ID_LEN + 1])
{
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db, STR_LIT("SELECT kind, payload, id FROM \"_schedules\" WHERE id = ?1 OR name = ?1"),
        &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, id);
    rc = store_step(st);
    if (rc) {
        store_done(st);
        return rc;
    }
    struct str kind = store_column_text(st, 0), payload = store_column_text(st, 1);
    struct str sid = store_column_text(st, 2);
    char kind_c[CORE_JOB_KIND_MAX + 1], key[96];
    snprintf(kind_c, sizeof(kind_c), "%.*s", (int)kind.len, kind.ptr);
    snprintf(key, sizeof(key), "schedule:%.*s", (int)sid.len, sid.ptr);
    json_t *p = json_loadb(payload.ptr, payload.len, 0, NULL);
    store_done(st);
    struct core_job_spec spec = {.kind = str_from_cstr(kind_c),
                                 .payload = json_is_object(p) ? p : NULL,
                                 .dedupe_key = str_from_cstr(key)};
    bool is_folded;
    rc = core_job_enqueue(db, &spec, job_id, &is_folded);
    json_decref(p);
    if (rc == RC_INVALID) {
        log_warn("msg=\"schedule names an unknown job kind: nothing enqueued\" schedule=%s "
                 "kind=%s",
                 key, kind_c);
        rc = RC_OK;
    }
    return rc;
}

static enum rc stamp(struct store_conn *db, struct str id, int64_t old, int64_t now, bool *ok)
{
    struct store_stmt *st;
    enum rc rc =
        store_prepare(db,
                      STR_LIT("UPDATE \"_schedules\" SET \"lastRunAt\" = ?3 WHERE (id = ?1 "
                              "OR name = ?1) AND (?2 < 0 OR \"lastRunAt\" = ?2)"),
                      &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, id);
    store_bind_int64(st, 2, old);
    store_bind_int64(st, 3, now);
    rc = store_step(st);
    store_done(st);
    if (rc == RC_NOT_FOUND)
        rc = RC_OK;
    *ok = !rc && store_changes(db) > 0;
    return rc;
}

static enum rc tick_apply(struct store_conn *db, void *ctx)
{
    struct tick *t = ctx;
    t->fired = 0;
    for (size_t i = 0; i < t->n; i++) {
        bool ok;
        struct str id = str_from_cstr(t->due[i].id);
        enum rc rc = stamp(db, id, t->due[i].last, t->now, &ok);
        if (rc)
            return rc;
        if (!ok || !t->due[i].is_run)
            continue; /* someone else fired it, or a new schedule was stamped */
        char job_id[CORE_JOB_ID_LEN + 1];
        rc = enqueue_for(db, id, job_id);
        if (rc)
            return rc;
        t->fired++;
    }
    return RC_OK;
}

enum rc core_schedules_tick(struct store_conn *db, struct store_writer *writer, int64_t now_ms,
                            size_t *fired, int64_t *next_ms)
{
    *fired = 0;
    *next_ms = -1;
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db, STR_LIT("SELECT id, cron, \"lastRunAt\" FROM \"_schedules\" WHERE active = 1"), &st);
    if (rc)
        return rc;
    struct tick *t = xcalloc(1, sizeof(*t));
    t->now = now_ms;
    while (t->n < MAX_PER_TICK && (rc = store_step(st)) == RC_OK) {
        struct str id = store_column_text(st, 0), expr = store_column_text(st, 1);
        int64_t last = store_column_int64(st, 2);
        struct cron c;
        if (!cron_parse(expr, &c))
            continue;
        /* Its next slot once this look has fired or stamped it. */
        int64_t after = cron_next(&c, last > now_ms ? last : now_ms);
        if (after >= 0 && (*next_ms < 0 || after < *next_ms))
            *next_ms = after;
        struct due *d = &t->due[t->n];
        snprintf(d->id, sizeof(d->id), "%.*s", (int)id.len, id.ptr);
        d->last = last;
        if (last <= 0) {
            d->is_run = false;
            t->n++;
            continue;
        }
        int64_t next = cron_next(&c, last);
        if (next >= 0 && next <= now_ms) {
            d->is_run = true;
            t->n++;
        }
    }
    store_done(st);
    if (rc == RC_OK)
        *next_ms = now_ms; /* MAX_PER_TICK reached: look again at once */
    rc = rc == RC_NOT_FOUND || rc == RC_OK ? RC_OK : rc;
    if (!rc && t->n) {
        rc = store_writer_run(writer, tick_apply, t);
        *fired = t->fired;
    }
    xfree(t);
    return rc;
}

enum rc core_schedule_run_now(struct store_conn *db, struct str name, int64_t now_ms,
                              char id_out[CORE_JOB_ID_LEN + 1])
{
    enum rc rc = enqueue_for(db, name, id_out);
    bool ok;
    if (!rc)
        rc = stamp(db, name, -1, now_ms, &ok);
    return rc;
}
