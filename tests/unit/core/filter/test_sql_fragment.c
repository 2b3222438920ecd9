/* test_sql_fragment.c -- core_sql_fragment_bind (sqlgen.h): each parameter
 * kind lands at base + i + 1, with its type, through the store interface. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

#include "core/filter/sqlgen.h"

static void test_binds_each_kind_after_base(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "/tmp/tarmac-test-fragment-%d.db", (int)getpid());
    unlink(path);
    struct store_conn *db;
    assert_int_equal(store_open(path, STORE_OPEN_WRITE, &db), RC_OK);
    struct core_sql_param params[] = {
        {.type = CORE_SQL_TEXT, .text = STR_LIT("x\0y")}, /* text may hold NUL bytes */
        {.type = CORE_SQL_INT, .i = -5},
        {.type = CORE_SQL_DOUBLE, .d = 2.5},
        {.type = CORE_SQL_NULL},
    };
    struct core_sql_fragment f = {.params = params, .param_count = 4};
    struct store_stmt *st;
    assert_int_equal(store_prepare(db,
                                   STR_LIT("SELECT ?1, length(CAST(?2 AS BLOB)), typeof(?3), ?3, "
                                           "typeof(?4), ?4, typeof(?5)"),
                                   &st),
                     RC_OK);
    assert_int_equal(store_bind_text(st, 1, STR_LIT("first")), RC_OK);
    assert_int_equal(core_sql_fragment_bind(st, &f, 1), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    assert_string_equal(store_column_text(st, 0).ptr, "first"); /* untouched */
    assert_int_equal(store_column_int64(st, 1), 3);
    assert_string_equal(store_column_text(st, 2).ptr, "integer");
    assert_int_equal(store_column_int64(st, 3), -5);
    assert_string_equal(store_column_text(st, 4).ptr, "real");
    assert_true(store_column_double(st, 5) == 2.5);
    assert_string_equal(store_column_text(st, 6).ptr, "null");
    store_done(st);

    struct core_sql_fragment none = {0};
    assert_int_equal(store_prepare(db, STR_LIT("SELECT 1"), &st), RC_OK);
    assert_int_equal(core_sql_fragment_bind(st, &none, 0), RC_OK); /* nothing to bind */
    store_done(st);
    store_close(db);
    unlink(path);
    char p[300];
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binds_each_kind_after_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
