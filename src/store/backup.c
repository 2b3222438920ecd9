/* backup.c -- see backup.h. */
#include "store/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "store/store.h"

extern char **environ;

/* Pages per backup step and the pause between steps: 256 pages of 4 KiB is
 * 1 MiB, copied in about a millisecond; the pause lets the writer's
 * checkpoints and the workers' reads through, at the price of about two
 * seconds per GiB. */
#define SNAPSHOT_PAGES 256
#define SNAPSHOT_PAUSE_NS 2000000L
/* A step that finds the source locked (a checkpoint) waits and tries again,
 * this many times in a row at most. */
#define SNAPSHOT_BUSY_TRIES 500

const char *store_snapshot_name(const char *target)
{
    return store_target_is_url(target) ? "data.sql" : "data.db";
}

static void pause_ns(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

/* ---- SQLite ---------------------------------------------------------------- */

static enum rc sqlite_snapshot(const char *path, const char *out_path,
                               store_snapshot_pinned_fn *pinned, void *ctx, char *err, size_t cap)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(err, cap, "no database at %s", path);
        return RC_NOT_FOUND;
    }
    sqlite3 *src = NULL, *dst = NULL;
    unlink(out_path);
    enum rc rc = RC_IO;
    int sr = sqlite3_open_v2(path, &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (sr == SQLITE_OK)
        sr = sqlite3_open_v2(
            out_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (sr != SQLITE_OK) {
        snprintf(err, cap, "cannot open: %s", sqlite3_errstr(sr));
        goto out;
    }
    sqlite3_busy_timeout(src, 5000);
    /* The read transaction pins one snapshot for the whole copy: in WAL mode
     * the writer commits beside it, and the backup does not restart (it
     * would, at each step, if every step took a new snapshot). */
    char *msg = NULL;
    if (sqlite3_exec(src, "BEGIN; SELECT count(*) FROM sqlite_schema;", NULL, NULL, &msg) !=
        SQLITE_OK) {
        snprintf(err, cap, "cannot read: %s", msg ? msg : "?");
        sqlite3_free(msg);
        goto out;
    }
    if (pinned)
        pinned(ctx);
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        snprintf(err, cap, "backup: %s", sqlite3_errmsg(dst));
        goto out;
    }
    int busy = 0;
    for (;;) {
        sr = sqlite3_backup_step(b, SNAPSHOT_PAGES);
        if (sr == SQLITE_DONE)
            break;
        if (sr == SQLITE_OK) {
            busy = 0;
            pause_ns(SNAPSHOT_PAUSE_NS);
            continue;
        }
        if ((sr == SQLITE_BUSY || sr == SQLITE_LOCKED) && ++busy < SNAPSHOT_BUSY_TRIES) {
            pause_ns(10 * SNAPSHOT_PAUSE_NS);
            continue;
        }
        break;
    }
    int fin = sqlite3_backup_finish(b);
    if (sr != SQLITE_DONE || fin != SQLITE_OK) {
        snprintf(err, cap, "backup step: %s", sqlite3_errstr(sr != SQLITE_DONE ? sr : fin));
        goto out;
    }
    (void)sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
    /* The copy keeps the source's WAL mode; a rollback journal makes it one
     * self-contained file (no -wal beside it to lose when it is zipped). */
    if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, cap, "journal mode: %s", msg ? msg : "?");
        sqlite3_free(msg);
        goto out;
    }
    rc = RC_OK;
out:
    sqlite3_close_v2(src);
    if (sqlite3_close(dst) != SQLITE_OK && rc == RC_OK) {
        snprintf(err, cap, "cannot close the copy");
        rc = RC_IO;
    }
    if (rc)
        unlink(out_path);
    return rc;
}

