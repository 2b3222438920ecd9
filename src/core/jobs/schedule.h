/* schedule.h -- cron schedules that enqueue jobs (layer: core, core/jobs/).
 *
 * A system collection `_schedules` (superusers only): name, cron (five
 * fields or a macro, UTC: base/cron.h), kind, payload, active, lastRunAt
 * (unix ms, kept by the scheduler). Runner 0 looks at the active schedules
 * about once a second on its read connection; for each schedule whose next
 * time after lastRunAt has come, one writer job enqueues its job (dedupe key
 * "schedule:<id>": a run still pending absorbs the next) and sets lastRunAt
 * to now, guarded by the lastRunAt it read, so two looks never fire one slot
 * twice. After downtime a missed schedule therefore runs once, not once per
 * missed slot. A new schedule (lastRunAt 0) is stamped first and fires at
 * its first slot after that. An expression that does not parse never fires.
 * Between looks the runner sleeps until the next slot, or until a commit
 * (which may have changed a schedule) wakes it. */
#ifndef TARMAC_CORE_JOBS_SCHEDULE_H
#define TARMAC_CORE_JOBS_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/rc.h"
#include "base/str.h"
#include "core/jobs/job.h"
#include "core/problem.h"
#include "store/store.h"
#include "store/writer.h"

#define CORE_SCHEDULES_COLLECTION "_schedules"

extern const char core_schedules_collection_json[];

/* Checks a `_schedules` record's values before it is written: its cron
 * parses, its kind is known and takes its payload. RC_INVALID with field
 * errors in p. */
enum rc core_schedule_check(json_t *values, struct core_problem *p);

/* One look: reads on db (a runner's), writes through writer. *fired counts
 * the jobs enqueued; *next_ms is the next slot of any active schedule after
 * now (unix ms; -1 when none comes), so the runner can sleep until then. */
enum rc core_schedules_tick(struct store_conn *db, struct store_writer *writer, int64_t now_ms,
                            size_t *fired, int64_t *next_ms);

/* Enqueues the job of the schedule named name (or with that id) now, on the
 * writer's connection, and sets its lastRunAt; RC_NOT_FOUND. */
enum rc core_schedule_run_now(struct store_conn *db, struct str name, int64_t now_ms,
                              char id_out[CORE_JOB_ID_LEN + 1]);

#endif
