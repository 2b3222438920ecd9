/* test_file_name.c -- unit tests of core/file_name.h: the stored-name
 * algorithm of spec §8.1 (PocketBase's normalizeName + Snakecase) with a fixed
 * random part, the random part's alphabet, hostile names (traversal, NUL,
 * control bytes, unicode, very long), and the path-segment guards. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/secure.h"
#include "core/files/file_name.h"

#define R "abcdefghij0123456789" /* 20 "random" characters */

static void make(const char *name, size_t len, const char *mime, char *out)
{
    core_file_name_make_with((struct str){name, len}, str_from_cstr(mime), R, out);
}

#define assert_name(in, mime, want)                                                                \
    do {                                                                                           \
        char out_[CORE_FILE_NAME_MAX];                                                             \
        make((in), strlen(in), (mime), out_);                                                      \
        assert_string_equal(out_, (want));                                                         \
    } while (0)

static void test_spec_examples(void **state)
{
    (void)state;
    assert_name("Photo 1.JPG", "image/jpeg", "photo_1_abcdefghij.JPG");
    assert_name("myFile.tar.gz", "application/gzip", "my_file_abcdefghij.tar.gz");
    assert_name("the.photo.jpg", "image/jpeg", "the_abcdefghij.photo.jpg");
    assert_name("my.photo.jpg", "image/jpeg", "myabcdefghij_0123456789.photo.jpg");
    assert_name("HTMLDoc.pdf", "application/pdf", "htmldoc_abcdefghij.pdf");
    assert_name("file1Name.txt", "text/plain", "file1_name_abcdefghij.txt");
    assert_name("a_b-c d.txt", "text/plain", "a_b_c_d_abcdefghij.txt");
    /* non-ASCII letters are dropped: a short base gets 10 random characters */
    assert_name("\xd1\x84\xd0\xbe\xd1\x82\xd0\xbe.png", "image/png", "abcdefghij_0123456789.png");
    assert_name("ab.txt", "text/plain", "ababcdefghij_0123456789.txt");
}

static void test_extension_from_mime_when_missing(void **state)
{
    (void)state;
    assert_name("picture", "image/png", "picture_abcdefghij.png");
    assert_name("notes", "application/octet-stream", "notes_abcdefghij");
    assert_name("archive.", "application/zip", "archive_abcdefghij.");
    /* the dot survives the filter, so the extension is not empty */
    assert_name("weird.\xc3\xa9\xc3\xa9", "text/plain", "weird_abcdefghij.");
}

static void test_extension_keeps_its_last_20(void **state)
{
    (void)state;
    assert_name("x.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaZ", "text/plain",
                "xabcdefghij_0123456789.aaaaaaaaaaaaaaaaaaaZ");
}

static void test_hostile_names(void **state)
{
    (void)state;
    char out[CORE_FILE_NAME_MAX];
    /* traversal: only the last segment counts (Go's filepath.Base), and the
     * result is one safe segment */
    make("../../etc/passwd", 16, "text/plain", out);
    assert_string_equal(out, "passwd_abcdefghij.txt");
    assert_true(core_file_name_is_safe(str_from_cstr(out)));
    assert_name("C:\\Users\\me\\Photo 1.JPG", "image/jpeg", "photo_1_abcdefghij.JPG");
    assert_name("dir/", "image/png", "abcdefghij_0123456789.png");
    make("..", 2, "text/plain", out);
    assert_true(core_file_name_is_safe(str_from_cstr(out)));
    make("/", 1, "", out);
    assert_true(core_file_name_is_safe(str_from_cstr(out)));
    /* NUL and control bytes */
    make("a\0b\r\nc.txt", 11, "text/plain", out);
    assert_string_equal(out, "a_b_c_abcdefghij.txt");
    /* empty */
    make("", 0, "application/octet-stream", out);
    assert_string_equal(out, "abcdefghij_0123456789");
    /* very long: at most 100 for the base */
    char big[5000];
    memset(big, 'a', sizeof(big));
    memcpy(big + sizeof(big) - 4, ".bin", 4);
    make(big, sizeof(big), "application/octet-stream", out);
    assert_int_equal(strlen(out), 100 + 1 + 10 + 4);
    assert_true(core_file_name_is_safe(str_from_cstr(out)));
    /* a long name made of separators and capitals stays bounded */
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (i % 2) ? 'A' : '.';
    make(big, sizeof(big), "application/octet-stream", out);
    assert_true(strlen(out) < CORE_FILE_NAME_MAX);
    assert_true(core_file_name_is_safe(str_from_cstr(out)));
    /* every byte value */
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    make(all, sizeof(all), "", out);
    assert_true(core_file_name_is_safe(str_from_cstr(out)));
}

