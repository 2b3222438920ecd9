/* test_engines.c -- store.h means the same on each engine: the same checks
 * run over an SQLite file and over the PostgreSQL database named by
 * TARMAC_TEST_PG (tests/run starts a throwaway cluster, tests/lib/
 * pgcluster.sh; without it the PostgreSQL half is skipped, and says so):
 * typed column reads, ?N parameters, NULLs, changes, a unique violation
 * named by column, write and read transactions, commands put off to the
 * next statement (store_exec_later), objects by name, the
 * dialect's date text; and for PostgreSQL alone, a refused connection, a
 * password kept out of the log, sessions the server ended (the writer's
 * too). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "db_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/budget.h"
#include "base/chrono.h"
#include "base/log.h"
#include "store/engine.h"
#include "store/sql.h"
#include "store/store.h"
#include "store/writer.h"

static bool str_is(struct str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static void run(struct store_conn *db, const char *sql)
{
    assert_int_equal(store_exec(db, sql), RC_OK);
}

/* The checks, over db (a write connection to an empty database). */
static void conformance(struct store_conn *db, enum store_dialect d)
{
    run(db, "DROP TABLE IF EXISTS t_items");
    run(db, "CREATE TABLE t_items (id TEXT PRIMARY KEY NOT NULL, n NUMERIC DEFAULT 0 NOT NULL, "
            "f DOUBLE PRECISION, ok BOOLEAN DEFAULT FALSE NOT NULL, note TEXT)");
    run(db, "CREATE UNIQUE INDEX t_items_note ON t_items (note)");
    bool has = false;
    assert_int_equal(store_has_object(db, STR_LIT("T_ITEMS"), &has), RC_OK);
    assert_true(has);
    assert_int_equal(store_has_object(db, STR_LIT("t_items_note"), &has), RC_OK);
    assert_true(has);
    assert_int_equal(store_has_object(db, STR_LIT("nothing_here"), &has), RC_OK);
    assert_false(has);

    /* ?N parameters, in any order and reused, with each bind kind */
    struct store_stmt *st;
    assert_int_equal(store_prepare(db,
                                   STR_LIT("INSERT INTO t_items (id, n, f, ok, note) "
                                           "VALUES (?1, ?2, ?3, ?4, ?5)"),
                                   &st),
                     RC_OK);
    const struct {
        const char *id;
        int64_t n;
        double f;
        int ok;
        const char *note;
    } rows[] = {{"a", 42, 1.5, 1, "first"}, {"b", -7, 0.25, 0, NULL}, {"c", 0, 2, 1, "third"}};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(store_bind_text(st, 1, str_from_cstr(rows[i].id)), RC_OK);
        assert_int_equal(store_bind_int64(st, 2, rows[i].n), RC_OK);
        assert_int_equal(store_bind_double(st, 3, rows[i].f), RC_OK);
        assert_int_equal(store_bind_int64(st, 4, rows[i].ok), RC_OK);
        if (rows[i].note)
            assert_int_equal(store_bind_text_copy(st, 5, str_from_cstr(rows[i].note)), RC_OK);
        else
            assert_int_equal(store_bind_null(st, 5), RC_OK);
        assert_int_equal(store_step(st), RC_NOT_FOUND);
        assert_int_equal(store_changes(db), 1);
        store_reset(st);
    }
    store_done(st);

    /* typed reads, rows in order, NULL read as "", 0 and 0.0 */
    assert_int_equal(store_prepare(db,
                                   STR_LIT("SELECT id, n, f, ok, note, n + 0.5 FROM t_items "
                                           "WHERE n >= ?2 OR id = ?1 ORDER BY id"),
                                   &st),
                     RC_OK);
    store_bind_text(st, 1, STR_LIT("b"));
    store_bind_int64(st, 2, 0);
    assert_int_equal(store_step(st), RC_OK);
    assert_int_equal(store_column_count(st), 6);
    assert_true(str_is(store_column_text(st, 0), "a"));
    assert_int_equal(store_column_type(st, 1), STORE_TYPE_INT);
    assert_int_equal(store_column_int64(st, 1), 42);
    assert_true(str_is(store_column_text(st, 1), "42"));
    assert_int_equal(store_column_type(st, 2), STORE_TYPE_FLOAT);
    assert_true(store_column_double(st, 2) == 1.5);
    assert_int_equal(store_column_type(st, 3), STORE_TYPE_INT);
    assert_int_equal(store_column_int64(st, 3), 1);
    assert_true(str_is(store_column_text(st, 3), "1"));
    assert_true(str_is(store_column_text(st, 4), "first"));
    assert_int_equal(store_column_type(st, 5), STORE_TYPE_FLOAT);
    assert_true(store_column_double(st, 5) == 42.5);
    assert_int_equal(store_step(st), RC_OK);
    assert_true(str_is(store_column_text(st, 0), "b"));
    assert_int_equal(store_column_int64(st, 1), -7);
    assert_int_equal(store_column_int64(st, 3), 0);
    assert_int_equal(store_column_type(st, 4), STORE_TYPE_NULL);
    assert_true(str_is(store_column_text(st, 4), ""));
    assert_int_equal(store_column_int64(st, 4), 0);
    assert_int_equal(store_step(st), RC_OK);
    assert_true(str_is(store_column_text(st, 0), "c"));
    assert_int_equal(store_step(st), RC_NOT_FOUND);
    /* run again with the same bindings */
    store_reset(st);
    assert_int_equal(store_step(st), RC_OK);
    assert_true(str_is(store_column_text(st, 0), "a"));
    store_done(st);

    /* a unique violation: conflict, its column named */
    assert_int_equal(store_prepare(db, STR_LIT("UPDATE t_items SET note = ?1 WHERE id = ?2"), &st),
                     RC_OK);
    store_bind_text(st, 1, STR_LIT("first"));
    store_bind_text(st, 2, STR_LIT("c"));
    assert_int_equal(store_step(st), RC_CONFLICT);
    struct str cols[4];
    assert_int_equal(store_unique_columns(db, cols, 4), 1);
    assert_true(str_is(cols[0], "note"));
    store_done(st);
    /* an UPDATE's changes */
    assert_int_equal(store_prepare(db, STR_LIT("UPDATE t_items SET n = n + 1 WHERE n >= ?1"), &st),
                     RC_OK);
    store_bind_int64(st, 1, 0);
    assert_int_equal(store_step(st), RC_NOT_FOUND);
    assert_int_equal(store_changes(db), 2);
    store_done(st);

    /* a write transaction: rolled back, nothing stays */
    assert_false(store_in_transaction(db));
    assert_int_equal(store_begin_write(db), RC_OK);
    assert_true(store_in_transaction(db));
    run(db, "DELETE FROM t_items");
    run(db, "ROLLBACK");
    assert_false(store_in_transaction(db));
    assert_int_equal(store_prepare(db, STR_LIT("SELECT COUNT(*) FROM t_items"), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    assert_int_equal(store_column_int64(st, 0), 3);
    store_done(st);
    /* a read transaction opens and closes */
    assert_int_equal(store_begin_read(db), RC_OK);
    assert_int_equal(store_prepare(db, STR_LIT("SELECT COUNT(*) FROM t_items"), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    store_done(st);
    store_end_read(db);
    assert_false(store_in_transaction(db));

    /* commands put off to the next statement (store_exec_later): a
     * savepoint taken with an INSERT's round trip, rolled back to by a plain
     * exec; one before an exec goes with it */
    assert_int_equal(store_begin_write(db), RC_OK);
    assert_int_equal(store_exec_later(db, "SAVEPOINT a"), RC_OK);
    assert_int_equal(store_prepare(db, STR_LIT("INSERT INTO t_items (id) VALUES ('later')"), &st),
                     RC_OK);
    assert_int_equal(store_step(st), RC_NOT_FOUND);
    store_done(st);
    assert_int_equal(store_exec_later(db, "SAVEPOINT b"), RC_OK);
    run(db, "ROLLBACK TO b");
    run(db, "ROLLBACK TO a");
    run(db, "COMMIT");
    assert_int_equal(store_prepare(db, STR_LIT("SELECT COUNT(*) FROM t_items"), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    assert_int_equal(store_column_int64(st, 0), 3); /* the INSERT went with the savepoint */
    store_done(st);
    /* a put-off command that fails: the statement after it does not run
     * (SQLite says so at once, PostgreSQL with that statement) */
    assert_int_equal(store_begin_write(db), RC_OK);
    enum rc later_rc = store_exec_later(db, "RELEASE no_such_savepoint");
    assert_int_equal(store_prepare(db, STR_LIT("INSERT INTO t_items (id) VALUES ('never')"), &st),
                     RC_OK);
    enum rc step_rc = later_rc == RC_OK ? store_step(st) : RC_OK;
    store_done(st);
    assert_true(later_rc != RC_OK || (step_rc != RC_OK && step_rc != RC_NOT_FOUND));
    if (later_rc != RC_OK)
        assert_int_equal(step_rc, RC_OK); /* not stepped */
    run(db, "ROLLBACK");
    assert_int_equal(
        store_prepare(db, STR_LIT("SELECT COUNT(*) FROM t_items WHERE id = 'never'"), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    assert_int_equal(store_column_int64(st, 0), 0);
    store_done(st);

    /* SQL that does not prepare */
    assert_int_equal(store_prepare(db, STR_LIT("SELEC nothing"), &st), RC_INVALID);

    /* the dialect's date text of Unix ms, the same on each engine */
    struct buf b;
    buf_init(&b, 1024);
    struct store_sql q;
    store_sql_begin_as(&q, &b, d);
    store_sql_add(&q, "SELECT ");
    store_sql_ms_date(&q, STR_LIT("ms"));
    store_sql_add(&q, " FROM (SELECT ");
    store_sql_param(&q);
    store_sql_add(&q, " + 0 AS \"ms\") AS x");
    assert_int_equal(store_sql_end(&q), RC_OK);
    assert_int_equal(store_prepare(db, buf_str(&b), &st), RC_OK);
    store_bind_int64(st, 1, 1764720305123); /* 2025-12-03 00:05:05.123 UTC */
    assert_int_equal(store_step(st), RC_OK);
    assert_true(str_is(store_column_text(st, 0), "2025-12-03 00:05:05.123Z"));
    store_done(st);
    assert_int_equal(store_prepare(db, buf_str(&b), &st), RC_OK);
    store_bind_int64(st, 1, 0);
    assert_int_equal(store_step(st), RC_OK);
    assert_true(str_is(store_column_text(st, 0), ""));
    store_done(st);
    buf_cleanup(&b);
    run(db, "DROP TABLE t_items");
}

static void sqlite_engine(void **state)
{
    (void)state;
    db_file_init("engines");
    struct store_conn *db;
    assert_int_equal(store_open(db_path, STORE_OPEN_WRITE, &db), RC_OK);
    assert_string_equal(store_engine_name(db), "sqlite");
    assert_true(store_data_version(db) >= 0);
    conformance(db, STORE_DIALECT_SQLITE);
    store_close(db);
    db_file_remove();
}

static void pg_engine(void **state)
{
    (void)state;
    const char *url = getenv("TARMAC_TEST_PG");
    if (!url || !*url) {
        print_message("TARMAC_TEST_PG unset: the PostgreSQL checks are skipped\n");
        skip();
    }
    struct store_conn *db;
    assert_int_equal(store_open(url, STORE_OPEN_WRITE, &db), RC_OK);
    assert_string_equal(store_engine_name(db), "postgresql");
    assert_int_equal(store_dialect_current(), STORE_DIALECT_POSTGRES);
    /* the process's commit count stands in for SQLite's data_version */
    int64_t before = store_data_version(db);
    conformance(db, STORE_DIALECT_POSTGRES);
    assert_true(store_data_version(db) > before);
    /* a worker's connection refuses writes */
    struct store_conn *ro;
    assert_int_equal(store_open(url, STORE_OPEN_READ, &ro), RC_OK);
    assert_int_not_equal(store_exec(ro, "CREATE TABLE t_nope (x INT)"), RC_OK);
    store_close(ro);
    store_close(db);
}

/* The backend pid of db's session. */
static int64_t backend_pid(struct store_conn *db)
{
    struct store_stmt *st;
    assert_int_equal(store_prepare(db, STR_LIT("SELECT pg_backend_pid()"), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    int64_t pid = store_column_int64(st, 0);
    store_done(st);
    return pid;
}

static void terminate(struct store_conn *killer, int64_t pid)
{
    char sql[80];
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)", (long long)pid);
    assert_int_equal(store_exec(killer, sql), RC_OK);
    usleep(50000);
}

/* A terminated backend: the statement that meets it answers unavailable,
 * the next one runs on a new session (its statements prepared again); a
 * transaction it held is lost, and its COMMIT fails until the ROLLBACK. */
static void pg_reconnects(void **state)
{
    (void)state;
    const char *url = getenv("TARMAC_TEST_PG");
    if (!url || !*url)
        skip();
    struct store_conn *db, *killer;
    assert_int_equal(store_open(url, STORE_OPEN_WRITE, &db), RC_OK);
    assert_int_equal(store_open(url, STORE_OPEN_WRITE, &killer), RC_OK);
    int64_t pid = backend_pid(db);
    terminate(killer, pid);
    struct store_stmt *st;
    enum rc rc = store_prepare(db, STR_LIT("SELECT pg_backend_pid()"), &st);
    if (rc == RC_OK) { /* the cached statement: its run meets the dead session */
        assert_int_equal(store_step(st), RC_UNAVAILABLE);
        store_done(st);
    } else {
        assert_int_equal(rc, RC_UNAVAILABLE);
    }
    int64_t pid2 = backend_pid(db);
    assert_true(pid2 != pid);

    assert_int_equal(store_exec(db, "DROP TABLE IF EXISTS t_lost"), RC_OK);
    assert_int_equal(store_exec(db, "CREATE TABLE t_lost (x INT)"), RC_OK);
    assert_int_equal(store_begin_write(db), RC_OK);
    assert_int_equal(store_exec(db, "INSERT INTO t_lost VALUES (1)"), RC_OK);
    terminate(killer, pid2);
    assert_int_equal(store_exec(db, "INSERT INTO t_lost VALUES (2)"), RC_UNAVAILABLE);
    assert_int_equal(store_exec(db, "COMMIT"), RC_UNAVAILABLE);
    assert_true(store_in_transaction(db));
    assert_int_equal(store_exec(db, "ROLLBACK"), RC_OK);
    assert_false(store_in_transaction(db));
    assert_int_equal(store_exec(db, "INSERT INTO t_lost VALUES (3)"), RC_OK);
    assert_int_equal(store_prepare(db, STR_LIT("SELECT count(*), max(x) FROM t_lost"), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    assert_int_equal(store_column_int64(st, 0), 1); /* neither 1 nor 2 survived */
    assert_int_equal(store_column_int64(st, 1), 3);
    store_done(st);
    assert_int_equal(store_exec(db, "DROP TABLE t_lost"), RC_OK);

    /* a worker's read meets a terminated session: it runs again on a new one */
    struct store_conn *ro;
    assert_int_equal(store_open(url, STORE_OPEN_READ, &ro), RC_OK);
    int64_t rpid = backend_pid(ro);
    terminate(killer, rpid);
    assert_true(backend_pid(ro) != rpid);

    /* a statement past the request's budget stops: over budget, in about
     * the budget's time, and the server stops running it */
    struct budget b;
    budget_init(&b, 100 * 1000000ull);
    budget_resume(&b);
    store_set_budget(ro, &b);
    uint64_t t0 = chrono_mono_ns();
    assert_int_equal(store_prepare(ro, STR_LIT("SELECT pg_sleep(5)"), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OVER_BUDGET);
    store_done(st);
    uint64_t took_ms = (chrono_mono_ns() - t0) / 1000000u;
    assert_true(took_ms < 2000);
    assert_true(b.is_over);
    store_set_budget(ro, NULL);
    assert_true(backend_pid(ro) > 0); /* a new session serves the next read */
    store_close(ro);
    store_close(killer);
    store_close(db);
}

static enum rc exec_job(struct store_conn *db, void *ctx)
{
    return store_exec(db, ctx);
}

static enum rc pid_job(struct store_conn *db, void *ctx)
{
    *(int64_t *)ctx = backend_pid(db);
    return RC_OK;
}

/* The writer over a session the server ended, between two writes or under
 * a job: the write answers RC_UNAVAILABLE (a 503: try again), not RC_IO (a
 * 500), none of it is stored, and the next write runs on a new session. */
static void pg_writer_unavailable(void **state)
{
    (void)state;
    const char *url = getenv("TARMAC_TEST_PG");
    if (!url || !*url)
        skip();
    struct store_conn *killer;
    assert_int_equal(store_open(url, STORE_OPEN_WRITE, &killer), RC_OK);
    run(killer, "DROP TABLE IF EXISTS t_writes");
    run(killer, "CREATE TABLE t_writes (x INT)");
    struct store_writer *w;
    assert_int_equal(store_writer_start(url, &w), RC_OK);
    assert_int_equal(store_writer_run(w, exec_job, "INSERT INTO t_writes VALUES (1)"), RC_OK);
    int64_t pid = 0;
    assert_int_equal(store_writer_run(w, pid_job, &pid), RC_OK);
    terminate(killer, pid);
    assert_int_equal(store_writer_run(w, exec_job, "INSERT INTO t_writes VALUES (2)"),
                     RC_UNAVAILABLE);
    assert_int_equal(store_writer_run(w, exec_job, "INSERT INTO t_writes VALUES (3)"), RC_OK);
    assert_int_equal(store_writer_run(w, exec_job,
                                      "INSERT INTO t_writes VALUES (4); "
                                      "SELECT pg_terminate_backend(pg_backend_pid())"),
                     RC_UNAVAILABLE);
    assert_int_equal(store_writer_run(w, exec_job, "INSERT INTO t_writes VALUES (5)"), RC_OK);
    store_writer_stop(w);
    struct store_stmt *st;
    assert_int_equal(store_prepare(killer,
                                   STR_LIT("SELECT string_agg(x::text, ',' ORDER BY x) "
                                           "FROM t_writes"),
                                   &st),
                     RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    assert_true(str_is(store_column_text(st, 0), "1,3,5"));
    store_done(st);
    run(killer, "DROP TABLE t_writes");
    store_close(killer);
}

/* The log lines of a failed connection, for the check below. */
static char logged[8192];
static void capture(const char *text, size_t len, void *ctx)
{
    (void)ctx;
    size_t have = strlen(logged);
    if (have + len < sizeof(logged)) {
        memcpy(logged + have, text, len);
        logged[have + len] = '\0';
    }
}

static void pg_refused_and_password_hidden(void **state)
{
    (void)state;
    log_set_sink(capture, NULL);
    struct store_conn *db = NULL;
    /* nothing listens there: refused, quickly, and the password is not logged */
    assert_int_equal(store_open("postgresql://app:s3cret-pw@127.0.0.1:1/app?connect_timeout=2",
                                STORE_OPEN_READ, &db),
                     RC_IO);
    log_set_sink(NULL, NULL);
    assert_non_null(strstr(logged, "cannot connect to PostgreSQL"));
    assert_non_null(strstr(logged, "app:***@127.0.0.1:1"));
    assert_null(strstr(logged, "s3cret-pw"));
    /* a password= parameter is masked too */
    logged[0] = '\0';
    log_set_sink(capture, NULL);
    assert_int_equal(store_open("postgresql://app@127.0.0.1:1/app?password=pw-in-query&"
                                "connect_timeout=2",
                                STORE_OPEN_READ, &db),
                     RC_IO);
    log_set_sink(NULL, NULL);
    assert_non_null(strstr(logged, "password=***&connect_timeout=2"));
    assert_null(strstr(logged, "pw-in-query"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sqlite_engine),
        cmocka_unit_test(pg_engine),
        cmocka_unit_test(pg_refused_and_password_hidden),
        cmocka_unit_test(pg_reconnects),
        cmocka_unit_test(pg_writer_unavailable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
