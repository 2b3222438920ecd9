/* test_sqlite_budget.c -- a read connection's budget (base/budget.h through
 * store_set_budget): a query past it stops with RC_OVER_BUDGET, only
 * the time inside pieces counts, and the connection reads on afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "db_file.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base/chrono.h"
#include "store/sqlite.h"

/* Counts to n in SQL: a long query made of one statement. */
#define COUNT_SQL                                                                                  \
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1) "                \
    "SELECT count(*) FROM c"

static int setup(void **state)
{
    (void)state;
    db_file_init("budget");
    struct store_conn *w;
    assert_int_equal(store_open(db_path, STORE_OPEN_WRITE, &w), RC_OK);
    store_close(w);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    db_file_remove();
    return 0;
}

/* Runs the count to n; returns the step's outcome as enum rc. */
static enum rc count_to(struct store_conn *db, int64_t n, int64_t *got)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db, STR_LIT(COUNT_SQL), &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(store_sqlite_stmt(st), 1, n);
    int step = sqlite3_step(store_sqlite_stmt(st));
    *got = step == SQLITE_ROW ? sqlite3_column_int64(store_sqlite_stmt(st), 0) : -1;
    store_done(st);
    return store_sqlite_rc(step);
}

static void test_query_past_budget_is_interrupted(void **state)
{
    (void)state;
    struct store_conn *db;
    assert_int_equal(store_open(db_path, STORE_OPEN_READ, &db), RC_OK);
    struct budget b;
    budget_init(&b, 20 * 1000000ull); /* 20 ms */
    budget_resume(&b);
    assert_null(store_set_budget(db, &b));
    int64_t got;
    uint64_t t0 = chrono_mono_ns();
    /* Ten billion steps would take minutes. */
    assert_int_equal(count_to(db, 10000000000ll, &got), RC_OVER_BUDGET);
    assert_true(chrono_mono_ns() - t0 < 2000 * 1000000ull);
    assert_true(budget_is_over(&b));
    /* Sticky: the next statement that runs long enough for the handler
     * to look (a few thousand instructions) stops too. */
    assert_int_equal(count_to(db, 100000, &got), RC_OVER_BUDGET);
    /* Without the budget the connection reads as before. */
    assert_ptr_equal(store_set_budget(db, NULL), &b);
    assert_int_equal(count_to(db, 100000, &got), RC_OK);
    assert_int_equal(got, 100000);
    store_close(db);
}

static void test_only_pieces_count(void **state)
{
    (void)state;
    struct budget b;
    budget_init(&b, 30 * 1000000ull);
    budget_resume(&b);
    budget_pause(&b);
    struct timespec ts = {0, 50 * 1000000}; /* a wait between pieces: not charged */
    nanosleep(&ts, NULL);
    assert_false(budget_is_over(&b));
    assert_true(budget_spent_ns(&b) < 30 * 1000000ull);
    budget_resume(&b);
    nanosleep(&ts, NULL); /* inside a piece: charged */
    assert_true(budget_is_over(&b));
    budget_pause(&b);
    assert_true(budget_is_over(&b)); /* sticky */
}

static void test_fresh_piece_is_not_over(void **state)
{
    (void)state;
    /* Read within the clock tick the piece started in (the coarse clock's
     * ticks are milliseconds): nothing is spent yet. */
    for (int i = 0; i < 1000; i++) {
        struct budget b;
        budget_init(&b, 1000000000ull);
        budget_resume(&b);
        assert_true(budget_spent_ns(&b) < 1000000000ull);
        assert_false(budget_is_over(&b));
        budget_pause(&b);
        assert_false(budget_is_over(&b));
    }
}

static void test_no_limit_never_over(void **state)
{
    (void)state;
    struct store_conn *db;
    assert_int_equal(store_open(db_path, STORE_OPEN_READ, &db), RC_OK);
    struct budget b;
    budget_init(&b, 0);
    budget_resume(&b);
    store_set_budget(db, &b);
    int64_t got;
    assert_int_equal(count_to(db, 1000000, &got), RC_OK);
    assert_int_equal(got, 1000000);
    assert_false(budget_is_over(&b));
    store_set_budget(db, NULL);
    store_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_query_past_budget_is_interrupted, setup, teardown),
        cmocka_unit_test(test_only_pieces_count),
        cmocka_unit_test(test_fresh_piece_is_not_over),
        cmocka_unit_test_setup_teardown(test_no_limit_never_over, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
