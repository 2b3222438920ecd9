/* prefs.h -- what each user wants to hear: `_notifyPrefs` (layer: core,
 * core/notify/).
 *
 * One record per user (user: a relation to users, unique), written by the
 * user through the records API (their own only): muted, a JSON object of
 * category -> the channels muted for it ("push", "inbox", "sms"), "*" for
 * every category. A notification with a category skips, per channel, the
 * users who muted that channel for it or for "*"; one without a category
 * skips those who muted the channel for "*".
 *
 * quietHours (optional) is {"start": "22:00", "end": "07:00", "utcOffset":
 * 330}: the user's local quiet window (minutes east of UTC; the app keeps
 * it current as the phone's zone changes). A push or SMS that would reach
 * the user inside the window waits until its end (the job's runAt); the
 * inbox and email do not wait, nor does a notification marked urgent.
 * start = end is no window. Both are checked before a record is written
 * (core_prefs_check). */
#ifndef TARMAC_CORE_NOTIFY_PREFS_H
#define TARMAC_CORE_NOTIFY_PREFS_H

#include <jansson.h>

#include "core/event/event.h"
#include "core/problem.h"
#include "core/schema/collection.h"
#include "store/store.h"

#define CORE_PREFS_COLLECTION "_notifyPrefs"

extern const char core_prefs_collection_json[];

/* *out: the ids of users (a JSON array of ids) that did not mute channel
 * for category (NULL: none given), a new array. RC_OK, or the database's
 * error. A missing table or preference mutes nothing. */
enum rc core_prefs_filter(struct store_conn *db, json_t *users, const char *category,
                          const char *channel, json_t **out);

/* *until: {user id: unix ms when their quiet hours end} for those of
 * users inside their quiet hours at now_ms (a new object; empty when
 * none). */
enum rc core_prefs_quiet(struct store_conn *db, json_t *users, int64_t now_ms, json_t **until);

/* When a window {start, end, utcOffset} that holds now_ms ends (unix ms),
 * 0 when now_ms is outside it or it is no window. Pure. */
int64_t core_prefs_quiet_end(json_t *quiet, int64_t now_ms);

/* Checks a `_notifyPrefs` record's values before it is written: muted's
 * shape and quietHours'. */
enum rc core_prefs_check(json_t *values, struct core_problem *p);
/* The listener that runs core_prefs_check before each write of a record
 * of `_notifyPrefs`. */
struct core_event_listener core_prefs_listener(void);

#endif
