/* test_archive.c -- unit tests of core/backup/archive.c: names that could
 * leave the destination are refused, a tree survives a write and an extract,
 * only the allowed top-level entries are extracted, and a damaged archive
 * (a flipped byte: the CRC) fails before it is used. Includes the .c for
 * is_safe_name (STYLE.md §7). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../../../src/core/backup/archive.c"
#include "core/backup/backup_int.h"

static void test_unsafe_names(void **state)
{
    (void)state;
    const char *ok[] = {"data.db", "storage/", "storage/a/b.txt", "storage/a/"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_true(is_safe_name(ok[i]));
    const char *bad[] = {"",     "/etc/passwd", "../x",       "storage/../../x",
                         "a//b", "./data.db",   "storage/.",  "a\\..\\b",
                         "a\nb", "..",          "storage/..", "//"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(is_safe_name(bad[i]));
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_round_trip_with_allowed_entries(void **state)
{
    (void)state;
    char root[] = "/tmp/tarmac-archive-XXXXXX";
    assert_non_null(mkdtemp(root));
    char p[8192];
    snprintf(p, sizeof(p), "%s/src", root);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/src/data.db", root);
    put(p, "the database");
    snprintf(p, sizeof(p), "%s/src/storage", root);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/src/storage/c1", root);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/src/storage/c1/f.txt", root);
    put(p, "a file");
    snprintf(p, sizeof(p), "%s/src/other.txt", root);
    put(p, "not allowed");
    char zip[4096], src[4096], dst[4096], err[256];
    snprintf(zip, sizeof(zip), "%s/a.zip", root);
    snprintf(src, sizeof(src), "%s/src", root);
    snprintf(dst, sizeof(dst), "%s/dst", root);
    assert_int_equal(core_archive_write(zip, src, err, sizeof(err)), RC_OK);
    FILE *f = fopen(zip, "rb");
    unsigned char head[4];
    assert_int_equal(fread(head, 1, 4, f), 4);
    fclose(f);
    assert_true(core_archive_looks_like_zip(head, 4));
    mkdir(dst, 0700);
    const char *const allowed[] = {"data.db", "storage", NULL};
    assert_int_equal(core_archive_extract(zip, dst, allowed, err, sizeof(err)), RC_OK);
    snprintf(p, sizeof(p), "%s/data.db", dst);
    assert_string_equal(slurp(p), "the database");
    snprintf(p, sizeof(p), "%s/storage/c1/f.txt", dst);
    assert_string_equal(slurp(p), "a file");
    snprintf(p, sizeof(p), "%s/other.txt", dst);
    assert_null(slurp(p));

    /* Not a zip. */
    snprintf(p, sizeof(p), "%s/not.zip", root);
    put(p, "plain text");
    assert_false(core_archive_looks_like_zip("plain", 5));
    assert_int_equal(core_archive_extract(p, dst, allowed, err, sizeof(err)), RC_INVALID);
    assert_int_equal(backup_remove_tree(root), RC_OK);
}

/* A stored (uncompressed) entry with one byte flipped: libzip's CRC check
 * fails the extract, and nothing is left half written that looks whole. */
static void test_damaged_entry_refused(void **state)
{
    (void)state;
    char root[] = "/tmp/tarmac-archive-XXXXXX";
    assert_non_null(mkdtemp(root));
    char zip[4096], dst[4096], err[256];
    snprintf(zip, sizeof(zip), "%s/bad.zip", root);
    snprintf(dst, sizeof(dst), "%s/dst", root);
    mkdir(dst, 0700);
    int ze;
    zip_t *za = zip_open(zip, ZIP_CREATE | ZIP_EXCL, &ze);
    assert_non_null(za);
    static const char text[] = "THE-DATABASE-BYTES";
    zip_source_t *s = zip_source_buffer(za, text, sizeof(text) - 1, 0);
    zip_int64_t idx = zip_file_add(za, "data.db", s, 0);
    assert_true(idx >= 0);
    assert_int_equal(zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0), 0);
    assert_int_equal(zip_close(za), 0);
    FILE *f = fopen(zip, "r+b");
    unsigned char all[4096];
    size_t n = fread(all, 1, sizeof(all), f);
    bool flipped = false;
    for (size_t i = 0; i + 18 <= n && !flipped; i++) {
        if (memcmp(all + i, text, 18) == 0) {
            fseek(f, (long)i + 4, SEEK_SET);
            fputc('X', f);
            flipped = true;
        }
    }
    fclose(f);
    assert_true(flipped);
    const char *const allowed[] = {"data.db", NULL};
    assert_int_equal(core_archive_extract(zip, dst, allowed, err, sizeof(err)), RC_INVALID);
    assert_non_null(strstr(err, "damaged"));
    assert_int_equal(backup_remove_tree(root), RC_OK);
}

static void test_traversal_entry_refused(void **state)
{
    (void)state;
    char root[] = "/tmp/tarmac-archive-XXXXXX";
    assert_non_null(mkdtemp(root));
    char zip[4096], dst[4096], err[256];
    snprintf(zip, sizeof(zip), "%s/evil.zip", root);
    snprintf(dst, sizeof(dst), "%s/dst", root);
    mkdir(dst, 0700);
    int ze;
    zip_t *za = zip_open(zip, ZIP_CREATE | ZIP_EXCL, &ze);
    assert_non_null(za);
    static const char text[] = "escaped";
    zip_source_t *s = zip_source_buffer(za, text, sizeof(text) - 1, 0);
    assert_true(zip_file_add(za, "storage/../../escaped.txt", s, 0) >= 0);
    assert_int_equal(zip_close(za), 0);
    const char *const allowed[] = {"storage", NULL};
    assert_int_equal(core_archive_extract(zip, dst, allowed, err, sizeof(err)), RC_INVALID);
    char p[8192];
    snprintf(p, sizeof(p), "%s/escaped.txt", root);
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(backup_remove_tree(root), RC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsafe_names),
        cmocka_unit_test(test_round_trip_with_allowed_entries),
        cmocka_unit_test(test_damaged_entry_refused),
        cmocka_unit_test(test_traversal_entry_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
