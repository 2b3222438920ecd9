/* thumb.h -- thumbnails of image files with libvips (layer: core; spec §8.2).
 *
 * `thumb=WxH` crops to fill around the centre, `WxHt` / `WxHb` keep the top /
 * bottom, `WxHf` fits inside without cropping (never enlarging), `0xH` and
 * `Wx0` resize to one side keeping the ratio. Only the first frame of an
 * animation is used; JPEG and GIF originals give JPEG and GIF thumbnails,
 * everything else PNG. Thumbnails are made once and stored beside the
 * original (key thumbs_<name>/<size>_<name>, storage.h): on local disk
 * under a lock on <thumbnail>.lock (threads and processes sharing the
 * directory, --storage-dir: the first makes it, the others find it),
 * written to a temporary name and renamed, so a reader never sees half a
 * file; on S3 made from a temporary copy of the original under
 * <dataDir>/tmp/ and uploaded whole. Blocking: offload pool only. */
#ifndef TARMAC_CORE_THUMB_H
#define TARMAC_CORE_THUMB_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"
#include "core/files/storage.h"
#include "core/schema/collection.h"

struct core_thumb_spec {
    int width;  /* 0: from height, keeping the ratio */
    int height; /* 0: from width, keeping the ratio */
    char mode;  /* 'c' centre crop, 't' top, 'b' bottom, 'f' fit */
};

/* Starts libvips (once, before any thumbnail; argv0 may be NULL). */
enum rc core_thumb_init(const char *argv0);
/* Shuts libvips down at exit. */
void core_thumb_shutdown(void);
/* The largest side a thumbnail may have: what four digits name. */
#define CORE_THUMB_MAX_SIDE 9999

/* Parses "WxH", "WxHt", "WxHb", "WxHf" (W, H up to 4 digits; not both 0). */
bool core_thumb_parse(struct str s, struct core_thumb_spec *out);
/* True when s is "100x100" or one of f's thumbs (exactly). */
bool core_thumb_is_allowed(const struct core_field *f, struct str s);
/* True for the MIME types thumbnails are made of (png, jpeg, gif, webp). */
bool core_thumb_is_image(struct str mime);
/* Makes the thumbnail of src (of MIME type mime) into dst (whose directory
 * is created when missing). RC_IO when the image cannot be read or written;
 * RC_TOO_LARGE when a side would exceed CORE_THUMB_MAX_SIDE (0xH of a very
 * wide image). */
enum rc core_thumb_make(const char *src, const char *dst, struct str mime,
                        const struct core_thumb_spec *spec);

/* Appends the key of the thumbnail for size (a spec's text, "100x100") of
 * stored file name of record id of collection collection_id to out:
 * <collectionId>/<recordId>/thumbs_<name>/<size>_<name>. RC_INVALID when a
 * segment is unsafe. The files route and the `thumbs` job kind both find
 * the thumbnail here, so one makes what the other serves. */
enum rc core_thumb_key(struct buf *out, const char *collection_id, struct str id, struct str name,
                       struct str size);
/* Makes the thumbnail dst_key of src_key (of MIME type mime) in st: in
 * place on local disk, through temporary files on S3. RC_NOT_FOUND when
 * src_key is gone; else as core_thumb_make, or the storage's error. */
enum rc core_thumb_make_stored(const struct core_storage *st, const char *src_key,
                               const char *dst_key, struct str mime,
                               const struct core_thumb_spec *spec);
/* Makes the thumbnail dst_key of src_key in st, as the files route does on
 * a first view, unless dst_key exists already (RC_OK either way; *is_made
 * says which). RC_NOT_FOUND when src_key is missing or no image thumbnails
 * are made of (core_thumb_is_image, by its sniffed bytes); else
 * core_thumb_make_stored's result. Blocking: offload pool or a job runner. */
enum rc core_thumb_ensure(const struct core_storage *st, const char *src_key, const char *dst_key,
                          const struct core_thumb_spec *spec, bool *is_made);

/* Thumbnails made and failed (too large included) since start; any thread. */
void core_thumb_counts(uint64_t *made, uint64_t *failed);

#endif
