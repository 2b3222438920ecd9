/* test_sqlite_func.c -- tarmac_geo_km (store/sqlite_func.c) gives what the
 * formula it replaces gives, written out in SQLite's math functions (the
 * SQL geoDistance compiled to before): the same double for points
 * anywhere (poles, antimeridian, the same point, antipodes), and NULL for
 * the same inputs: NULL, text that is not a number, a blob, an infinity.
 * Text that reads as a number counts as that number in both. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_func.h"

#define FORMULA                                                                                    \
    "(6371 * acos(min(1.0, cos(radians(?1)) * cos(radians(?3)) * cos(radians(?4) - "               \
    "radians(?2)) + sin(radians(?1)) * sin(radians(?3)))))"

/* Binds a value to parameter i: a number, or the SQL literal text when the
 * string starts with '\'', x'..' (a blob), NULL or 9e999 (an infinity). */
static void bind(sqlite3_stmt *st, int i, const char *v)
{
    if (strcmp(v, "NULL") == 0)
        sqlite3_bind_null(st, i);
    else if (v[0] == '\'')
        sqlite3_bind_text(st, i, v + 1, (int)strlen(v) - 2, SQLITE_TRANSIENT);
    else if (v[0] == 'x')
        sqlite3_bind_blob(st, i, "\x01\x02", 2, SQLITE_STATIC);
    else
        sqlite3_bind_double(st, i, strtod(v, NULL));
}

static void test_the_formula_in_one_call(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(store_sqlite_func_register(db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT tarmac_geo_km(?1, ?2, ?3, ?4), " FORMULA, -1, &st, NULL),
        SQLITE_OK);
    static const char *const cases[][4] = {
        {"41.9", "12.5", "41.9028", "12.4964"}, /* Rome, metres apart */
        {"18.4", "73.7", "18.4", "73.7"},       /* the same point */
        {"89.99", "10", "90", "-170"},          /* round a pole */
        {"-17.7", "179.9", "-17.5", "-179.95"}, /* over the antimeridian */
        {"0", "0", "0", "180"},                 /* antipodes */
        {"90", "0", "-90", "0"},
        {"1000", "-720", "33", "44"}, /* out of range: still a formula */
        {"'41.9'", "'12.5'", "41", "12"},
        {"NULL", "12.5", "41", "12"},
        {"41.9", "'twelve'", "41", "12"},
        {"41.9", "12.5", "x", "12"},
        {"9e999", "12.5", "41", "12"},
        {"41.9", "12.5", "41", "-9e999"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        for (int i = 0; i < 4; i++)
            bind(st, i + 1, cases[k][i]);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int t_ours = sqlite3_column_type(st, 0), t_sql = sqlite3_column_type(st, 1);
        if (t_ours != t_sql)
            fail_msg("case %zu: type %d, the formula's %d", k, t_ours, t_sql);
        if (t_sql == SQLITE_FLOAT && sqlite3_column_double(st, 0) != sqlite3_column_double(st, 1))
            fail_msg("case %zu: %.17g, the formula's %.17g", k, sqlite3_column_double(st, 0),
                     sqlite3_column_double(st, 1));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_formula_in_one_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
