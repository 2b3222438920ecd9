/* admin.c -- the admin dashboard's files at /_/ (issue #14).
 *
 * The dashboard is static HTML, CSS and ES modules (web/admin/) embedded by
 * tools/embed.c (admin_assets.h); it talks to the public API like any client.
 * This file only serves the bytes:
 *   - /_/ is index.html, revalidated on every load (Cache-Control: no-cache);
 *     every other file has a content-hashed name, cached for a year
 *     (immutable), so a new build is picked up through the new index.html.
 *   - the gzip copy when Accept-Encoding allows it (Vary: Accept-Encoding),
 *     the content hash as ETag and 304 for a matching If-None-Match.
 *   - a strict Content-Security-Policy: scripts and styles only from the
 *     server's origin (no inline script, no eval), requests only to it, no
 *     framing. Records are rendered as text by the UI; the policy is the
 *     second line of defence should a bug ever put data into markup.
 * Everything is read-only static data and the answer is built on the loop
 * with one copy into the response buffer. */
#include "api/handlers.h"

#include <stdbool.h>
#include <string.h>

#include "api/admin_assets.h"
#include "api/errors.h"
#include "base/str.h"
#include "http/req.h"

static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

static const struct api_admin_asset *find_asset(struct str name)
{
    for (size_t i = 0; i < api_admin_asset_count; i++) {
        const struct api_admin_asset *a = &api_admin_assets[i];
        if (strlen(a->name) == name.len && memcmp(a->name, name.ptr, name.len) == 0)
            return a;
    }
    return NULL;
}

static const struct api_admin_asset *index_asset(void)
{
    for (size_t i = 0; i < api_admin_asset_count; i++) {
        if (api_admin_assets[i].is_index)
            return &api_admin_assets[i];
    }
    return NULL;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static struct str trim(struct str s)
{
    while (s.len && is_space(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len && is_space(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

/* Calls match(item) for each comma-separated item of a header value; true
 * when one matched. */
static bool any_item(struct str value, bool (*match)(struct str item, const void *arg),
                     const void *arg)
{
    while (value.len) {
        const char *comma = memchr(value.ptr, ',', value.len);
        size_t n = comma ? (size_t)(comma - value.ptr) : value.len;
        if (match(trim((struct str){value.ptr, n}), arg))
            return true;
        value.ptr += comma ? n + 1 : n;
        value.len -= comma ? n + 1 : n;
    }
    return false;
}

/* "gzip" or "*", unless its weight is q=0 (RFC 9110 §12.5.3). */
static bool accepts_gzip_item(struct str item, const void *arg)
{
    (void)arg;
    const char *semi = memchr(item.ptr, ';', item.len);
    struct str coding = trim((struct str){item.ptr, semi ? (size_t)(semi - item.ptr) : item.len});
    if (!str_eq_nocase(coding, STR_LIT("gzip")) && !str_eq(coding, STR_LIT("*")))
        return false;
    if (!semi)
        return true;
    struct str params = trim((struct str){semi + 1, item.len - (size_t)(semi + 1 - item.ptr)});
    if (params.len < 2 || (params.ptr[0] != 'q' && params.ptr[0] != 'Q') || params.ptr[1] != '=')
        return true;
    for (size_t i = 2; i < params.len; i++) {
        if (params.ptr[i] >= '1' && params.ptr[i] <= '9')
            return true; /* some non-zero digit: q > 0 */
    }
    return false;
}

/* An If-None-Match entry equal to the ETag (weak comparison, §13.1.2). */
static bool etag_item(struct str item, const void *arg)
{
    struct str etag = str_from_cstr(arg);
    if (item.len > 2 && item.ptr[0] == 'W' && item.ptr[1] == '/') {
        item.ptr += 2;
        item.len -= 2;
    }
    return str_eq(item, STR_LIT("*")) || str_eq(item, etag);
}

static enum rc serve(struct http_req *req, const struct api_admin_asset *a)
{
    struct str inm = http_req_header(req, "if-none-match");
    bool is_fresh = inm.ptr && any_item(inm, etag_item, a->etag);
    struct str ae = http_req_header(req, "accept-encoding");
    bool use_gzip = ae.ptr && any_item(ae, accepts_gzip_item, NULL);
    http_resp_start(req, is_fresh ? 304 : 200, a->content_type);
    http_resp_add_header(req, "Cache-Control",
                         a->is_index ? STR_LIT("no-cache")
                                     : STR_LIT("public, max-age=31536000, immutable"));
    http_resp_add_header(req, "ETag", str_from_cstr(a->etag));
    http_resp_add_header(req, "Vary", STR_LIT("Accept-Encoding"));
    http_resp_add_header(req, "X-Content-Type-Options", STR_LIT("nosniff"));
    http_resp_add_header(req, "Content-Security-Policy", STR_LIT(csp));
    http_resp_add_header(req, "Referrer-Policy", STR_LIT("no-referrer"));
    if (is_fresh)
        return RC_OK;
    if (use_gzip)
        http_resp_add_header(req, "Content-Encoding", STR_LIT("gzip"));
    return buf_append(http_resp_body(req), use_gzip ? a->gz : a->raw,
                      use_gzip ? a->gz_len : a->raw_len);
}

enum rc api_admin_index(struct http_req *req, void *ctx)
{
    (void)ctx;
    const struct api_admin_asset *a = index_asset();
    if (!a) {
        api_error_write(req, 404, NULL);
        return RC_OK;
    }
    return serve(req, a);
}

enum rc api_admin_asset(struct http_req *req, void *ctx)
{
    (void)ctx;
    const struct api_admin_asset *a = find_asset(http_req_param(req, "asset"));
    if (!a || a->is_index) {
        api_error_write(req, 404, NULL);
        return RC_OK;
    }
    return serve(req, a);
}

enum rc api_admin_redirect(struct http_req *req, void *ctx)
{
    (void)ctx;
    http_resp_start(req, 301, NULL);
    http_resp_add_header(req, "Location", STR_LIT("/_/"));
    return RC_OK;
}
