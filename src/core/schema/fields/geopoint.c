/* geopoint.c -- the geoPoint field: {"lon","lat"} in degrees; (0, 0) is
 * empty; filters read .lon and .lat. */
#include "core/schema/fields/fields_int.h"

static json_t *coerce(const struct core_field *f, json_t *v)
{
    (void)f;
    return json_is_object(v) ? json_incref(v) : json_pack("{s:i,s:i}", "lon", 0, "lat", 0);
}

static bool is_empty(const struct core_field *f, json_t *v)
{
    (void)f;
    return json_number_value(json_object_get(v, "lon")) == 0 &&
           json_number_value(json_object_get(v, "lat")) == 0;
}

static void validate(const struct core_field *f, json_t *v, const struct core_field_value_ctx *ctx,
                     struct core_problem *p)
{
    (void)ctx;
    double lon = json_number_value(json_object_get(v, "lon"));
    double lat = json_number_value(json_object_get(v, "lat"));
    if (lat < -90 || lat > 90)
        core_fields_error(p, f, "validation_invalid_latitude",
                          "Latitude must be between -90 and 90.", NULL);
    if (lon < -180 || lon > 180)
        core_fields_error(p, f, "validation_invalid_longitude",
                          "Longitude must be between -180 and 180.", NULL);
}

static json_t *openapi(const struct core_field *f, bool is_input)
{
    (void)f;
    (void)is_input;
    return json_pack("{s:s,s:{s:{s:s,s:i,s:i},s:{s:s,s:i,s:i}},s:[s,s]}", "type", "object",
                     "properties", "lon", "type", "number", "minimum", -180, "maximum", 180, "lat",
                     "type", "number", "minimum", -90, "maximum", 90, "required", "lon", "lat");
}

/* The options of this kind (PocketBase's) besides the common ones. */
static const struct core_field_option options[] = {
    {NULL, 0},
};

const struct core_field_kind core_field_kind_geopoint = {
    .name = "geoPoint",
    .options = options,
    .column = STORE_COLUMN_JSON_POINT,
    .input = CORE_FIELD_INPUT_VALUE,
    .filter = CORE_FIELD_FILTER_POINT,
    .coerce = coerce,
    .is_empty = is_empty,
    .validate = validate,
    .openapi = openapi,
    .model = {.ts = "GeoPoint",
              .dart = "GeoPoint",
              .dart_get = "GeoPoint.fromJson(r.data[",
              .dart_get_end = "])",
              .dart_put = ".toJson()"},
};
