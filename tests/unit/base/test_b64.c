/* test_b64.c -- unit tests of base/b64.h: the RFC 4648 §10 vectors in the
 * three variants, the alphabets kept apart, strict decoding (padding, foreign
 * characters, whitespace, lone final characters, non-canonical trailing bits,
 * proven exhaustively over short inputs), bytes from 0x80 up (which
 * libsodium 1.0.18 reads as '/' or '_'), inputs longer than one of the
 * decoder's 256-character checking chunks, capacity and buffer limits, and
 * round trips over every length up to 300 bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/b64.h"

static const char URL_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Encodes the C string raw in variant v and checks the result is want. */
static void check_encode(enum b64_variant v, const char *raw, const char *want)
{
    char out[64];
    size_t n = b64_encode(v, raw, strlen(raw), out);
    assert_int_equal(n, strlen(want));
    assert_int_equal(b64_encoded_len(v, strlen(raw)), n);
    assert_memory_equal(out, want, n);
}

/* Decodes enc in variant v and checks the result is the C string want. */
static void check_decode(enum b64_variant v, const char *enc, const char *want)
{
    char out[64];
    size_t n = 999;
    assert_int_equal(b64_decode(v, str_from_cstr(enc), out, sizeof(out), &n), RC_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    assert_true(b64_decoded_max(strlen(enc)) >= n);
}

/* Checks that enc (len bytes, may hold NUL) is refused in variant v, leaving
 * the output and its length untouched. */
static void check_refused_n(enum b64_variant v, const char *enc, size_t len)
{
    unsigned char out[64];
    memset(out, 0xA5, sizeof(out));
    size_t n = 777;
    enum rc rc = b64_decode(v, (struct str){enc, len}, out, sizeof(out), &n);
    if (rc != RC_INVALID)
        fail_msg("variant %d accepted \"%.*s\" (rc %d)", (int)v, (int)len, enc, (int)rc);
    assert_int_equal(n, 777);
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], 0xA5);
}

static void check_refused(enum b64_variant v, const char *enc)
{
    check_refused_n(v, enc, strlen(enc));
}

