/* assets.c -- see assets.h. Serving is the same for every set: the bytes are
 * read-only static data and the answer is built on the loop with one copy into
 * the response buffer. */
#include "api/assets.h"

#include <string.h>

#include "api/errors.h"
#include "http/req.h"

const struct api_asset *api_assets_find(const struct api_asset_set *set, struct str name)
{
    for (size_t i = 0; i < set->count; i++) {
        const struct api_asset *a = &set->items[i];
        if (!a->is_index && strlen(a->name) == name.len && memcmp(a->name, name.ptr, name.len) == 0)
            return a;
    }
    return NULL;
}

const struct api_asset *api_assets_index(const struct api_asset_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        if (set->items[i].is_index)
            return &set->items[i];
    }
    return NULL;
}

/* Calls match(item) for each comma-separated item of a header value; true
 * when one matched. */
static bool any_item(struct str value, bool (*match)(struct str item, const void *arg),
                     const void *arg)
{
    while (value.len) {
        const char *comma = memchr(value.ptr, ',', value.len);
        size_t n = comma ? (size_t)(comma - value.ptr) : value.len;
        if (match(str_trim_ows((struct str){value.ptr, n}), arg))
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
    struct str coding =
        str_trim_ows((struct str){item.ptr, semi ? (size_t)(semi - item.ptr) : item.len});
    if (!str_eq_nocase(coding, STR_LIT("gzip")) && !str_eq(coding, STR_LIT("*")))
        return false;
    if (!semi)
        return true;
    struct str params =
        str_trim_ows((struct str){semi + 1, item.len - (size_t)(semi + 1 - item.ptr)});
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

enum rc api_assets_serve(struct http_req *req, const struct api_asset *a, const char *csp)
{
    if (!a) {
        api_error_write(req, 404, NULL);
        return RC_OK;
    }
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
    http_resp_add_header(req, "Content-Security-Policy", str_from_cstr(csp));
    http_resp_add_header(req, "Referrer-Policy", STR_LIT("no-referrer"));
    if (is_fresh)
        return RC_OK;
    if (use_gzip)
        http_resp_add_header(req, "Content-Encoding", STR_LIT("gzip"));
    return buf_append(http_resp_body(req), use_gzip ? a->gz : a->raw,
                      use_gzip ? a->gz_len : a->raw_len);
}
