/* docs.c -- the docs page at GET /api/docs (issue #14).
 *
 * Static HTML, CSS and ES modules (web/docs/) embedded by tools/embed.c
 * (assets.h), served as the dashboard's are (assets.c): /api/docs is
 * index.html (no-cache), /api/docs/{name} a content-hashed file (cached for a
 * year). The page builds itself in the browser from GET
 * /api/docs/openapi.json (openapi.c) with the reader's token, and its "try it"
 * forms call the public API like any client. The same strict policy as the
 * dashboard's: scripts, styles and requests only to this origin, no inline
 * script, no eval, no framing; answers are shown as text. */
#include "api/handlers.h"

#include "api/assets.h"
#include "http/req.h"

static const char csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

enum rc api_docs_page(struct http_req *req, void *ctx)
{
    (void)ctx;
    return api_assets_serve(req, api_assets_index(&api_docs_assets), csp);
}

enum rc api_docs_asset(struct http_req *req, void *ctx)
{
    (void)ctx;
    return api_assets_serve(req, api_assets_find(&api_docs_assets, http_req_param(req, "asset")),
                            csp);
}
