/* files.h -- uploaded files: intake, storage, removal (layer: core; spec §8).
 *
 * A record's files live under the key prefix <collectionId>/<recordId>/ of
 * the storage in use (storage.h: <dataDir>/storage/ or an S3 bucket), each
 * under its stored name (file_name.h), thumbnails under thumbs_<name>/. The
 * flow of a create or update with uploads:
 *   1. core_files_intake() on the loop: for each uploaded part aimed at a file
 *      field, checks maxSize and the sniffed MIME type against mimeTypes,
 *      picks the stored name and records {key, name} in the body under
 *      CORE_FILES_BODY_KEY, where core_record_input_build() (worker and
 *      writer alike) finds them to resolve the field (f, f+, +f, f-);
 *   2. core_files_keep_used() drops the uploads the resolved values do not
 *      use (a single field keeps the last one, hidden fields are dropped);
 *   3. core_files_write() on the offload pool writes the rest before the DB
 *      write; core_files_remove() undoes it when the write fails;
 *   4. after the commit, core_files_removed() lists what the record no longer
 *      uses and core_files_remove_async() deletes it (and its thumbnails) on
 *      the pool; a deleted record's prefix goes with
 *      core_files_remove_record_async().
 * Keys are built only from names that pass core_file_name_is_safe() and
 * ids that pass core_file_segment_is_safe(). */
#ifndef TARMAC_CORE_FILES_H
#define TARMAC_CORE_FILES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"
#include "core/files/storage.h"
#include "core/schema/collection.h"
#include "core/problem.h"

struct net_offload;

/* The body key carrying the uploads to core_record_input_build(): an array
 * of {"key": "<form name with modifiers>", "name": "<stored name>"}. A client
 * cannot set it: core_files_strip() removes it from every decoded body. */
#define CORE_FILES_BODY_KEY "@tarmac.uploads"
/* maxSize of a file field when 0 (spec §1.7). */
#define CORE_FILES_DEFAULT_MAX_SIZE (5 << 20)

/* One uploaded part. All slices borrowed (the request's body and arena). */
struct core_upload {
    struct str key;      /* the form name: "f", "f+" or "+f" */
    struct str filename; /* the client's name */
    struct str data;     /* the bytes */
};

/* One file to write: its stored name and bytes (borrowed). */
struct core_file_item {
    char name[160];
    struct str data;
    const char *mime; /* sniffed (static): the object's Content-Type on S3 */
    bool is_written;
};

/* The files of one record input. Owns items and prefix; data is borrowed. */
struct core_file_set {
    struct core_file_item *items;
    size_t count;
    struct core_storage storage; /* where they go, set by core_files_set_target */
    char *prefix;                /* <collectionId>/<recordId>/, set likewise */
};

/* Removes CORE_FILES_BODY_KEY from a client's body. */
void core_files_strip(json_t *body);
/* Validates the uploads aimed at c's file fields (others are ignored, as
 * unknown keys are), names them and adds them to body (see above) and to
 * set. Field errors (validation_file_size_limit, validation_invalid_mime_type)
 * go to p; returns RC_INVALID when there is one. */
enum rc core_files_intake(const struct core_collection *c, const struct core_upload *uploads,
                          size_t count, json_t *body, struct core_file_set *set,
                          struct core_problem *p);
/* Keeps in set only the names present in the file fields of values (the
 * resolved record). */
void core_files_keep_used(struct core_file_set *set, const struct core_collection *c,
                          json_t *values);
/* Aims set at record id of collection c in storage st (copied; the storage
 * in use when the write was prepared is the one it goes to, and the one a
 * failed write is undone in). RC_INVALID when an id cannot be a key segment. */
enum rc core_files_set_target(struct core_file_set *set, const struct core_storage *st,
                              const struct core_collection *c, const char *id);
/* Stores every item under set->prefix. Blocking: offload pool only. On
 * failure removes what it stored and returns RC_IO (a disk error, an S3
 * error answer) or RC_UNAVAILABLE (S3 unreachable or failing). */
enum rc core_files_write(struct core_file_set *set);
/* Removes the written items (a failed DB write). Blocking: offload pool only. */
void core_files_remove(struct core_file_set *set);
/* Frees what set owns; accepts an empty set. */
void core_files_set_cleanup(struct core_file_set *set);

/* Every file name in c's file fields of record (a JSON array, new). */
json_t *core_files_names(const struct core_collection *c, json_t *record);
/* The names in before that after lacks (a JSON array, new); after may be NULL. */
json_t *core_files_removed(const struct core_collection *c, json_t *before, json_t *after);
/* The removals below run on the pool, fire and forget, in storage st (the
 * one in use now; copied). A failure is logged and leaves the files. */
/* Deletes names (and their thumbnails) of record id; takes no ownership
 * (names is copied). */
void core_files_remove_async(struct net_offload *o, const struct core_storage *st,
                             const struct core_collection *c, const char *id, json_t *names);
/* Deletes everything under record id's prefix. */
void core_files_remove_record_async(struct net_offload *o, const struct core_storage *st,
                                    const struct core_collection *c, const char *id);
/* Deletes, in one job, files of many records of collection collection_id:
 * pairs is [[recordId, [name, ...]], ...] and is taken (released by this
 * call). */
void core_files_remove_many_async(struct net_offload *o, const struct core_storage *st,
                                  const char *collection_id, json_t *pairs);
/* Deletes every file of collection collection_id (everything under its
 * prefix): after the collection was deleted or truncated. */
void core_files_remove_collection_async(struct net_offload *o, const struct core_storage *st,
                                        const char *collection_id);
/* True when c has a file field. */
bool core_files_has_field(const struct core_collection *c);

#endif
