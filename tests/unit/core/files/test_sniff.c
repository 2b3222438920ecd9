/* test_sniff.c -- unit tests of core/sniff.h: magic numbers of the image,
 * document, archive, audio and video formats, text detection (UTF-8, HTML,
 * SVG, XML, a sequence cut by the window), binary fallbacks, the extension
 * table and the MIME comparison with parameters and aliases. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/files/sniff.h"

#define SNIFF(lit) core_sniff_mime((lit), sizeof(lit) - 1)

static void test_images(void **state)
{
    (void)state;
    assert_string_equal(SNIFF("\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
    assert_string_equal(SNIFF("\xff\xd8\xff\xe0\0\x10JFIF"), "image/jpeg");
    assert_string_equal(SNIFF("GIF89a\x01\0\x01\0"), "image/gif");
    assert_string_equal(SNIFF("GIF87a\x01\0\x01\0"), "image/gif");
    assert_string_equal(SNIFF("RIFF\x24\0\0\0WEBPVP8 "), "image/webp");
    assert_string_equal(SNIFF("BM\x36\0\0\0\0\0\0\0\x36\0\0\0"), "image/bmp");
    assert_string_equal(SNIFF("\0\0\1\0\1\0\x10\x10"), "image/x-icon");
    assert_string_equal(SNIFF("II*\0\x08\0\0\0"), "image/tiff");
    assert_string_equal(SNIFF("\0\0\0\x1c"
                              "ftypavif\0\0\0\0"),
                        "image/avif");
    assert_string_equal(SNIFF("\0\0\0\x18"
                              "ftypheic\0\0\0\0"),
                        "image/heic");
}

static void test_documents_archives_media(void **state)
{
    (void)state;
    assert_string_equal(SNIFF("%PDF-1.7\n"), "application/pdf");
    assert_string_equal(SNIFF("PK\x03\x04\x14\0"), "application/zip");
    assert_string_equal(SNIFF("\x1f\x8b\x08\0"), "application/gzip");
    assert_string_equal(SNIFF("7z\xbc\xaf\x27\x1c\0\x04"), "application/x-7z-compressed");
    assert_string_equal(SNIFF("ID3\x04\0\0"), "audio/mpeg");
    assert_string_equal(SNIFF("OggS\0\x02"), "audio/ogg");
    assert_string_equal(SNIFF("fLaC\0\0\0\x22"), "audio/flac");
    assert_string_equal(SNIFF("RIFF\x24\0\0\0WAVEfmt "), "audio/wav");
    assert_string_equal(SNIFF("\0\0\0\x20"
                              "ftypisom\0\0\x02\0"),
                        "video/mp4");
    assert_string_equal(SNIFF("\0\0\0\x14"
                              "ftypqt  \0\0\0\0"),
                        "video/quicktime");
    assert_string_equal(SNIFF("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm"),
                        "video/webm");
    assert_string_equal(SNIFF("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska"),
                        "video/x-matroska");
    assert_string_equal(SNIFF("SQLite format 3\0"), "application/vnd.sqlite3");
}

static void test_text(void **state)
{
    (void)state;
    assert_string_equal(SNIFF("hello world\n"), "text/plain; charset=utf-8");
    assert_string_equal(core_sniff_mime("", 0), "text/plain; charset=utf-8");
    assert_string_equal(SNIFF("caf\xc3\xa9 \xf0\x9f\x98\x80"), "text/plain; charset=utf-8");
    assert_string_equal(SNIFF("\xef\xbb\xbfwith a BOM"), "text/plain; charset=utf-8");
    assert_string_equal(SNIFF("  <!DOCTYPE html><html>"), "text/html; charset=utf-8");
    assert_string_equal(SNIFF("<HTML><body>"), "text/html; charset=utf-8");
    assert_string_equal(SNIFF("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), "image/svg+xml");
    assert_string_equal(SNIFF("<?xml version=\"1.0\"?>\n<svg/>"), "image/svg+xml");
    assert_string_equal(SNIFF("<?xml version=\"1.0\"?>\n<note/>"), "text/xml; charset=utf-8");
    /* a multi-byte sequence cut by the sniff window is still text */
    char buf[CORE_SNIFF_BYTES + 8];
    memset(buf, 'a', sizeof(buf));
    memcpy(buf + CORE_SNIFF_BYTES - 2, "\xe2\x82\xac", 3);
    assert_string_equal(core_sniff_mime(buf, sizeof(buf)), "text/plain; charset=utf-8");
}

static void test_binary(void **state)
{
    (void)state;
    assert_string_equal(SNIFF("\0\1\2\3\4"), "application/octet-stream");
    assert_string_equal(SNIFF("text with a \0 NUL"), "application/octet-stream");
    assert_string_equal(SNIFF("bad utf8 \xc3\x28 here"), "application/octet-stream");
    assert_string_equal(SNIFF("\x89PNG"), "application/octet-stream"); /* truncated magic */
    assert_string_equal(SNIFF("\xff\xd8"), "application/octet-stream");
    assert_string_equal(SNIFF("RIFF\0\0\0\0XXXX"), "application/octet-stream");
}

static void test_extensions(void **state)
{
    (void)state;
    assert_string_equal(core_sniff_ext(STR_LIT("image/png")), ".png");
    assert_string_equal(core_sniff_ext(STR_LIT("image/jpeg")), ".jpg");
    assert_string_equal(core_sniff_ext(STR_LIT("text/plain; charset=utf-8")), ".txt");
    assert_string_equal(core_sniff_ext(STR_LIT("IMAGE/GIF")), ".gif");
    assert_string_equal(core_sniff_ext(STR_LIT("application/octet-stream")), "");
    assert_string_equal(core_sniff_ext(STR_LIT("")), "");
}

static void test_mime_is(void **state)
{
    (void)state;
    assert_true(core_sniff_mime_is(STR_LIT("image/png"), STR_LIT("image/png")));
    assert_true(core_sniff_mime_is(STR_LIT("image/jpeg"), STR_LIT("image/jpg")));
    assert_true(core_sniff_mime_is(STR_LIT("image/jpeg"), STR_LIT("IMAGE/JPEG")));
    assert_true(core_sniff_mime_is(STR_LIT("text/plain; charset=utf-8"), STR_LIT("text/plain")));
    assert_true(core_sniff_mime_is(STR_LIT("audio/wav"), STR_LIT("audio/x-wav")));
    assert_false(core_sniff_mime_is(STR_LIT("image/png"), STR_LIT("image/jpeg")));
    assert_false(core_sniff_mime_is(STR_LIT("image/png"), STR_LIT("image/")));
    assert_false(core_sniff_mime_is(STR_LIT(""), STR_LIT("")));
    assert_false(core_sniff_mime_is(STR_LIT("text/html; charset=utf-8"), STR_LIT("text/plain")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_images),     cmocka_unit_test(test_documents_archives_media),
        cmocka_unit_test(test_text),       cmocka_unit_test(test_binary),
        cmocka_unit_test(test_extensions), cmocka_unit_test(test_mime_is),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
