/* push.h -- push notifications to registered devices: the `_devices`
 * collection, the `push` job kind that sends one message to one device, and
 * the `notify` job kind that fans one notification out to every device of
 * its recipients (layer: core, core/notify/, after jobs/ in core's folder
 * order).
 *
 * `_devices` is a system collection an app writes through the ordinary
 * records API: user (relation to users, required; cascade delete),
 * provider (fcm, apns or webpush), platform (ios, android or web), token (the
 * FCM registration token, the APNs device token (hex), or the Web Push
 * subscription's endpoint URL),
 * keys (Web Push: the subscription's {p256dh, auth}), appId, locale,
 * lastSeen. Its rules let a signed-in user create, list, change and remove
 * only their own devices.
 *
 * `notify` (payload {users: [ids] or filter (over users), title, body?,
 * data?, channels?, category?}) reads the devices of those users and
 * enqueues, 500 devices a writer transaction, `push_batch` jobs of up to 64
 * devices that share a message (their locale's) and a send time (quiet
 * hours), each with the dedupe key "notify:<notify job id>:<first
 * device>-<last device>", so a fan-out cut short (a crash, a lease lost) and
 * run again folds into the batches still pending instead of sending twice
 * what waits.
 *
 * `push_batch` (payload {message, devices: [{device, provider, token,
 * keys?}]}) sends to its devices at once (one job row, claim and outcome
 * for all of them); a device it did not reach goes on as a `push` job of
 * its own, written with that first attempt counted: to be tried again
 * after the backoff, or dead with its reason (a dead token, a provider not
 * configured). A batch whose process died mid-send is sent again whole
 * when its lease expires (at least once).
 *
 * `push` (payload {device, provider, token, keys?, message: {title, body,
 * data}}) is one HTTP request (prepare/complete, so a runner sends a claim
 * of them at once), by the provider's row of a table (push_batch's too):
 *   - fcm: FCM HTTP v1 messages:send with an OAuth2 access token from the
 *     service account (an RS256 assertion exchanged at its token URL,
 *     cached per process until a minute before it expires);
 *   - apns: HTTP/2 POST /3/device/<token> with a provider token (ES256 from
 *     the .p8 key, kid = key id, iss = team id, made again every 50
 *     minutes), apns-topic, apns-push-type alert, apns-priority 10; an
 *     ExpiredProviderToken or InvalidProviderToken makes a new one;
 *   - webpush: RFC 8291 aes128gcm body, VAPID Authorization (base/webpush.h).
 * A token the provider reports dead (FCM's errorCode UNREGISTERED, a 400 naming the
 * registration token, 403 SENDER_ID_MISMATCH; APNs 410 Unregistered, 400
 * BadDeviceToken or DeviceTokenNotForTopic; Web Push 404 and 410)
 * deletes the device (only while its token is still the one sent) and the
 * job is dead; 429 and 5xx retry, honouring Retry-After; a provider not
 * configured in the settings (push.*) makes the job dead with that reason. */
#ifndef TARMAC_CORE_NOTIFY_PUSH_H
#define TARMAC_CORE_NOTIFY_PUSH_H

#include <jansson.h>
#include <stdbool.h>

#include "core/jobs/registry.h"

#define CORE_DEVICES_COLLECTION "_devices"
#define CORE_NOTIFY_MAX_USERS 10000
#define CORE_NOTIFY_MAX_TITLE 256
#define CORE_NOTIFY_MAX_BODY 2048
#define CORE_NOTIFY_MAX_DATA 2048 /* bytes of data as compact JSON */

/* The `_devices` collection's definition (JSON), created at start when
 * missing (and when the users collection it points to exists). */
extern const char core_devices_collection_json[];

/* The job kinds, added to the registry at start (core_job_kinds_add). */
extern const struct core_job_kind core_push_kind;
/* `push_batch` (payload {message, devices: [{device, provider, token,
 * keys?}], at most CORE_PUSH_BATCH_MAX}): one message to many devices, what
 * a fan-out enqueues. */
#define CORE_PUSH_BATCH_MAX 256
extern const struct core_job_kind core_push_batch_kind;
extern const struct core_job_kind core_notify_kind;

/* Why a notify payload cannot be sent (a sentence naming the field), NULL
 * when it can: what POST /api/notify and an enqueue of `notify` check. */
const char *core_notify_check(json_t *payload);
/* Whether name is a channel: push, inbox, sms or email. */
bool core_notify_is_channel(const char *name);
/* RC_INVALID with err when filter does not compile over users. */
struct core_schema;
enum rc core_notify_filter_check(const struct core_schema *schema, const char *filter, char *err,
                                 size_t errlen);
/* The ids of the users (the users collection) filter (the filter language,
 * as a superuser) matches, a new array in *out. RC_INVALID with err when it
 * does not compile; a database error otherwise. Any thread but a loop's. */
enum rc core_notify_filter_users(const struct core_job_env *env, const char *filter, json_t **out,
                                 char *err, size_t errlen);

#endif
