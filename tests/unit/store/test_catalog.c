/* test_catalog.c -- the catalog of store.h (tables, columns and their
 * classes, the row key set past copied rows) on an SQLite file and on the
 * PostgreSQL database named by TARMAC_TEST_PG (skipped without it), and
 * store_probe / store_target_shown: which of a malformed URL, no server and
 * a refused login, the password never in what they write. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "db_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sql.h"
#include "store/store.h"

static void run(struct store_conn *db, const char *sql)
{
    assert_int_equal(store_exec(db, sql), RC_OK);
}

static int64_t one_int(struct store_conn *db, const char *sql)
{
    struct store_stmt *st;
    assert_int_equal(store_prepare(db, str_from_cstr(sql), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    int64_t v = store_column_int64(st, 0);
    store_done(st);
    return v;
}

/* The checks over db, a write connection to a database without t_cat*. */
static void catalog(struct store_conn *db)
{
    run(db, "DROP TABLE IF EXISTS t_cat_b; DROP TABLE IF EXISTS t_cat_a; "
            "DROP VIEW IF EXISTS t_cat_view");
    run(db, "CREATE TABLE t_cat_b (id TEXT PRIMARY KEY NOT NULL, \"Mixed\" INTEGER, big BIGINT, "
            "flag BOOLEAN, small SMALLINT, n NUMERIC, d DOUBLE PRECISION, r REAL, j JSON, "
            "note TEXT" STORE_ROW_KEY ")");
    run(db, "CREATE TABLE t_cat_a (x TEXT" STORE_ROW_KEY ")");
    run(db, "CREATE VIEW t_cat_view AS SELECT id FROM t_cat_b");

    char **names;
    size_t n;
    assert_int_equal(store_tables(db, &names, &n), RC_OK);
    size_t a = n, b = n;
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(names[i], "t_cat_view"); /* tables only */
        assert_true(strncmp(names[i], "sqlite_", 7) != 0);
        if (strcmp(names[i], "t_cat_a") == 0)
            a = i;
        if (strcmp(names[i], "t_cat_b") == 0)
            b = i;
    }
    assert_true(a < n && b < n && a < b); /* sorted by name */
    store_names_free(names, n);

    struct store_column_info *cols;
    assert_int_equal(store_table_columns(db, STR_LIT("t_cat_b"), &cols, &n), RC_OK);
    static const struct {
        const char *name;
        enum store_type type;
    } want[] = {
        {"id", STORE_TYPE_TEXT},   {"Mixed", STORE_TYPE_INT}, {"big", STORE_TYPE_INT},
        {"flag", STORE_TYPE_INT},  {"small", STORE_TYPE_INT}, {"n", STORE_TYPE_FLOAT},
        {"d", STORE_TYPE_FLOAT},   {"r", STORE_TYPE_FLOAT},   {"j", STORE_TYPE_TEXT},
        {"note", STORE_TYPE_TEXT}, {"rowid", STORE_TYPE_INT},
    };
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        const struct store_column_info *found = NULL;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(cols[i].name, want[k].name) == 0)
                found = &cols[i];
        }
        assert_non_null(found);
        assert_int_equal(found->type, want[k].type);
    }
    store_columns_free(cols, n);
    assert_int_equal(store_table_columns(db, STR_LIT("t_cat_none"), &cols, &n), RC_OK);
    assert_int_equal(n, 0);
    store_columns_free(cols, n);

    /* Rows written with their row keys: the next insert follows the largest. */
    run(db, "INSERT INTO t_cat_a (rowid, x) VALUES (5, 'five'), (9, 'nine')");
    assert_int_equal(store_row_key_follow(db, STR_LIT("t_cat_a")), RC_OK);
    run(db, "INSERT INTO t_cat_a (x) VALUES ('next')");
    assert_int_equal(one_int(db, "SELECT rowid FROM t_cat_a WHERE x = 'next'"), 10);
    /* an emptied table starts again (SQLite: past the largest there is) */
    run(db, "DELETE FROM t_cat_a");
    assert_int_equal(store_row_key_follow(db, STR_LIT("t_cat_a")), RC_OK);
    run(db, "INSERT INTO t_cat_a (x) VALUES ('first')");
    assert_int_equal(one_int(db, "SELECT rowid FROM t_cat_a"), 1);

    run(db, "DROP VIEW t_cat_view; DROP TABLE t_cat_b; DROP TABLE t_cat_a");
}

