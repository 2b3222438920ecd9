/* checks.h -- what the jobs' system collections accept (layer: core,
 * core/jobs/).
 *
 * A before listener of the app's event bus: a `_webhooks` or `_schedules`
 * record is checked inside its write (core_webhook_check,
 * core_schedule_check), so a hook whose filter does not compile or a
 * schedule whose cron does not parse is refused with the contract's 400 and
 * field errors when it is saved, rather than accepted and then never run. */
#ifndef TARMAC_CORE_JOBS_CHECKS_H
#define TARMAC_CORE_JOBS_CHECKS_H

#include "core/event/event.h"

/* The app's current schema snapshot (any thread). */
typedef const struct core_schema *core_jobs_schema_fn(void *ctx);

/* The listener for app.c: wants no events, checks those two collections'
 * creates and updates. schema_of(ctx) is called on the writer thread. */
struct core_event_listener core_jobs_check_listener(core_jobs_schema_fn *schema_of, void *ctx);

#endif
