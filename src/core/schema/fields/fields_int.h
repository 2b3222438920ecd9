/* fields_int.h -- the field kinds and what they share (layer: core; private
 * to schema/: only field_type.c, collection_json.c and the files of fields/
 * include it).
 *
 * One file per kind defines its struct core_field_kind; fields.c holds the
 * helpers two kinds or more use (prefix core_fields_). */
#ifndef TARMAC_CORE_FIELDS_INT_H
#define TARMAC_CORE_FIELDS_INT_H

#include "base/str.h"
#include "core/schema/field_type.h"
#include "core/schema/field_value.h"

extern const struct core_field_kind core_field_kind_text;
extern const struct core_field_kind core_field_kind_number;
extern const struct core_field_kind core_field_kind_bool;
extern const struct core_field_kind core_field_kind_email;
extern const struct core_field_kind core_field_kind_url;
extern const struct core_field_kind core_field_kind_editor;
extern const struct core_field_kind core_field_kind_date;
extern const struct core_field_kind core_field_kind_autodate;
extern const struct core_field_kind core_field_kind_select;
extern const struct core_field_kind core_field_kind_json;
extern const struct core_field_kind core_field_kind_relation;
extern const struct core_field_kind core_field_kind_password;
extern const struct core_field_kind core_field_kind_file;
extern const struct core_field_kind core_field_kind_geopoint;
extern const struct core_field_kind core_field_kind_vector;

/* ---- options ---- */

/* Writes "<key>": [items...]. */
void core_fields_write_list(struct jsonw *w, const char *key, char *const *items, size_t n);
/* The write hook of email and url: onlyDomains and exceptDomains. */
void core_fields_write_domains(struct jsonw *w, const struct core_field *f);
/* "min", "max" and "pattern": the options text and password write first. */
void core_fields_write_length(struct jsonw *w, const struct core_field *f);
/* Adds an option error at "fields.<ctx->index>.<key>"; takes params. */
void core_fields_option_error(struct core_problem *p, const struct core_field_check *ctx,
                              const char *key, const char *code, const char *message,
                              json_t *params);

/* ---- input ---- */

/* The coerce hook of the kinds whose values are text. */
json_t *core_fields_coerce_text(const struct core_field *f, json_t *v);
/* Adds a value error at the field's name; takes params. */
void core_fields_error(struct core_problem *p, const struct core_field *f, const char *code,
                       const char *message, json_t *params);
/* {"<key>": n}, with an integral n written as an integer (3, not 3.0). */
json_t *core_fields_num_param(const char *key, double n);
/* UTF-8 code points in s[0..len). */
size_t core_fields_rune_count(const char *s, size_t len);
/* An identity must not have a look-alike: no invisible code point and no
 * whitespace around it. */
bool core_fields_is_plain_identity(const char *s, size_t len);
/* onlyDomains / exceptDomains of email and url fields, compared without case
 * as DNS names are. */
bool core_fields_domain_allowed(const struct core_field *f, struct str host);
/* The length in runes against f's min and max (each, when unset or 0, the
 * default given), then f's pattern, of text and password values:
 * validation_min/max_text_constraint, validation_invalid_format. */
void core_fields_check_length(const struct core_field *f, const char *s, size_t bytes,
                              double default_min, double default_max, struct core_problem *p);

/* The hooks of the list kinds (select, relation, file): a list of unique
 * strings, the last one kept when the field holds one; modifiers add and
 * remove; minSelect and maxSelect. */
json_t *core_fields_list_coerce(const struct core_field *f, json_t *v);
json_t *core_fields_list_modify(const struct core_field *f, json_t *old, json_t *given, char mod,
                                bool prepend);
void core_fields_list_validate(const struct core_field *f, json_t *v,
                               const struct core_field_value_ctx *ctx, struct core_problem *p);

/* ---- documents ---- */

/* {"type":"string"} with minLength/maxLength (when with_length and set) and pattern. */
json_t *core_fields_string_schema(const struct core_field *f, bool with_length);
/* A date as JSON Schema (date and autodate). */
json_t *core_fields_date_schema(const struct core_field *f, bool is_input);

/* The typed-model strings of a kind whose value is one string. */
#define CORE_FIELD_MODEL_STRING                                                                    \
    {                                                                                              \
        .ts = "string", .dart = "String", .dart_get = "r.getStringValue(", .dart_get_end = ")"     \
    }

/* ... and of a date (date and autodate): the SDK's IsoDateString in TypeScript. */
#define CORE_FIELD_MODEL_DATE                                                                      \
    {                                                                                              \
        .ts = "IsoDateString", .dart = "String", .dart_get = "r.getStringValue(",                  \
        .dart_get_end = ")"                                                                        \
    }

#endif
