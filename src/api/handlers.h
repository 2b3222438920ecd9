/* handlers.h -- the API's route handlers (layer: api). One file per resource
 * implements them; routes.c binds them to paths. */
#ifndef TARMAC_API_HANDLERS_H
#define TARMAC_API_HANDLERS_H

#include <stdint.h>

#include <jansson.h>

#include "base/rc.h"

struct http_req;

/* GET /api/health */
enum rc api_health(struct http_req *req, void *ctx);

/* GET /api/logs, /api/logs/{id}, /api/logs/stats (logs.c; superusers) */
enum rc api_logs_list(struct http_req *req, void *ctx);
enum rc api_logs_view(struct http_req *req, void *ctx);
enum rc api_logs_stats(struct http_req *req, void *ctx);
/* http_server_config.on_response: the request's entry in the request log. */
void api_logs_on_response(struct http_req *req, uint64_t exec_ns);

/* GET /api/docs/openapi.json, GET /api/docs/types?lang=ts|dart (openapi.c) */
enum rc api_docs_openapi(struct http_req *req, void *ctx);
enum rc api_docs_types(struct http_req *req, void *ctx);
/* GET /api/docs, GET /api/docs/{asset}: the docs page (docs.c) */
enum rc api_docs_page(struct http_req *req, void *ctx);
enum rc api_docs_asset(struct http_req *req, void *ctx);

#ifdef TARMAC_FAULTS
/* POST, DELETE /api/_test/fault (fault.c): test builds only */
enum rc api_fault_arm(struct http_req *req, void *ctx);
enum rc api_fault_disarm(struct http_req *req, void *ctx);
#endif

/* /api/jobs (jobs.c): the job queue, superusers only */
enum rc api_jobs_list(struct http_req *req, void *ctx);
enum rc api_jobs_stats(struct http_req *req, void *ctx);
enum rc api_jobs_view(struct http_req *req, void *ctx);
enum rc api_jobs_enqueue(struct http_req *req, void *ctx);
/* Enqueues the job an enqueue body ({kind, payload, runAt, priority,
 * dedupeKey, maxAttempts}) describes and answers as POST /api/jobs does
 * (201 with the job, 200 when folded; 400 with fail_message). */
struct api_call;
enum rc api_jobs_submit(struct api_call *c, json_t *body, const char *fail_message);
/* POST /api/notify, GET /api/notify/webpush-key (api/notify.c). */
enum rc api_notify(struct http_req *req, void *ctx);
enum rc api_notify_webpush_key(struct http_req *req, void *ctx);
enum rc api_jobs_retry(struct http_req *req, void *ctx);
enum rc api_jobs_cancel(struct http_req *req, void *ctx);
enum rc api_crons_list(struct http_req *req, void *ctx);
enum rc api_crons_run(struct http_req *req, void *ctx);
/* /api/backups (backups.c): superusers; GET /api/backups/{key} takes a
 * superuser's file token */
enum rc api_backups_list(struct http_req *req, void *ctx);
enum rc api_backups_create(struct http_req *req, void *ctx);
enum rc api_backups_upload(struct http_req *req, void *ctx);
enum rc api_backups_download(struct http_req *req, void *ctx);
enum rc api_backups_delete(struct http_req *req, void *ctx);
enum rc api_backups_restore(struct http_req *req, void *ctx);
/* POST /api/webhooks/{name} (inbound.c): verified inbound webhooks */
enum rc api_webhooks_inbound(struct http_req *req, void *ctx);

/* POST /api/batch (batch.c) */
enum rc api_batch(struct http_req *req, void *ctx);

/* /api/realtime (realtime.c, realtime_ws.c) */
enum rc api_realtime_connect(struct http_req *req, void *ctx);
enum rc api_realtime_subscribe(struct http_req *req, void *ctx);
enum rc api_realtime_ws(struct http_req *req, void *ctx);

