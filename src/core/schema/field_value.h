/* field_value.h -- a field's values as JSON: lenient coercion, empty values,
 * generated values (layer: core).
 *
 * Coercion follows spec §1.4: lenient and silent (garbage numbers become 0,
 * anything becomes text). The kinds (field_type.h) build their coerce hooks
 * from these; record/record_input.c uses them for the keys that are not
 * fields (passwordConfirm, verified). Every function returns a new
 * reference. */
#ifndef TARMAC_CORE_FIELD_VALUE_H
#define TARMAC_CORE_FIELD_VALUE_H

#include <jansson.h>
#include <stdbool.h>

#include "core/schema/collection.h"

/* v as text: strings as they are, numbers and bools written out, else "". */
json_t *core_field_value_text(json_t *v);
/* v as a number: numbers as they are, bools 0/1, numeric strings parsed, else 0. */
json_t *core_field_value_number(json_t *v);
/* d as a JSON number: an integer when d is integral and exact in a double
 * (3, not 3.0), else a real. */
json_t *core_field_value_of_double(double d);
/* v as a bool: "true", "1", "t", "T", "TRUE", "True" and non-zero numbers are true. */
json_t *core_field_value_bool(json_t *v);
/* A list of unique non-empty strings from a scalar, an array, or a string
 * holding a JSON array (spec §2.4). */
json_t *core_field_value_list(json_t *v);
/* The empty value of field f (spec §5.3): "", 0, false, null, [] or the
 * point {"lon":0,"lat":0}, after its shape. */
json_t *core_field_value_empty(const struct core_field *f);
/* True when v is f's empty value (or missing): what "required" refuses and
 * what validation skips. Borrows v. */
bool core_field_value_is_empty(const struct core_field *f, json_t *v);
/* A random value for an autogeneratePattern (base/randpat.h); collections
 * refuse the patterns it cannot generate, so a pattern that fails here was
 * stored before that check: the default id shape rather than nothing. */
json_t *core_field_value_generate(const char *pattern);

#endif
