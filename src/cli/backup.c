/* backup.c -- `tarmac backup create [NAME] | list | restore NAME`
 * (core/backup/backup.h).
 *
 * create and list may run beside a server on the same directory (the
 * snapshot is online; two backups never run at once, the second is
 * refused). restore needs the server stopped: it takes the directory's lock
 * as serve does, stages and checks the archive, then commits it
 * (core/backup/restore.h). A running server restores through
 * POST /api/backups/{name}/restore instead.
 *
 * The archives are where the server keeps them: the bucket of the stored
 * settings' backups.s3 when it is enabled (read from the database, as the
 * server reads them), else DIR/backups. A directory without a database yet
 * has no settings (local); a database whose settings cannot be read is
 * said on stderr and the local directory is used. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "core/app.h"
#include "core/backup/backup.h"
#include "core/backup/restore.h"
#include "core/settings/settings.h"
#include "store/store.h"

static void print_usage(FILE *to)
{
    fprintf(to, "Usage:\n"
                "  tarmac backup create [NAME]   a backup now (NAME: [a-z0-9_-]+.zip; default\n"
                "                                pb_backup_tarmac_<time>.zip), online\n"
                "  tarmac backup list            the backups\n"
                "  tarmac backup restore NAME    replace the data with a backup (the server\n"
                "                                must be stopped; a running one restores\n"
                "                                with POST /api/backups/NAME/restore)\n"
                "Backups are kept in DIR/backups, or in the bucket of backups.s3 when the\n"
                "settings stored in the database enable it (as the server keeps them).\n"
                "Flags:\n");
}

/* The database: the --db URL, or DIR/data.db. out holds 4096 bytes. */
static void target_of(const char *dir, const char *db, char out[4096])
{
    if (db && *db)
        snprintf(out, 4096, "%s", db);
    else
        snprintf(out, 4096, "%s/data.db", dir);
}

/* Uses the stored settings' backups.s3 when it is enabled, as the server
 * does. RC_OK also when there is no database yet (no settings: local). */
static enum rc use_settings(struct core_backups *b, const char *dir, const char *target)
{
    if (!store_target_is_url(target) && access(target, F_OK) != 0)
        return RC_OK;
    struct store_conn *db;
    json_t *stored = NULL;
    enum rc rc = store_open(target, STORE_OPEN_READ, &db);
    if (!rc) {
        rc = core_settings_load(db, &stored);
        store_close(db);
    }
    if (rc)
        return rc;
    struct core_settings_base base = {.defaults = core_settings_defaults(),
                                      .locked = json_object(),
                                      .batch_timeout_ms = -1,
                                      .data_dir = dir};
    struct core_problem p;
    core_problem_init(&p);
    struct core_settings *s = NULL;
    rc = core_settings_build(&base, stored, &p, &s);
    json_decref(stored);
    if (!rc && s->backups_s3.is_enabled)
        core_backups_use_s3(b, &s->backups_s3.cfg); /* copied */
    core_settings_free(s);
    core_problem_cleanup(&p);
    core_settings_base_cleanup(&base);
    return rc;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct core_backup_entry *)a)->key,
                  ((const struct core_backup_entry *)b)->key);
}

static int do_list(struct core_backups *b)
{
    struct core_backup_entry *all = NULL;
    size_t n = 0;
    char err[700];
    if (core_backups_list(b, &all, &n, err, sizeof(err)) != RC_OK) {
        fprintf(stderr, "tarmac backup: the backups cannot be listed%s%s\n", err[0] ? ": " : "",
                err);
        return CLI_EXIT_FAILURE;
    }
    if (n)
        qsort(all, n, sizeof(*all), by_key);
    for (size_t i = 0; i < n; i++) {
        char when[32];
        chrono_format_db_ms(all[i].mtime_ms, when);
        printf("%-60s %12lld  %s\n", all[i].key, (long long)all[i].size, when);
    }
    if (!n)
        printf("No backups.\n");
    xfree(all);
    return CLI_EXIT_OK;
}

