/* http_kind.h -- the `http` job kind: one configured HTTP call (layer: core,
 * core/jobs/).
 *
 * Payload: {"url", "method" (default POST), "headers": {name: value},
 * "body": a string sent as is, or any other JSON sent as JSON}. The job id
 * goes out as Idempotency-Key and X-Tarmac-Job-Id. 2xx: done; 429, 5xx,
 * timeouts, network errors: retry (Retry-After honoured); anything else and
 * refused private targets: dead. */
#ifndef TARMAC_CORE_JOBS_HTTP_KIND_H
#define TARMAC_CORE_JOBS_HTTP_KIND_H

#include "core/jobs/registry.h"

/* The kind's handlers (registry.c). */
bool core_job_http_prepare(const struct core_job_env *env, const struct core_job *job,
                           struct core_job_call *call, struct core_job_result *res);
void core_job_http_complete(const struct core_job_env *env, const struct core_job *job,
                            struct core_job_call *call, struct core_job_result *res);

/* What an HTTP answer means for a job (shared with webhook.c): fills res
 * from resp; returns true when the status was 2xx. */
struct net_http_out_resp;
bool core_job_http_outcome(const struct net_http_out_resp *resp, struct core_job_result *res);
/* Appends "Name: value" lines for a JSON object of headers to lines[*n..max),
 * allocating each in *owned (freed by the caller with xfree); skips names or
 * values holding CR, LF or ':' in the name. */
void core_job_http_headers(json_t *headers, const char **lines, char **owned, size_t *n,
                           size_t max);

#endif
