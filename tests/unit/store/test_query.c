/* test_query.c -- store_query_check (store.h) over SQLite: one read-only
 * SELECT passes with its columns' origins and the tables it reads; two
 * statements, writes, PRAGMA, ATTACH, EXPLAIN, load_extension, a syntax
 * error and a read the policy refuses do not, each with its reason;
 * nothing is run. store_view_create makes a view that casts as asked, and
 * refuses one that does not read. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "db_file.h"

#include <string.h>

#include "store/store.h"

static struct store_conn *db;

static int setup(void **state)
{
    (void)state;
    db_file_init("query");
    assert_int_equal(store_open(db_path, STORE_OPEN_WRITE, &db), RC_OK);
    assert_int_equal(store_exec(db, "CREATE TABLE posts (id TEXT PRIMARY KEY, title TEXT, "
                                    "secret TEXT, tags JSON);"
                                    "CREATE TABLE comments (id TEXT PRIMARY KEY, post TEXT);"
                                    "INSERT INTO posts VALUES ('p1', 'one', 's', '[\"a\"]');"
                                    "INSERT INTO comments VALUES ('c1', 'p1'), ('c2', 'p1');"
                                    "CREATE VIEW v1 AS SELECT id, title FROM posts;"),
                     RC_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(db);
    db_file_remove();
    return 0;
}

static enum rc check(const char *sql, struct store_query_info *info)
{
    return store_query_check(db, str_from_cstr(sql), NULL, NULL, info);
}

static void assert_fault(const char *sql, enum store_query_fault fault, const char *detail)
{
    struct store_query_info info;
    assert_int_equal(check(sql, &info), RC_INVALID);
    assert_int_equal(info.fault, fault);
    if (detail)
        assert_string_equal(info.detail, detail);
    store_query_info_cleanup(&info);
}

static int64_t count_posts(void)
{
    struct store_stmt *st;
    assert_int_equal(store_prepare(db, STR_LIT("SELECT COUNT(*) FROM posts"), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    int64_t n = store_column_int64(st, 0);
    store_done(st);
    return n;
}

static void test_select_passes_with_origins_and_tables(void **state)
{
    (void)state;
    struct store_query_info info;
    const char *sql = "SELECT p.id, p.title AS name, count(c.id) AS n, v.title AS vt "
                      "FROM posts p LEFT JOIN comments c ON c.post = p.id "
                      "JOIN v1 v ON v.id = p.id GROUP BY p.id;  -- done\n";
    assert_int_equal(check(sql, &info), RC_OK);
    assert_int_equal(info.fault, STORE_QUERY_OK);
    assert_int_equal(info.count, 4);
    assert_string_equal(info.cols[0].name, "id");
    assert_string_equal(info.cols[0].table, "posts");
    assert_string_equal(info.cols[0].origin, "id");
    assert_string_equal(info.cols[0].decl_type, "TEXT");
    assert_string_equal(info.cols[1].name, "name");
    assert_string_equal(info.cols[1].origin, "title");
    assert_string_equal(info.cols[2].name, "n");
    assert_null(info.cols[2].table); /* an expression */
    assert_null(info.cols[2].origin);
    /* through the view v1: its source */
    assert_string_equal(info.cols[3].table, "posts");
    assert_string_equal(info.cols[3].origin, "title");
    /* the statement without its ';' and trailing comment */
    assert_int_equal(info.sql.len, strlen(sql) - strlen(";  -- done\n"));
    bool reads_posts = false, reads_comments = false, reads_v1 = false;
    for (size_t i = 0; i < info.table_count; i++) {
        reads_posts |= strcmp(info.tables[i], "posts") == 0;
        reads_comments |= strcmp(info.tables[i], "comments") == 0;
        reads_v1 |= strcmp(info.tables[i], "v1") == 0;
    }
    assert_true(reads_posts && reads_comments && reads_v1);
    store_query_info_cleanup(&info);
}

static void test_more_than_one_statement_is_refused(void **state)
{
    (void)state;
    assert_fault("SELECT id FROM posts; SELECT 1", STORE_QUERY_MANY, NULL);
    assert_fault("SELECT id FROM posts; DELETE FROM posts", STORE_QUERY_MANY, NULL);
    assert_fault("SELECT id FROM posts; garbage", STORE_QUERY_MANY, NULL);
    assert_int_equal(count_posts(), 1); /* nothing ran */
    /* blanks, semicolons and comments after it are nothing */
    struct store_query_info info;
    assert_int_equal(check("SELECT id FROM posts ;; /* c */ -- d\n ;", &info), RC_OK);
    store_query_info_cleanup(&info);
}

static void test_anything_but_a_read_only_select_is_refused(void **state)
{
    (void)state;
    assert_fault("DELETE FROM posts", STORE_QUERY_NOT_SELECT, "DELETE");
    assert_fault("UPDATE posts SET title = 'x'", STORE_QUERY_NOT_SELECT, "UPDATE");
    assert_fault("INSERT INTO posts (id) VALUES ('p9') RETURNING id", STORE_QUERY_NOT_SELECT,
                 "INSERT");
    assert_fault("PRAGMA table_info(posts)", STORE_QUERY_NOT_SELECT, "PRAGMA");
    assert_fault("ATTACH '/tmp/x.db' AS x", STORE_QUERY_NOT_SELECT, "ATTACH");
    assert_fault("DROP TABLE posts", STORE_QUERY_NOT_SELECT, NULL);
    assert_fault("CREATE TABLE t (a)", STORE_QUERY_NOT_SELECT, NULL);
    assert_fault("BEGIN", STORE_QUERY_NOT_SELECT, NULL);
    assert_fault("EXPLAIN SELECT 1", STORE_QUERY_NOT_SELECT, "EXPLAIN");
    assert_fault("SELECT load_extension('x')", STORE_QUERY_NOT_SELECT, "load_extension()");
    assert_fault("WITH x AS (SELECT 1) DELETE FROM posts", STORE_QUERY_NOT_SELECT, "DELETE");
    assert_fault("SELEC id FROM posts", STORE_QUERY_SYNTAX, "near \"SELEC\": syntax error");
    assert_fault("SELECT nope FROM posts", STORE_QUERY_SYNTAX, "no such column: nope");
    assert_fault("", STORE_QUERY_EMPTY, NULL);
    assert_fault("  -- only a comment", STORE_QUERY_EMPTY, NULL);
    assert_int_equal(count_posts(), 1);
}

