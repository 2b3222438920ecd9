/* test_pg_query.c -- store_query_check and store_view_create over
 * PostgreSQL (store/pg_query.c), on the cluster at TARMAC_TEST_PG (skipped
 * without it): a SELECT passes with its columns' origins and the tables it
 * reads, outside a transaction and inside one; what is not one read-only
 * SELECT of readable data is refused with its reason; nothing is left
 * behind, and the transaction it ran in goes on. A view casts as asked. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static struct store_conn *db;

static int setup(void **state)
{
    (void)state;
    const char *url = getenv("TARMAC_TEST_PG");
    if (!url || !*url)
        return 0;
    assert_int_equal(store_open(url, STORE_OPEN_WRITE, &db), RC_OK);
    assert_int_equal(store_exec(db, "DROP VIEW IF EXISTS pq_vc, pq_v1;"
                                    "DROP TABLE IF EXISTS pq_posts, pq_comments;"
                                    "CREATE TABLE pq_posts (id TEXT PRIMARY KEY, title TEXT, "
                                    "secret TEXT, n NUMERIC, tags JSON);"
                                    "CREATE TABLE pq_comments (id TEXT PRIMARY KEY, post TEXT);"
                                    "INSERT INTO pq_posts VALUES ('p1', 'one', 's', 2, '[\"a\"]');"
                                    "INSERT INTO pq_comments VALUES ('c1', 'p1'), ('c2', 'p1');"
                                    "CREATE VIEW pq_v1 AS SELECT id, title FROM pq_posts;"),
                     RC_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (db) {
        assert_int_equal(store_exec(db, "DROP VIEW IF EXISTS pq_vc, pq_v1;"
                                        "DROP TABLE IF EXISTS pq_posts, pq_comments;"),
                         RC_OK);
        store_close(db);
    }
    return 0;
}

static void need_pg(void)
{
    if (!db) {
        print_message("TARMAC_TEST_PG unset: the PostgreSQL checks are skipped\n");
        skip();
    }
}

/* The policy of the tests: no column named secret. */
static bool no_secret(void *ctx, const char *table, const char *column)
{
    (void)ctx;
    (void)table;
    return strcmp(column, "secret") != 0;
}

static enum rc check(const char *sql, struct store_query_info *info)
{
    return store_query_check(db, str_from_cstr(sql), no_secret, NULL, info);
}

static void assert_fault(const char *sql, enum store_query_fault fault, const char *detail)
{
    struct store_query_info info;
    assert_int_equal(check(sql, &info), RC_INVALID);
    assert_int_equal(info.fault, fault);
    if (detail && !strstr(info.detail, detail))
        fail_msg("%s: detail \"%s\", not \"%s\"", sql, info.detail, detail);
    store_query_info_cleanup(&info);
}

