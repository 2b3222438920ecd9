/* ratelimit.c -- see ratelimit.h. */
#include "api/ratelimit.h"

#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "base/chrono.h"
#include "http/req.h"

/* The endpoints PocketBase groups under its "*:auth" label. */
static bool is_auth_endpoint(struct str path)
{
    static const char *const tails[] = {"/auth-with-password",     "/auth-with-otp",
                                        "/auth-with-oauth2",       "/request-otp",
                                        "/request-password-reset", "/confirm-password-reset",
                                        "/request-verification",   "/confirm-verification",
                                        "/request-email-change",   "/confirm-email-change"};
    if (!str_has_prefix(path, STR_LIT("/api/collections/")))
        return false;
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        size_t n = strlen(tails[i]);
        if (path.len > n && memcmp(path.ptr + path.len - n, tails[i], n) == 0)
            return true;
    }
    return false;
}

static void too_many(struct http_req *req, uint32_t retry_after_s)
{
    api_error_write(req, 429, NULL);
    char v[16];
    int n = snprintf(v, sizeof(v), "%u", retry_after_s ? retry_after_s : 1);
    http_resp_add_header(req, "Retry-After", (struct str){v, (size_t)n});
}

static bool admit_one(struct api_limits *l, const struct core_ratelimit_rule *r, const char *scope,
                      struct http_req *req, int64_t now)
{
    if (r->max == 0)
        return true;
    char key[256];
    int n = snprintf(key, sizeof(key), "%s|%s|%s", scope, r->prefix,
                     req->remote_addr ? req->remote_addr : "");
    uint32_t retry = 0;
    if (l->store.hit(l->store.ctx, (struct str){key, (size_t)n}, r->max, r->window_s, now,
                     &retry) == RC_RATE_LIMITED) {
        too_many(req, retry);
        return false;
    }
    return true;
}

bool api_ratelimit_admit(struct http_req *req, void *ctx)
{
    struct api_limits *l = ctx;
    int64_t now = chrono_real_ms();
    for (size_t i = 0; i < l->cfg.rule_count; i++) {
        const struct core_ratelimit_rule *r = &l->cfg.rules[i];
        if (str_has_prefix(req->path, str_from_cstr(r->prefix)) && !admit_one(l, r, "ip", req, now))
            return false;
    }
    if (req->method == HTTP_METHOD_POST && is_auth_endpoint(req->path))
        return admit_one(l, &l->cfg.auth_ip, "ip", req, now);
    return true;
}

enum rc api_ratelimit_identity(struct api_call *c, const struct api_limits *limits,
                               const char *collection_id, const char *identity)
{
    if (!limits || limits->cfg.auth_identity.max == 0)
        return RC_OK;
    char key[320];
    int n = snprintf(key, sizeof(key), "id|%s|", collection_id);
    /* Identities compare without case, as the email lookup does. */
    for (const char *p = identity; *p && (size_t)n < sizeof(key) - 1; p++)
        key[n++] = ascii_lower(*p);
    uint32_t retry = 0;
    if (limits->store.hit(limits->store.ctx, (struct str){key, (size_t)n},
                          limits->cfg.auth_identity.max, limits->cfg.auth_identity.window_s,
                          chrono_real_ms(), &retry) == RC_RATE_LIMITED) {
        too_many(c->req, retry);
        return RC_RATE_LIMITED;
    }
    return RC_OK;
}
