/* assets.h -- static web files embedded at build time, and how they are
 * served (layer: api): the admin dashboard (web/admin/, /_/) and the docs page
 * (web/docs/, /api/docs).
 *
 * tools/embed.c writes each set (build/gen/<set>_assets.c) from its folder:
 * every file's bytes and a gzip copy, under a content-hashed name except
 * index.html. Read-only data: any thread may read it. */
#ifndef TARMAC_API_ASSETS_H
#define TARMAC_API_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"
#include "base/str.h"

struct http_req;

struct api_asset {
    const char *name;         /* served name: "app.1f2e3d4c5b.js", "index.html" */
    const char *content_type; /* "text/javascript; charset=utf-8" */
    const char *etag;         /* quoted content hash: "\"1f2e3d4c5b\"" */
    const unsigned char *raw;
    size_t raw_len; /* bytes */
    const unsigned char *gz;
    size_t gz_len; /* bytes, gzip format */
    bool is_index; /* index.html: never cached, served at the set's root */
};

struct api_asset_set {
    const struct api_asset *items;
    size_t count;
    size_t gzip_total; /* bytes: every file, compressed */
};

extern const struct api_asset_set api_admin_assets; /* web/admin/ */
extern const struct api_asset_set api_docs_assets;  /* web/docs/ */

/* The file served as name (a hashed name; never index.html), or NULL. */
const struct api_asset *api_assets_find(const struct api_asset_set *set, struct str name);

/* The set's index.html, or NULL. */
const struct api_asset *api_assets_index(const struct api_asset_set *set);

/* Answers with asset a: 404 when a is NULL (no such file in the set), 200, or 304 for a matching
 * If-None-Match; gzip when Accept-Encoding allows it; index.html revalidated on every load
 * (no-cache), any other file cached for a year (its name changes with its content); with the
 * Content-Security-Policy csp (a static string) and nosniff. */
enum rc api_assets_serve(struct http_req *req, const struct api_asset *a, const char *csp);

#endif