static enum rc sqlite_check(const char *path, const char *const *probes, char *err, size_t cap)
{
    sqlite3 *db = NULL;
    enum rc rc = RC_INVALID;
    sqlite3_stmt *st = NULL;
    /* Read-write without CREATE: a read-only open of a WAL file needs its
     * -shm, and the check must not make a file that is not there. */
    int sr = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (sr != SQLITE_OK) {
        snprintf(err, cap, "the database does not open: %s", sqlite3_errstr(sr));
        goto out;
    }
    sr = sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &st, NULL);
    if (sr == SQLITE_OK)
        sr = sqlite3_step(st);
    if (sr != SQLITE_ROW) {
        snprintf(err, cap, "the database is not readable: %s", sqlite3_errmsg(db));
        goto out;
    }
    const char *answer = (const char *)sqlite3_column_text(st, 0);
    if (!answer || strcmp(answer, "ok") != 0) {
        snprintf(err, cap, "the database is damaged: %.200s", answer ? answer : "?");
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    for (size_t i = 0; probes && probes[i]; i++) {
        sr = sqlite3_prepare_v2(db, probes[i], -1, &st, NULL);
        sqlite3_finalize(st);
        st = NULL;
        if (sr != SQLITE_OK) {
            snprintf(err, cap, "not a tarmac database (%s)", sqlite3_errmsg(db));
            goto out;
        }
    }
    rc = RC_OK;
out:
    sqlite3_finalize(st);
    sqlite3_close_v2(db);
    return rc;
}

/* ---- PostgreSQL: pg_dump and psql as child processes ------------------------ */

/* environ plus PG* variables for every parameter of url (libpq names the
 * variable of each: PQconninfoOption.envvar). NULL when url does not parse.
 * Free with free_env. */
static char **pg_env(const char *url, char *err, size_t cap)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &perr);
    if (!opts) {
        snprintf(err, cap, "the database URL does not parse");
        PQfreemem(perr);
        return NULL;
    }
    size_t n = 0, extra = 0;
    while (environ[n])
        n++;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        extra += o->val && o->envvar;
    char **env = xcalloc(n + extra + 1, sizeof(char *));
    size_t k = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !o->envvar)
            continue;
        size_t len = strlen(o->envvar) + strlen(o->val) + 2;
        env[k] = xmalloc(len);
        snprintf(env[k++], len, "%s=%s", o->envvar, o->val);
    }
    for (size_t i = 0; i < n; i++) {
        /* the URL's values win over the inherited ones */
        bool is_set = false;
        const char *eq = strchr(environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        for (size_t j = 0; j < k && !is_set; j++)
            is_set = strncmp(env[j], environ[i], nl) == 0 && env[j][nl] == '=';
        if (!is_set)
            env[k++] = xstrdup(environ[i]);
    }
    PQconninfoFree(opts);
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        xfree(env[i]);
    xfree(env);
}

/* The first line of the file at path that says something (psql and pg_dump
 * write "tool: error: ..."), into err. */
static void first_error_line(const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    char line[512];
    bool found = false;
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strstr(line, "error") || strstr(line, "ERROR") || strstr(line, "FATAL")) {
            snprintf(err, cap, "%s", line);
            found = true;
            break;
        }
    }
    if (f)
        fclose(f);
    if (!found && cap)
        err[0] = '\0';
}

/* Runs argv[0] (found in PATH) with env, stdin from /dev/null, stdout to
 * out_path (or /dev/null), stderr to err_path; waits for it. */
static enum rc run_tool(char *const argv[], char **env, const char *out_path, const char *err_path,
                        char *err, size_t cap)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    if (e) {
        if (e == ENOENT)
            snprintf(err, cap,
                     "%s is not installed (not found in PATH): install postgresql-client "
                     "of the server's major version or newer",
                     argv[0]);
        else
            snprintf(err, cap, "cannot run %s: %s", argv[0], strerror(e));
        return e == ENOENT ? RC_UNAVAILABLE : RC_IO;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return RC_OK;
    first_error_line(err_path, err, cap);
    if (!err[0])
        snprintf(err, cap, "%s failed (exit status %d)", argv[0],
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return RC_IO;
}

/* Whether the database at url has the extensions pg_trgm and unaccent
 * (has[0], has[1]); neither when it cannot be asked (pg_dump then says why). */
static void search_extensions(const char *url, bool has[2])
{
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQstatus(c) == CONNECTION_OK
                      ? PQexec(c, "SELECT extname FROM pg_extension WHERE extname IN "
                                  "('pg_trgm', 'unaccent')")
                      : NULL;
    for (int i = 0; r && PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0);
        has[0] = has[0] || strcmp(name, "pg_trgm") == 0;
        has[1] = has[1] || strcmp(name, "unaccent") == 0;
    }
    PQclear(r);
    PQfinish(c);
}

