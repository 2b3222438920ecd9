/* routes.c -- see routes.h. Every route the server answers is listed here, so
 * this file is the map of the API. */
#include "api/routes.h"

#include "api/handlers.h"
#include "api/metrics.h"
#include "http/router.h"

void api_routes_register(struct http_router *r, struct api_limits *limits)
{
    http_router_add(r, HTTP_METHOD_GET, "/api/health", api_health, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/logs", api_logs_list, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/logs/stats", api_logs_stats, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/logs/{id}", api_logs_view, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/metrics", api_metrics, r);
    http_router_add(r, HTTP_METHOD_GET, "/api/docs/openapi.json", api_docs_openapi, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/docs/types", api_docs_types, NULL);
    /* The docs page (static files; the two literal routes above win). */
    http_router_add(r, HTTP_METHOD_GET, "/api/docs", api_docs_page, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/docs/{asset}", api_docs_asset, NULL);

    /* Collections (superusers). The literal segments win over {collection}. */
    http_router_add(r, HTTP_METHOD_GET, "/api/collections", api_collections_list, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/jobs", api_jobs_list, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/jobs", api_jobs_enqueue, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/jobs/stats", api_jobs_stats, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/jobs/{id}", api_jobs_view, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/jobs/{id}/retry", api_jobs_retry, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/jobs/{id}/cancel", api_jobs_cancel, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/crons", api_crons_list, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/notify", api_notify, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/notify/webpush-key", api_notify_webpush_key, NULL);
    /* Backups (superusers; a download takes a superuser's file token). */
    http_router_add(r, HTTP_METHOD_GET, "/api/backups", api_backups_list, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/backups", api_backups_create, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/backups/upload", api_backups_upload, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/backups/{key}", api_backups_download, NULL);
    http_router_add(r, HTTP_METHOD_DELETE, "/api/backups/{key}", api_backups_delete, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/backups/{key}/restore", api_backups_restore, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/webhooks/{name}", api_webhooks_inbound, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/crons/{id}", api_crons_run, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections", api_collections_create, NULL);
    http_router_add(r, HTTP_METHOD_PUT, "/api/collections/import", api_collections_import, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/collections/meta/oauth2-providers",
                    api_oauth2_providers, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/collections/meta/scaffolds",
                    api_collections_scaffolds, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/collections/{collection}", api_collections_view,
                    NULL);
    http_router_add(r, HTTP_METHOD_PATCH, "/api/collections/{collection}", api_collections_update,
                    NULL);
    http_router_add(r, HTTP_METHOD_DELETE, "/api/collections/{collection}", api_collections_delete,
                    NULL);
    http_router_add(r, HTTP_METHOD_DELETE, "/api/collections/{collection}/truncate",
                    api_collections_truncate, NULL);

    /* Records. */
    http_router_add(r, HTTP_METHOD_GET, "/api/collections/{collection}/records", api_records_list,
                    NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/records",
                    api_records_create, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/collections/{collection}/records/{id}",
                    api_records_view, NULL);
    http_router_add(r, HTTP_METHOD_PATCH, "/api/collections/{collection}/records/{id}",
                    api_records_update, NULL);
    http_router_add(r, HTTP_METHOD_DELETE, "/api/collections/{collection}/records/{id}",
                    api_records_delete, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/collections/{collection}/recommendations",
                    api_reco_recommendations, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/collections/{collection}/records/{id}/similar",
                    api_reco_similar, NULL);

    /* Files. */
    http_router_add(r, HTTP_METHOD_GET, "/api/files/{collection}/{recordId}/{filename}",
                    api_files_download, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/files/token", api_files_token, NULL);

    /* Auth. */
    http_router_add(r, HTTP_METHOD_GET, "/api/collections/{collection}/auth-methods",
                    api_auth_methods, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/auth-with-password",
                    api_auth_with_password, limits);
    http_router_add(r, HTTP_METHOD_GET, "/api/oauth2-redirect", api_oauth2_redirect, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/oauth2-redirect", api_oauth2_redirect, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/auth-with-oauth2",
                    api_auth_with_oauth2, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/auth-with-id-token",
                    api_auth_with_id_token, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/settings", api_settings_view, NULL);
    http_router_add(r, HTTP_METHOD_PATCH, "/api/settings", api_settings_update, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/settings/test/email", api_settings_test_email, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/settings/test/s3", api_settings_test_s3, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/settings/apple/generate-client-secret",
                    api_settings_apple_secret, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/auth-refresh",
                    api_auth_refresh, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/impersonate/{id}",
                    api_auth_impersonate, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/request-verification",
                    api_auth_request_verification, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/confirm-verification",
                    api_auth_confirm_verification, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/request-password-reset",
                    api_auth_request_password_reset, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/confirm-password-reset",
                    api_auth_confirm_password_reset, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/request-email-change",
                    api_auth_request_email_change, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/confirm-email-change",
                    api_auth_confirm_email_change, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/request-otp",
                    api_auth_request_otp, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/collections/{collection}/auth-with-otp",
                    api_auth_with_otp, limits);

    /* Batch. */
    http_router_add(r, HTTP_METHOD_POST, "/api/batch", api_batch, limits);

    /* Realtime. */
    http_router_add(r, HTTP_METHOD_GET, "/api/realtime", api_realtime_connect, NULL);
    http_router_add(r, HTTP_METHOD_POST, "/api/realtime", api_realtime_subscribe, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/api/realtime/ws", api_realtime_ws, NULL);

#ifdef TARMAC_FAULTS
    /* Test builds only (base/fault.h): arm and disarm fault points. */
    http_router_add(r, HTTP_METHOD_POST, "/api/_test/fault", api_fault_arm, NULL);
    http_router_add(r, HTTP_METHOD_DELETE, "/api/_test/fault", api_fault_disarm, NULL);
#endif

    /* The admin dashboard (static files; it uses the routes above). */
    http_router_add(r, HTTP_METHOD_GET, "/_", api_admin_redirect, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/_/", api_admin_index, NULL);
    http_router_add(r, HTTP_METHOD_GET, "/_/{asset}", api_admin_asset, NULL);
}