static bool no_secret(void *ctx, const char *table, const char *column)
{
    (void)ctx;
    if (strcmp(table, "json_each") == 0)
        return true;
    return strcmp(table, "posts") == 0 && strcmp(column, "secret") != 0;
}

static void test_the_read_policy_sees_every_read(void **state)
{
    (void)state;
    struct store_query_info info;
    const char *refused[] = {
        "SELECT id, secret FROM posts",
        "SELECT id FROM posts WHERE secret = 'x'",
        "WITH s AS (SELECT secret AS x FROM posts) SELECT x AS id FROM s",
        "SELECT id FROM (SELECT id, secret FROM posts)",
        "SELECT id FROM comments",
        "SELECT name AS id FROM sqlite_master",
        "SELECT cid AS id FROM pragma_table_info('posts')",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_int_equal(store_query_check(db, str_from_cstr(refused[i]), no_secret, NULL, &info),
                         RC_INVALID);
        assert_int_equal(info.fault, STORE_QUERY_READ_DENIED);
        store_query_info_cleanup(&info);
    }
    assert_int_equal(
        store_query_check(db, STR_LIT("SELECT id, secret FROM posts"), no_secret, NULL, &info),
        RC_INVALID);
    assert_string_equal(info.detail, "posts.secret");
    store_query_info_cleanup(&info);
    assert_int_equal(store_query_check(db,
                                       STR_LIT("SELECT p.id, j.value AS tag FROM posts p, "
                                               "json_each(p.tags) j"),
                                       no_secret, NULL, &info),
                     RC_OK);
    store_query_info_cleanup(&info);
}

static void test_view_casts_id_to_text_and_values_to_json(void **state)
{
    (void)state;
    struct store_query_info info;
    assert_int_equal(check("SELECT count(*) AS id, 'plain' AS a, '[1,2]' AS b, 2.5 AS c, "
                           "NULL AS d, title AS e FROM posts",
                           &info),
                     RC_OK);
    enum store_view_cast casts[] = {STORE_VIEW_TEXT, STORE_VIEW_JSON, STORE_VIEW_JSON,
                                    STORE_VIEW_JSON, STORE_VIEW_JSON, STORE_VIEW_AS_IS};
    char why[256];
    assert_int_equal(store_view_create(db, STR_LIT("vc"), &info, casts, why, sizeof(why)), RC_OK);
    store_query_info_cleanup(&info);
    struct store_stmt *st;
    assert_int_equal(
        store_prepare(db, STR_LIT("SELECT typeof(id), id, a, b, c, d, e FROM vc"), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    assert_true(str_eq(store_column_text(st, 0), STR_LIT("text")));
    assert_true(str_eq(store_column_text(st, 1), STR_LIT("1")));
    assert_true(str_eq(store_column_text(st, 2), STR_LIT("\"plain\"")));
    assert_true(str_eq(store_column_text(st, 3), STR_LIT("[1,2]")));
    assert_true(str_eq(store_column_text(st, 4), STR_LIT("2.5")));
    assert_int_equal(store_column_type(st, 5), STORE_TYPE_NULL);
    assert_true(str_eq(store_column_text(st, 6), STR_LIT("one")));
    store_done(st);
    assert_int_equal(store_view_drop(db, STR_LIT("vc")), RC_OK);
    assert_int_equal(store_view_drop(db, STR_LIT("vc")), RC_OK); /* none: fine */
}

static void test_view_that_does_not_read_is_refused(void **state)
{
    (void)state;
    struct store_query_info info;
    assert_int_equal(check("SELECT id FROM v1", &info), RC_OK);
    char why[256];
    assert_int_equal(store_view_create(db, STR_LIT("v2"), &info, NULL, why, sizeof(why)), RC_OK);
    store_query_info_cleanup(&info);
    /* v1 made again over v2: a circle, which CREATE VIEW alone would take */
    assert_int_equal(store_view_drop(db, STR_LIT("v1")), RC_OK);
    assert_int_equal(store_exec(db, "CREATE VIEW v1 AS SELECT id, 'x' AS title FROM posts"), RC_OK);
    assert_int_equal(check("SELECT id FROM v2", &info), RC_OK);
    assert_int_equal(store_exec(db, "DROP VIEW v1"), RC_OK);
    assert_int_equal(store_view_create(db, STR_LIT("v1"), &info, NULL, why, sizeof(why)),
                     RC_INVALID);
    assert_non_null(strstr(why, "circularly defined"));
    store_query_info_cleanup(&info);
    bool has = true;
    assert_int_equal(store_has_object(db, STR_LIT("v1"), &has), RC_OK);
    assert_false(has); /* created, found not to read, dropped again */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_select_passes_with_origins_and_tables),
        cmocka_unit_test(test_more_than_one_statement_is_refused),
        cmocka_unit_test(test_anything_but_a_read_only_select_is_refused),
        cmocka_unit_test(test_the_read_policy_sees_every_read),
        cmocka_unit_test(test_view_casts_id_to_text_and_values_to_json),
        cmocka_unit_test(test_view_that_does_not_read_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