static const char *const RFC_RAW[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const RFC_PAD[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
static const char *const RFC_NOPAD[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};

static void test_b64_rfc4648_vectors_encode_in_every_variant(void **state)
{
    for (size_t i = 0; i < sizeof(RFC_RAW) / sizeof(RFC_RAW[0]); i++) {
        check_encode(B64_STD_PAD, RFC_RAW[i], RFC_PAD[i]);
        check_encode(B64_STD, RFC_RAW[i], RFC_NOPAD[i]);
        check_encode(B64_URL, RFC_RAW[i], RFC_NOPAD[i]);
    }
}

static void test_b64_rfc4648_vectors_decode_in_every_variant(void **state)
{
    for (size_t i = 0; i < sizeof(RFC_RAW) / sizeof(RFC_RAW[0]); i++) {
        check_decode(B64_STD_PAD, RFC_PAD[i], RFC_RAW[i]);
        check_decode(B64_STD, RFC_NOPAD[i], RFC_RAW[i]);
        check_decode(B64_URL, RFC_NOPAD[i], RFC_RAW[i]);
    }
}

static void test_b64_url_and_std_alphabets_differ_in_62_and_63(void **state)
{
    check_encode(B64_URL, "\xfb\xff", "-_8");
    check_encode(B64_STD, "\xfb\xff", "+/8");
    check_encode(B64_STD_PAD, "\xfb\xff", "+/8=");
    check_decode(B64_URL, "-_8", "\xfb\xff");
    check_decode(B64_STD, "+/8", "\xfb\xff");
    check_refused(B64_URL, "+/8");
    check_refused(B64_URL, "-/8");
    check_refused(B64_STD, "-_8");
    check_refused(B64_STD_PAD, "-_8=");
}

static void test_b64_unpadded_variants_refuse_padding(void **state)
{
    check_refused(B64_URL, "Zg==");
    check_refused(B64_URL, "Zm8=");
    check_refused(B64_STD, "Zg==");
    check_refused(B64_STD, "Zm8=");
    check_refused(B64_URL, "=");
    check_refused(B64_URL, "Zm9v====");
}

static void test_b64_padded_variant_requires_exact_padding(void **state)
{
    check_refused(B64_STD_PAD, "Zg");       /* missing */
    check_refused(B64_STD_PAD, "Zg=");      /* short */
    check_refused(B64_STD_PAD, "Zm8");      /* missing */
    check_refused(B64_STD_PAD, "Zg===");    /* extra */
    check_refused(B64_STD_PAD, "Z===");     /* three pads: 6 bits left */
    check_refused(B64_STD_PAD, "====");     /* nothing but pads */
    check_refused(B64_STD_PAD, "Zg==Zg=="); /* pad in the middle */
    check_refused(B64_STD_PAD, "Z=g=");
    check_refused(B64_STD_PAD, "Zm9vYg=");
}

static void test_b64_decode_refuses_whitespace_and_control_bytes(void **state)
{
    const char *cases[] = {" Zm9v", "Zm9v ", "Zm 9v", "Zm9v\n", "Zm\r\n9v", "\tZm9v"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_refused(B64_URL, cases[i]);
        check_refused(B64_STD, cases[i]);
        check_refused(B64_STD_PAD, cases[i]);
    }
    check_refused_n(B64_URL, "Zm\0v", 4);
    check_refused_n(B64_STD, "Zm9v\0", 5);
    check_refused(B64_URL, "Zm9v.");
    check_refused(B64_URL, "Zm\x80v");
}

static void test_b64_decode_refuses_a_lone_final_character(void **state)
{
    check_refused(B64_URL, "Z");
    check_refused(B64_URL, "Zm9vY");
    check_refused(B64_STD, "A");
}

static void test_b64_decode_refuses_nonzero_trailing_bits(void **state)
{
    /* "f" is Zg; Zh..Zv carry bits past the byte. "fo" is Zm8; Zm9 does. */
    check_refused(B64_URL, "Zh");
    check_refused(B64_URL, "Zv");
    check_refused(B64_URL, "Zm9");
    check_refused(B64_STD, "Zh");
    check_refused(B64_STD_PAD, "Zh==");
    check_refused(B64_STD_PAD, "Zm9=");
    check_decode(B64_URL, "Zg", "f");
    check_decode(B64_URL, "Zm8", "fo");
}

/* Over every 2- and 3-character string of the alphabet, decoding succeeds for
 * exactly one spelling per byte string, and that spelling re-encodes to itself. */
static void test_b64_short_inputs_have_one_accepted_spelling_each(void **state)
{
    size_t accepted2 = 0;
    size_t accepted3 = 0;
    for (int a = 0; a < 64; a++) {
        for (int b = 0; b < 64; b++) {
            char in[3] = {URL_ALPHABET[a], URL_ALPHABET[b], 0};
            unsigned char raw[2];
            char back[4];
            size_t n;
            if (b64_decode(B64_URL, (struct str){in, 2}, raw, sizeof(raw), &n) == RC_OK) {
                accepted2++;
                assert_int_equal(n, 1);
                assert_int_equal(b64_encode(B64_URL, raw, n, back), 2);
                assert_memory_equal(back, in, 2);
            }
            for (int c = 0; c < 64; c++) {
                in[2] = URL_ALPHABET[c];
                if (b64_decode(B64_URL, (struct str){in, 3}, raw, sizeof(raw), &n) != RC_OK)
                    continue;
                accepted3++;
                assert_int_equal(n, 2);
                assert_int_equal(b64_encode(B64_URL, raw, n, back), 3);
                assert_memory_equal(back, in, 3);
            }
        }
    }
    assert_int_equal(accepted2, 256);
    assert_int_equal(accepted3, 65536);
}

static void test_b64_decode_reports_too_large_and_writes_nothing(void **state)
{
    unsigned char out[8];
    memset(out, 0x5A, sizeof(out));
    size_t n = 42;
    assert_int_equal(b64_decode(B64_URL, STR_LIT("Zm9vYmFy"), out, 5, &n), RC_TOO_LARGE);
    assert_int_equal(n, 42);
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], 0x5A);
    assert_int_equal(b64_decode(B64_URL, STR_LIT("Zm9vYmFy"), out, 6, &n), RC_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
}

/* Every byte from 0x80 up, at each place of a group, in every variant. */
static void test_b64_decode_refuses_every_byte_past_ascii(void **state)
{
    enum b64_variant variants[] = {B64_URL, B64_STD, B64_STD_PAD};
    for (size_t v = 0; v < 3; v++) {
        for (int c = 0x80; c < 0x100; c++) {
            for (size_t at = 0; at < 4; at++) {
                char in[4] = {'Z', 'm', '9', 'v'};
                in[at] = (char)c;
                check_refused_n(variants[v], in, 4);
            }
        }
    }
}

/* Inputs past the decoder's 256-character chunks: a fault before, at or
 * after a chunk's end is refused with nothing written, padding closes only
 * the input, and an invalid input is RC_INVALID even when it would not fit. */
static void test_b64_long_inputs_are_checked_whole_before_writing(void **state)
{
    unsigned char raw[300];
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (unsigned char)(i * 31 + 3);
    char enc[404];
    size_t n = b64_encode(B64_STD_PAD, raw, sizeof(raw), enc); /* 400 characters */
    assert_int_equal(n, 400);
    const size_t faults[] = {0, 10, 255, 256, 257, 399};
    for (size_t f = 0; f < sizeof(faults) / sizeof(faults[0]); f++) {
        char bad[404];
        memcpy(bad, enc, n);
        bad[faults[f]] = '-';
        unsigned char out[400];
        memset(out, 0xA5, sizeof(out));
        size_t got = 7;
        assert_int_equal(b64_decode(B64_STD_PAD, (struct str){bad, n}, out, sizeof(out), &got),
                         RC_INVALID);
        assert_int_equal(got, 7);
        for (size_t i = 0; i < sizeof(out); i++)
            assert_int_equal(out[i], 0xA5);
        assert_int_equal(b64_decode(B64_STD_PAD, (struct str){bad, n}, out, 1, &got), RC_INVALID);
    }
    /* "Zg==" ending the first chunk, then more groups: padding mid-input */
    char padded[264];
    memset(padded, 'A', sizeof(padded));
    memcpy(padded + 252, "Zg==", 4);
    unsigned char out[300];
    size_t got = 7;
    assert_int_equal(b64_decode(B64_STD_PAD, (struct str){padded, 256}, out, sizeof(out), &got),
                     RC_OK);
    assert_int_equal(got, 190);
    got = 7;
    assert_int_equal(
        b64_decode(B64_STD_PAD, (struct str){padded, sizeof(padded)}, out, sizeof(out), &got),
        RC_INVALID);
    assert_int_equal(got, 7);
    /* valid but one byte short of room: too large, nothing written */
    memset(out, 0xA5, sizeof(out));
    assert_int_equal(b64_decode(B64_STD_PAD, (struct str){enc, n}, out, 299, &got), RC_TOO_LARGE);
    assert_int_equal(got, 7);
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], 0xA5);
    assert_int_equal(b64_decode(B64_STD_PAD, (struct str){enc, n}, out, 300, &got), RC_OK);
    assert_int_equal(got, 300);
    assert_memory_equal(out, raw, 300);
}

