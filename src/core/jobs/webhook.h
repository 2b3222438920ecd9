/* webhook.h -- outbound webhooks: the `_webhooks` collection, the listener
 * that enqueues a delivery inside each matching write, and the `webhook`
 * job kind that delivers it (layer: core, core/jobs/).
 *
 * `_webhooks` is a system collection (every rule null: superusers only)
 * with fields collection (name or id), events (create/update/delete; none =
 * all), filter (the filter language, over the record as written; for a
 * delete, as it was), url, secret, headers (JSON object), active.
 *
 * Inside the write's transaction (core_event_in_tx) each change of a
 * collection not starting with "_" is matched against the active hooks; each
 * match enqueues one `webhook` job whose payload holds the hook's id, a
 * fresh event id and the body: {"event","collection","record","time"}, the
 * record as a superuser sees it (password and tokenKey never). The body is
 * fixed at enqueue, so every attempt sends the same bytes and event id.
 *
 * A delivery POSTs the body with Content-Type: application/json,
 * X-Tarmac-Event-Id, X-Tarmac-Signature: t=<unix>,v1=<hex HMAC-SHA256 under
 * the secret of "<t>.<body>"> (Stripe's scheme) and the hook's headers.
 * 2xx: done. 410: the hook is set inactive and the job is dead. 429, 5xx,
 * timeouts and network errors: retry (Retry-After honoured). A refused
 * private target and other statuses: dead. A hook deleted or made inactive
 * meanwhile: dead, with that reason. */
#ifndef TARMAC_CORE_JOBS_WEBHOOK_H
#define TARMAC_CORE_JOBS_WEBHOOK_H

#include "core/event/event.h"
#include "core/filter/sqlgen.h"
#include "core/problem.h"
#include "core/jobs/registry.h"

#define CORE_WEBHOOKS_COLLECTION "_webhooks"

/* The `_webhooks` collection's definition (JSON), created at start when missing. */
extern const char core_webhooks_collection_json[];

/* The listener's state: whether any hook may exist. While none does, it
 * wants no events (a write then makes none), except of `_webhooks` itself:
 * a write there sets the flag, which stays set until the next start reads
 * the table again. */
struct core_webhooks;
struct core_webhooks *core_webhooks_new(void);
void core_webhooks_free(struct core_webhooks *w);
/* Sets the flag from the table (start-up, writer thread). */
enum rc core_webhooks_load(struct core_webhooks *w, struct store_conn *db);
/* Whether a committed change of c may have enqueued a delivery: c is not a
 * system collection and a hook may exist. Any thread. */
bool core_webhooks_may_enqueue(struct core_webhooks *w, const struct core_collection *c);
/* Checks a `_webhooks` record's values before it is written: its
 * collection exists in schema, its filter compiles against it, its headers
 * are an object of strings. RC_INVALID with field errors in p. */
enum rc core_webhook_check(const struct core_schema *schema, json_t *values,
                           struct core_problem *p);
/* Whether events (a select field's JSON array text, "" or "[]" = all)
 * lists action ("create", ...). Pure. */
bool core_webhook_wants_action(struct str events, const char *action);
/* Whether ev's record (its values: a delete is matched as it was) passes
 * filter (the filter language over ev's collection, hidden fields allowed),
 * judged on db inside the write. A filter that does not compile matches
 * nothing (logged); other errors are returned (the write fails rather than
 * lose what it would enqueue). Shared with core/notify's triggers. */
enum rc core_webhook_record_passes(struct store_conn *db, const struct core_event *ev,
                                   struct str filter, bool *ok);
/* The same over values (a record of c as a write stores it), with req's
 * @request and @risk data (NULL: none): what a before listener judges. */
enum rc core_webhook_values_pass(struct store_conn *db, const struct core_schema *schema,
                                 const struct core_collection *c, json_t *values,
                                 const struct core_filter_request *req, struct str filter,
                                 bool *ok);
/* core_webhook_values_pass for n filters at once (one statement): ok[i]
 * for filters[i]; a filter that does not compile matches nothing (logged). */
enum rc core_webhook_values_match(struct store_conn *db, const struct core_schema *schema,
                                  const struct core_collection *c, json_t *values,
                                  const struct core_filter_request *req, const struct str *filters,
                                  size_t n, bool *ok);
/* Adds a field error (field, code validation_invalid_filter) to p when
 * filter does not compile over c with req's data. */
enum rc core_webhook_filter_check_as(const struct core_schema *schema,
                                     const struct core_collection *c,
                                     const struct core_filter_request *req, struct str filter,
                                     const char *field, struct core_problem *p);
/* Adds a "filter" field error to p when filter does not compile over c. */
enum rc core_webhook_filter_check(const struct core_schema *schema, const struct core_collection *c,
                                  struct str filter, struct core_problem *p);
/* The listener app.c registers on its event bus (wants + in_tx); w is
 * borrowed for the bus's life. */
struct core_event_listener core_webhook_listener(struct core_webhooks *w);

/* The `webhook` kind's handlers (registry.c): the signed POST, then its
 * outcome (a 410 disables the hook). */
bool core_webhook_prepare(const struct core_job_env *env, const struct core_job *job,
                          struct core_job_call *call, struct core_job_result *res);
/* Forgets the hooks read for the runner thread's batch (registry.h). */
void core_webhook_batch_end(void);
void core_webhook_complete(const struct core_job_env *env, const struct core_job *job,
                           struct core_job_call *call, struct core_job_result *res);

#endif
