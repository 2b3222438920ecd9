/* settings_int.h -- what settings.c and settings_check.c share (layer: core). */
#ifndef TARMAC_CORE_SETTINGS_INT_H
#define TARMAC_CORE_SETTINGS_INT_H

#include "core/settings/settings.h"

/* What a rate-limit rule's label is (PocketBase's label pattern). */
enum settings_label {
    SETTINGS_LABEL_BAD,         /* not of PocketBase's pattern */
    SETTINGS_LABEL_UNSUPPORTED, /* a tag: "users:create", "*:create", "name" */
    SETTINGS_LABEL_PATH,        /* "/api/", "/api/health", "POST /api/batch" */
    SETTINGS_LABEL_AUTH,        /* "*:auth": every auth endpoint */
};

/* Reads label; for a path label fills r's prefix, method and is_exact. */
enum settings_label settings_label_parse(const char *label, struct core_ratelimit_rule *r);
/* The value at a dotted path ("meta.appName"), or NULL. */
json_t *settings_get(json_t *o, const char *path);
/* Merges src into dst: objects key by key, recursively; anything else
 * (arrays included) replaces. */
void settings_merge(json_t *dst, json_t *src);

#endif
