/* test_view_query.c -- the select list and FROM clause of a view query read
 * from its text (core/schema/view_query.h): count/total/CAST items as
 * PocketBase reads them, wildcards, plain references with their
 * qualifiers, aliases of the FROM tables; strings, quoted names, comments
 * and parentheses never end an item. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/schema/view_query.h"

static bool str_is(struct str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static long items_of(const char *sql, struct core_view_item *items, size_t max)
{
    return core_view_select_items(str_from_cstr(sql), items, max);
}

static void test_counts_totals_and_casts(void **state)
{
    (void)state;
    struct core_view_item it[12];
    long n = items_of("SELECT p.id, count(c.id) AS n, COUNT(*) m, total(x), TOTAL (y) AS t, "
                      "CAST(p.v AS REAL) AS r, cast(a AS Integer) i, CAST(b as TEXT), "
                      "cast(c as decimal(10, 2)) d, cast(1 as int) + 1 AS e, max(z) AS z "
                      "FROM posts p",
                      it, 12);
    assert_int_equal(n, 11);
    assert_int_equal(it[0].kind, CORE_VIEW_ITEM_OTHER);
    assert_int_equal(it[1].kind, CORE_VIEW_ITEM_COUNT);
    assert_int_equal(it[2].kind, CORE_VIEW_ITEM_COUNT);
    assert_int_equal(it[3].kind, CORE_VIEW_ITEM_TOTAL);
    assert_int_equal(it[4].kind, CORE_VIEW_ITEM_TOTAL);
    assert_int_equal(it[5].kind, CORE_VIEW_ITEM_CAST);
    assert_string_equal(it[5].cast_type, "real");
    assert_string_equal(it[6].cast_type, "integer");
    assert_string_equal(it[7].cast_type, "text");
    /* A type of more than one word is no type PocketBase reads. */
    assert_int_equal(it[8].kind, CORE_VIEW_ITEM_CAST);
    assert_string_equal(it[8].cast_type, "");
    /* More than a CAST: an expression. */
    assert_int_equal(it[9].kind, CORE_VIEW_ITEM_OTHER);
    assert_int_equal(it[10].kind, CORE_VIEW_ITEM_OTHER);
}

static void test_plain_references_and_wildcards(void **state)
{
    (void)state;
    struct core_view_item it[10];
    long n = items_of("SELECT DISTINCT id, p.title, \"p\".\"body\" AS b, `x`.[y] z, p.a + 1 AS s, "
                      "*, p.*, 1 AS one, NULL AS nothing FROM posts p",
                      it, 10);
    assert_int_equal(n, 9);
    assert_true(str_is(it[0].qualifier, "") && str_is(it[0].column, "id"));
    assert_true(str_is(it[1].qualifier, "p") && str_is(it[1].column, "title"));
    assert_true(str_is(it[2].qualifier, "p") && str_is(it[2].column, "body"));
    assert_true(str_is(it[3].qualifier, "x") && str_is(it[3].column, "y"));
    assert_true(str_is(it[4].column, ""));
    assert_int_equal(it[5].kind, CORE_VIEW_ITEM_WILDCARD);
    assert_int_equal(it[6].kind, CORE_VIEW_ITEM_WILDCARD);
    assert_true(str_is(it[7].column, "")); /* literals are no column */
    assert_true(str_is(it[8].column, ""));
}

static void test_text_that_looks_like_syntax_is_not(void **state)
{
    (void)state;
    struct core_view_item it[6];
    long n = items_of("WITH a AS (SELECT 1 AS q, 2 AS r) /* SELECT x, y FROM z */\n"
                      "SELECT 'a, b FROM c' AS s, -- , count(\n"
                      "\"weird, name\" AS w, (SELECT count(*) FROM a) AS k, f(1, (2, 3)) AS g "
                      "FROM a UNION SELECT 1, 2, 3, 4",
                      it, 6);
    assert_int_equal(n, 4);
    assert_int_equal(it[0].kind, CORE_VIEW_ITEM_OTHER);
    assert_true(str_is(it[1].column, "weird, name"));
    assert_int_equal(it[2].kind, CORE_VIEW_ITEM_OTHER); /* a subquery, not count(...) */
    /* more items than room: the count is still the whole list's */
    assert_int_equal(items_of("SELECT a, b, c FROM t", it, 1), 3);
}

static void test_no_select_list(void **state)
{
    (void)state;
    struct core_view_item it[2];
    assert_int_equal(items_of("VALUES (1, 2)", it, 2), -1);
    assert_int_equal(items_of("", it, 2), -1);
    assert_int_equal(items_of("SELECT (a FROM t", it, 2), -1);
    assert_int_equal(items_of(") SELECT a", it, 2), -1);
    assert_int_equal(items_of("SELECT 'unterminated", it, 2), 1);
}

static void test_sources_and_their_aliases(void **state)
{
    (void)state;
    struct core_view_source s[8];
    size_t n = core_view_sources(STR_LIT("SELECT a.id FROM posts a LEFT JOIN \"comments\" AS c "
                                         "ON c.post = a.id, main.users u INNER JOIN tags "
                                         "USING (id) CROSS JOIN json_each(a.tags) j, (SELECT 1) "
                                         "s JOIN v1 WHERE a.x = 1 GROUP BY a.id"),
                                 s, 8);
    assert_int_equal(n, 5);
    assert_true(str_is(s[0].name, "posts") && str_is(s[0].alias, "a"));
    assert_true(str_is(s[1].name, "comments") && str_is(s[1].alias, "c"));
    assert_true(str_is(s[2].name, "users") && str_is(s[2].alias, "u"));
    assert_true(str_is(s[3].name, "tags") && str_is(s[3].alias, "tags"));
    assert_true(str_is(s[4].name, "v1") && str_is(s[4].alias, "v1"));
    assert_int_equal(core_view_sources(STR_LIT("SELECT 1 AS id"), s, 8), 0);
    assert_int_equal(core_view_sources(STR_LIT("VALUES (1)"), s, 8), 0);
    /* the first SELECT's FROM, not a CTE's */
    n = core_view_sources(STR_LIT("WITH x AS (SELECT id FROM hidden) SELECT id FROM x"), s, 8);
    assert_int_equal(n, 1);
    assert_true(str_is(s[0].name, "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_totals_and_casts),
        cmocka_unit_test(test_plain_references_and_wildcards),
        cmocka_unit_test(test_text_that_looks_like_syntax_is_not),
        cmocka_unit_test(test_no_select_list),
        cmocka_unit_test(test_sources_and_their_aliases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
