/* test_utf8.c -- unit tests of base/utf8.h: the well-formed sequences of
 * Unicode Table 3-7 decode, everything else (overlongs, surrogates, values past
 * U+10FFFF, truncated or broken sequences) is refused, and encode/decode are
 * inverses over every scalar value. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/utf8.h"

#define SENTINEL 0xDEADBEEFu

/* Decodes the byte string lit; checks it uses want_len bytes and gives want_cp. */
#define assert_decodes(lit, want_len, want_cp)                                                     \
    do {                                                                                           \
        uint32_t cp_ = SENTINEL;                                                                   \
        size_t n_ = utf8_decode((const unsigned char *)(lit), sizeof(lit) - 1, &cp_);              \
        assert_int_equal(n_, (want_len));                                                          \
        assert_int_equal(cp_, (want_cp));                                                          \
    } while (0)

/* Checks that the byte string lit (all of it) is refused and *cp untouched. */
#define assert_refused(lit)                                                                        \
    do {                                                                                           \
        uint32_t cp_ = SENTINEL;                                                                   \
        size_t n_ = utf8_decode((const unsigned char *)(lit), sizeof(lit) - 1, &cp_);              \
        if (n_ != 0)                                                                               \
            fail_msg("%s accepted as U+%04X (%zu bytes)", #lit, (unsigned)cp_, n_);                \
        assert_int_equal(cp_, SENTINEL);                                                           \
        assert_false(utf8_is_valid((lit), sizeof(lit) - 1));                                       \
    } while (0)

static void test_utf8_decodes_ascii(void **state)
{
    assert_decodes("A", 1, 'A');
    assert_decodes("\x7f", 1, 0x7F);
    uint32_t cp = SENTINEL;
    assert_int_equal(utf8_decode((const unsigned char *)"\0", 1, &cp), 1);
    assert_int_equal(cp, 0);
    /* Only the first code point is read. */
    assert_decodes("ab", 1, 'a');
}

static void test_utf8_decodes_boundaries_of_each_length(void **state)
{
    assert_decodes("\xc2\x80", 2, 0x80);
    assert_decodes("\xdf\xbf", 2, 0x7FF);
    assert_decodes("\xe0\xa0\x80", 3, 0x800);
    assert_decodes("\xed\x9f\xbf", 3, 0xD7FF);
    assert_decodes("\xee\x80\x80", 3, 0xE000);
    assert_decodes("\xef\xbf\xbd", 3, 0xFFFD);
    assert_decodes("\xef\xbf\xbf", 3, 0xFFFF);
    assert_decodes("\xf0\x90\x80\x80", 4, 0x10000);
    assert_decodes("\xf0\x9f\x98\x80", 4, 0x1F600);
    assert_decodes("\xf4\x8f\xbf\xbf", 4, 0x10FFFF);
    /* Bytes after the sequence are left alone. */
    assert_decodes("\xc3\xa9z", 2, 0xE9);
}

static void test_utf8_rejects_overlong_forms(void **state)
{
    assert_refused("\xc0\x80");         /* NUL */
    assert_refused("\xc0\xaf");         /* '/' */
    assert_refused("\xc1\xbf");         /* U+007F */
    assert_refused("\xe0\x80\x80");     /* NUL */
    assert_refused("\xe0\x80\xaf");     /* '/' */
    assert_refused("\xe0\x9f\xbf");     /* U+07FF */
    assert_refused("\xf0\x80\x80\x80"); /* NUL */
    assert_refused("\xf0\x80\x80\xaf"); /* '/' */
    assert_refused("\xf0\x8f\xbf\xbf"); /* U+FFFF */
}

static void test_utf8_rejects_surrogates(void **state)
{
    assert_refused("\xed\xa0\x80"); /* U+D800 */
    assert_refused("\xed\xad\xbf"); /* U+DB7F */
    assert_refused("\xed\xb0\x80"); /* U+DC00 */
    assert_refused("\xed\xbf\xbf"); /* U+DFFF */
    /* A CESU-8 surrogate pair for U+10000. */
    assert_refused("\xed\xa0\x80\xed\xb0\x80");
}

static void test_utf8_rejects_values_past_max(void **state)
{
    assert_refused("\xf4\x90\x80\x80"); /* U+110000 */
    assert_refused("\xf4\xbf\xbf\xbf");
    assert_refused("\xf5\x80\x80\x80");
    assert_refused("\xf7\xbf\xbf\xbf"); /* U+1FFFFF */
    assert_refused("\xf8\x88\x80\x80\x80");
    assert_refused("\xfc\x84\x80\x80\x80\x80");
    assert_refused("\xfe");
    assert_refused("\xff");
}

static void test_utf8_rejects_truncated_sequences(void **state)
{
    assert_refused("\xc3");
    assert_refused("\xe2\x82");
    assert_refused("\xe2");
    assert_refused("\xf0\x9f\x98");
    assert_refused("\xf0\x9f");
    assert_refused("\xf0");

    /* The bytes are there, but len says they are not. */
    const unsigned char full[] = "\xf0\x9f\x98\x80";
    for (size_t len = 1; len < 4; len++) {
        uint32_t cp = SENTINEL;
        assert_int_equal(utf8_decode(full, len, &cp), 0);
        assert_int_equal(cp, SENTINEL);
        assert_false(utf8_is_valid((const char *)full, len));
    }
}

static void test_utf8_rejects_broken_continuations(void **state)
{
    assert_refused("\x80"); /* lone continuation */
    assert_refused("\xbf");
    assert_refused("\xc3\x41");     /* ASCII where a continuation belongs */
    assert_refused("\xc3\xc3");     /* a lead byte instead */
    assert_refused("\xe2\x28\xa1"); /* bad second byte */
    assert_refused("\xe2\x82\x28"); /* bad third byte */
    assert_refused("\xf0\x9f\x98\x28");
    assert_refused("\xf0\x28\x8c\xbc");
}

static void test_utf8_is_valid_checks_whole_string(void **state)
{
    assert_true(utf8_is_valid("", 0));
    assert_true(utf8_is_valid("plain ascii", 11));
    assert_true(utf8_is_valid("a\0b", 3)); /* NUL is a character */
    static const char mixed[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf!";
    assert_true(utf8_is_valid(mixed, sizeof(mixed) - 1));
    /* One bad byte anywhere spoils it. */
    static const char bad_end[] = "caf\xc3\xa9\xc3";
    assert_false(utf8_is_valid(bad_end, sizeof(bad_end) - 1));
    static const char bad_mid[] = "ab\355\240\200cd";
    assert_false(utf8_is_valid(bad_mid, sizeof(bad_mid) - 1));
    static const char bad_start[] = "\200abc";
    assert_false(utf8_is_valid(bad_start, sizeof(bad_start) - 1));
    /* A shorter len stops before the bad byte. */
    assert_true(utf8_is_valid(bad_end, sizeof(bad_end) - 2));
}

static void test_utf8_encode_writes_shortest_form(void **state)
{
    char out[4];
    assert_int_equal(utf8_encode(0, out), 1);
    assert_int_equal(out[0], 0);
    assert_int_equal(utf8_encode(0x7F, out), 1);
    assert_int_equal(utf8_encode(0x80, out), 2);
    assert_memory_equal(out, "\xc2\x80", 2);
    assert_int_equal(utf8_encode(0x7FF, out), 2);
    assert_memory_equal(out, "\xdf\xbf", 2);
    assert_int_equal(utf8_encode(0x800, out), 3);
    assert_memory_equal(out, "\xe0\xa0\x80", 3);
    assert_int_equal(utf8_encode(0xFFFD, out), 3);
    assert_memory_equal(out, "\xef\xbf\xbd", 3);
    assert_int_equal(utf8_encode(0xFFFF, out), 3);
    assert_memory_equal(out, "\xef\xbf\xbf", 3);
    assert_int_equal(utf8_encode(0x10000, out), 4);
    assert_memory_equal(out, "\xf0\x90\x80\x80", 4);
    assert_int_equal(utf8_encode(0x10FFFF, out), 4);
    assert_memory_equal(out, "\xf4\x8f\xbf\xbf", 4);
}

static void test_utf8_encode_refuses_surrogates_and_values_past_max(void **state)
{
    char out[8] = "zzzzzzz";
    assert_int_equal(utf8_encode(0xD800, out), 0);
    assert_int_equal(utf8_encode(0xDBFF, out), 0);
    assert_int_equal(utf8_encode(0xDC00, out), 0);
    assert_int_equal(utf8_encode(0xDFFF, out), 0);
    assert_int_equal(utf8_encode(0x110000, out), 0);
    assert_int_equal(utf8_encode(0x7FFFFFFF, out), 0);
    assert_int_equal(utf8_encode(UINT32_MAX, out), 0);
}

static void test_utf8_encode_decode_round_trip_every_scalar(void **state)
{
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        char out[4];
        size_t n = utf8_encode(cp, out);
        size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (n != want)
            fail_msg("U+%04X encoded in %zu bytes, want %zu", (unsigned)cp, n, want);
        uint32_t back = SENTINEL;
        size_t used = utf8_decode((const unsigned char *)out, n, &back);
        if (used != n || back != cp)
            fail_msg("U+%04X decoded back as U+%04X (%zu bytes)", (unsigned)cp, (unsigned)back,
                     used);
        if (!utf8_is_valid(out, n))
            fail_msg("U+%04X encoding not valid", (unsigned)cp);
    }
}

static void test_utf8_decode_refuses_every_invalid_two_byte_pair(void **state)
{
    /* Exhaustive over 2-byte inputs: accepted exactly when it is a 2-byte
     * sequence of U+0080..U+07FF, and then the value matches. */
    for (unsigned b0 = 0x80; b0 <= 0xFF; b0++) {
        for (unsigned b1 = 0; b1 <= 0xFF; b1++) {
            unsigned char s[2] = {(unsigned char)b0, (unsigned char)b1};
            uint32_t cp = SENTINEL;
            size_t n = utf8_decode(s, 2, &cp);
            bool ok = b0 >= 0xC2 && b0 <= 0xDF && b1 >= 0x80 && b1 <= 0xBF;
            if (ok != (n == 2))
                fail_msg("%02X %02X: decode returned %zu", b0, b1, n);
            if (ok)
                assert_int_equal(cp, ((b0 & 0x1F) << 6) | (b1 & 0x3F));
            else
                assert_int_equal(n, 0);
        }
    }
}

static void test_utf8_invisible_covers_controls_format_and_separators(void **state)
{
    (void)state;
    /* Cc, Cf (the ones look-alike names use), Zs/Zl/Zp but U+0020, and other
     * default-ignorables (Hangul filler, variation selector, tags). */
    static const uint32_t hidden[] = {
        0x00,   0x09,   0x1F,   0x7F,   0x85,   0x9F,   0xA0,    0xAD,    0x34F,  0x61C,
        0x180E, 0x200B, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029,  0x202E,  0x2060, 0x2064,
        0x2066, 0x3000, 0x3164, 0xFE0F, 0xFEFF, 0xFFA0, 0xE0001, 0xE007F, 0xE0100};
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
        if (!utf8_is_invisible(hidden[i]))
            fail_msg("U+%04X should be invisible", (unsigned)hidden[i]);
    }
    static const uint32_t shown[] = {0x20,   'a',    '@',    0x7E,    0xA1,   0xAC,   0xAE,
                                     0xE9,   0x3B1,  0x41F,  0x5D0,   0x627,  0x2020, 0x2070,
                                     0x4E2D, 0xAC00, 0xFB01, 0x1F600, 0x10000};
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
        if (utf8_is_invisible(shown[i]))
            fail_msg("U+%04X should be visible", (unsigned)shown[i]);
    }
}

