/* archive.h -- backup archives: a directory tree in a zip and back (layer:
 * core, core/backup/; the only file that calls libzip).
 *
 * Writing zips a tree of regular files and directories under their relative
 * names ("data.db", "storage/", "storage/<collection>/<record>/<file>"),
 * compressed with deflate. Reading extracts only the entries a caller
 * allows (by their first path segment), refusing names that could leave
 * the destination (absolute, "..", backslashes, empty segments) and
 * archives larger, once extracted, than the free space of the destination's
 * filesystem. libzip checks each entry's CRC as it is read, so a damaged
 * archive fails here, before anything is replaced. Every extracted file is
 * written to a new name (O_EXCL) and fsynced.
 *
 * Blocking (a large archive takes minutes): a backup thread only. */
#ifndef TARMAC_CORE_BACKUP_ARCHIVE_H
#define TARMAC_CORE_BACKUP_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/rc.h"

/* Writes every regular file and directory under root to a new zip at
 * zip_path (replaced if present). Symbolic links and other special files are
 * skipped. RC_IO with the reason in err. */
enum rc core_archive_write(const char *zip_path, const char *root, char *err, size_t cap);

/* Whether the file at path starts as a zip archive does (a local file
 * header, or the end record of an empty archive). */
bool core_archive_looks_like_zip(const void *head, size_t len);

/* Extracts the entries of zip_path whose first path segment is one of
 * allowed (NULL-terminated) into dest (an existing, empty directory); other
 * entries are skipped. RC_INVALID (not a zip, damaged, an unsafe name, too
 * large for the disk) or RC_IO, with the reason in err. */
enum rc core_archive_extract(const char *zip_path, const char *dest, const char *const *allowed,
                             char *err, size_t cap);

#endif
