/* migrate.c -- `tarmac migrate create|up|down|snapshot|history` (core/migrate.h). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/str.h"
#include "core/app.h"
#include "core/migrate.h"

#define SNAPSHOT_NAME "collections_snapshot"

static void print_usage(FILE *to)
{
    fprintf(to,
            "Usage:\n"
            "  tarmac migrate create NAME      a new migration file with empty up/down\n"
            "  tarmac migrate up [N]           apply the first N pending migrations (default all)\n"
            "  tarmac migrate down [N]         revert the last N applied (default 1)\n"
            "  tarmac migrate snapshot [NAME]  a migration that imports the current collections\n"
            "  tarmac migrate history          list applied and pending migrations (or: status)\n"
            "Flags:\n");
}

/* The command's words and its --flags apart: a flag without "=" takes the
 * next argument as its value (every flag here has one). */
static void split_args(int argc, char **argv, const char **pos, int *npos, int maxpos, char **flags,
                       int *nflags, bool *has_extra)
{
    *npos = *nflags = 0;
    *has_extra = false;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (arg[0] == '-' && arg[1]) {
            flags[(*nflags)++] = argv[a];
            if (strncmp(arg, "--", 2) == 0 && !strchr(arg, '=') && a + 1 < argc)
                flags[(*nflags)++] = argv[++a];
        } else if (*npos < maxpos) {
            pos[(*npos)++] = arg;
        } else {
            *has_extra = true;
        }
    }
}

static bool parse_count(const char *s, size_t *out)
{
    uint64_t v;
    if (!str_to_u64(str_from_cstr(s), &v) || v == 0 || v > 1000000)
        return false;
    *out = (size_t)v;
    return true;
}

static void report(const char *file, bool is_up, void *ctx)
{
    (void)ctx;
    printf("%s %s\n", is_up ? "Applied" : "Reverted", file);
    fflush(stdout);
}

static int run(struct core_app *app, const char *dir, bool is_up, size_t n)
{
    char err[1536];
    size_t done = 0;
    enum rc rc = is_up ? core_migrate_up(app, dir, n, report, NULL, &done, err, sizeof(err))
                       : core_migrate_down(app, dir, n, report, NULL, &done, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "tarmac migrate: %s\n", err);
        if (done)
            fprintf(stderr, "tarmac migrate: the %zu before it stay %s\n", done,
                    is_up ? "applied" : "reverted");
        return CLI_EXIT_FAILURE;
    }
    if (done)
        printf("%s %zu migration%s.\n", is_up ? "Applied" : "Reverted", done, done == 1 ? "" : "s");
    else
        printf("%s\n", is_up ? "No pending migrations." : "No applied migrations to revert.");
    return CLI_EXIT_OK;
}

static int history(struct core_app *app, const char *dir)
{
    struct core_migrate_list l;
    char err[512];
    if (core_migrate_list(app, dir, &l, err, sizeof(err))) {
        fprintf(stderr, "tarmac migrate: %s\n", err);
        return CLI_EXIT_FAILURE;
    }
    size_t pending = 0;
    for (size_t i = 0; i < l.count; i++) {
        const struct core_migration *m = &l.items[i];
        if (m->is_applied) {
            time_t t = (time_t)(m->applied_us / 1000000);
            struct tm tm;
            char when[32];
            gmtime_r(&t, &tm);
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
            printf("applied  %s  %s%s\n", when, m->file, m->is_on_disk ? "" : "  (file missing)");
        } else {
            pending++;
            printf("pending  %-20s  %s\n", "", m->file);
        }
    }
    printf("%zu applied, %zu pending (%s)\n", l.count - pending, pending, dir);
    core_migrate_list_cleanup(&l);
    return CLI_EXIT_OK;
}