static void sqlite_catalog(void **state)
{
    (void)state;
    db_file_init("catalog");
    struct store_conn *db;
    assert_int_equal(store_open(db_path, STORE_OPEN_WRITE, &db), RC_OK);
    assert_int_equal(store_conn_dialect(db), STORE_DIALECT_SQLITE);
    assert_true(store_has_views(db));
    /* an AUTOINCREMENT table makes sqlite_sequence, which is SQLite's own */
    run(db, "CREATE TABLE t_auto (k INTEGER PRIMARY KEY AUTOINCREMENT); "
            "INSERT INTO t_auto DEFAULT VALUES");
    catalog(db);
    store_close(db);
    db_file_remove();
}

static void pg_catalog(void **state)
{
    (void)state;
    const char *url = getenv("TARMAC_TEST_PG");
    if (!url || !*url) {
        print_message("TARMAC_TEST_PG unset: the PostgreSQL checks are skipped\n");
        skip();
    }
    struct store_conn *db;
    assert_int_equal(store_open(url, STORE_OPEN_WRITE, &db), RC_OK);
    assert_int_equal(store_conn_dialect(db), STORE_DIALECT_POSTGRES);
    assert_true(store_has_views(db));
    catalog(db);
    store_close(db);
    char why[512];
    assert_int_equal(store_probe(url, why, sizeof(why)), STORE_REACH_OK);
    assert_string_equal(why, "");
    /* a role the server does not know: a refused login */
    char bad[1024];
    snprintf(bad, sizeof(bad), "%s&user=no_such_role&password=s3cret-pw", url);
    assert_int_equal(store_probe(bad, why, sizeof(why)), STORE_REACH_REFUSED);
    assert_non_null(strstr(why, "no_such_role"));
    assert_null(strstr(why, "s3cret"));
}

static void probe_without_server(void **state)
{
    (void)state;
    char why[512];
    assert_int_equal(store_probe("/tmp/some.db", why, sizeof(why)), STORE_REACH_OK);
    /* libpq quotes a malformed percent-escape whole: masked */
    assert_int_equal(store_probe("postgresql://app:pw%zzsecret@127.0.0.1:1/app", why, sizeof(why)),
                     STORE_REACH_BAD_TARGET);
    assert_non_null(strstr(why, "percent"));
    assert_null(strstr(why, "secret"));
    assert_int_equal(
        store_probe("postgresql://app@127.0.0.1:1/app?sslmode=sometimes&password=pw%7Ax", why,
                    sizeof(why)),
        STORE_REACH_BAD_TARGET);
    assert_non_null(strstr(why, "sslmode"));
    assert_int_equal(store_probe("postgresql://app:s3cret-pw@127.0.0.1:1/app?connect_timeout=5",
                                 why, sizeof(why)),
                     STORE_REACH_UNREACHABLE);
    assert_non_null(strstr(why, "refused"));
    assert_null(strstr(why, "s3cret"));
    assert_int_equal(store_probe("postgresql:///app?host=/nonexistent-dir", why, sizeof(why)),
                     STORE_REACH_UNREACHABLE);
    /* a message shorter than the mask's room is cut, never overrun */
    char tiny[8];
    assert_int_equal(store_probe("postgresql://a:b%zz@h/x", tiny, sizeof(tiny)),
                     STORE_REACH_BAD_TARGET);
    assert_true(strlen(tiny) < sizeof(tiny));
}

static void target_shown(void **state)
{
    (void)state;
    char out[256];
    store_target_shown("postgresql://app:s3cret@db.example:5432/app?sslmode=require", out,
                       sizeof(out));
    assert_string_equal(out, "postgresql://app:***@db.example:5432/app?sslmode=require");
    store_target_shown("postgres:///app?host=/run/postgresql&password=s3cret&user=app", out,
                       sizeof(out));
    assert_string_equal(out, "postgres:///app?host=/run/postgresql&password=***&user=app");
    store_target_shown("postgresql://a:p1@h/x?password=p2", out, sizeof(out));
    assert_string_equal(out, "postgresql://a:***@h/x?password=***");
    store_target_shown("postgresql://app@h/x", out, sizeof(out));
    assert_string_equal(out, "postgresql://app@h/x");
    store_target_shown("/data/data.db", out, sizeof(out));
    assert_string_equal(out, "/data/data.db");
    char small[12];
    store_target_shown("postgresql://app:s3cret@h/x", small, sizeof(small));
    assert_string_equal(small, "postgresql:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sqlite_catalog),
        cmocka_unit_test(pg_catalog),
        cmocka_unit_test(probe_without_server),
        cmocka_unit_test(target_shown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
