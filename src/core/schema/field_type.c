/* field_type.c -- see field_type.h. The table: one line per type. */
#include "core/schema/field_type.h"

#include <string.h>

#include "core/schema/fields/fields_int.h"

const struct core_field_kind *const core_field_kinds[CORE_FIELD_TYPE_COUNT] = {
    [CORE_FIELD_TEXT] = &core_field_kind_text,
    [CORE_FIELD_NUMBER] = &core_field_kind_number,
    [CORE_FIELD_BOOL] = &core_field_kind_bool,
    [CORE_FIELD_EMAIL] = &core_field_kind_email,
    [CORE_FIELD_URL] = &core_field_kind_url,
    [CORE_FIELD_EDITOR] = &core_field_kind_editor,
    [CORE_FIELD_DATE] = &core_field_kind_date,
    [CORE_FIELD_AUTODATE] = &core_field_kind_autodate,
    [CORE_FIELD_SELECT] = &core_field_kind_select,
    [CORE_FIELD_JSON] = &core_field_kind_json,
    [CORE_FIELD_RELATION] = &core_field_kind_relation,
    [CORE_FIELD_PASSWORD] = &core_field_kind_password,
    [CORE_FIELD_FILE] = &core_field_kind_file,
    [CORE_FIELD_GEOPOINT] = &core_field_kind_geopoint,
    [CORE_FIELD_VECTOR] = &core_field_kind_vector,
};

const char *core_field_type_name(enum core_field_type t)
{
    return core_field_kinds[t]->name;
}

bool core_field_type_parse(const char *name, enum core_field_type *out)
{
    for (int t = 0; t < CORE_FIELD_TYPE_COUNT; t++) {
        if (strcmp(name, core_field_kinds[t]->name) == 0) {
            *out = (enum core_field_type)t;
            return true;
        }
    }
    return false;
}