static void test_random_part(void **state)
{
    (void)state;
    assert_int_equal(secure_init(), RC_OK);
    char a[CORE_FILE_NAME_MAX], b[CORE_FILE_NAME_MAX];
    core_file_name_make(STR_LIT("report.pdf"), STR_LIT("application/pdf"), a);
    core_file_name_make(STR_LIT("report.pdf"), STR_LIT("application/pdf"), b);
    assert_int_equal(strlen(a), strlen("report_") + 10 + 4);
    assert_memory_equal(a, "report_", 7);
    for (size_t i = 7; i < 17; i++)
        assert_true((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9'));
    assert_string_equal(a + 17, ".pdf");
    assert_string_not_equal(a, b);
}

static void test_is_safe(void **state)
{
    (void)state;
    assert_true(core_file_name_is_safe(STR_LIT("photo_1_abcdefghij.JPG")));
    assert_true(core_file_name_is_safe(STR_LIT("a.tar.gz")));
    assert_false(core_file_name_is_safe(STR_LIT("")));
    assert_false(core_file_name_is_safe(STR_LIT(".")));
    assert_false(core_file_name_is_safe(STR_LIT("..")));
    assert_false(core_file_name_is_safe(STR_LIT(".hidden")));
    assert_false(core_file_name_is_safe(STR_LIT("a/b")));
    assert_false(core_file_name_is_safe(STR_LIT("a\\b")));
    assert_false(core_file_name_is_safe(STR_LIT("../x")));
    assert_false(core_file_name_is_safe((struct str){"a\0b", 3}));
    assert_false(core_file_name_is_safe(STR_LIT("caf\xc3\xa9")));
    assert_false(core_file_name_is_safe(STR_LIT("a b")));
    char big[300];
    memset(big, 'a', sizeof(big));
    assert_false(core_file_name_is_safe((struct str){big, sizeof(big)}));
    assert_true(core_file_name_is_safe((struct str){big, 255}));
}

static void test_segment_is_safe(void **state)
{
    (void)state;
    assert_true(core_file_segment_is_safe(STR_LIT("pbc_1125843985")));
    assert_true(core_file_segment_is_safe(STR_LIT("a1b2c3d4e5f6g7h")));
    assert_true(core_file_segment_is_safe(STR_LIT("id@with+odd=chars")));
    assert_false(core_file_segment_is_safe(STR_LIT("")));
    assert_false(core_file_segment_is_safe(STR_LIT("..")));
    assert_false(core_file_segment_is_safe(STR_LIT(".x")));
    assert_false(core_file_segment_is_safe(STR_LIT("a/b")));
    assert_false(core_file_segment_is_safe(STR_LIT("a\\b")));
    assert_false(core_file_segment_is_safe((struct str){"a\0", 2}));
    assert_false(core_file_segment_is_safe(STR_LIT("a\nb")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_examples),
        cmocka_unit_test(test_extension_from_mime_when_missing),
        cmocka_unit_test(test_extension_keeps_its_last_20),
        cmocka_unit_test(test_hostile_names),
        cmocka_unit_test(test_random_part),
        cmocka_unit_test(test_is_safe),
        cmocka_unit_test(test_segment_is_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
