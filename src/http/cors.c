/* cors.c -- see cors.h. */
#include "http/cors.h"

#include <string.h>

#include "base/alloc.h"
#include "http/req.h"

static bool is_origin(struct str o)
{
    struct str s;
    if (str_has_prefix(o, STR_LIT("https://")))
        s = (struct str){o.ptr + 8, o.len - 8};
    else if (str_has_prefix(o, STR_LIT("http://")))
        s = (struct str){o.ptr + 7, o.len - 7};
    else
        return false;
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
        if (!ok)
            return false;
    }
    return true;
}

enum rc http_cors_parse(struct http_cors *c, const char *list)
{
    memset(c, 0, sizeof(*c));
    struct str all = str_from_cstr(list);
    size_t start = 0;
    for (size_t i = 0; i <= all.len; i++) {
        if (i < all.len && all.ptr[i] != ',')
            continue;
        struct str item = str_trim_ows((struct str){all.ptr + start, i - start});
        start = i + 1;
        if (item.len == 0)
            continue;
        if (item.len == 1 && item.ptr[0] == '*') {
            c->is_any = true;
            continue;
        }
        if (!is_origin(item)) {
            http_cors_cleanup(c);
            return RC_INVALID;
        }
        c->origins = xrealloc(c->origins, (c->origin_count + 1) * sizeof(char *));
        c->origins[c->origin_count++] = xstrndup(item.ptr, item.len);
    }
    if (!c->is_any && c->origin_count == 0)
        return RC_INVALID;
    return RC_OK;
}

void http_cors_cleanup(struct http_cors *c)
{
    for (size_t i = 0; i < c->origin_count; i++)
        xfree(c->origins[i]);
    xfree(c->origins);
    c->origins = NULL;
    c->origin_count = 0;
}

static bool is_allowed(const struct http_cors *c, struct str origin)
{
    if (c->is_any)
        return true;
    for (size_t i = 0; i < c->origin_count; i++) {
        /* Origins compare exactly except for the scheme and host's case. */
        if (str_eq_nocase(origin, str_from_cstr(c->origins[i])))
            return true;
    }
    return false;
}

void http_cors_add_headers(const struct http_cors *c, struct http_req *req)
{
    struct str origin = http_req_header(req, "origin");
    if (!origin.ptr || !is_allowed(c, origin))
        return;
    http_resp_add_header(req, "Access-Control-Allow-Origin", c->is_any ? STR_LIT("*") : origin);
}

/* Echo only what a header list may hold: tokens, commas and spaces. */
static bool is_header_list(struct str s)
{
    for (size_t i = 0; i < s.len; i++) {
        char ch = s.ptr[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == ',' || ch == ' ' ||
                  ch == '.';
        if (!ok)
            return false;
    }
    return true;
}

void http_cors_preflight(const struct http_cors *c, struct http_req *req)
{
    http_resp_start(req, 204, NULL);
    struct str origin = http_req_header(req, "origin");
    if (origin.ptr && !is_allowed(c, origin))
        return;
    /* Access-Control-Allow-Origin is added with every response by the server. */
    http_resp_add_header(req, "Access-Control-Allow-Methods",
                         STR_LIT("GET,HEAD,PUT,PATCH,POST,DELETE"));
    struct str asked = http_req_header(req, "access-control-request-headers");
    if (asked.ptr && asked.len && asked.len <= 1024 && is_header_list(asked))
        http_resp_add_header(req, "Access-Control-Allow-Headers", asked);
}