static enum rc pg_snapshot(const char *url, const char *out_path, store_snapshot_pinned_fn *pinned,
                           void *ctx, char *err, size_t cap)
{
    char **env = pg_env(url, err, cap);
    if (!env)
        return RC_INVALID;
    char errp[4096];
    snprintf(errp, sizeof(errp), "%s.log", out_path);
    /* The extensions of full-text search (store/search.h) live in public
     * too: the restore drops the schema, and without them the dump's text
     * search configurations and indexes would not load. Only those made:
     * pg_dump fails on a name that matches none. */
    char *argv[10] = {"pg_dump", "--no-owner", "--no-privileges", "--schema=public",
                      "--format=plain"};
    int argc = 5;
    bool has[2] = {false, false};
    search_extensions(url, has);
    if (has[0])
        argv[argc++] = "--extension=pg_trgm";
    if (has[1])
        argv[argc++] = "--extension=unaccent";
    argv[argc] = NULL;
    enum rc rc = run_tool(argv, env, out_path, errp, err, cap);
    unlink(errp);
    free_env(env);
    if (rc)
        unlink(out_path);
    else if (pinned)
        pinned(ctx);
    return rc;
}

static enum rc pg_check(const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    char head[256] = {0};
    size_t n = f ? fread(head, 1, sizeof(head) - 1, f) : 0;
    if (f)
        fclose(f);
    if (!n || !strstr(head, "PostgreSQL database dump")) {
        snprintf(err, cap, "data.sql is not a pg_dump text dump");
        return RC_INVALID;
    }
    return RC_OK;
}

enum rc store_snapshot_restore(const char *url, const char *sql_path, const char *marker_sql,
                               char *err, size_t cap)
{
    char **env = pg_env(url, err, cap);
    if (!env)
        return RC_INVALID;
    char errp[4096];
    snprintf(errp, sizeof(errp), "%s.log", sql_path);
    /* -1 wraps every -c and -f in one transaction; ON_ERROR_STOP makes the
     * first error end it, rolled back. The dump makes the schema again.
     * The dump's header SETs (search_path = '', row_security, timeouts...)
     * are session-level and committed with it: RESET ALL at the end leaves
     * the server session as it was, which matters when a pooler in
     * transaction mode hands it to another client (pg.c's SESSION_DEFAULTS
     * protects tarmac's own connections anyway). */
    char *argv[] = {"psql",
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "--single-transaction",
                    "-c",
                    "DROP SCHEMA IF EXISTS public CASCADE",
                    "-f",
                    (char *)sql_path,
                    "-c",
                    marker_sql ? (char *)marker_sql : "SELECT 1",
                    "-c",
                    "RESET ALL",
                    NULL};
    enum rc rc = run_tool(argv, env, NULL, errp, err, cap);
    unlink(errp);
    free_env(env);
    return rc;
}

/* ---- dispatch --------------------------------------------------------------- */

enum rc store_snapshot(const char *target, const char *out_path, store_snapshot_pinned_fn *pinned,
                       void *ctx, char *err, size_t cap)
{
    if (cap)
        err[0] = '\0';
    enum rc rc = store_target_is_url(target)
                     ? pg_snapshot(target, out_path, pinned, ctx, err, cap)
                     : sqlite_snapshot(target, out_path, pinned, ctx, err, cap);
    if (rc)
        log_warn("msg=\"snapshot failed\" rc=%s error=\"%s\"", rc_name(rc), err);
    return rc;
}

