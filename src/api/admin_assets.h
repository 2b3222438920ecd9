/* admin_assets.h -- the admin UI's files, embedded at build time (layer: api).
 *
 * tools/embed.c writes the table (build/gen/admin_assets.c) from web/admin/:
 * each file's bytes and a gzip copy, under a content-hashed name except
 * index.html. Read-only data: any thread may read it. */
#ifndef TARMAC_API_ADMIN_ASSETS_H
#define TARMAC_API_ADMIN_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

struct api_admin_asset {
    const char *name;         /* served name under /_/: "app.1f2e3d4c5b.js", "index.html" */
    const char *content_type; /* "text/javascript; charset=utf-8" */
    const char *etag;         /* quoted content hash: "\"1f2e3d4c5b\"" */
    const unsigned char *raw;
    size_t raw_len; /* bytes */
    const unsigned char *gz;
    size_t gz_len; /* bytes, gzip format */
    bool is_index; /* index.html: never cached, served at /_/ */
};

extern const struct api_admin_asset api_admin_assets[];
extern const size_t api_admin_asset_count;
extern const size_t api_admin_gzip_total; /* bytes: the whole UI, compressed */

#endif
