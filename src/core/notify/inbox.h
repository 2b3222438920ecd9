/* inbox.h -- the in-app inbox: `_notifications`, one record per user and
 * notification, which the app lists and subscribes to over realtime like
 * any collection (layer: core, core/notify/).
 *
 * Fields: user (relation to users, cascade delete), title, body, data
 * (JSON), readAt (date). Rules: a user lists, views and deletes their own;
 * an update by the user may set readAt only (mark read); nobody but a
 * superuser creates one (the `notify` job does, as the server). */
#ifndef TARMAC_CORE_NOTIFY_INBOX_H
#define TARMAC_CORE_NOTIFY_INBOX_H

#include <jansson.h>

#include "core/jobs/registry.h"

#define CORE_INBOX_COLLECTION "_notifications"

extern const char core_inbox_collection_json[];

/* Writes notification notify_id's message ({title, body, data}) to the
 * inbox of each user of users, one record write each, through env's writer
 * (their events go to env's bus after each commit: realtime sees them). A
 * record's id is made from notify_id and the user's id, so a fan-out run
 * again skips the users it already reached. A user that no longer exists
 * is skipped. RC_OK, or the first database error (the job is retried). */
enum rc core_inbox_deliver(const struct core_job_env *env, const char *notify_id, json_t *users,
                           json_t *message);

#endif
