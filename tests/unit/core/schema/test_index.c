/* test_index.c -- unit tests of core/index.h: the CREATE INDEX subset a
 * superuser may write (quoting styles, UNIQUE, IF NOT EXISTS, COLLATE,
 * ASC/DESC, the two WHERE shapes), everything outside it refused with a
 * reason, the column check against a collection, and the statement written
 * back from the parsed parts (never the user's text). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "core/schema/index.h"

static void assert_parses(const char *sql, struct core_index *ix)
{
    const char *why = NULL;
    if (core_index_parse(sql, ix, &why) != RC_OK)
        fail_msg("refused \"%s\": %s", sql, why ? why : "(no reason)");
}

static void assert_refused(const char *sql)
{
    struct core_index ix;
    const char *why = NULL;
    if (core_index_parse(sql, &ix, &why) != RC_INVALID)
        fail_msg("accepted \"%s\"", sql);
    assert_non_null(why);
    assert_true(strncmp(why, "Invalid index", 13) == 0);
}

/* Parses sql and checks the statement written back for table. */
static void assert_formats(const char *sql, const char *table, const char *want)
{
    struct core_index ix;
    assert_parses(sql, &ix);
    struct buf out;
    buf_init(&out, 1024);
    assert_int_equal(core_index_format(&ix, table, &out), RC_OK);
    if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
        fail_msg("\"%s\" wrote \"%.*s\", want \"%s\"", sql, (int)out.len, out.data, want);
    buf_cleanup(&out);
}

static void test_parse_reads_every_part(void **state)
{
    (void)state;
    struct core_index ix;
    assert_parses("create unique index if not exists `idx_a` on [posts] "
                  "(\"title\" COLLATE NOCASE DESC, views asc, slug collate binary) "
                  "WHERE slug != '';",
                  &ix);
    assert_string_equal(ix.name, "idx_a");
    assert_true(ix.is_unique);
    assert_int_equal(ix.column_count, 3);
    assert_string_equal(ix.columns[0].name, "title");
    assert_true(ix.columns[0].is_nocase);
    assert_true(ix.columns[0].is_desc);
    assert_string_equal(ix.columns[1].name, "views");
    assert_false(ix.columns[1].is_nocase);
    assert_false(ix.columns[1].is_desc);
    assert_false(ix.columns[2].is_nocase);
    assert_string_equal(ix.where_column, "slug");
}

static void test_parse_accepts_the_where_shapes(void **state)
{
    (void)state;
    struct core_index ix;
    assert_parses("CREATE INDEX i ON t (a) WHERE a <> ''", &ix);
    assert_string_equal(ix.where_column, "a");
    assert_parses("CREATE INDEX i ON t (a) WHERE a != \"\"", &ix);
    assert_string_equal(ix.where_column, "a");
    assert_parses("CREATE INDEX i ON t (a) WHERE b IS NOT NULL", &ix);
    assert_string_equal(ix.where_column, "b");
    assert_parses("CREATE INDEX i ON t (a)", &ix);
    assert_string_equal(ix.where_column, "");
    assert_false(ix.is_unique);
}

static void test_parse_refuses_everything_else(void **state)
{
    (void)state;
    assert_refused("");
    assert_refused("DROP TABLE users");
    assert_refused("CREATE TABLE t (a)");
    assert_refused("CREATE INDEX ON t (a)");      /* no name */
    assert_refused("CREATE INDEX i t (a)");       /* no ON */
    assert_refused("CREATE INDEX i ON t a");      /* no parentheses */
    assert_refused("CREATE INDEX i ON t ()");     /* no column */
    assert_refused("CREATE INDEX i ON t (a,)");   /* trailing comma */
    assert_refused("CREATE INDEX i ON t (a");     /* unclosed */
    assert_refused("CREATE INDEX i ON t (`a)");   /* unclosed quote */
    assert_refused("CREATE INDEX i ON t (\"a`)"); /* mismatched quotes */
    assert_refused("CREATE INDEX i ON t (a COLLATE RTRIM)");
    assert_refused("CREATE INDEX i ON t (lower(a))"); /* expressions */
    assert_refused("CREATE INDEX i ON t (a-b)");      /* names are \w+ */
    assert_refused("CREATE INDEX IF EXISTS i ON t (a)");
    assert_refused("CREATE INDEX i ON t (a) WHERE a = 1");
    assert_refused("CREATE INDEX i ON t (a) WHERE a != 'x'");
    assert_refused("CREATE INDEX i ON t (a) WHERE a IS NULL");
    assert_refused("CREATE INDEX i ON t (a) WHERE");
    assert_refused("CREATE INDEX i ON t (a); DROP TABLE t");
    assert_refused("CREATE INDEX i ON t (a) -- comment");
    assert_refused("CREATEINDEX i ON t (a)");
    assert_refused("CREATE INDEXi ON t (a)");
}

