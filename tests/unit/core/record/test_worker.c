/* test_worker.c -- core/record/worker.h: the read transaction a worker keeps
 * over one loop iteration (one snapshot for every read of the iteration,
 * begun once, ended so the next iteration sees later commits). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "db_file.h"

#include <stdio.h>
#include <unistd.h>

#include "core/record/worker.h"

static int setup(void **state)
{
    (void)state;
    db_file_init("worker");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    db_file_remove();
    return 0;
}

static int64_t count_rows(struct store_conn *db)
{
    struct store_stmt *st;
    assert_int_equal(store_prepare(db, STR_LIT("SELECT COUNT(*) FROM t"), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    int64_t n = store_column_int64(st, 0);
    store_done(st);
    return n;
}

static void test_read_transaction_spans_an_iteration(void **state)
{
    (void)state;
    struct store_conn *w;
    assert_int_equal(store_open(db_path, STORE_OPEN_WRITE, &w), RC_OK);
    assert_int_equal(store_exec(w, "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)"), RC_OK);
    struct core_worker cw = {0};
    assert_int_equal(store_open(db_path, STORE_OPEN_READ, &cw.db), RC_OK);

    core_worker_begin_read(&cw);
    assert_true(cw.in_read_tx);
    core_worker_begin_read(&cw); /* once per iteration: a second call is a no-op */
    assert_true(cw.in_read_tx);
    assert_int_equal(count_rows(cw.db), 1);
    assert_int_equal(store_exec(w, "INSERT INTO t VALUES (2)"), RC_OK);
    assert_int_equal(count_rows(cw.db), 1); /* the iteration's snapshot */
    core_worker_end_read(&cw);
    assert_false(cw.in_read_tx);
    core_worker_end_read(&cw);              /* nothing open: a no-op */
    assert_int_equal(count_rows(cw.db), 2); /* the next iteration sees the commit */

    store_close(cw.db);
    store_close(w);
}

static void test_worker_without_connection_reads_nothing(void **state)
{
    (void)state;
    struct core_worker cw = {0}; /* its database did not open */
    core_worker_begin_read(&cw);
    assert_false(cw.in_read_tx);
    core_worker_end_read(&cw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_transaction_spans_an_iteration, setup, teardown),
        cmocka_unit_test(test_worker_without_connection_reads_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
