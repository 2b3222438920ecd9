/* openapi_backups.c -- the /api/backups operations in the OpenAPI document
 * (layer: api; see backups.c for the routes, core/backup/backup.h for what
 * a backup holds). */
#include "api/openapi_int.h"

static json_t *type(const char *t)
{
    return json_pack("{s:s}", "type", t);
}

static json_t *backup_schema(void)
{
    return json_pack("{s:s,s:{s:o,s:o,s:{s:s,s:s}},s:[s,s,s],s:s}", "type", "object", "properties",
                     "key", type("string"), "size", type("integer"), "modified", "type", "string",
                     "description", "2026-12-03 10:00:00.000Z", "required", "key", "size",
                     "modified", "description",
                     "A backup: a zip of the database snapshot (data.db, or data.sql on "
                     "PostgreSQL), the request log (auxiliary.db) and the stored files "
                     "(storage/), kept in <dir>/backups, or in the bucket of the settings' "
                     "backups.s3 when it is enabled");
}

void api_openapi_add_backups(json_t *paths, json_t *schemas, json_t *tags)
{
    json_object_set_new(schemas, "Backup", backup_schema());
    json_array_append_new(tags, json_pack("{s:s,s:s}", "name", "backups", "description",
                                          "backups of the data, and restores (superusers)"));
    api_openapi_set_op(paths, "/api/backups", "get",
                       api_openapi_op("backups_list", "backups", "List the backups (superusers)",
                                      NULL,
                                      api_openapi_ok("the backups, by key",
                                                     json_pack("{s:s,s:o}", "type", "array",
                                                               "items", api_openapi_ref("Backup"))),
                                      "400 401 403"));
    json_t *create = api_openapi_op(
        "backups_create", "backups", "Make a backup now (superusers)",
        "Answers once the archive is stored. name: 1-150 characters matching "
        "^[a-z0-9_-]+\\.zip$, not taken; without it pb_backup_<app>_<YYYYMMDDhhmmss>.zip. One "
        "backup or restore at a time: another answers 400 (try again later).",
        api_openapi_no_content("made"), "400 401 403");
    json_object_set_new(create, "requestBody",
                        api_openapi_json_body(json_pack("{s:s,s:{s:o}}", "type", "object",
                                                        "properties", "name", type("string"))));
    api_openapi_set_op(paths, "/api/backups", "post", create);
    json_t *upload = api_openapi_op(
        "backups_upload", "backups", "Upload a backup (superusers)",
        "multipart/form-data with a zip in the part \"file\", kept under the file's name (which "
        "must not be taken). Its size is bounded by --max-body.",
        api_openapi_no_content("stored"), "400 401 403 413");
    json_object_set_new(upload, "requestBody",
                        json_pack("{s:b,s:{s:{s:{s:s,s:{s:{s:s,s:s}},s:[s]}}}}", "required", 1,
                                  "content", "multipart/form-data", "schema", "type", "object",
                                  "properties", "file", "type", "string", "format", "binary",
                                  "required", "file"));
    api_openapi_set_op(paths, "/api/backups/upload", "post", upload);
    json_t *download = api_openapi_op(
        "backups_download", "backups", "Download a backup",
        "With a superuser's file token (POST /api/files/token) in the query; the Authorization "
        "header does not count.",
        json_pack("{s:{s:s,s:{s:{s:{s:s,s:s}}}}}", "200", "description", "the zip", "content",
                  "application/zip", "schema", "type", "string", "format", "binary"),
        "403 404");
    json_object_set_new(
        download, "parameters",
        json_pack("[o]", api_openapi_param("token", "query", "a superuser's file token",
                                           type("string"), true)));
    api_openapi_set_op(paths, "/api/backups/{key}", "get", download);
    api_openapi_set_op(paths, "/api/backups/{key}", "delete",
                       api_openapi_op("backups_delete", "backups", "Delete a backup (superusers)",
                                      "400 when missing, or in use by a backup or restore.",
                                      api_openapi_no_content("deleted"), "400 401 403"));
    api_openapi_set_op(
        paths, "/api/backups/{key}/restore", "post",
        api_openapi_op(
            "backups_restore", "backups", "Replace the data with a backup (superusers)",
            "The archive is extracted and checked first (this server's database snapshot, "
            "SQLite's integrity check, tarmac's tables): a refused one answers 400 and nothing "
            "changes. Then 204, and the server stops, puts the backup in place atomically and "
            "starts again on the same address (requests in between are refused).",
            api_openapi_no_content("checked; the server restarts to apply it"), "400 401 403"));
    const char *const secured[][2] = {{"/api/backups", "get"},
                                      {"/api/backups", "post"},
                                      {"/api/backups/upload", "post"},
                                      {"/api/backups/{key}", "delete"},
                                      {"/api/backups/{key}/restore", "post"}};
    for (size_t i = 0; i < sizeof(secured) / sizeof(secured[0]); i++) {
        json_t *o = json_object_get(json_object_get(paths, secured[i][0]), secured[i][1]);
        json_object_set_new(o, "security", json_pack("[{s:[]}]", "token"));
    }
}
