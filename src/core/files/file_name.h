/* file_name.h -- stored names of uploaded files (layer: core; spec §8.1).
 *
 * An upload is stored as <snake_base>_<10 random [a-z0-9]><ext>, built from
 * the client's filename only through an allow-list of characters, so no
 * client name ever reaches a path as given. Downloads and deletions only use
 * names found in a record's file fields, and check them again with
 * core_file_name_is_safe() before building a path. Pure; thread-safe. */
#ifndef TARMAC_CORE_FILE_NAME_H
#define TARMAC_CORE_FILE_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"
#include "base/str.h"

/* Longest stored name: 100 (base) + 1 + 10 (random) + 21 (ext) + 10 (random
 * added to a short base), and the NUL. */
#define CORE_FILE_NAME_MAX 160

/* Writes the stored name for an upload called original (any bytes, NUL
 * included) whose sniffed MIME type is mime (used for the extension when the
 * name has none) into out (CORE_FILE_NAME_MAX bytes, NUL-terminated). Never
 * fails; the result matches [a-z0-9_]+_[a-z0-9]{10}[A-Za-z0-9_.*+=#-]*. */
void core_file_name_make(struct str original, struct str mime, char out[CORE_FILE_NAME_MAX]);
/* The deterministic part of core_file_name_make(), for tests: random is the
 * 10 (or, for a short base, 20) random characters to use. */
void core_file_name_make_with(struct str original, struct str mime, const char *random,
                              char out[CORE_FILE_NAME_MAX]);
/* True when name may be a path segment under the storage directory: 1..255
 * bytes of [A-Za-z0-9_.*+=#-], not starting with '.', so never "." or "..",
 * no '/', no NUL. */
bool core_file_name_is_safe(struct str name);
/* True when seg (a collection or record id) may be a path segment: 1..255
 * bytes, no '/', '\\', NUL or control byte, not starting with '.'. */
bool core_file_segment_is_safe(struct str seg);

#endif
