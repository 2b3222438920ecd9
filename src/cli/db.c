/* db.c -- `tarmac db copy --to=URL [--dir=DIR] [--force]`: the SQLite
 * database of a data directory copied into an empty PostgreSQL database
 * (core/db_copy.h), with progress on stderr and every table's row count
 * checked on both sides at the end.
 *
 * The data directory is opened as `serve` opens it (an older one is
 * upgraded first, so the copy has every table this version makes) and
 * locked as `serve` locks it: a server writing meanwhile would leave writes
 * behind. Uploaded files are not in the database; they stay in DIR/storage
 * (or the S3 bucket the settings name, which are copied with the rest), and
 * the copy is served with the same --dir. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/chrono.h"
#include "base/log.h"
#include "core/app.h"
#include "core/db_copy.h"
#include "store/store.h"

static int usage(FILE *to, int code)
{
    fprintf(to, "Usage:\n  tarmac db copy --to=URL [--dir=DIR] [--force]\n"
                "    Copies the SQLite database of DIR (default ./tarmac_data) into the empty\n"
                "    PostgreSQL database at URL (postgresql://user:pass@host:5432/app): every\n"
                "    collection, record, superuser, sign-in state, job and schedule, each table\n"
                "    in one transaction, then checks each table's row count on both sides.\n"
                "    Uploaded files are not copied: they stay in DIR/storage (or the S3 bucket\n"
                "    of the settings); serve the copy with `tarmac serve --dir=DIR --db=URL`.\n"
                "    Stop `tarmac serve` on DIR first.\n"
                "    A target that holds tarmac tables already is refused; --force drops them\n"
                "    first (the tables the copy makes and those the target's _collections\n"
                "    names; other tables are left alone).\n");
    return code;
}

/* The progress line: one line redrawn on a terminal, plain lines otherwise. */
struct progress {
    bool is_tty;
    size_t table_count;
    size_t tables_done;
    uint64_t last_ns; /* when the line was last written */
};

static void on_progress(void *ctx, const struct core_db_copy_table *t, bool is_done)
{
    struct progress *p = ctx;
    uint64_t now = chrono_mono_ns();
    if (is_done)
        p->tables_done++;
    if (p->is_tty) {
        if (!is_done && now - p->last_ns < 100000000ull)
            return; /* 10 redraws a second are enough */
        int width = 24;
        int fill = t->rows > 0 ? (int)(t->copied * width / t->rows) : width;
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r[%zu/%zu] %s  %lld/%lld rows  [%s]\x1b[K",
                p->tables_done + (is_done ? 0 : 1), p->table_count, t->name, (long long)t->copied,
                (long long)t->rows, bar);
    } else {
        if (!is_done && now - p->last_ns < 5000000000ull)
            return; /* a line every 5 s in a long table */
        fprintf(stderr, "%s %s: %lld/%lld rows\n", is_done ? "copied" : "copying", t->name,
                (long long)t->copied, (long long)t->rows);
    }
    fflush(stderr);
    p->last_ns = now;
}

/* Clears the terminal's progress line. */
static void progress_end(const struct progress *p)
{
    if (p->is_tty) {
        fprintf(stderr, "\r\x1b[K");
        fflush(stderr);
    }
}

static const char *reach_text(enum store_reach r)
{
    static const char *const text[] = {
        [STORE_REACH_OK] = "",
        [STORE_REACH_BAD_TARGET] = "the URL is not a valid PostgreSQL URL",
        [STORE_REACH_UNREACHABLE] = "no PostgreSQL server answers there (down, or a wrong host, "
                                    "port or socket directory)",
        [STORE_REACH_REFUSED] = "the PostgreSQL server refused the login (user, password, "
                                "database name or pg_hba.conf)",
    };
    return text[r];
}

/* The copy itself, once both databases are open. */
static int copy(struct core_app *app, struct store_conn *src, struct store_conn *dst,
                const char *dir, const char *shown, bool force)
{
    struct progress prog = {.is_tty = isatty(STDERR_FILENO) == 1};
    struct core_db_copy c = {.src = src,
                             .dst = dst,
                             .schema = core_app_schema(app),
                             .progress = on_progress,
                             .ctx = &prog};
    uint64_t start = chrono_mono_ns();
    int code = CLI_EXIT_FAILURE;
    if (core_db_copy_plan(&c) != RC_OK) {
        fprintf(stderr, "tarmac db copy: %s\n", c.why);
        goto out;
    }
    if (c.existing_count && !force) {
        fprintf(stderr, "tarmac db copy: the target already holds tarmac tables (");
        for (size_t i = 0; i < c.existing_count && i < 8; i++)
            fprintf(stderr, "%s%s", i ? ", " : "", c.existing[i]);
        fprintf(stderr,
                "%s); nothing was copied. Copy into an empty database, or add --force to drop "
                "those tables first (other tables are left alone).\n",
                c.existing_count > 8 ? ", ..." : "");
        goto out;
    }
    fprintf(stderr, "Copying %s/data.db (SQLite) to %s: %zu tables\n", dir, shown, c.table_count);
    if (c.existing_count)
        fprintf(stderr, "--force: dropping %zu tarmac tables of the target first\n",
                c.existing_count);
    if (core_db_copy_schema(&c, force) != RC_OK) {
        fprintf(stderr, "tarmac db copy: %s; nothing was copied\n", c.why);
        goto out;
    }
    prog.table_count = c.table_count;
    enum rc rc = core_db_copy_rows(&c);
    progress_end(&prog);
    if (rc) {
        fprintf(stderr,
                "tarmac db copy: %s. The target is partly filled: copy again with --force.\n",
                c.why);
        goto out;
    }
    rc = core_db_copy_verify(&c);
    int64_t total = 0;
    printf("%-32s %12s %12s\n", "table", "source rows", "target rows");
    for (size_t i = 0; i < c.table_count; i++) {
        const struct core_db_copy_table *t = &c.tables[i];
        printf("%-32s %12lld %12lld%s\n", t->name, (long long)t->rows, (long long)t->target_rows,
               t->rows == t->target_rows ? "" : "  MISMATCH");
        total += t->rows;
    }
    fflush(stdout);
    if (rc) {
        fprintf(stderr, "tarmac db copy: %s\n", c.why);
        goto out;
    }
    double secs = (double)(chrono_mono_ns() - start) / 1e9;
    printf("Copied %zu tables, %lld rows in %.1f s; every table's row count is the same on both "
           "sides.\n"
           "Uploaded files were not copied: they stay in %s/storage, so serve the copy with the "
           "same data directory:\n"
           "  tarmac serve --dir=%s --db='%s'\n",
           c.table_count, (long long)total, secs, dir, dir, shown);
    code = CLI_EXIT_OK;
out:
    core_db_copy_cleanup(&c);
    return code;
}

