/* autodate.c -- the autodate field: the server sets it to the time of the
 * create (onCreate) and of every update (onUpdate); no input. */
#include "core/schema/fields/fields_int.h"

static void write_options(struct jsonw *w, const struct core_field *f)
{
    jsonw_key_cstr(w, "onCreate");
    jsonw_bool(w, f->on_create);
    jsonw_key_cstr(w, "onUpdate");
    jsonw_bool(w, f->on_update);
}

/* One trigger at least (PocketBase's rule); a stored field without one
 * (written before this check) sets on create. */
static void check_options(struct core_field *f, const struct core_field_check *ctx,
                          struct core_problem *p)
{
    if (f->on_create || f->on_update)
        return;
    if (ctx->schema) {
        core_fields_option_error(p, ctx, "onCreate", "validation_required",
                                 "Either onCreate or onUpdate must be enabled.", NULL);
        core_fields_option_error(p, ctx, "onUpdate", "validation_required",
                                 "Either onCreate or onUpdate must be enabled.", NULL);
    }
    f->on_create = true;
}

/* A create sets it with onCreate only, an update with onUpdate only. */
static json_t *on_save(const struct core_field *f, json_t *v, bool is_create, const char *now)
{
    (void)v;
    if (is_create ? f->on_create : f->on_update)
        return json_string(now);
    return NULL;
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {"onCreate", CORE_FIELD_OPTION_BOOL},
    {"onUpdate", CORE_FIELD_OPTION_BOOL},
    {NULL, 0},
};

const struct core_field_kind core_field_kind_autodate = {
    .name = "autodate",
    .options = options,
    .column = STORE_COLUMN_TEXT,
    .input = CORE_FIELD_INPUT_AUTO,
    .filter = CORE_FIELD_FILTER_COLUMN,
    .write = write_options,
    .check = check_options,
    .coerce = core_fields_coerce_text,
    .on_save = on_save,
    .openapi = core_fields_date_schema,
    .openapi_has_empty = true,
    .model = CORE_FIELD_MODEL_DATE,
};