static void test_utf8_visible_text_refuses_invisible_and_invalid(void **state)
{
    (void)state;
    assert_true(utf8_is_visible_text("", 0));
    assert_true(utf8_is_visible_text("j\xc3\xbcrgen smith", 13));
    assert_false(utf8_is_visible_text("bob\xe2\x80\x8b", 6)); /* U+200B */
    assert_false(utf8_is_visible_text("\xc2\xad"
                                      "bob",
                                      5));                    /* U+00AD */
    assert_false(utf8_is_visible_text("bob\xef\xbb\xbf", 6)); /* U+FEFF */
    assert_false(utf8_is_visible_text("bob\n", 4));
    assert_false(utf8_is_visible_text("b\0b", 3));
    assert_false(utf8_is_visible_text("bob\xff", 4));     /* not UTF-8 */
    assert_false(utf8_is_visible_text("bob\xe2\x80", 5)); /* truncated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_decodes_ascii),
        cmocka_unit_test(test_utf8_decodes_boundaries_of_each_length),
        cmocka_unit_test(test_utf8_rejects_overlong_forms),
        cmocka_unit_test(test_utf8_rejects_surrogates),
        cmocka_unit_test(test_utf8_rejects_values_past_max),
        cmocka_unit_test(test_utf8_rejects_truncated_sequences),
        cmocka_unit_test(test_utf8_rejects_broken_continuations),
        cmocka_unit_test(test_utf8_is_valid_checks_whole_string),
        cmocka_unit_test(test_utf8_encode_writes_shortest_form),
        cmocka_unit_test(test_utf8_encode_refuses_surrogates_and_values_past_max),
        cmocka_unit_test(test_utf8_encode_decode_round_trip_every_scalar),
        cmocka_unit_test(test_utf8_decode_refuses_every_invalid_two_byte_pair),
        cmocka_unit_test(test_utf8_invisible_covers_controls_format_and_separators),
        cmocka_unit_test(test_utf8_visible_text_refuses_invisible_and_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
