/* inbound.h -- verified inbound webhooks (layer: core, core/jobs/).
 *
 * `POST /api/webhooks/{name}` takes events from payment providers, SMS
 * gateways and partners. Each name is a record of the system collection
 * `_inboundWebhooks` (superusers only): name, scheme, secret, header (the
 * generic scheme's header), collection (where events are stored),
 * tolerance (seconds, default 300), active. A scheme is one entry of a
 * table (STYLE.md §1.4):
 *
 *   stripe       Stripe-Signature: t=<unix>,v1=<hex HMAC of "t.body">[,v1=...];
 *                |now - t| within the tolerance; event id: the body's "id"
 *   razorpay     X-Razorpay-Signature: hex HMAC of the body; event id:
 *                X-Razorpay-Event-Id
 *   github       X-Hub-Signature-256: sha256=<hex HMAC of the body>; event
 *                id: X-GitHub-Delivery
 *   hmac-sha256  <header>: hex HMAC of the body (an optional "sha256="
 *                prefix); event id: X-Event-Id, else the body's "id"
 *   twilio       X-Twilio-Signature: base64 of HMAC-SHA1 (the secret is the
 *                auth token) of the URL Twilio called (the settings'
 *                meta.appURL + path + query) and each form parameter's name
 *                and value, sorted by name; the form becomes the payload
 *                object; event id "<MessageSid>:<MessageStatus>" (a status
 *                callback per message and status)
 *
 * Signatures are checked over the raw body, in constant time
 * (inbound_verify.h). */
#ifndef TARMAC_CORE_JOBS_INBOUND_H
#define TARMAC_CORE_JOBS_INBOUND_H

#include <stdbool.h>
#include <stdint.h>

#include "base/rc.h"
#include "base/str.h"
#include "core/jobs/inbound_verify.h"
#include "core/record/worker.h"
#include "core/schema/collection.h"
#include "store/store.h"

#define CORE_INBOUND_COLLECTION "_inboundWebhooks"

extern const char core_inbound_collection_json[];

/* Gives a `_inboundWebhooks` made by an older version (its schema s, on
 * the writer's connection db, inside the open transaction) the scheme values
 * it lacks (twilio came later): its definition in _collections and in s.
 * Nothing when it has them all. now: the "updated" time. */
enum rc core_inbound_upgrade(struct store_conn *db, struct core_schema *s, const char *now);
/* Reads the active endpoint named name on cw's connection: RC_NOT_FOUND
 * when none. */
enum rc core_inbound_find(struct core_worker *cw, struct str name, struct core_inbound *out);
/* Whether collection c holds a record whose eventId field is event_id (a
 * replay); false when c has no such field. */
bool core_inbound_is_seen(struct core_worker *cw, const struct core_collection *c,
                          struct str event_id);

#endif
