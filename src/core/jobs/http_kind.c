/* http_kind.c -- see http_kind.h. */
#include "core/jobs/http_kind.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "net/http_out.h"

bool core_job_http_outcome(const struct net_http_out_resp *resp, struct core_job_result *res)
{
    res->retry_after_ms = 0;
    res->is_connection_lost = resp->fail == NET_HTTP_OUT_NETWORK;
    switch (resp->fail) {
    case NET_HTTP_OUT_OK: break;
    case NET_HTTP_OUT_TIMEOUT:
    case NET_HTTP_OUT_NETWORK:
        res->outcome = CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error), "%s", resp->error);
        return false;
    default:
        res->outcome = CORE_JOB_DEAD;
        snprintf(res->error, sizeof(res->error), "%s", resp->error);
        return false;
    }
    if (resp->status >= 200 && resp->status < 300) {
        res->outcome = CORE_JOB_DONE;
        res->error[0] = '\0';
        return true;
    }
    if (resp->status == 429 || resp->status >= 500) {
        res->outcome = CORE_JOB_RETRY;
        res->retry_after_ms = resp->retry_after_ms;
    } else {
        res->outcome = CORE_JOB_DEAD;
    }
    snprintf(res->error, sizeof(res->error), "HTTP %ld", resp->status);
    return false;
}

static bool is_clean(const char *s, bool is_name)
{
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n' || (is_name && (*s == ':' || *s == ' ')))
            return false;
    }
    return true;
}

void core_job_http_headers(json_t *headers, const char **lines, char **owned, size_t *n, size_t max)
{
    const char *k;
    json_t *v;
    json_object_foreach(headers, k, v)
    {
        if (*n >= max || !json_is_string(v) || !*k || !is_clean(k, true) ||
            !is_clean(json_string_value(v), false))
            continue;
        size_t len = strlen(k) + json_string_length(v) + 3;
        char *line = xmalloc(len);
        snprintf(line, len, "%s: %s", k, json_string_value(v));
        owned[*n] = line;
        lines[(*n)++] = line;
    }
}

bool core_job_http_prepare(const struct core_job_env *env, const struct core_job *job,
                           struct core_job_call *call, struct core_job_result *res)
{
    json_t *p = job->payload;
    const char *url = json_string_value(json_object_get(p, "url"));
    if (!url) {
        res->outcome = CORE_JOB_DEAD;
        snprintf(res->error, sizeof(res->error), "payload.url is missing");
        return false;
    }
    const char *method = json_string_value(json_object_get(p, "method"));
    struct net_http_out_req *req = &call->req;
    *req = (struct net_http_out_req){.method = method ? method : "POST",
                                     .url = url,
                                     .timeout_ms = env->http_timeout_ms,
                                     .allow_private_network = env->allow_private_network};
    snprintf(call->lines[0], sizeof(call->lines[0]), "Idempotency-Key: %s", job->id);
    snprintf(call->lines[1], sizeof(call->lines[1]), "X-Tarmac-Job-Id: %s", job->id);
    req->headers[req->header_count++] = call->lines[0];
    req->headers[req->header_count++] = call->lines[1];
    json_t *body = json_object_get(p, "body");
    if (json_is_string(body)) {
        req->body = (struct str){json_string_value(body), json_string_length(body)};
    } else if (body) {
        call->body = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        req->body = str_from_cstr(call->body ? call->body : "");
        req->headers[req->header_count++] = "Content-Type: application/json";
    }
    core_job_http_headers(json_object_get(p, "headers"), req->headers, call->owned,
                          &req->header_count, NET_HTTP_OUT_MAX_HEADERS);
    return true;
}

void core_job_http_complete(const struct core_job_env *env, const struct core_job *job,
                            struct core_job_call *call, struct core_job_result *res)
{
    (void)env;
    (void)job;
    core_job_http_outcome(&call->resp, res);
}
