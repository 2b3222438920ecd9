/* relation.c -- the relation field: the id of one record (or, maxSelect > 1,
 * of several) of its target collection; filters follow it into the target. */
#include "core/schema/fields/fields_int.h"

#include <string.h>

#include "base/alloc.h"

static void write_options(struct jsonw *w, const struct core_field *f)
{
    jsonw_key_cstr(w, "collectionId");
    jsonw_string_cstr(w, f->collection_id);
    jsonw_key_cstr(w, "cascadeDelete");
    jsonw_bool(w, f->cascade_delete);
    jsonw_key_cstr(w, "minSelect");
    jsonw_int(w, f->min_select);
    jsonw_key_cstr(w, "maxSelect");
    jsonw_int(w, f->max_select);
}

/* The target must exist (or be the collection itself) and be no view unless
 * c is one; a name is accepted and the id stored. Loading (no schema)
 * trusts what is stored. */
static void check_options(struct core_field *f, const struct core_field_check *ctx,
                          struct core_problem *p)
{
    if (!ctx->schema)
        return;
    const struct core_collection *c = ctx->collection;
    const struct core_collection *target =
        core_schema_find_exact(ctx->schema, str_from_cstr(f->collection_id));
    bool self = strcmp(f->collection_id, c->id) == 0 || strcmp(f->collection_id, c->name) == 0;
    if (!target && !self) {
        core_fields_option_error(p, ctx, "collectionId", "validation_missing_rel_collection",
                                 "The related collection doesn't exist.", NULL);
    } else if (target && target->type == CORE_COLLECTION_VIEW && c->type != CORE_COLLECTION_VIEW) {
        /* A view's rows are no stored records: nothing keeps a reference
         * to one valid, and cascades could not reach it. */
        core_fields_option_error(p, ctx, "collectionId",
                                 "validation_relation_field_non_view_base_collection",
                                 "Only view collections are allowed to have relations to other "
                                 "views.",
                                 NULL);
    } else if (target && strcmp(f->collection_id, target->id) != 0) {
        xfree(f->collection_id);
        f->collection_id = xstrdup(target->id);
    } else if (self && strcmp(f->collection_id, c->id) != 0) {
        xfree(f->collection_id);
        f->collection_id = xstrdup(c->id);
    }
}

static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)f;
    (void)is_input;
    return json_pack("{s:s,s:s}", "type", "string", "description", "a record id");
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {"collectionId", CORE_FIELD_OPTION_STRING},
    {"cascadeDelete", CORE_FIELD_OPTION_BOOL},
    {"minSelect", CORE_FIELD_OPTION_INT},
    {"maxSelect", CORE_FIELD_OPTION_INT},
    {NULL, 0},
};

const struct core_field_kind core_field_kind_relation = {
    .name = "relation",
    .options = options,
    .column = STORE_COLUMN_TEXT,
    .is_list = true,
    .input = CORE_FIELD_INPUT_VALUE,
    .filter = CORE_FIELD_FILTER_RELATION,
    .write = write_options,
    .check = check_options,
    .coerce = core_fields_list_coerce,
    .modify = core_fields_list_modify,
    .validate = core_fields_list_validate,
    .openapi = openapi,
    .model = {.ts = "RecordIdString",
              .dart = "String",
              .dart_get = "r.getStringValue(",
              .dart_get_end = ")"},
    .many = {.ts = "RecordIdString[]",
             .dart = "List<String>",
             .dart_get = "r.getListValue<String>(",
             .dart_get_end = ")"},
};
