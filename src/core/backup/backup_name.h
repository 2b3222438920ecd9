/* backup_name.h -- backup names and which automatic backups to drop (layer:
 * core, core/backup/). Pure functions: no I/O, thread-safe.
 *
 * A backup is a zip in the backups storage, known by its key (its file name).
 * Names a client picks for a new backup follow PocketBase's rule
 * (apis/backup_create.go): 1 to 150 characters matching ^[a-z0-9_-]+\.zip$.
 * Keys the storage may hold are wider (an upload keeps the client's file
 * name, an automatic backup starts with '@'); a key is only required to be
 * one safe path segment. */
#ifndef TARMAC_CORE_BACKUP_NAME_H
#define TARMAC_CORE_BACKUP_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

/* Longest key (bytes). */
#define CORE_BACKUP_KEY_MAX 200
/* PocketBase's prefixes: a backup made by the API without a name, and one
 * made by the backups.cron schedule. */
#define CORE_BACKUP_PREFIX "pb_backup_"
#define CORE_BACKUP_AUTO_PREFIX "@auto_pb_backup_"

/* One backup in the storage. */
struct core_backup_entry {
    char key[CORE_BACKUP_KEY_MAX + 1];
    int64_t size;     /* bytes */
    int64_t mtime_ms; /* unix ms */
};

/* PocketBase's rule for a name given to POST /api/backups. */
bool core_backup_name_is_valid(struct str name);
/* Whether key can name a file of the backups storage: 1 to
 * CORE_BACKUP_KEY_MAX printable ASCII bytes, no '/' or '\\', not starting
 * with '.' (the storage's own temporary files do). */
bool core_backup_key_is_safe(struct str key);
/* PocketBase's inflector.Snakecase over ASCII: words split at anything not a
 * letter or digit, a '_' before an upper-case letter that follows a
 * non-upper-case one, lower case. "myTestDB" -> "my_test_db". At most cap-1
 * bytes are written (NUL-terminated). */
void core_backup_snakecase(const char *s, char *out, size_t cap);
/* A generated key: prefix, the app name in snake case (50 bytes at most),
 * '_', now as YYYYMMDDHHMMSS (UTC), ".zip" -- PocketBase's
 * generateBackupName. out holds CORE_BACKUP_KEY_MAX + 1 bytes. */
void core_backup_auto_name(const char *prefix, const char *app_name, int64_t now_ms,
                           char out[CORE_BACKUP_KEY_MAX + 1]);
/* The automatic backups to delete so that max_keep remain: of the entries
 * whose key starts with CORE_BACKUP_AUTO_PREFIX, newest first (by mtime, then
 * key), those after the first max_keep. Writes their indexes into drop
 * (room for n) and returns how many; 0 when max_keep is 0 (no limit). */
size_t core_backup_retention(const struct core_backup_entry *e, size_t n, int64_t max_keep,
                             size_t *drop);

#endif
