/* prefs.h -- what each user wants to hear: `_notifyPrefs` (layer: core,
 * core/notify/).
 *
 * One record per user (user: a relation to users, unique), written by the
 * user through the records API (their own only): muted, a JSON object of
 * category -> the channels muted for it ("push", "inbox", "sms"), "*" for
 * every category. A notification with a category skips, per channel, the
 * users who muted that channel for it or for "*"; one without a category
 * skips those who muted the channel for "*". */
#ifndef TARMAC_CORE_NOTIFY_PREFS_H
#define TARMAC_CORE_NOTIFY_PREFS_H

#include <jansson.h>

#include "store/store.h"

#define CORE_PREFS_COLLECTION "_notifyPrefs"

extern const char core_prefs_collection_json[];

/* *out: the ids of users (a JSON array of ids) that did not mute channel
 * for category (NULL: none given), a new array. RC_OK, or the database's
 * error. A missing table or preference mutes nothing. */
enum rc core_prefs_filter(struct store_conn *db, json_t *users, const char *category,
                          const char *channel, json_t **out);

#endif