static int do_create(struct core_backups *b, const char *name)
{
    char key[CORE_BACKUP_KEY_MAX + 1];
    if (name) {
        if (!core_backup_name_is_valid(str_from_cstr(name))) {
            fprintf(stderr,
                    "tarmac backup: invalid name \"%s\" (1 to 150 characters of "
                    "a-z, 0-9, _ and -, ending in .zip)\n",
                    name);
            return CLI_EXIT_USAGE;
        }
        snprintf(key, sizeof(key), "%s", name);
    } else {
        core_backup_auto_name(CORE_BACKUP_PREFIX, "tarmac", chrono_real_ms(), key);
    }
    char err[600];
    enum rc rc = core_backups_create(b, key, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "tarmac backup: %s\n", err[0] ? err : rc_text(rc));
        return CLI_EXIT_FAILURE;
    }
    printf("Created backup %s.\n", key);
    return CLI_EXIT_OK;
}

static int do_restore(struct core_backups *b, const char *dir, const char *target, const char *name)
{
    if (core_app_lock_dir(dir) != RC_OK) {
        fprintf(stderr,
                "tarmac backup: the data directory \"%s\" is in use by a tarmac serve: stop it "
                "first, or restore through the API (POST /api/backups/%s/restore)\n",
                dir, name);
        return CLI_EXIT_FAILURE;
    }
    char err[600];
    enum rc rc = core_backups_restore_stage(b, name, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "tarmac backup: %s: %s (nothing was changed)\n", name,
                err[0] ? err : rc_text(rc));
        return CLI_EXIT_FAILURE;
    }
    rc = core_restore_commit(dir, target, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "tarmac backup: %s\n", err[0] ? err : rc_text(rc));
        return CLI_EXIT_FAILURE;
    }
    printf("Restored backup %s.\n", name);
    return CLI_EXIT_OK;
}

int cli_backup(int argc, char **argv)
{
    const char *dir = "./tarmac_data", *db = "", *storage_dir = "";
    const struct cli_flag flags[] = {
        {"dir", CLI_FLAG_STRING, &dir, "DIR", "data directory (default ./tarmac_data)"},
        {"db", CLI_FLAG_STRING, &db, "URL",
         "the database: empty = SQLite in the data directory (default); a PostgreSQL URL "
         "= PostgreSQL (pg_dump and psql must be in PATH)"},
        {"storage-dir", CLI_FLAG_STRING, &storage_dir, "DIR",
         "the uploaded files, as `serve --storage-dir` names them (default DIR/storage)"},
    };
    const int nflags = (int)(sizeof(flags) / sizeof(flags[0]));
    /* Positional arguments first, flags after them. */
    const char *pos[2] = {NULL, NULL};
    int npos = 0, a = 1;
    while (a < argc && strncmp(argv[a], "--", 2) != 0 && strcmp(argv[a], "-h") != 0) {
        if (npos == 2) {
            fprintf(stderr, "tarmac backup: too many arguments\n");
            return CLI_EXIT_USAGE;
        }
        pos[npos++] = argv[a++];
    }
    bool wants_help = false;
    int code = cli_parse_flags("backup", flags, nflags, argc - a, argv + a, &wants_help);
    if (code)
        return code;
    bool is_create = npos >= 1 && strcmp(pos[0], "create") == 0;
    bool is_list = npos == 1 && strcmp(pos[0], "list") == 0;
    bool is_restore = npos == 2 && strcmp(pos[0], "restore") == 0;
    if (wants_help || !(is_create || is_list || is_restore)) {
        print_usage(wants_help ? stdout : stderr);
        fflush(stderr);
        cli_print_flags(flags, nflags);
        return wants_help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    char target[4096], err[600];
    target_of(dir, db, target);
    /* What an interrupted restore left is settled before the data is read. */
    if (!is_list && core_restore_recover(dir, target, err, sizeof(err)) != RC_OK) {
        fprintf(stderr, "tarmac backup: an interrupted restore cannot be finished: %s\n", err);
        return CLI_EXIT_FAILURE;
    }
    struct core_backups *b = core_backups_new(dir, target);
    if (storage_dir[0])
        core_backups_set_storage_dir(b, storage_dir);
    if (use_settings(b, dir, target) != RC_OK)
        fprintf(stderr,
                "tarmac backup: the stored settings cannot be read: the backups in %s/backups "
                "are used (not backups.s3)\n",
                dir);
    if (is_list)
        code = do_list(b);
    else if (is_create)
        code = do_create(b, pos[1]);
    else
        code = do_restore(b, dir, target, pos[1]);
    core_backups_free(b);
    return code;
}
