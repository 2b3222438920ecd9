/* inbound_verify.h -- the signature check of verified inbound webhooks
 * (layer: core, core/jobs/; inbound.h reads the endpoints, api/inbound.c
 * serves them).
 *
 * Pure over the request's headers and raw body: no I/O, no store, so the
 * header parsers (Stripe-Signature's t=,v1= list, hex digests) can be
 * unit-tested and fuzzed alone (tests/fuzz/fuzz_inbound_verify.c). The
 * schemes are one table (STYLE.md §1.4); inbound.h describes them.
 * Thread-safe (secure_init() must have run). */
#ifndef TARMAC_CORE_JOBS_INBOUND_VERIFY_H
#define TARMAC_CORE_JOBS_INBOUND_VERIFY_H

#include <jansson.h>
#include <stdint.h>

#include "base/rc.h"
#include "base/str.h"

/* One endpoint's settings, as read from `_inboundWebhooks`. */
struct core_inbound {
    char scheme[32];
    char secret[1024];
    char header[128];
    char collection[256];
    int64_t tolerance_s;
};

/* A header of the request, by name (case-insensitive); len 0 when absent. */
typedef struct str core_inbound_header_fn(void *ctx, const char *name);

/* Checks the request's signature for cfg: RC_OK, RC_UNAUTHORIZED (missing or
 * wrong signature, or a timestamp outside the tolerance: *why says which),
 * RC_INVALID (an unknown scheme). url is the URL the sender called, as it
 * called it (scheme, host, path and query): twilio signs it; the others
 * ignore it. The event id, when the scheme has one, goes to event_id (""
 * when none). Borrows everything. */
enum rc core_inbound_verify(const struct core_inbound *cfg, core_inbound_header_fn *header,
                            void *ctx, struct str body, struct str url, int64_t now_s,
                            char event_id[256], const char **why);
/* The event as the endpoint's collection stores it (its `payload`): the body
 * as JSON, else as text; a scheme whose body is a form (twilio) gives an
 * object of the form's fields, decoded (a name sent more than once: an
 * array of its values; a value that is not UTF-8 left out), or the text
 * when the form is malformed. A new reference, or NULL when the text is not
 * UTF-8 either. */
json_t *core_inbound_payload(const struct core_inbound *cfg, struct str body);

#endif