static void test_b64_empty_input_decodes_to_nothing(void **state)
{
    size_t n = 5;
    assert_int_equal(b64_decode(B64_URL, (struct str){NULL, 0}, NULL, 0, &n), RC_OK);
    assert_int_equal(n, 0);
    n = 5;
    assert_int_equal(b64_decode(B64_STD_PAD, STR_LIT(""), NULL, 0, &n), RC_OK);
    assert_int_equal(n, 0);
}

static void test_b64_round_trips_every_length_in_every_variant(void **state)
{
    unsigned char raw[300];
    char enc[400];
    unsigned char back[300];
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (unsigned char)(i * 151 + 7);
    enum b64_variant variants[] = {B64_URL, B64_STD, B64_STD_PAD};
    for (size_t v = 0; v < 3; v++) {
        for (size_t len = 0; len <= sizeof(raw); len++) {
            size_t n = b64_encode(variants[v], raw, len, enc);
            assert_int_equal(n, b64_encoded_len(variants[v], len));
            assert_true(b64_decoded_max(n) >= len);
            size_t got = 0;
            assert_int_equal(
                b64_decode(variants[v], (struct str){enc, n}, back, sizeof(back), &got), RC_OK);
            assert_int_equal(got, len);
            if (len)
                assert_memory_equal(back, raw, len);
        }
    }
}

