/* trigger.h -- notifications without code: `_notifyTriggers` maps a record
 * change to a notification (layer: core, core/notify/).
 *
 * A trigger (superusers only) names a collection, the events (create,
 * update, delete; none = all), an optional filter (the filter language over
 * the record as written; a delete's as it was), an optional `changed` field
 * (an update fires only when that field's value changed; a create when it
 * is set), `recipients` (the record's field holding the user id or ids: a
 * relation to users, or "id" on users itself), the `title` and `body`
 * templates, `data` (JSON), `channels` (push, inbox, sms; none = push) and
 * `active`. "Tell the customer when the order is out for delivery" is
 * {collection: "orders", events: ["update"], changed: "status", filter:
 * "status = 'out_for_delivery'", recipients: "customer", title: "Order
 * {{record.number}} is on its way"}.
 *
 * Inside the write's transaction (core_event_in_tx) each matching trigger
 * enqueues one `notify` job (push.h) with the rendered title and body, or
 * every locale of its template rendered (core_template_render: the
 * record's {{record.<field>}} values, HTML-escaped in a mail's HTML). A
 * rolled-back write notifies nobody. Records of `_notifyTriggers` are checked before they are
 * written (collection, filter, recipients, channels). */
#ifndef TARMAC_CORE_NOTIFY_TRIGGER_H
#define TARMAC_CORE_NOTIFY_TRIGGER_H

#include <jansson.h>

#include "base/buf.h"
#include "core/event/event.h"
#include "core/jobs/registry.h"

#define CORE_TRIGGERS_COLLECTION "_notifyTriggers"

extern const char core_triggers_collection_json[];

struct core_triggers;
/* schema_of(ctx) is the app's current schema (a trigger's collection and
 * filter are checked against it). */
struct core_triggers *core_triggers_new(core_job_schema_fn *schema_of, void *ctx);
/* The runners to wake after a write that enqueued (set once they exist). */
struct core_jobs;
void core_triggers_set_jobs(struct core_triggers *t, struct core_jobs *jobs);
void core_triggers_free(struct core_triggers *t);
/* Sets whether any trigger may exist, from the table (start-up, writer). */
enum rc core_triggers_load(struct core_triggers *t, struct store_conn *db);
/* The listener: wants changes of collections a trigger may watch, checks
 * `_notifyTriggers` records before they are written, enqueues in_tx. */
struct core_event_listener core_triggers_listener(struct core_triggers *t);

#endif
