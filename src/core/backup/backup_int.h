/* backup_int.h -- file-tree helpers core/backup/'s files share (layer: core;
 * nothing outside core/backup/ includes it). All block; paths are at most
 * BACKUP_PATH_BYTES. */
#ifndef TARMAC_CORE_BACKUP_INT_H
#define TARMAC_CORE_BACKUP_INT_H

#include <stdbool.h>

#include "base/rc.h"

#define BACKUP_PATH_BYTES 4096

/* Where a backup is assembled and a restore staged, inside the data
 * directory (so a rename never crosses a filesystem) and never archived. */
#define BACKUP_TMP_DIR ".tarmac_backup_tmp"
#define BACKUP_RESTORE_DIR ".tarmac_restore"
#define BACKUP_LOCAL_DIR "backups"

/* Whether path exists (lstat). */
bool backup_exists(const char *path);
/* rm -rf path (never follows a symbolic link); RC_OK when it is gone. */
enum rc backup_remove_tree(const char *path);
/* Mirrors the tree under src into dst (made when missing): directories are
 * made, regular files hard-linked (copied when the filesystem refuses a
 * link); what is already in dst is kept, and a file removed meanwhile is
 * skipped. A file's bytes are then those of the moment it was linked, as
 * stored files are written once and replaced by new names, never in
 * place. RC_IO. */
enum rc backup_link_tree(const char *src, const char *dst);
/* fsync of a directory (its entries: renames, links, unlinks); RC_IO. */
enum rc backup_sync_dir(const char *dir);
/* snprintf into a BACKUP_PATH_BYTES buffer; false when it does not fit. */
bool backup_path(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
