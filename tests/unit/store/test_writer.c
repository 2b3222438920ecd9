/* test_writer.c -- the writer thread: group commit, per-job rollback,
 * durability of acknowledged jobs (read back through a second connection). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "store/sqlite.h"
#include "store/writer.h"

static char db_path[256];

static int setup(void **state)
{
    (void)state;
    snprintf(db_path, sizeof(db_path), "/tmp/tarmac-test-writer-%d.db", (int)getpid());
    unlink(db_path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[300];
    unlink(db_path);
    snprintf(p, sizeof(p), "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", db_path);
    unlink(p);
    return 0;
}

static enum rc create_table(struct store_sqlite *db, void *ctx)
{
    (void)ctx;
    return store_sqlite_exec(
        db, "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
}

struct insert {
    int id;
    const char *value; /* NULL violates NOT NULL */
    enum rc result;
    uv_mutex_t *lock;
    int *done_count;
};

static enum rc insert_row(struct store_sqlite *db, void *ctx)
{
    struct insert *in = ctx;
    sqlite3_stmt *st;
    enum rc rc = store_sqlite_prepare(db, STR_LIT("INSERT INTO t (id, v) VALUES (?1, ?2)"), &st);
    if (rc)
        return rc;
    sqlite3_bind_int(st, 1, in->id);
    if (in->value)
        sqlite3_bind_text(st, 2, in->value, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    int s = sqlite3_step(st);
    store_sqlite_done(st);
    return s == SQLITE_DONE ? RC_OK : store_sqlite_rc(s);
}

static void insert_done(enum rc rc, void *ctx)
{
    struct insert *in = ctx;
    uv_mutex_lock(in->lock);
    in->result = rc;
    (*in->done_count)++;
    uv_mutex_unlock(in->lock);
}

static int count_rows(const char *where)
{
    struct store_sqlite *rd;
    assert_int_equal(store_sqlite_open(db_path, STORE_SQLITE_READ, &rd), RC_OK);
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM t %s", where);
    sqlite3_stmt *st;
    assert_int_equal(store_sqlite_prepare(rd, str_from_cstr(sql), &st), RC_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    store_sqlite_done(st);
    store_sqlite_close(rd);
    return n;
}

static void test_writer_commits_every_queued_job(void **state)
{
    (void)state;
    struct store_writer *w;
    assert_int_equal(store_writer_start(db_path, &w), RC_OK);
    assert_int_equal(store_writer_run(w, create_table, NULL), RC_OK);
    enum { N = 2000 };
    static struct insert jobs[N];
    uv_mutex_t lock;
    uv_mutex_init(&lock);
    int done = 0;
    for (int i = 0; i < N; i++) {
        jobs[i] = (struct insert){.id = i + 1, .value = "x", .lock = &lock, .done_count = &done};
        store_writer_submit(w, NULL, insert_row, insert_done, &jobs[i]);
    }
    store_writer_stop(w); /* runs what is queued first */
    assert_int_equal(done, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(jobs[i].result, RC_OK);
    assert_int_equal(count_rows(""), N);
    uv_mutex_destroy(&lock);
}

static void test_writer_failing_job_rolls_back_only_itself(void **state)
{
    (void)state;
    struct store_writer *w;
    assert_int_equal(store_writer_start(db_path, &w), RC_OK);
    assert_int_equal(store_writer_run(w, create_table, NULL), RC_OK);
    uv_mutex_t lock;
    uv_mutex_init(&lock);
    int done = 0;
    struct insert a = {.id = 1, .value = "a", .lock = &lock, .done_count = &done};
    struct insert bad = {.id = 2, .value = NULL, .lock = &lock, .done_count = &done};
    struct insert dup = {.id = 1, .value = "dup", .lock = &lock, .done_count = &done};
    struct insert c = {.id = 3, .value = "c", .lock = &lock, .done_count = &done};
    store_writer_submit(w, NULL, insert_row, insert_done, &a);
    store_writer_submit(w, NULL, insert_row, insert_done, &bad);
    store_writer_submit(w, NULL, insert_row, insert_done, &dup);
    store_writer_submit(w, NULL, insert_row, insert_done, &c);
    store_writer_stop(w);
    assert_int_equal(done, 4);
    assert_int_equal(a.result, RC_OK);
    assert_int_equal(bad.result, RC_CONFLICT);
    assert_int_equal(dup.result, RC_CONFLICT);
    assert_int_equal(c.result, RC_OK);
    assert_int_equal(count_rows(""), 2);
    assert_int_equal(count_rows("WHERE id = 1 AND v = 'a'"), 1);
    uv_mutex_destroy(&lock);
}

static void test_sqlite_cache_returns_the_same_statement(void **state)
{
    (void)state;
    struct store_sqlite *db;
    assert_int_equal(store_sqlite_open(db_path, STORE_SQLITE_WRITE, &db), RC_OK);
    sqlite3_stmt *a, *b;
    assert_int_equal(store_sqlite_prepare(db, STR_LIT("SELECT 1"), &a), RC_OK);
    store_sqlite_done(a);
    assert_int_equal(store_sqlite_prepare(db, STR_LIT("SELECT 1"), &b), RC_OK);
    assert_ptr_equal(a, b);
    /* Enough distinct statements to make the cache grow several times. */
    for (int i = 0; i < 300; i++) {
        char sql[32];
        snprintf(sql, sizeof(sql), "SELECT %d", i);
        sqlite3_stmt *s;
        assert_int_equal(store_sqlite_prepare(db, str_from_cstr(sql), &s), RC_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(s, 0), i);
        store_sqlite_done(s);
    }
    assert_int_equal(store_sqlite_prepare(db, STR_LIT("SELECT 1"), &b), RC_OK);
    assert_ptr_equal(a, b);
    sqlite3_stmt *bad;
    assert_int_equal(store_sqlite_prepare(db, STR_LIT("SELEKT nonsense"), &bad), RC_INVALID);
    store_sqlite_close(db);
}

static void test_read_connection_refuses_writes(void **state)
{
    (void)state;
    struct store_writer *w;
    assert_int_equal(store_writer_start(db_path, &w), RC_OK);
    assert_int_equal(store_writer_run(w, create_table, NULL), RC_OK);
    store_writer_stop(w);
    struct store_sqlite *rd;
    assert_int_equal(store_sqlite_open(db_path, STORE_SQLITE_READ, &rd), RC_OK);
    assert_int_not_equal(store_sqlite_exec(rd, "INSERT INTO t (id, v) VALUES (9, 'x')"), RC_OK);
    store_sqlite_close(rd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writer_commits_every_queued_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_failing_job_rolls_back_only_itself, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_cache_returns_the_same_statement, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_read_connection_refuses_writes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