enum rc store_snapshot_check(const char *path, const char *const *probes, char *err, size_t cap)
{
    if (cap)
        err[0] = '\0';
    size_t n = strlen(path);
    if (n > 4 && strcmp(path + n - 4, ".sql") == 0)
        return pg_check(path, err, cap);
    return sqlite_check(path, probes, err, cap);
}

/* ---- the shared operation lock ---------------------------------------------- */

/* pg_try_advisory_xact_lock(int, int): "tarm" and "bkup", objsubid 2 in
 * pg_locks. The lock is a transaction's, held by a transaction left open on
 * a connection of its own for the operation's length, and its holder named
 * for that transaction (set_config(..., true)): a pooler in transaction
 * mode (PgBouncer) may hand a session to another client between
 * transactions, never inside one, so nothing of the lock outlives its
 * connection there either (PgBouncer closes a server session whose client
 * left inside a transaction). An idle transaction that ran one SELECT
 * holds no snapshot (READ COMMITTED) and no transaction id: vacuum is not
 * held back. */
#define LOCK_K1 "1952543341"
#define LOCK_K2 "1651209584"
#define APP_PREFIX "tarmac backup "

struct store_backup_lock {
    PGconn *conn;
};

static PGconn *lock_conn(const char *url, char *err, size_t cap)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, cap, "the database is unreachable: %.200s", PQerrorMessage(c));
        char *nl = strchr(err, '\n');
        if (nl)
            *nl = '\0';
        PQfinish(c);
        return NULL;
    }
    return c;
}

enum rc store_backup_lock_try(const char *url, const char *key, struct store_backup_lock **out,
                              char *err, size_t cap)
{
    *out = NULL;
    PGconn *c = lock_conn(url, err, cap);
    if (!c)
        return RC_UNAVAILABLE;
    char name[256];
    snprintf(name, sizeof(name), APP_PREFIX "%s", key);
    const char *params[] = {name};
    PGresult *r = PQexec(c, "BEGIN");
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r);
        r = PQexecParams(c,
                         "SELECT set_config('application_name', $1, true), "
                         "pg_try_advisory_xact_lock(" LOCK_K1 ", " LOCK_K2 ")",
                         1, NULL, params, NULL, NULL, 0);
    }
    enum rc rc = RC_UNAVAILABLE;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        rc = strcmp(PQgetvalue(r, 0, 1), "t") == 0 ? RC_OK : RC_BUSY;
    else
        snprintf(err, cap, "the backup lock cannot be taken: %.200s", PQerrorMessage(c));
    PQclear(r);
    if (rc) {
        PQfinish(c);
        return rc;
    }
    *out = xmalloc(sizeof(**out));
    (*out)->conn = c;
    return RC_OK;
}

void store_backup_lock_release(struct store_backup_lock *l)
{
    if (!l)
        return;
    /* The transaction's end drops its advisory lock (the connection's end
     * would too: a rollback). */
    PQclear(PQexec(l->conn, "ROLLBACK"));
    PQfinish(l->conn);
    xfree(l);
}

enum rc store_backup_lock_holder(const char *url, char *out, size_t cap)
{
    char err[256];
    PGconn *c = lock_conn(url, err, sizeof(err));
    if (!c)
        return RC_UNAVAILABLE;
    PGresult *r = PQexec(c, "SELECT a.application_name FROM pg_locks l "
                            "JOIN pg_stat_activity a ON a.pid = l.pid "
                            "WHERE l.locktype = 'advisory' AND l.granted "
                            "AND l.classid = " LOCK_K1 " AND l.objid = " LOCK_K2
                            " AND l.objsubid = 2 AND l.database = "
                            "(SELECT oid FROM pg_database WHERE datname = current_database())");
    enum rc rc = RC_UNAVAILABLE;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        rc = RC_NOT_FOUND;
        if (PQntuples(r) == 1) {
            const char *name = PQgetvalue(r, 0, 0);
            size_t n = strlen(APP_PREFIX);
            snprintf(out, cap, "%s", strncmp(name, APP_PREFIX, n) == 0 ? name + n : "");
            rc = RC_OK;
        }
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}