static int64_t count_of(const char *sql)
{
    struct store_stmt *st;
    assert_int_equal(store_prepare(db, str_from_cstr(sql), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    int64_t n = store_column_int64(st, 0);
    store_done(st);
    return n;
}

static void test_select_passes_with_origins_and_tables(void **state)
{
    (void)state;
    need_pg();
    struct store_query_info info;
    const char *sql = "SELECT p.id, p.title AS name, count(c.id) AS n, v.title AS vt "
                      "FROM pq_posts p LEFT JOIN pq_comments c ON c.post = p.id "
                      "JOIN pq_v1 v ON v.id = p.id GROUP BY p.id, v.title;  \n";
    assert_int_equal(check(sql, &info), RC_OK);
    assert_false(store_in_transaction(db)); /* its own, rolled back */
    assert_int_equal(info.count, 4);
    assert_string_equal(info.cols[0].name, "id");
    assert_string_equal(info.cols[0].table, "pq_posts");
    assert_string_equal(info.cols[0].origin, "id");
    assert_string_equal(info.cols[0].decl_type, "TEXT");
    assert_string_equal(info.cols[1].origin, "title");
    assert_null(info.cols[2].table);                  /* an expression */
    assert_string_equal(info.cols[3].table, "pq_v1"); /* PostgreSQL names the view */
    assert_int_equal(info.sql.len, strlen(sql) - strlen(";  \n"));
    bool posts = false, comments = false, v1 = false;
    for (size_t i = 0; i < info.table_count; i++) {
        posts |= strcmp(info.tables[i], "pq_posts") == 0;
        comments |= strcmp(info.tables[i], "pq_comments") == 0;
        v1 |= strcmp(info.tables[i], "pq_v1") == 0;
    }
    assert_true(posts && comments && v1);
    store_query_info_cleanup(&info);
}

static void test_what_is_not_a_readable_select_is_refused(void **state)
{
    (void)state;
    need_pg();
    assert_fault("SELECT id FROM pq_posts; SELECT 1", STORE_QUERY_MANY, NULL);
    assert_fault("SELECT id FROM pq_posts; -- x\nDELETE FROM pq_posts", STORE_QUERY_MANY, NULL);
    assert_fault("DELETE FROM pq_posts", STORE_QUERY_NOT_SELECT, "DELETE");
    assert_fault("WITH d AS (DELETE FROM pq_posts RETURNING id) SELECT id FROM d",
                 STORE_QUERY_NOT_SELECT, "data-modifying");
    assert_fault("SELECT id INTO pq_x FROM pq_posts", STORE_QUERY_NOT_SELECT, "SELECT INTO");
    assert_fault("SELECT id FROM pq_posts FOR UPDATE", STORE_QUERY_NOT_SELECT, "FOR UPDATE");
    assert_fault("SELECT id, CASE WHEN pg_sleep(1) IS NULL THEN 1 END AS s FROM pq_posts",
                 STORE_QUERY_NOT_SELECT, "pg_sleep");
    assert_fault("SELECT id, nextval(NULL) AS s FROM pq_posts", STORE_QUERY_NOT_SELECT, "nextval");
    assert_fault("SELECT id, current_setting('data_directory') AS s FROM pq_posts",
                 STORE_QUERY_NOT_SELECT, "current_setting");
    assert_fault("SELECT id, secret FROM pq_posts", STORE_QUERY_READ_DENIED, "pq_posts.secret");
    assert_fault("SELECT id, row_to_json(p) AS r FROM pq_posts p", STORE_QUERY_READ_DENIED,
                 "pq_posts.secret");
    assert_fault("SELECT oid::text AS id FROM pg_authid", STORE_QUERY_READ_DENIED,
                 "pg_catalog.pg_authid");
    assert_fault("SELEC id FROM pq_posts", STORE_QUERY_SYNTAX, "syntax error");
    assert_fault("SELECT id FROM nowhere", STORE_QUERY_SYNTAX, "nowhere");
    assert_fault(" ; ", STORE_QUERY_EMPTY, NULL);
    assert_fault("-- only a comment", STORE_QUERY_EMPTY, NULL);
    assert_false(store_in_transaction(db));
    assert_int_equal(count_of("SELECT count(*) FROM pq_posts"), 1); /* nothing ran */
    assert_int_equal(count_of("SELECT count(*) FROM pg_class WHERE relname = 'tarmac_view_check'"),
                     0);
}

static void test_inside_a_transaction_which_goes_on(void **state)
{
    (void)state;
    need_pg();
    assert_int_equal(store_exec(db, "BEGIN"), RC_OK);
    assert_fault("SELECT id FROM nowhere", STORE_QUERY_SYNTAX, NULL);
    assert_fault("SELECT id FROM pq_posts FOR SHARE", STORE_QUERY_NOT_SELECT, NULL);
    struct store_query_info info;
    assert_int_equal(check("SELECT id, title FROM pq_posts", &info), RC_OK);
    store_query_info_cleanup(&info);
    assert_true(store_in_transaction(db));
    assert_int_equal(store_exec(db, "INSERT INTO pq_comments VALUES ('c3', 'p1')"), RC_OK);
    assert_int_equal(store_exec(db, "ROLLBACK"), RC_OK);
    assert_int_equal(count_of("SELECT count(*) FROM pq_comments"), 2);
}

static void test_view_casts_id_to_text_and_values_to_json(void **state)
{
    (void)state;
    need_pg();
    struct store_query_info info;
    assert_int_equal(check("SELECT (row_number() OVER ()) AS id, title, n, tags, title || '!' AS "
                           "shout, '12' AS num, n > 1 AS big FROM pq_posts",
                           &info),
                     RC_OK);
    enum store_view_cast casts[] = {STORE_VIEW_TEXT, STORE_VIEW_AS_IS, STORE_VIEW_JSON,
                                    STORE_VIEW_JSON, STORE_VIEW_JSON,  STORE_VIEW_JSON,
                                    STORE_VIEW_JSON};
    char why[256];
    assert_int_equal(store_view_create(db, STR_LIT("pq_vc"), &info, casts, why, sizeof(why)),
                     RC_OK);
    store_query_info_cleanup(&info);
    assert_false(store_in_transaction(db)); /* committed */
    struct store_stmt *st;
    assert_int_equal(store_prepare(db,
                                   STR_LIT("SELECT id, title, n::text, tags::text, shout::text, "
                                           "num::text, big::text FROM pq_vc"),
                                   &st),
                     RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    assert_true(str_eq(store_column_text(st, 0), STR_LIT("1")));
    assert_true(str_eq(store_column_text(st, 1), STR_LIT("one")));
    assert_true(str_eq(store_column_text(st, 2), STR_LIT("2")));
    assert_true(str_eq(store_column_text(st, 3), STR_LIT("[\"a\"]")));
    assert_true(str_eq(store_column_text(st, 4), STR_LIT("\"one!\"")));
    assert_true(str_eq(store_column_text(st, 5), STR_LIT("12")));
    assert_true(str_eq(store_column_text(st, 6), STR_LIT("1")));
    store_done(st);
    assert_int_equal(store_view_drop(db, STR_LIT("pq_vc")), RC_OK);
    assert_int_equal(store_view_drop(db, STR_LIT("pq_vc")), RC_OK); /* none: fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_passes_with_origins_and_tables),
        cmocka_unit_test(test_what_is_not_a_readable_select_is_refused),
        cmocka_unit_test(test_inside_a_transaction_which_goes_on),
        cmocka_unit_test(test_view_casts_id_to_text_and_values_to_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
