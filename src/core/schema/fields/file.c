/* file.c -- the file field: the name of one stored file (or, maxSelect > 1,
 * of several); a body sets it with uploads, names and modifiers together
 * (files/file_input.c). */
#include "core/schema/fields/fields_int.h"

static void write_options(struct jsonw *w, const struct core_field *f)
{
    jsonw_key_cstr(w, "maxSelect");
    jsonw_int(w, f->max_select);
    jsonw_key_cstr(w, "maxSize");
    jsonw_int(w, f->max_size);
    core_fields_write_list(w, "mimeTypes", f->mime_types, f->mime_type_count);
    core_fields_write_list(w, "thumbs", f->thumbs, f->thumb_count);
    jsonw_key_cstr(w, "protected");
    jsonw_bool(w, f->is_protected);
}

static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)f;
    if (is_input)
        return json_pack("{s:s,s:s}", "type", "string", "format", "binary");
    return json_pack("{s:s,s:s}", "type", "string", "description",
                     "a stored file name; its URL is /api/files/{collectionId}/{id}/{name}");
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {"maxSize", CORE_FIELD_OPTION_INT},       {"maxSelect", CORE_FIELD_OPTION_INT},
    {"mimeTypes", CORE_FIELD_OPTION_STRINGS}, {"thumbs", CORE_FIELD_OPTION_STRINGS},
    {"protected", CORE_FIELD_OPTION_BOOL},    {NULL, 0},
};

const struct core_field_kind core_field_kind_file = {
    .name = "file",
    .options = options,
    .column = STORE_COLUMN_TEXT,
    .is_list = true,
    .input = CORE_FIELD_INPUT_UPLOAD,
    .filter = CORE_FIELD_FILTER_COLUMN,
    .write = write_options,
    .coerce = core_fields_list_coerce,
    .validate = core_fields_list_validate,
    .openapi = openapi,
    .model = {.ts = "string",
              .ts_input = "File | Blob | string",
              .dart = "String",
              .dart_get = "r.getStringValue(",
              .dart_get_end = ")"},
    .many = {.ts = "string[]",
             .ts_input = "Array<File | Blob | string>",
             .dart = "List<String>",
             .dart_get = "r.getListValue<String>(",
             .dart_get_end = ")"},
};
