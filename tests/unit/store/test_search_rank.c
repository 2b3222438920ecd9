/* test_search_rank.c -- tarmac_bm25 (store/sqlite_rank.c) gives FTS5's
 * bm25 for every matched row: equal for a query of several phrases, and
 * for one phrase equal up to that phrase's inverse document frequency (a
 * constant factor); with the lengths read from _docsize row by row and
 * with the connection's kept copy of them (a query matching most of the
 * table), after another connection changed the lengths (the copy is
 * read again), and inside a write transaction that changed them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "db_file.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/sqlite.h"

#define ROWS 3000

static sqlite3 *open_db(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    assert_int_equal(store_sqlite_fts_register(db), RC_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
}

/* Every row of the table: "common" in every one, "rare" in a few, a
 * number of filler words that varies the lengths. */
static int spacing = 1; /* rowid = i * spacing: 1 dense, 10 sparse */

static void fill(sqlite3 *db)
{
    exec(db, "CREATE VIRTUAL TABLE \"_s:t\" USING fts5(a, b, tokenize = 'tarmac english', "
             "prefix = '2 3 4')");
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO \"_s:t\" (rowid, a, b) VALUES (?1, ?2, ?3)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    exec(db, "BEGIN");
    for (int i = 1; i <= ROWS; i++) {
        char a[256], b[1024];
        snprintf(a, sizeof(a), "common title %s %d", i % 7 == 0 ? "rare" : "plain", i);
        int n = snprintf(b, sizeof(b), "library body");
        for (int k = 0; k < i % 37 && n < 900; k++)
            n += snprintf(b + n, sizeof(b) - (size_t)n, " filler%d", k);
        if (i % 5 == 0)
            snprintf(b + n, sizeof(b) - (size_t)n, " common");
        sqlite3_bind_int(st, 1, i * spacing);
        sqlite3_bind_text(st, 2, a, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, b, -1, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    exec(db, "COMMIT");
    sqlite3_finalize(st);
}

/* Checks every row the match finds; returns how many. */
static int compare(sqlite3 *db, const char *match, int phrases)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT rowid, tarmac_bm25(\"_s:t\", '_s:t', 10, 2), "
                                        "bm25(\"_s:t\", 10, 2) FROM \"_s:t\" WHERE \"_s:t\" "
                                        "MATCH ?1 ORDER BY rowid",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
    int n = 0;
    double ratio = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        double ours = sqlite3_column_double(st, 1), fts5 = sqlite3_column_double(st, 2);
        assert_true(ours < 0 && fts5 < 0);
        if (phrases > 1) {
            if (fabs(ours - fts5) > 1e-9 * fabs(fts5))
                fail_msg("%s: row %lld: %.17g against bm25's %.17g", match,
                         (long long)sqlite3_column_int64(st, 0), ours, fts5);
        } else {
            /* one phrase: bm25 times its idf, the same for every row */
            double r = fts5 / ours;
            if (n == 0)
                ratio = r;
            else if (fabs(r - ratio) > 1e-9 * ratio)
                fail_msg("%s: row %lld: ratio %.17g, the first row's %.17g", match,
                         (long long)sqlite3_column_int64(st, 0), r, ratio);
        }
        n++;
    }
    assert_int_equal(step, SQLITE_DONE);
    sqlite3_finalize(st);
    return n;
}

static void test_ranks_as_bm25(void **state)
{
    (void)state;
    spacing = *(int *)*state;
    db_file_init("searchrank");
    sqlite3 *w = open_db();
    fill(w);
    sqlite3 *r = open_db();

    /* A few rows: lengths read row by row. */
    assert_int_equal(compare(r, "\"rare\"", 1), ROWS / 7);
    assert_int_equal(compare(r, "\"rare\" AND \"filler3\"", 2) > 0, true);
    /* Every row, one phrase and two: the kept copy of the lengths. */
    assert_int_equal(compare(r, "\"common\"", 1), ROWS);
    assert_int_equal(compare(r, "\"com\" *", 1), ROWS);
    assert_int_equal(compare(r, "\"common\" AND \"librari\"", 2), ROWS);
    assert_int_equal(compare(r, "\"common\" OR \"rare\"", 2), ROWS);

    /* Another connection changes the lengths: the copy is read again. */
    exec(w, "UPDATE \"_s:t\" SET b = b || ' more words to count here' WHERE rowid % 3 = 0");
    exec(w, spacing == 1 ? "DELETE FROM \"_s:t\" WHERE rowid % 11 = 0"
                         : "DELETE FROM \"_s:t\" WHERE rowid % 110 = 0");
    int left = ROWS - ROWS / 11;
    assert_int_equal(compare(r, "\"common\"", 1), left);
    assert_int_equal(compare(r, "\"common\" AND \"librari\"", 2), left);

    /* Inside a write transaction, over its own uncommitted changes. */
    exec(w, "BEGIN IMMEDIATE");
    assert_int_equal(compare(w, "\"common\"", 1), left);
    exec(w, "UPDATE \"_s:t\" SET a = a || ' longer title now' WHERE rowid % 2 = 0");
    assert_int_equal(compare(w, "\"common\"", 1), left);
    assert_int_equal(compare(w, "\"common\" AND \"librari\"", 2), left);
    exec(w, "COMMIT");
    assert_int_equal(compare(w, "\"common\"", 1), left);
    assert_int_equal(compare(r, "\"common\" AND \"librari\"", 2), left);

    sqlite3_close(r);
    sqlite3_close(w);
    db_file_remove();
}

/* Steps st (rowid, tarmac_bm25, bm25 of a one-phrase query) up to n rows,
 * checking the ratio of the two stays the first row's; the rows seen. */
static int step_ratio(sqlite3_stmt *st, int n, double *ratio)
{
    int seen = 0;
    while (seen < n && sqlite3_step(st) == SQLITE_ROW) {
        double r = sqlite3_column_double(st, 2) / sqlite3_column_double(st, 1);
        if (*ratio == 0)
            *ratio = r;
        else if (fabs(r - *ratio) > 1e-9 * *ratio)
            fail_msg("row %lld: ratio %.17g, the first row's %.17g",
                     (long long)sqlite3_column_int64(st, 0), r, *ratio);
        seen++;
    }
    return seen;
}

/* A query whose kept lengths are evicted from the connection while its
 * statement is still open (a streamed page stays open while other
 * requests search other collections on the same connection) goes on
 * with them: they are freed with the last query using them. */
static void test_lengths_outlive_their_slot(void **state)
{
    (void)state;
    db_file_init("searchrank-evict");
    sqlite3 *db = open_db();
    exec(db, "BEGIN");
    for (int t = 0; t < 6; t++) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "CREATE VIRTUAL TABLE \"_s:e%d\" USING fts5(a, tokenize = 'tarmac'); "
                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
                 "INSERT INTO \"_s:e%d\" (rowid, a) SELECT i, 'common ' || "
                 "substr('x y z w v u t s r q p o', 1, 2 * ((i + %d) %% 12)) FROM n",
                 t, t, 5 * t);
        exec(db, sql);
    }
    exec(db, "COMMIT");
    sqlite3_stmt *open[6];
    for (int t = 0; t < 6; t++) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT rowid, tarmac_bm25(\"_s:e%d\", '_s:e%d'), bm25(\"_s:e%d\") FROM "
                 "\"_s:e%d\" WHERE \"_s:e%d\" MATCH 'common' ORDER BY rowid",
                 t, t, t, t, t);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &open[t], NULL), SQLITE_OK);
    }
    /* each statement past its sweep (a sixteenth of 1,000 rows, at least
     * 512), all open at once: six tables for four slots */
    double ratio[6] = {0};
    for (int t = 0; t < 6; t++)
        assert_int_equal(step_ratio(open[t], 600, &ratio[t]), 600);
    for (int t = 0; t < 6; t++) {
        assert_int_equal(step_ratio(open[t], 1000, &ratio[t]), 400);
        assert_int_equal(sqlite3_finalize(open[t]), SQLITE_OK);
    }
    sqlite3_close(db);
    db_file_remove();
}

int main(void)
{
    static int dense = 1, sparse = 10;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_ranks_as_bm25, &dense),
        cmocka_unit_test_prestate(test_ranks_as_bm25, &sparse),
        cmocka_unit_test(test_lengths_outlive_their_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
