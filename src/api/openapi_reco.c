/* openapi_reco.c -- the recommendation operations in the OpenAPI document
 * (layer: api; see reco.c for the routes). */
#include "api/openapi_int.h"

static json_t *query(const char *name, const char *description, json_t *schema)
{
    return api_openapi_param(name, "query", description, schema, false);
}

/* {items: [Record], scores: [{id, score, source}]} */
static json_t *answer(void)
{
    json_t *score = json_pack("{s:s,s:{s:{s:s},s:{s:s},s:{s:s,s:[s,s,s]}}}", "type", "object",
                              "properties", "id", "type", "string", "score", "type", "number",
                              "source", "type", "string", "enum", "similar", "vector", "popular");
    json_t *body =
        json_pack("{s:s,s:{s:{s:s,s:o},s:{s:s,s:o}},s:[s,s]}", "type", "object", "properties",
                  "items", "type", "array", "items", api_openapi_ref("Record"), "scores", "type",
                  "array", "items", score, "required", "items", "scores");
    return json_pack("{s:o}", "200",
                     api_openapi_ok_json("the records, best first, as the list writes them", body));
}

static json_t *common_params(bool for_user)
{
    json_t *p = json_array();
    json_array_append_new(
        p, query("limit", "1 to 100 (default 10)",
                 json_pack("{s:s,s:i,s:i}", "type", "integer", "minimum", 1, "maximum", 100)));
    json_array_append_new(p, query("filter", "the filter language over the items",
                                   json_pack("{s:s}", "type", "string")));
    json_array_append_new(
        p, query("expand", "as a list takes it", json_pack("{s:s}", "type", "string")));
    json_array_append_new(p, query("fields", "as a list takes it (id is always kept)",
                                   json_pack("{s:s}", "type", "string")));
    if (for_user) {
        json_array_append_new(p, query("user",
                                       "whose recommendations: superusers anyone's, others "
                                       "their own (default: the requester; a guest gets the "
                                       "popular)",
                                       json_pack("{s:s}", "type", "string")));
        json_array_append_new(p, query("includeSeen", "also the items the user has",
                                       json_pack("{s:s}", "type", "boolean")));
    }
    return p;
}

void api_openapi_add_reco(json_t *paths, json_t *schemas, json_t *tags)
{
    (void)schemas;
    json_array_append_new(tags,
                          json_pack("{s:s,s:s}", "name", "recommendations", "description",
                                    "items for a user or like an item, from the interactions a "
                                    "_recommenders record declares; the items' list rule applies"));
    json_t *op = api_openapi_op(
        "recommendations", "recommendations", "Recommendations for a user",
        "Items scored by the similarity of what the user interacted with (time-decayed "
        "co-occurrence, cosine), then the most popular; 404 when no active recommender serves "
        "the collection.",
        answer(), "400 403 404");
    json_object_set_new(op, "parameters", common_params(true));
    api_openapi_set_op(paths, "/api/collections/{collection}/recommendations", "get", op);
    op = api_openapi_op("similar_items", "recommendations", "Items similar to an item",
                        "The item's neighbours by similarity, then the most popular; the item "
                        "must be one the caller may view.",
                        answer(), "400 403 404");
    json_object_set_new(op, "parameters", common_params(false));
    api_openapi_set_op(paths, "/api/collections/{collection}/records/{id}/similar", "get", op);
}
