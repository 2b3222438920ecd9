/* test_pg_bucket.c -- which table a PostgreSQL statement's writes are
 * counted under (store_table_version): the plain INSERT/UPDATE/DELETE of one
 * named table, quoted or not, is that table's; anything else, and any text
 * that does not parse as a plain name, is -1 (counted against every table). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "store/pg_int.h"

static int named(const char *name)
{
    return store_pg_name_bucket(name, strlen(name));
}

static void test_plain_writes_name_their_table(void **state)
{
    (void)state;
    int users = named("users");
    assert_true(users >= 0 && users < 256);
    assert_int_equal(store_pg_table_bucket("INSERT INTO \"users\" (id) VALUES ($1)"), users);
    assert_int_equal(store_pg_table_bucket("UPDATE \"users\" SET a = $1"), users);
    assert_int_equal(store_pg_table_bucket("DELETE FROM \"users\" WHERE id = $1"), users);
    /* unquoted names fold to lower case, as PostgreSQL folds them */
    assert_int_equal(store_pg_table_bucket("UPDATE Users SET a = 1"), users);
    assert_int_equal(store_pg_table_bucket("INSERT INTO _jobs (id) VALUES ($1)"), named("_jobs"));
    /* a quoted name keeps its case and its doubled quotes are one */
    assert_int_equal(store_pg_table_bucket("UPDATE \"Users\" SET a = 1"), named("Users"));
    assert_int_equal(store_pg_table_bucket("DELETE FROM \"a\"\"b\""), named("a\"b"));
}

static void test_anything_else_is_not_known(void **state)
{
    (void)state;
    static const char *const others[] = {
        "SELECT 1",
        "WITH x AS (DELETE FROM users RETURNING id) SELECT * FROM x",
        "INSERT INTO public.users (id) VALUES (1)",         /* schema-qualified */
        "INSERT INTO \"public\".\"users\" (id) VALUES (1)", /* the same, quoted */
        "UPDATE \"users SET a = 1",                         /* unterminated quote */
        "UPDATE \"\" SET a = 1",                            /* empty name */
        "DELETE FROM (x)",                                  /* no name */
        "INSERT INTO",                                      /* nothing after */
        "insert into users (id) values (1)",                /* not our spelling */
        "CREATE TABLE users (id text)",
        "",
    };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        assert_int_equal(store_pg_table_bucket(others[i]), -1);
    /* a name longer than any table's is not guessed at */
    char sql[512] = "UPDATE ";
    memset(sql + 7, 'a', 300);
    strcpy(sql + 307, " SET a = 1");
    assert_int_equal(store_pg_table_bucket(sql), -1);
    sql[7] = '"';
    sql[306] = '"';
    assert_int_equal(store_pg_table_bucket(sql), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_writes_name_their_table),
        cmocka_unit_test(test_anything_else_is_not_known),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
