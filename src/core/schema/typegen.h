/* typegen.h -- typed client models from the live schema (layer: core).
 *
 * `tarmac gen types --lang=ts|dart` and GET /api/docs/types?lang= write them
 * (issue #14): TypeScript for the JS SDK (a `Collections` enum, one
 * `<Name>Record` type per collection for what the API answers, `<Name>Create`
 * for what it takes, enums of select values, and `TypedPocketBase`, so
 * `pb.collection('posts')` returns `RecordService<PostsRecord>`), and Dart
 * for the Dart SDK (one class per collection with `fromRecord(RecordModel)`,
 * `toJson()` and `fileUrl()`, enums of select values with their wire values).
 * A view collection is read-only: its TypeScript has no `<Name>Create`, its
 * Dart class no `toJson()` nor `fileUrl()` (a view serves no files of its
 * own). A collection's hidden fields are in the models only for superusers
 * (for_superuser); passwords and tokenKey never are, except as inputs. Pure
 * over the schema; any thread. */
#ifndef TARMAC_CORE_TYPEGEN_H
#define TARMAC_CORE_TYPEGEN_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/rc.h"
#include "core/schema/collection.h"

enum core_typegen_lang { CORE_TYPEGEN_TS, CORE_TYPEGEN_DART };

/* Appends the models of every collection of schema the requester may see
 * (all for a superuser; otherwise those whose listRule is not null) to out.
 * RC_NOMEM / RC_TOO_LARGE from out; out may then hold part of the text. */
enum rc core_typegen(const struct core_schema *schema, enum core_typegen_lang lang,
                     bool for_superuser, struct buf *out);

#endif