static void test_parse_limits_columns_and_name_length(void **state)
{
    (void)state;
    char sql[2048] = "CREATE INDEX i ON t (c0";
    for (int i = 1; i < CORE_INDEX_MAX_COLUMNS; i++)
        snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), ", c%d", i);
    char ok[sizeof(sql) + 16];
    snprintf(ok, sizeof(ok), "%s)", sql);
    struct core_index ix;
    assert_parses(ok, &ix);
    assert_int_equal(ix.column_count, CORE_INDEX_MAX_COLUMNS);
    char over[sizeof(sql) + 16];
    snprintf(over, sizeof(over), "%s, extra)", sql);
    assert_refused(over);

    char name[160] = "CREATE INDEX ";
    size_t n = strlen(name);
    memset(name + n, 'x', 101);
    snprintf(name + n + 101, sizeof(name) - n - 101, " ON t (a)");
    assert_refused(name); /* names are at most 100 characters */
}

static void test_check_needs_known_columns(void **state)
{
    (void)state;
    struct core_field fields[] = {{.name = "id"}, {.name = "title"}, {.name = "slug"}};
    struct core_collection c = {.name = "posts", .fields = fields, .field_count = 3};
    struct core_index ix;
    const char *why = NULL;
    assert_parses("CREATE INDEX i ON posts (title, slug) WHERE slug != ''", &ix);
    assert_int_equal(core_index_check(&ix, &c, &why), RC_OK);
    assert_parses("CREATE INDEX i ON posts (title, nope)", &ix);
    assert_int_equal(core_index_check(&ix, &c, &why), RC_INVALID);
    assert_string_equal(why, "Invalid index: unknown column.");
    assert_parses("CREATE INDEX i ON posts (title) WHERE nope IS NOT NULL", &ix);
    assert_int_equal(core_index_check(&ix, &c, &why), RC_INVALID);
    assert_string_equal(why, "Invalid index: unknown column in WHERE.");
}

static void test_format_writes_from_the_parts(void **state)
{
    (void)state;
    /* The table in the text is ignored: the collection's own table is used;
     * IF NOT EXISTS, ASC, BINARY and the trailing ';' are not carried over;
     * IS NOT NULL is written as != '' (fields are never NULL). */
    assert_formats("create unique index if not exists `idx` on [other] (title collate nocase desc, "
                   "views asc) where slug is not null;",
                   "posts",
                   "CREATE UNIQUE INDEX \"idx\" ON \"posts\" (\"title\" COLLATE NOCASE DESC, "
                   "\"views\") WHERE \"slug\" != ''");
    assert_formats("CREATE INDEX i ON t (a COLLATE BINARY)", "t",
                   "CREATE INDEX \"i\" ON \"t\" (\"a\")");
}

static void test_is_unique_on(void **state)
{
    (void)state;
    struct core_index ix;
    assert_parses("CREATE UNIQUE INDEX i ON t (email)", &ix);
    assert_true(core_index_is_unique_on(&ix, "email"));
    assert_false(core_index_is_unique_on(&ix, "name"));
    assert_parses("CREATE UNIQUE INDEX i ON t (email, name)", &ix);
    assert_false(core_index_is_unique_on(&ix, "email"));
    assert_parses("CREATE INDEX i ON t (email)", &ix);
    assert_false(core_index_is_unique_on(&ix, "email"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_reads_every_part),
        cmocka_unit_test(test_parse_accepts_the_where_shapes),
        cmocka_unit_test(test_parse_refuses_everything_else),
        cmocka_unit_test(test_parse_limits_columns_and_name_length),
        cmocka_unit_test(test_check_needs_known_columns),
        cmocka_unit_test(test_format_writes_from_the_parts),
        cmocka_unit_test(test_is_unique_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