/* /api/collections/{collection}/records[/{id}] (records.c) */
enum rc api_records_list(struct http_req *req, void *ctx);
enum rc api_records_view(struct http_req *req, void *ctx);
enum rc api_reco_recommendations(struct http_req *req, void *ctx);
enum rc api_reco_similar(struct http_req *req, void *ctx);
enum rc api_records_create(struct http_req *req, void *ctx);
enum rc api_records_update(struct http_req *req, void *ctx);
enum rc api_records_delete(struct http_req *req, void *ctx);

/* /api/collections[/{collection}] (collections.c), superusers only */
enum rc api_collections_list(struct http_req *req, void *ctx);
enum rc api_collections_view(struct http_req *req, void *ctx);
enum rc api_collections_create(struct http_req *req, void *ctx);
enum rc api_collections_update(struct http_req *req, void *ctx);
enum rc api_collections_delete(struct http_req *req, void *ctx);
enum rc api_collections_truncate(struct http_req *req, void *ctx);
enum rc api_collections_import(struct http_req *req, void *ctx);
enum rc api_collections_scaffolds(struct http_req *req, void *ctx);

/* /api/collections/{collection}/auth-* (auth.c) */
enum rc api_auth_methods(struct http_req *req, void *ctx);
enum rc api_auth_with_password(struct http_req *req, void *ctx);
enum rc api_auth_with_oauth2(struct http_req *req, void *ctx);
enum rc api_auth_with_id_token(struct http_req *req, void *ctx);
enum rc api_settings_apple_secret(struct http_req *req, void *ctx);
/* GET, PATCH /api/settings; POST /api/settings/test/email, /test/s3 (settings.c) */
enum rc api_settings_view(struct http_req *req, void *ctx);
enum rc api_settings_update(struct http_req *req, void *ctx);
enum rc api_settings_test_email(struct http_req *req, void *ctx);
enum rc api_settings_test_s3(struct http_req *req, void *ctx);
enum rc api_oauth2_redirect(struct http_req *req, void *ctx);
enum rc api_oauth2_providers(struct http_req *req, void *ctx);
enum rc api_auth_refresh(struct http_req *req, void *ctx);
enum rc api_auth_impersonate(struct http_req *req, void *ctx);

/* Mail flows (auth_flows.c) and one-time passwords (auth_otp.c) */
enum rc api_auth_request_verification(struct http_req *req, void *ctx);
enum rc api_auth_confirm_verification(struct http_req *req, void *ctx);
enum rc api_auth_request_password_reset(struct http_req *req, void *ctx);
enum rc api_auth_confirm_password_reset(struct http_req *req, void *ctx);
enum rc api_auth_request_email_change(struct http_req *req, void *ctx);
enum rc api_auth_confirm_email_change(struct http_req *req, void *ctx);
enum rc api_auth_request_otp(struct http_req *req, void *ctx);
enum rc api_auth_with_otp(struct http_req *req, void *ctx);

/* The admin dashboard's files: /_, /_/, /_/{asset} (admin.c) */
enum rc api_admin_redirect(struct http_req *req, void *ctx);
enum rc api_admin_index(struct http_req *req, void *ctx);
enum rc api_admin_asset(struct http_req *req, void *ctx);

/* The routes of scripts (hooks.c): the server's fallback for a request no
 * built-in route takes (RC_NOT_FOUND: none of theirs either). */
enum rc api_hooks_fallback(struct http_req *req, void *ctx);
struct api_worker;
/* Frees the worker's router of script routes (the worker stops). */
void api_hooks_worker_cleanup(struct api_worker *aw);

/* The routes of C extensions (ext.c): the server's fallback; it asks
 * api_hooks_fallback when none of theirs matches. api_ext_start builds their
 * router after core_app_start_ext, before the workers start; api_ext_stop
 * frees it after they stopped. */
enum rc api_ext_fallback(struct http_req *req, void *ctx);
void api_ext_start(void);
void api_ext_stop(void);

/* /api/files (files.c) */
enum rc api_files_download(struct http_req *req, void *ctx);
enum rc api_files_token(struct http_req *req, void *ctx);

#endif