int cli_migrate(int argc, char **argv)
{
    const char *dir = "./tarmac_data", *db = "";
    const char *migrations_dir = "";
    const struct cli_flag flags[] = {
        {"dir", CLI_FLAG_STRING, &dir, "DIR", "data directory (default ./tarmac_data)"},
        {"db", CLI_FLAG_STRING, &db, "URL",
         "the database: empty = SQLite in the data directory (default); a PostgreSQL URL "
         "(postgresql://user:pass@host:5432/app?sslmode=require) = PostgreSQL 15+"},
        {"migrations-dir", CLI_FLAG_STRING, &migrations_dir, "DIR",
         "the migration files (default DIR/../tarmac_migrations)"},
    };
    const int nflags = (int)(sizeof(flags) / sizeof(flags[0]));
    const char *pos[2] = {NULL, NULL};
    char *fargs[64];
    int npos, nfargs;
    bool has_extra;
    if (argc > 64) {
        fprintf(stderr, "tarmac migrate: too many arguments\n");
        return CLI_EXIT_USAGE;
    }
    split_args(argc, argv, pos, &npos, 2, fargs, &nfargs, &has_extra);
    bool wants_help = false;
    int code = cli_parse_flags("migrate", flags, nflags, nfargs, fargs, &wants_help);
    if (code)
        return code;
    if (wants_help) {
        print_usage(stdout);
        cli_print_flags(flags, nflags);
        return CLI_EXIT_OK;
    }
    const char *sub = npos ? pos[0] : "";
    const char *arg = npos > 1 ? pos[1] : NULL;
    bool is_up = strcmp(sub, "up") == 0, is_down = strcmp(sub, "down") == 0;
    bool is_create = strcmp(sub, "create") == 0, is_snapshot = strcmp(sub, "snapshot") == 0;
    bool is_history = strcmp(sub, "history") == 0 || strcmp(sub, "status") == 0;
    if (has_extra || !(is_up || is_down || is_create || is_snapshot || is_history) ||
        (is_create && !arg) || (is_history && arg)) {
        if (npos && !(is_up || is_down || is_create || is_snapshot || is_history))
            fprintf(stderr, "tarmac migrate: unknown subcommand \"%s\"\n", sub);
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    size_t n = 0;
    if ((is_up || is_down) && arg && !parse_count(arg, &n)) {
        fprintf(stderr, "tarmac migrate: N must be a positive integer, not \"%s\"\n", arg);
        return CLI_EXIT_USAGE;
    }
    const char *name = is_snapshot && !arg ? SNAPSHOT_NAME : arg;
    if ((is_create || is_snapshot) && !core_migrate_name_is_valid(name)) {
        fprintf(stderr,
                "tarmac migrate: invalid name \"%s\": use lower-case letters, digits and _ "
                "(at most %d)\n",
                name, CORE_MIGRATE_NAME_MAX);
        return CLI_EXIT_USAGE;
    }
    char mdir[4096];
    if (migrations_dir[0])
        snprintf(mdir, sizeof(mdir), "%s", migrations_dir);
    else
        snprintf(mdir, sizeof(mdir), "%s/../tarmac_migrations", dir);
    char path[4200], err[1024];
    if (is_create) {
        if (core_migrate_create(mdir, name, path, sizeof(path), err, sizeof(err))) {
            fprintf(stderr, "tarmac migrate: %s\n", err);
            return CLI_EXIT_FAILURE;
        }
        printf("Created %s\n", path);
        return CLI_EXIT_OK;
    }
    /* A server would keep serving its own schema snapshot: up and down
     * only run on a data directory no server holds (or in serve itself,
     * --automigrate). */
    if ((is_up || is_down) && core_app_lock_dir(dir) != RC_OK) {
        fprintf(stderr,
                "tarmac migrate: the data directory \"%s\" is in use by a tarmac serve: stop it, "
                "or start it with --automigrate\n",
                dir);
        return CLI_EXIT_FAILURE;
    }
    struct core_app *app;
    if (core_app_open(dir, db, &app) != RC_OK) {
        fprintf(stderr, "tarmac migrate: cannot open the data directory \"%s\"\n", dir);
        return CLI_EXIT_FAILURE;
    }
    if (is_snapshot) {
        code = CLI_EXIT_OK;
        if (core_migrate_snapshot(app, mdir, name, path, sizeof(path), err, sizeof(err))) {
            fprintf(stderr, "tarmac migrate: %s\n", err);
            code = CLI_EXIT_FAILURE;
        } else {
            printf("Created %s (%zu collections)\n", path, core_app_schema(app)->count);
        }
    } else if (is_history) {
        code = history(app, mdir);
    } else {
        code = run(app, mdir, is_up, n);
    }
    core_app_close(app);
    return code;
}
