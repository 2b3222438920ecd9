/* admin.c -- the admin dashboard's files at /_/ (issue #14).
 *
 * The dashboard is static HTML, CSS and ES modules (web/admin/) embedded by
 * tools/embed.c (assets.h); it talks to the public API like any client.
 * This file only binds the set to its paths; assets.c serves the bytes:
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

#include "api/assets.h"
#include "http/req.h"

static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

enum rc api_admin_index(struct http_req *req, void *ctx)
{
    (void)ctx;
    return api_assets_serve(req, api_assets_index(&api_admin_assets), csp);
}

enum rc api_admin_asset(struct http_req *req, void *ctx)
{
    (void)ctx;
    return api_assets_serve(req, api_assets_find(&api_admin_assets, http_req_param(req, "asset")),
                            csp);
}

enum rc api_admin_redirect(struct http_req *req, void *ctx)
{
    (void)ctx;
    http_resp_start(req, 301, NULL);
    http_resp_add_header(req, "Location", STR_LIT("/_/"));
    return RC_OK;
}
