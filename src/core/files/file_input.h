/* file_input.h -- a file field's new value from a create/update body (layer: core).
 *
 * Spec §8.1 and §2.4: `f` (text: kept names; uploads: new files, added to the
 * kept names when both are given, else replacing), `+f` / `f+` (prepend /
 * append uploads or names), `f-` (names to delete), `f` = "" or [] (clear).
 * Uploads are the {key, name} entries core_files_intake() put under
 * CORE_FILES_BODY_KEY. A name that is neither stored nor uploaded is
 * validation_invalid_file; more than maxSelect is validation_too_many_files;
 * a single field keeps the last name. Pure over JSON; any thread. */
#ifndef TARMAC_CORE_FILE_INPUT_H
#define TARMAC_CORE_FILE_INPUT_H

#include <jansson.h>
#include <stdbool.h>

#include "core/schema/collection.h"
#include "core/problem.h"

/* Resolves file field f of body against its stored value current (a string
 * or an array; "" or [] on create). Returns the new value (new reference),
 * or NULL when the body does not touch f. Field errors go to p. */
json_t *core_file_input_resolve(const struct core_field *f, json_t *body, json_t *current,
                                struct core_problem *p);

#endif
