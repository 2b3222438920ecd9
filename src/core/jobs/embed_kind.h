/* embed_kind.h -- the `embed` job kind: a record's vector computed by an
 * embedding provider from its text fields, off the request path (layer:
 * core, core/jobs/; issue #18, item 2).
 *
 * Payload: {"collection" (name or id), "record" (id)}. The collection's
 * `embedding` option (schema/embedding_options.h) names the vector field
 * and the source fields; the settings' `embeddings` section the endpoint
 * (url, model, apiKey). One attempt: read the record, join its source
 * fields' text (blank lines between, empty ones left out), POST {"model",
 * "input"} with "Authorization: Bearer <apiKey>" (when set) and read
 * data[0].embedding, which must have the field's dimensions; then an
 * update of the vector field (superuser's, through the writer, events and
 * hooks as any update) guarded by the sources' text as it was read, so
 * the vector of older text never lands on newer (that write's own job
 * follows). All sources empty: the vector is set to null, no call. A
 * network error, 429 or 5xx: retried; another status, an answer of the
 * wrong shape or length, no endpoint set: dead (lastError says why). A
 * record, option or collection gone meanwhile: done.
 *
 * The listener (core_embed_listener) enqueues one job per create whose
 * sources hold text and per update that changes one, inside the write's
 * transaction (the outbox), with the dedupe key "embed:<collectionId>/
 * <recordId>" so a burst of edits folds into one pending job, and wakes
 * the runners at the commit. */
#ifndef TARMAC_CORE_JOBS_EMBED_KIND_H
#define TARMAC_CORE_JOBS_EMBED_KIND_H

#include <jansson.h>

#include "core/event/event.h"
#include "core/jobs/registry.h"

struct core_jobs;

/* The most an answer may hold (a vector of 4096 numbers as text is ~100 KiB). */
#define CORE_EMBED_MAX_RESPONSE ((size_t)8 << 20)
/* The most text sent for one record. */
#define CORE_EMBED_MAX_INPUT ((size_t)256 << 10)

/* The kind's handlers (registry.c): the provider's call goes out with the
 * runner's batch (prepare/complete, as webhook and http). */
bool core_job_embed_prepare(const struct core_job_env *env, const struct core_job *job,
                            struct core_job_call *call, struct core_job_result *res);
void core_job_embed_complete(const struct core_job_env *env, const struct core_job *job,
                             struct core_job_call *call, struct core_job_result *res);
/* Why payload is no `embed` payload (a sentence naming the field), NULL when it is. */
const char *core_job_embed_check(json_t *payload);
/* The listener app.c registers (wants + in_tx + committed); jobs
 * (borrowed for the bus's life) is woken after a commit that enqueued. */
struct core_event_listener core_embed_listener(struct core_jobs *jobs);

#endif
