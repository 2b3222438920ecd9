/* test_store.c -- the engine-neutral interface (store.h) over SQLite, and the
 * SQL builder (sql.h): parameters numbered for you, identifiers quoted, the
 * first error kept; typed column reads; unique violations named by column. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "db_file.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "store/engine.h"
#include "store/sql.h"
#include "store/store.h"

static bool str_is(struct str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static int setup(void **state)
{
    (void)state;
    db_file_init("store");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    db_file_remove();
    return 0;
}

static void test_sql_numbers_parameters_and_quotes_names(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    struct store_sql q;
    store_sql_begin_as(&q, &b, STORE_DIALECT_SQLITE);
    store_sql_add(&q, "SELECT ");
    store_sql_ident2(&q, STR_LIT("t"), STR_LIT("we\"ird"));
    store_sql_add(&q, " FROM ");
    store_sql_ident(&q, STR_LIT("posts"));
    store_sql_add(&q, " WHERE a = ");
    unsigned a = store_sql_param(&q);
    store_sql_add(&q, " OR b = ");
    unsigned p2 = store_sql_param(&q);
    store_sql_add(&q, " OR c = ");
    store_sql_param_at(&q, a);
    store_sql_add(&q, " LIMIT ");
    store_sql_int(&q, -5);
    assert_int_equal(store_sql_end(&q), RC_OK);
    assert_int_equal(a, 1);
    assert_int_equal(p2, 2);
    assert_int_equal(q.params, 2);
    assert_true(str_is(buf_str(&b), "SELECT \"t\".\"we\"\"ird\" FROM \"posts\" WHERE a = ?1 OR "
                                    "b = ?2 OR c = ?1 LIMIT -5"));
    buf_cleanup(&b);
}

/* The JSON path text of each dialect, and what SQLite's json_extract needs
 * no help with: the operand and the unwrapping append the expression as it
 * is (the filter compiler's SQLite text does not depend on them). */
static void test_dialect_json_paths(void **state)
{
    (void)state;
    const struct str keys[] = {STR_LIT("a"), STR_LIT("2"), STR_LIT("null")};
    struct buf b;
    buf_init(&b, 1024);
    assert_int_equal(store_dialect_json_path_as(&b, STORE_DIALECT_SQLITE, keys, 3), RC_OK);
    assert_true(str_is(buf_str(&b), "$.\"a\"[2].\"null\""));
    buf_reset(&b);
    assert_int_equal(store_dialect_json_path_as(&b, STORE_DIALECT_POSTGRES, keys, 3), RC_OK);
    assert_true(str_is(buf_str(&b), "{\"a\",\"2\",\"null\"}"));
    buf_reset(&b);
    assert_int_equal(store_dialect_json_path_as(&b, STORE_DIALECT_SQLITE, keys, 0), RC_OK);
    assert_true(str_is(buf_str(&b), "$"));
    buf_reset(&b);
    assert_int_equal(store_dialect_json_path_as(&b, STORE_DIALECT_POSTGRES, keys, 0), RC_OK);
    assert_true(str_is(buf_str(&b), "{}"));
    buf_reset(&b);
    assert_int_equal(
        store_dialect_json_value_as(&b, STORE_DIALECT_SQLITE, STR_LIT("r.\"m\""), STR_LIT("?1")),
        RC_OK);
    assert_true(str_is(buf_str(&b), "json_extract(r.\"m\", ?1)"));
    buf_reset(&b);
    assert_int_equal(store_dialect_json_operand_as(&b, STORE_DIALECT_SQLITE, STR_LIT("?2"),
                                                   STORE_JSON_OPERAND_TEXT),
                     RC_OK);
    assert_int_equal(
        store_dialect_json_unwrap_as(&b, STORE_DIALECT_SQLITE, STR_LIT(" x"), STORE_JSON_AS_TEXT),
        RC_OK);
    assert_true(str_is(buf_str(&b), "?2 x"));
    buf_reset(&b);
    assert_int_equal(store_dialect_json_operand_as(&b, STORE_DIALECT_POSTGRES, STR_LIT("?2"),
                                                   STORE_JSON_OPERAND_TEXT),
                     RC_OK);
    assert_true(str_is(buf_str(&b), "jsonb_build_array((?2)::text)"));
    buf_reset(&b);
    assert_int_equal(store_dialect_json_text_as(&b, STORE_DIALECT_SQLITE, STR_LIT("tags")), RC_OK);
    assert_int_equal(store_dialect_json_text_as(&b, STORE_DIALECT_POSTGRES, STR_LIT("tags")),
                     RC_OK);
    assert_true(str_is(buf_str(&b), "\"tags\"(\"tags\")::text"));
    buf_cleanup(&b);
}

