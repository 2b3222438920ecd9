/* record_input.h -- a create or update body turned into column values (layer: core).
 *
 * Decoding follows spec §1.4 and §2.3/§2.4: unknown keys ignored, hidden
 * fields dropped for non-superusers, modifiers (field+, +field, field-)
 * resolved against the stored record, values coerced leniently per type
 * (garbage numbers become 0, bad dates ""), then validated per field with the
 * contract's error codes. What needs the database (relation targets exist,
 * unique indexes) is checked by the write itself. Runs on a worker loop.
 *
 * Password fields (any collection, any name; spec §5.3): a plain value never
 * enters values. A non-empty one becomes a secret, checked against the
 * field's min (runes), max (runes, 0 = 71) and pattern; values keeps the
 * stored hash ("" on create) until core_record_input_hash() has run on the
 * offload pool and the caller has put the hashes in its write job
 * (core_write_job_set_hashes()). An empty or absent value keeps the stored
 * hash; a value that looks like a hash is hashed like any other (it cannot
 * be stored as given). */
#ifndef TARMAC_CORE_RECORD_INPUT_H
#define TARMAC_CORE_RECORD_INPUT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/credential/password.h"
#include "core/record/record.h"

/* A new value for a password field, to be hashed before the write. */
struct core_record_secret {
    const struct core_field *field; /* borrowed from the collection */
    char *plain;                    /* non-empty; owned, zeroed on free */
    char *hash; /* its PHC string once core_record_input_hash() has run, else NULL (owned) */
};

struct core_record_input {
    json_t *values;  /* field name -> final value, every field of the record (owned);
                        a password field holds its stored hash or "", never plain text */
    json_t *changed; /* field names set by this request (array, owned) */
    json_t *body;    /* the resolved body for @request.body.* (owned) */
    struct core_record_secret *secrets; /* new password field values, in field order (owned) */
    size_t secret_count;
    const char *password; /* auth: the new login password (the "password" field's
                             secret's plain text), or NULL; borrowed from secrets */
    bool is_manager;      /* superuser (manageRule later): may set email/verified freely */
};

/* Builds the input for a create (current NULL) or update (current = the stored
 * record with every field, as JSON). RC_INVALID with field errors in p. */
enum rc core_record_input_build(struct core_request *r, const struct core_collection *c,
                                json_t *body, json_t *current, struct core_record_input *out,
                                struct core_problem *p);
void core_record_input_cleanup(struct core_record_input *in);
/* Hashes every secret of in with params (argon2id, core/password.h) into its
 * hash. RC_OK when there are none. On error (RC_INVALID for params out of
 * bounds, RC_NOMEM) no hash is kept. SLOW: ~25 ms per secret with the
 * defaults; the offload pool or a thread without a loop only. Touches only
 * in->secrets, so the loop may keep in->values meanwhile. */
enum rc core_record_input_hash(struct core_record_input *in, struct core_password_params params);
/* True when body (a create or update body) sets a password field of c by its
 * plain name: the write needs core_record_input_hash() first. */
bool core_record_input_has_secret(const struct core_collection *c, json_t *body);

#endif
