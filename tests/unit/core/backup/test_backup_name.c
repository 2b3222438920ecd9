/* test_backup_name.c -- unit tests of core/backup/backup_name.h: PocketBase's
 * name rule for a new backup, the keys the storage may hold, the snake case
 * of an app name (PocketBase's inflector.Snakecase cases), generated names,
 * and which automatic backups the retention drops (newest kept, manual
 * backups never touched, 0 = keep all). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/backup/backup_name.h"

static void test_name_rule_is_pocketbases(void **state)
{
    (void)state;
    const char *good[] = {"a.zip", "test.zip", "my_backup-2.zip", "0.zip"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(core_backup_name_is_valid(str_from_cstr(good[i])));
    const char *bad[] = {"",         ".zip",    "!test.zip", "Test.zip",  "test",
                         "test.ZIP", "a/b.zip", "a b.zip",   "a.zip.zip", "é.zip",
                         "a.tar",    "@x.zip",  "test.zip ", "../x.zip"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(core_backup_name_is_valid(str_from_cstr(bad[i])));
    char name[200];
    memset(name, 'a', 146);
    memcpy(name + 146, ".zip", 5); /* 150 characters: the most */
    assert_true(core_backup_name_is_valid(str_from_cstr(name)));
    memset(name, 'a', 147);
    memcpy(name + 147, ".zip", 5);
    assert_false(core_backup_name_is_valid(str_from_cstr(name)));
}

static void test_key_is_one_safe_segment(void **state)
{
    (void)state;
    assert_true(core_backup_key_is_safe(STR_LIT("@auto_pb_backup_x_20240101000000.zip")));
    assert_true(core_backup_key_is_safe(STR_LIT("blob")));
    assert_false(core_backup_key_is_safe(STR_LIT("Upload (1).zip"))); /* a space */
    assert_false(core_backup_key_is_safe(STR_LIT("")));
    assert_false(core_backup_key_is_safe(STR_LIT(".")));
    assert_false(core_backup_key_is_safe(STR_LIT("..")));
    assert_false(core_backup_key_is_safe(STR_LIT(".upload-x.zip")));
    assert_false(core_backup_key_is_safe(STR_LIT("a/b.zip")));
    assert_false(core_backup_key_is_safe(STR_LIT("a\\b.zip")));
    assert_false(core_backup_key_is_safe((struct str){"a\0b", 3}));
    assert_false(core_backup_key_is_safe(STR_LIT("tab\t.zip")));
    char key[CORE_BACKUP_KEY_MAX + 2];
    memset(key, 'k', sizeof(key));
    assert_true(core_backup_key_is_safe((struct str){key, CORE_BACKUP_KEY_MAX}));
    assert_false(core_backup_key_is_safe((struct str){key, CORE_BACKUP_KEY_MAX + 1}));
}

static void test_snakecase_matches_inflector(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"", ""},
        {"  ", ""},
        {"!@#$%^", ""},
        {"...", ""},
        {"_", ""},
        {"John Doe", "john_doe"},
        {"John_Doe", "john_doe"},
        {".a!b@c#d$e%123. ", "a_b_c_d_e_123"},
        {"HelloWorld", "hello_world"},
        {"HelloWorld1HelloWorld2", "hello_world1_hello_world2"},
        {"TEST", "test"},
        {"testABR", "test_abr"},
        {"myTestDB", "my_test_db"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        core_backup_snakecase(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
    }
    char small[6];
    core_backup_snakecase("HelloWorld", small, sizeof(small));
    assert_string_equal(small, "hello"); /* cut, still terminated */
}

static void test_auto_name(void **state)
{
    (void)state;
    char key[CORE_BACKUP_KEY_MAX + 1];
    /* 2024-02-03 04:05:06 UTC */
    core_backup_auto_name(CORE_BACKUP_AUTO_PREFIX, "My App", 1706933106000, key);
    assert_string_equal(key, "@auto_pb_backup_my_app_20240203040506.zip");
    core_backup_auto_name(CORE_BACKUP_PREFIX, "tarmac", 1706933106999, key);
    assert_string_equal(key, "pb_backup_tarmac_20240203040506.zip");
    assert_true(core_backup_name_is_valid(str_from_cstr(key)));
    char long_name[200];
    memset(long_name, 'x', 120);
    long_name[120] = '\0';
    core_backup_auto_name(CORE_BACKUP_PREFIX, long_name, 0, key);
    /* the app part is cut to 50 */
    assert_int_equal(strlen(key), strlen("pb_backup_") + 50 + strlen("_19700101000000.zip"));
    assert_true(core_backup_key_is_safe(str_from_cstr(key)));
}

static struct core_backup_entry entry(const char *key, int64_t mtime)
{
    struct core_backup_entry e = {.size = 1, .mtime_ms = mtime};
    strncpy(e.key, key, sizeof(e.key) - 1);
    return e;
}

static void test_retention_keeps_the_newest_automatic_ones(void **state)
{
    (void)state;
    struct core_backup_entry e[] = {
        entry("@auto_pb_backup_a_1.zip", 100), entry("manual.zip", 1),
        entry("@auto_pb_backup_a_3.zip", 300), entry("@auto_pb_backup_a_2.zip", 200),
        entry("pb_backup_old.zip", 0),         entry("@auto_pb_backup_a_4.zip", 400),
    };
    size_t drop[6];
    size_t n = core_backup_retention(e, 6, 2, drop);
    assert_int_equal(n, 2); /* 3 and 4 stay; 2 and 1 go, manual ones untouched */
    assert_string_equal(e[drop[0]].key, "@auto_pb_backup_a_2.zip");
    assert_string_equal(e[drop[1]].key, "@auto_pb_backup_a_1.zip");
    assert_int_equal(core_backup_retention(e, 6, 4, drop), 0);
    assert_int_equal(core_backup_retention(e, 6, 10, drop), 0);
    assert_int_equal(core_backup_retention(e, 6, 0, drop), 0); /* no limit */
    n = core_backup_retention(e, 6, 1, drop);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_string_not_equal(e[drop[i]].key, "@auto_pb_backup_a_4.zip");
    assert_int_equal(core_backup_retention(e, 0, 1, drop), 0);
}

static void test_retention_breaks_ties_by_name(void **state)
{
    (void)state;
    /* Same second (a coarse filesystem clock): the later name is newer. */
    struct core_backup_entry e[] = {entry("@auto_pb_backup_a_20240101000001.zip", 5),
                                    entry("@auto_pb_backup_a_20240101000002.zip", 5)};
    size_t drop[2];
    assert_int_equal(core_backup_retention(e, 2, 1, drop), 1);
    assert_string_equal(e[drop[0]].key, "@auto_pb_backup_a_20240101000001.zip");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_rule_is_pocketbases),
        cmocka_unit_test(test_key_is_one_safe_segment),
        cmocka_unit_test(test_snakecase_matches_inflector),
        cmocka_unit_test(test_auto_name),
        cmocka_unit_test(test_retention_keeps_the_newest_automatic_ones),
        cmocka_unit_test(test_retention_breaks_ties_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