static void test_b64_encoded_len_matches_the_rfc(void **state)
{
    assert_int_equal(b64_encoded_len(B64_URL, 0), 0);
    assert_int_equal(b64_encoded_len(B64_URL, 1), 2);
    assert_int_equal(b64_encoded_len(B64_URL, 2), 3);
    assert_int_equal(b64_encoded_len(B64_URL, 3), 4);
    assert_int_equal(b64_encoded_len(B64_URL, 32), 43); /* an HMAC-SHA256 */
    assert_int_equal(b64_encoded_len(B64_STD_PAD, 1), 4);
    assert_int_equal(b64_encoded_len(B64_STD_PAD, 32), 44);
    assert_int_equal(b64_encoded_len(B64_STD, 16), 22); /* a PHC salt */
    assert_int_equal(b64_encoded_len(B64_URL, SIZE_MAX), SIZE_MAX);
    assert_int_equal(b64_decoded_max(43), 32);
    assert_int_equal(b64_decoded_max(SIZE_MAX), SIZE_MAX / 4 * 3 + 2);
}

static void test_b64_encode_buf_appends_and_respects_max(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_append_cstr(&b, "x:"), RC_OK);
    assert_int_equal(b64_encode_buf(B64_URL, "foobar", 6, &b), RC_OK);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "x:Zm9vYmFy", 10);
    assert_int_equal(b64_encode_buf(B64_URL, "f", 1, &b), RC_TOO_LARGE);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "x:Zm9vYmFy", 10);
    assert_int_equal(b64_encode_buf(B64_URL, "", 0, &b), RC_OK);
    assert_int_equal(b.len, 10);
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_rfc4648_vectors_encode_in_every_variant),
        cmocka_unit_test(test_b64_rfc4648_vectors_decode_in_every_variant),
        cmocka_unit_test(test_b64_url_and_std_alphabets_differ_in_62_and_63),
        cmocka_unit_test(test_b64_unpadded_variants_refuse_padding),
        cmocka_unit_test(test_b64_padded_variant_requires_exact_padding),
        cmocka_unit_test(test_b64_decode_refuses_whitespace_and_control_bytes),
        cmocka_unit_test(test_b64_decode_refuses_a_lone_final_character),
        cmocka_unit_test(test_b64_decode_refuses_nonzero_trailing_bits),
        cmocka_unit_test(test_b64_short_inputs_have_one_accepted_spelling_each),
        cmocka_unit_test(test_b64_decode_reports_too_large_and_writes_nothing),
        cmocka_unit_test(test_b64_decode_refuses_every_byte_past_ascii),
        cmocka_unit_test(test_b64_long_inputs_are_checked_whole_before_writing),
        cmocka_unit_test(test_b64_empty_input_decodes_to_nothing),
        cmocka_unit_test(test_b64_round_trips_every_length_in_every_variant),
        cmocka_unit_test(test_b64_encoded_len_matches_the_rfc),
        cmocka_unit_test(test_b64_encode_buf_appends_and_respects_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