static void test_sql_keeps_the_first_error(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 16); /* too small for what follows */
    struct store_sql q;
    store_sql_begin(&q, &b);
    store_sql_add(&q, "SELECT 1 FROM ");
    store_sql_ident(&q, STR_LIT("a_long_table_name"));
    size_t len = b.len;
    store_sql_fail(&q, RC_INVALID); /* later errors do not replace the first */
    store_sql_add(&q, "x");
    assert_int_equal(store_sql_end(&q), RC_TOO_LARGE);
    assert_int_equal(b.len, len);
    buf_cleanup(&b);

    buf_init(&b, 1024);
    store_sql_begin(&q, &b);
    store_sql_fail(&q, RC_INVALID);
    store_sql_add(&q, "SELECT 1");
    assert_int_equal(store_sql_end(&q), RC_INVALID);
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);
}

static void test_cursor_reads_typed_columns(void **state)
{
    (void)state;
    struct store_conn *db;
    assert_int_equal(store_open(db_path, STORE_OPEN_WRITE, &db), RC_OK);
    assert_int_equal(store_exec(db, "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, f REAL, "
                                    "s TEXT UNIQUE, z TEXT)"),
                     RC_OK);
    struct store_stmt *st;
    assert_int_equal(store_prepare(db, STR_LIT("INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)"), &st),
                     RC_OK);
    char id[] = "r1";
    assert_int_equal(store_bind_text(st, 1, (struct str){id, 2}), RC_OK);
    assert_int_equal(store_bind_int64(st, 2, 42), RC_OK);
    assert_int_equal(store_bind_double(st, 3, 2.5), RC_OK);
    assert_int_equal(store_bind_text_copy(st, 4, STR_LIT("one")), RC_OK);
    assert_int_equal(store_bind_null(st, 5), RC_OK);
    assert_int_equal(store_step(st), RC_NOT_FOUND); /* done: no row */
    assert_int_equal(store_changes(db), 1);
    store_done(st);

    assert_int_equal(store_prepare(db, STR_LIT("SELECT id, n, f, s, z FROM t WHERE n = ?1"), &st),
                     RC_OK);
    assert_int_equal(store_bind_int64(st, 1, 42), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    assert_int_equal(store_column_count(st), 5);
    assert_int_equal(store_column_type(st, 0), STORE_TYPE_TEXT);
    assert_int_equal(store_column_type(st, 1), STORE_TYPE_INT);
    assert_int_equal(store_column_type(st, 2), STORE_TYPE_FLOAT);
    assert_int_equal(store_column_type(st, 4), STORE_TYPE_NULL);
    assert_true(str_is(store_column_text(st, 0), "r1"));
    assert_int_equal(store_column_int64(st, 1), 42);
    assert_true(store_column_double(st, 2) == 2.5);
    assert_true(str_is(store_column_text(st, 4), "")); /* NULL reads as "" */
    assert_int_equal(store_step(st), RC_NOT_FOUND);
    /* reset keeps the binding: the same row comes again */
    store_reset(st);
    assert_int_equal(store_step(st), RC_OK);
    assert_true(str_is(store_column_text(st, 3), "one"));
    store_done(st);

    /* the cache hands the same statement back for the same text */
    struct store_stmt *again;
    assert_int_equal(
        store_prepare(db, STR_LIT("SELECT id, n, f, s, z FROM t WHERE n = ?1"), &again), RC_OK);
    assert_ptr_equal(again, st);
    store_done(again);

    assert_int_equal(store_prepare(db, STR_LIT("SELEC nothing"), &st), RC_INVALID);
    bool has = false;
    assert_int_equal(store_has_object(db, STR_LIT("T"), &has), RC_OK);
    assert_true(has);
    assert_int_equal(store_has_object(db, STR_LIT("nope"), &has), RC_OK);
    assert_false(has);
    store_close(db);
}

static void test_unique_violation_names_its_columns(void **state)
{
    (void)state;
    struct store_conn *db;
    assert_int_equal(store_open(db_path, STORE_OPEN_WRITE, &db), RC_OK);
    assert_int_equal(store_exec(db, "CREATE TABLE u (id TEXT PRIMARY KEY, a TEXT, b TEXT, c TEXT "
                                    "CHECK (c <> 'bad'));"
                                    "CREATE UNIQUE INDEX u_ab ON u (a, b);"
                                    "INSERT INTO u VALUES ('x', '1', '2', '')"),
                     RC_OK);
    struct store_stmt *st;
    assert_int_equal(store_prepare(db, STR_LIT("INSERT INTO u VALUES (?1, ?2, ?3, ?4)"), &st),
                     RC_OK);
    store_bind_text(st, 1, STR_LIT("y"));
    store_bind_text(st, 2, STR_LIT("1"));
    store_bind_text(st, 3, STR_LIT("2"));
    store_bind_text(st, 4, STR_LIT(""));
    assert_int_equal(store_step(st), RC_CONFLICT);
    struct str cols[4];
    assert_int_equal(store_unique_columns(db, cols, 4), 2);
    assert_true(str_is(cols[0], "a"));
    assert_true(str_is(cols[1], "b"));
    assert_int_equal(store_unique_columns(db, cols, 1), 1); /* max is kept */
    store_done(st);

    store_bind_text(st, 1, STR_LIT("x"));
    store_bind_text(st, 2, STR_LIT("9"));
    store_bind_text(st, 3, STR_LIT("9"));
    store_bind_text(st, 4, STR_LIT(""));
    assert_int_equal(store_step(st), RC_CONFLICT);
    assert_int_equal(store_unique_columns(db, cols, 4), 1);
    assert_true(str_is(cols[0], "id"));
    store_done(st);

    store_bind_text(st, 1, STR_LIT("z"));
    store_bind_text(st, 2, STR_LIT("8"));
    store_bind_text(st, 3, STR_LIT("8"));
    store_bind_text(st, 4, STR_LIT("bad"));
    assert_int_equal(store_step(st), RC_CONFLICT);
    assert_int_equal(store_unique_columns(db, cols, 4), 0); /* a CHECK, not a unique index */
    store_done(st);
    store_close(db);
}

static int64_t count_rows(struct store_conn *db)
{
    struct store_stmt *st;
    assert_int_equal(store_prepare(db, STR_LIT("SELECT COUNT(*) FROM r"), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    int64_t n = store_column_int64(st, 0);
    store_done(st);
    return n;
}

static void test_read_transaction_reads_one_snapshot(void **state)
{
    (void)state;
    struct store_conn *w, *r;
    assert_int_equal(store_open(db_path, STORE_OPEN_WRITE, &w), RC_OK);
    assert_int_equal(store_exec(w, "CREATE TABLE r (id INTEGER); INSERT INTO r VALUES (1)"), RC_OK);
    assert_int_equal(store_open(db_path, STORE_OPEN_READ, &r), RC_OK);

    /* a write committed before the first read is visible to it */
    assert_int_equal(store_begin_read(r), RC_OK);
    assert_int_equal(store_exec(w, "INSERT INTO r VALUES (2)"), RC_OK);
    assert_int_equal(count_rows(r), 2);
    /* one committed after it is not, until the transaction ends */
    assert_int_equal(store_exec(w, "INSERT INTO r VALUES (3)"), RC_OK);
    assert_int_equal(count_rows(r), 2);
    store_end_read(r);
    assert_int_equal(count_rows(r), 3);

    /* the transaction can start again (the statements are cached) */
    assert_int_equal(store_begin_read(r), RC_OK);
    assert_int_equal(count_rows(r), 3);
    store_end_read(r);
    store_close(r);
    store_close(w);
}

static void test_sql_prepare_keeps_the_builders_error(void **state)
{
    (void)state;
    struct store_conn *db;
    assert_int_equal(store_open(db_path, STORE_OPEN_WRITE, &db), RC_OK);
    struct buf b;
    buf_init(&b, 1024);
    struct store_sql q;
    store_sql_begin(&q, &b);
    store_sql_add(&q, "SELECT ");
    unsigned p = store_sql_param(&q);
    store_sql_add(&q, " + 1");
    struct store_stmt *st = NULL;
    assert_int_equal(store_sql_prepare(&q, db, &st), RC_OK);
    assert_int_equal(store_bind_int64(st, (int)p, 41), RC_OK);
    assert_int_equal(store_step(st), RC_OK);
    assert_int_equal(store_column_int64(st, 0), 42);
    store_done(st);
    buf_reset(&b);
    store_sql_begin(&q, &b);
    store_sql_fail(&q, RC_NOMEM);
    st = NULL;
    assert_int_equal(store_sql_prepare(&q, db, &st), RC_NOMEM);
    assert_null(st);
    buf_cleanup(&b);
    store_close(db);
}

/* A discarded statement leaves the cache at once; the others stay found
 * (their probe runs are mended: 200 statements fill the table to 3/4, so
 * runs are long), and a kept one is only handed back. The statements stay
 * in use until the end, so no flush of the cache finalizes them. */
static void test_discard_drops_a_statement_from_the_cache(void **state)
{
    (void)state;
    struct store_conn *db;
    assert_int_equal(store_open(db_path, STORE_OPEN_WRITE, &db), RC_OK);
    log_set_level(LOG_WARN); /* the test build's cache says it flushed on every prepare */
    enum { N = 200 };
    struct store_stmt *sts[N];
    char sql[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(sql[i], sizeof(sql[i]), "SELECT %d", i);
        assert_int_equal(store_prepare(db, str_from_cstr(sql[i]), &sts[i]), RC_OK);
    }
    size_t before = store_stmt_cache_size(db);
    assert_int_equal(before, N);
    for (int i = 0; i < N; i += 2)
        store_discard(sts[i]);
    assert_int_equal(store_stmt_cache_size(db), before - N / 2);
    for (int i = 1; i < N; i += 2) {
        struct store_stmt *st;
        assert_int_equal(store_prepare(db, str_from_cstr(sql[i]), &st), RC_OK);
        assert_ptr_equal(st, sts[i]); /* still found */
        assert_int_equal(store_step(st), RC_OK);
        assert_int_equal(store_column_int64(st, 0), i);
        store_done(st);
    }
    struct store_stmt *st;
    assert_int_equal(store_prepare(db, str_from_cstr(sql[0]), &st), RC_OK);
    assert_int_equal(store_step(st), RC_OK); /* made again */
    assert_int_equal(store_column_int64(st, 0), 0);
    size_t with = store_stmt_cache_size(db);
    store_keep(st);
    store_discard(st); /* kept: handed back only */
    assert_int_equal(store_stmt_cache_size(db), with);
    struct store_stmt *again;
    assert_int_equal(store_prepare(db, str_from_cstr(sql[0]), &again), RC_OK);
    assert_ptr_equal(again, st);
    store_done(again);
    store_unkeep(st);
    log_set_level(LOG_INFO);
    store_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_numbers_parameters_and_quotes_names),
        cmocka_unit_test(test_sql_keeps_the_first_error),
        cmocka_unit_test(test_dialect_json_paths),
        cmocka_unit_test_setup_teardown(test_cursor_reads_typed_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_violation_names_its_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_prepare_keeps_the_builders_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_transaction_reads_one_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discard_drops_a_statement_from_the_cache, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
