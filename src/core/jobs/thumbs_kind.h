/* thumbs_kind.h -- the `thumbs` job kind: the thumbnails of a new upload,
 * made ahead of its first view (layer: core, core/jobs/).
 *
 * Payload: {"collection" (name or id), "record" (id), "field"?, "sizes"?:
 * ["100x100", ...]}. For each file of the record's field (or of every file
 * field declaring thumbs), each size (by default the field's `thumbs`;
 * sizes the field does not allow, nor 100x100, are skipped: the files route
 * would never serve them) is made where the files route looks for it
 * (core_thumb_key, core_thumb_ensure, in the storage in use), so the first
 * view is a cache hit. A storage that cannot be reached (S3 down) makes
 * the attempt a retry.
 * One already there is left alone. Files that are no image are skipped; a
 * thumbnail that cannot be made (a broken image, a side past 9999) is
 * noted in lastError, and the job is still done: the route serves the
 * original then, as it would have. A record deleted meanwhile: done,
 * nothing to make. An unknown collection or field: dead.
 *
 * The listener (core_thumbs_listener) enqueues one such job per file field
 * with thumbs that gained files, inside the write's transaction (the same
 * outbox as webhooks: a rolled-back write enqueues nothing), with the
 * dedupe key "thumbs:<collectionId>/<recordId>/<field>" so a burst of
 * updates folds into one pending job, and wakes the runners at the commit. */
#ifndef TARMAC_CORE_JOBS_THUMBS_KIND_H
#define TARMAC_CORE_JOBS_THUMBS_KIND_H

#include <jansson.h>

#include "core/event/event.h"
#include "core/jobs/registry.h"

struct core_jobs;

void core_job_thumbs_run(const struct core_job_env *env, const struct core_job *job,
                         struct core_job_result *res);
/* Why payload is no `thumbs` payload (a sentence naming the field), NULL when it is. */
const char *core_job_thumbs_check(json_t *payload);
/* The listener app.c registers (wants + in_tx + on_commit); jobs (borrowed
 * for the bus's life) is woken after a commit that may have enqueued. */
struct core_event_listener core_thumbs_listener(struct core_jobs *jobs);

#endif
