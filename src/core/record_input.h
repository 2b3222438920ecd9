/* record_input.h -- a create or update body turned into column values (layer: core).
 *
 * Decoding follows spec §1.4 and §2.3/§2.4: unknown keys ignored, hidden
 * fields dropped for non-superusers, modifiers (field+, +field, field-)
 * resolved against the stored record, values coerced leniently per type
 * (garbage numbers become 0, bad dates ""), then validated per field with the
 * contract's error codes. What needs the database (relation targets exist,
 * unique indexes) is checked by the write itself. Runs on a worker loop. */
#ifndef TARMAC_CORE_RECORD_INPUT_H
#define TARMAC_CORE_RECORD_INPUT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/record.h"

struct core_record_input {
    json_t *values;  /* field name -> final value, every field of the record (owned) */
    json_t *changed; /* field names set by this request (array, owned) */
    json_t *body;    /* the resolved body for @request.body.* (owned) */
    char *password;  /* auth: a new plain password to hash, or NULL (owned, zeroed on free) */
    bool is_manager; /* superuser (manageRule later): may set email/verified freely */
};

/* Builds the input for a create (current NULL) or update (current = the stored
 * record with every field, as JSON). RC_INVALID with field errors in p. */
enum rc core_record_input_build(struct core_request *r, const struct core_collection *c,
                                json_t *body, json_t *current, struct core_record_input *out,
                                struct core_problem *p);
void core_record_input_cleanup(struct core_record_input *in);
/* Frees the process's cache of compiled field patterns; call when no
 * thread validates any more (the app closing). */
void core_record_input_global_cleanup(void);
/* Parses a date in any accepted form (spec §1.4) into the canonical
 * "YYYY-MM-DD HH:MM:SS.mmmZ" (out: 32 bytes); false when unparsable. */
bool core_date_normalize(const char *s, char out[32]);

#endif
