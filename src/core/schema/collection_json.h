/* collection_json.h -- collections to and from their JSON (layer: core).
 *
 * The same JSON serves the collections API (spec §5.2, §5.6) and storage (the
 * `data` column of _collections), so what a client sees is what is stored.
 * Parsing validates names, types and options and reports per-field errors in
 * the contract's shape (e.g. data.fields.2.name.code). System fields are added
 * when missing: `id` for every collection; for auth collections also
 * password, tokenKey, email, emailVisibility and verified. */
#ifndef TARMAC_CORE_COLLECTION_JSON_H
#define TARMAC_CORE_COLLECTION_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "base/jsonw.h"
#include "base/rc.h"
#include "core/schema/collection.h"
#include "core/schema/field_type.h"
#include "core/problem.h"

/* Builds a collection from in. For an update, base is the stored collection
 * and in a partial patch (a present "fields" replaces the list; fields are
 * matched by id); for a create, base is NULL. schema is the current snapshot,
 * to check names and relation targets. Returns a new collection (free with
 * core_collection_free) or RC_INVALID with p filled. now is the timestamp
 * ("YYYY-MM-DD HH:MM:SS.mmmZ") for created/updated. */
enum rc core_collection_from_json(json_t *in, const struct core_collection *base,
                                  const struct core_schema *schema, const char *now,
                                  struct core_collection **out, struct core_problem *p);
/* Writes the collection's JSON (§5.2). with_secrets adds the token secret:
 * for storage only, never for an API response. */
void core_collection_write_json(struct jsonw *w, const struct core_collection *c,
                                bool with_secrets);
/* Gives f, when it has none, the id PocketBase gives a new field: its type
 * and the CRC-32 of its name ("text724990059"), numbered when another field
 * of c has it. */
void core_field_make_id(struct core_field *f, const struct core_collection *c);
/* Whether name may name a field of a collection of type t (spec §5.2:
 * ^\w+$, 1..100 characters, not reserved). */
bool core_field_name_is_valid(const char *name, enum core_collection_type t);
/* The type's name ("base", "auth", "view"); a field type's is core_field_type_name(). */
const char *core_collection_type_name(enum core_collection_type t);

#endif