static int db_copy(int argc, char **argv)
{
    const char *dir = "./tarmac_data", *to = NULL;
    bool force = false;
    const struct cli_flag flags[] = {
        {"to", CLI_FLAG_STRING, &to, "URL",
         "the PostgreSQL database to copy into (postgresql://user:pass@host:5432/app)"},
        {"dir", CLI_FLAG_STRING, &dir, "DIR", "data directory (default ./tarmac_data)"},
        {"force", CLI_FLAG_BOOL, &force, "BOOL",
         "drop tarmac's tables in the target first (default false)"},
    };
    bool wants_help = false;
    int code = cli_parse_flags("db copy", flags, (int)(sizeof(flags) / sizeof(flags[0])), argc,
                               argv, &wants_help);
    if (code)
        return code;
    if (wants_help) {
        usage(stdout, CLI_EXIT_OK);
        printf("\nFlags:\n");
        cli_print_flags(flags, (int)(sizeof(flags) / sizeof(flags[0])));
        return CLI_EXIT_OK;
    }
    if (!to || !*to) {
        fprintf(stderr, "tarmac db copy: --to=URL is required (the PostgreSQL database)\n");
        return CLI_EXIT_USAGE;
    }
    if (!store_target_is_url(to)) {
        fprintf(stderr, "tarmac db copy: --to must be a postgresql:// or postgres:// URL\n");
        return CLI_EXIT_USAGE;
    }
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof(path), "%s/data.db", dir) >= (int)sizeof(path) ||
        stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr,
                "tarmac db copy: no database in \"%s\" (no data.db there): nothing to copy\n", dir);
        return CLI_EXIT_FAILURE;
    }
    if (core_app_lock_dir(dir) == RC_CONFLICT) {
        fprintf(stderr,
                "tarmac db copy: \"%s\" is being served (another process holds %s/serve.lock): "
                "stop tarmac serve first, so no write is left behind\n",
                dir, dir);
        return CLI_EXIT_FAILURE;
    }
    char shown[1024], why[1024];
    store_target_shown(to, shown, sizeof(shown));
    enum store_reach reach = store_probe(to, why, sizeof(why));
    if (reach != STORE_REACH_OK) {
        fprintf(stderr, "tarmac db copy: cannot connect to %s: %s (%s)\n", shown, reach_text(reach),
                why);
        return CLI_EXIT_FAILURE;
    }
    /* The command's own lines say what happens; the log keeps to problems. */
    log_set_level(LOG_WARN);
    struct core_app *app;
    if (core_app_open(dir, NULL, &app) != RC_OK) {
        fprintf(stderr,
                "tarmac db copy: cannot open the data directory \"%s\" (see the log "
                "above)\n",
                dir);
        return CLI_EXIT_FAILURE;
    }
    struct store_conn *src = NULL, *dst = NULL;
    code = CLI_EXIT_FAILURE;
    if (store_open(app->db_path, STORE_OPEN_READ, &src) != RC_OK)
        fprintf(stderr, "tarmac db copy: cannot read \"%s\" (see the log above)\n", app->db_path);
    else if (store_open(to, STORE_OPEN_WRITE, &dst) != RC_OK)
        fprintf(stderr, "tarmac db copy: cannot open %s (see the log above)\n", shown);
    else
        code = copy(app, src, dst, dir, shown, force);
    store_close(dst);
    store_close(src);
    core_app_close(app);
    return code;
}

int cli_db(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "copy") == 0)
        return db_copy(argc - 2, argv + 2);
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                              strcmp(argv[1], "help") == 0);
    if (!help && argc >= 2)
        fprintf(stderr, "tarmac db: unknown command \"%s\"\n\n", argv[1]);
    return usage(help ? stdout : stderr, help ? CLI_EXIT_OK : CLI_EXIT_USAGE);
}
