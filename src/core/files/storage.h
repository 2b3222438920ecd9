/* storage.h -- where uploaded files live: local disk or S3 (layer: core).
 *
 * A storage is a table of operations (struct core_storage_ops, one per
 * variant, as SQLite's VFS) over object keys, PocketBase's layout:
 *   <collectionId>/<recordId>/<name>                          a file
 *   <collectionId>/<recordId>/thumbs_<name>/<size>_<name>     its thumbnails
 * The local storage keeps key K in <dataDir>/storage/K (tarmac's default and
 * what every directory had before S3); the S3 storage keeps it in the bucket
 * of the settings' s3 options, through net/s3.h.
 *
 * Which storage is in use is a setting (s3.enabled), so it lives in the
 * settings snapshot (core/settings/settings.h compiles one per snapshot)
 * and is read through a core_storage_fn where the settings are out of reach.
 * A snapshot lives until the app closes, so a job may keep a storage (or a
 * copy of one) for as long as it runs. Switching storages moves nothing:
 * new uploads go to the new one, and files stored in the other one are no
 * longer found (PocketBase behaves the same).
 *
 * Every operation blocks (disk or network): offload pool, job runners and
 * threads of their own only, never a worker's loop (net/s3.h refuses to run
 * there). Results: RC_OK, RC_NOT_FOUND (no such key), RC_IO (disk, or an
 * S3 answer such as a refused signature), RC_UNAVAILABLE (S3 unreachable
 * or failing with a 5xx), RC_INVALID (an unsafe key). Failures are logged
 * by the S3 variant with S3's message; the caller decides the answer. */
#ifndef TARMAC_CORE_FILES_STORAGE_H
#define TARMAC_CORE_FILES_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"
#include "net/s3.h"

struct core_storage;
struct core_storage_ops;

/* An object open for reading; each variant's begins with this. */
struct core_storage_file {
    const struct core_storage_ops *ops;
};

struct core_storage_info {
    uint64_t size; /* bytes */
    int64_t mtime; /* Unix seconds */
};

/* Receives one listed key (valid for the call); anything but RC_OK stops. */
typedef enum rc core_storage_list_fn(void *ctx, struct str key, uint64_t size, int64_t mtime);

struct core_storage_ops {
    const char *name; /* "local", "s3" */
    /* Bytes a streamed download reads at a time (each read of S3 is a
     * request, so S3 reads more per request). */
    size_t chunk;
    /* Opens key: fills *info and reads up to cap bytes from its start into
     * head (*got bytes); *out is then open for reads (close it). */
    enum rc (*open)(const struct core_storage *st, const char *key, char *head, size_t cap,
                    size_t *got, struct core_storage_info *info, struct core_storage_file **out);
    /* Reads exactly len bytes at off (RC_IO when fewer are there: changed). */
    enum rc (*read)(struct core_storage_file *f, uint64_t off, char *dst, size_t len);
    /* Closes f; accepts NULL. */
    void (*close)(struct core_storage_file *f);
    /* The attributes of key. */
    enum rc (*stat)(const struct core_storage *st, const char *key, struct core_storage_info *info);
    /* Stores data under key (of MIME type mime, may be NULL). Local: a new
     * file (RC_IO when it exists). */
    enum rc (*put)(const struct core_storage *st, const char *key, struct str data,
                   const char *mime);
    /* Stores the file at path under key and removes path, success or not. */
    enum rc (*put_file)(const struct core_storage *st, const char *key, const char *path,
                        const char *mime);
    /* Copies key into a new file at path (nothing left there on failure). */
    enum rc (*get_file)(const struct core_storage *st, const char *key, const char *path);
    /* Deletes key; RC_OK when it was not there. */
    enum rc (*remove)(const struct core_storage *st, const char *key);
    /* Deletes every key under prefix, which ends with '/' (a "directory"). */
    enum rc (*remove_prefix)(const struct core_storage *st, const char *prefix);
    /* Calls fn for every key under prefix ("" or ending with '/'). */
    enum rc (*list)(const struct core_storage *st, const char *prefix, core_storage_list_fn *fn,
                    void *ctx);
    /* Appends key's path on local disk, or NULL (the variant has none:
     * work on a copy from get_file). */
    enum rc (*path)(const struct core_storage *st, const char *key, struct buf *out);
};

/* A storage: its operations and what they work on. Copied by value into
 * jobs; the strings it points to live until the app closes. */
struct core_storage {
    const struct core_storage_ops *ops;
    const char *data_dir;    /* <dataDir>: local files under storage/, temporary ones under tmp/ */
    struct net_s3_config s3; /* the S3 variant's; borrowed from the settings snapshot */
    const char *local_root;  /* the local variant's files when not <dataDir>/storage (the
                                backups' directory); NULL: <dataDir>/storage */
};

/* The storage in use now, with ctx (the app): for code that cannot read the
 * settings (record/, jobs/). */
typedef const struct core_storage *core_storage_fn(void *ctx);

extern const struct core_storage_ops core_storage_local_ops;
extern const struct core_storage_ops core_storage_s3_ops;

/* Sets st up as the local storage under data_dir (borrowed). */
void core_storage_init_local(struct core_storage *st, const char *data_dir);
/* Sets st up as a local storage of the files in root (borrowed; keys are
 * names in it), temporary files under data_dir: what serves a backup. */
void core_storage_init_dir(struct core_storage *st, const char *data_dir, const char *root);
/* Sets st up as the S3 storage of s3 (borrowed, as data_dir, which holds
 * the temporary files thumbnails are made from). */
void core_storage_init_s3(struct core_storage *st, const char *data_dir,
                          const struct net_s3_config *s3);

/* Reads exactly len bytes at off of f (f->ops->read). */
enum rc core_storage_file_read(struct core_storage_file *f, uint64_t off, char *dst, size_t len);
/* Closes f (f->ops->close); accepts NULL. */
void core_storage_file_close(struct core_storage_file *f);

/* Tests an S3 config as PocketBase's settings test does: stores
 * pb_settings_test_<random>/test.txt ("test"), then deletes that prefix
 * (so listing and deleting are tried too). On failure err gets "failed to
 * upload a test file: <S3's answer>" (or "... delete ..."). Blocking. */
enum rc core_storage_s3_check(const struct net_s3_config *s3, char *err, size_t cap);

/* Appends the key <collectionId>/<recordId>[/<name>] (name may be NULL) to
 * out. RC_INVALID when a segment is unsafe (core_file_segment_is_safe,
 * core_file_name_is_safe), RC_TOO_LARGE past out's maximum. */
enum rc core_storage_key(struct buf *out, const char *collection_id, struct str id,
                         struct str name);
/* A new file under <data_dir>/tmp/ (made when missing) named
 * <what>-<random>, its path in out (PATH_MAX bytes). RC_IO. */
enum rc core_storage_temp_path(const struct core_storage *st, const char *what, char *out,
                               size_t cap);

#endif
