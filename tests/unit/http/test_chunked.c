/* test_chunked.c -- unit tests of http/chunked.h: decoding in any split,
 * extensions and trailers, the strict line-ending and size rules, the body
 * limit, and leaving the bytes after the body alone. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http/chunked.h"
#include "slice_assert.h"

/* Decodes all of in[0..len) in one call into out (max bytes). */
static enum http_chunked_result decode_all(const char *in, size_t len, size_t max, struct buf *out,
                                           size_t *used)
{
    struct http_chunked d;
    http_chunked_init(&d);
    buf_init(out, max);
    return http_chunked_decode(&d, in, len, used, out);
}

/* Feeds in one byte per call until a result other than PARTIAL; *fed is the
 * number of bytes fed. A PARTIAL call must have used its byte. */
static enum http_chunked_result decode_bytewise(const char *in, size_t len, size_t max,
                                                struct buf *out, size_t *fed)
{
    struct http_chunked d;
    http_chunked_init(&d);
    buf_init(out, max);
    enum http_chunked_result r = HTTP_CHUNKED_PARTIAL;
    size_t i = 0;
    while (i < len) {
        size_t used = 99;
        r = http_chunked_decode(&d, in + i, 1, &used, out);
        i++;
        if (r != HTTP_CHUNKED_PARTIAL)
            break;
        assert_int_equal(used, 1);
    }
    *fed = i;
    return r;
}

/* The body must decode to want whole, byte by byte, and split at every point. */
#define assert_body(lit, want)                                                                     \
    do {                                                                                           \
        static const char in_[] = lit;                                                             \
        size_t len_ = sizeof(in_) - 1;                                                             \
        struct buf out_;                                                                           \
        size_t used_ = 0;                                                                          \
        assert_int_equal(decode_all(in_, len_, 1 << 16, &out_, &used_), HTTP_CHUNKED_DONE);        \
        assert_int_equal(used_, len_);                                                             \
        assert_slice_equal(buf_str(&out_), (want));                                                \
        buf_cleanup(&out_);                                                                        \
        size_t fed_ = 0;                                                                           \
        assert_int_equal(decode_bytewise(in_, len_, 1 << 16, &out_, &fed_), HTTP_CHUNKED_DONE);    \
        assert_int_equal(fed_, len_);                                                              \
        assert_slice_equal(buf_str(&out_), (want));                                                \
        buf_cleanup(&out_);                                                                        \
        for (size_t k_ = 0; k_ <= len_; k_++) {                                                    \
            struct http_chunked d_;                                                                \
            http_chunked_init(&d_);                                                                \
            buf_init(&out_, 1 << 16);                                                              \
            size_t u1_ = 99, u2_ = 99;                                                             \
            enum http_chunked_result r1_ = http_chunked_decode(&d_, in_, k_, &u1_, &out_);         \
            if (k_ < len_) {                                                                       \
                assert_int_equal(r1_, HTTP_CHUNKED_PARTIAL);                                       \
                assert_int_equal(u1_, k_);                                                         \
                assert_int_equal(http_chunked_decode(&d_, in_ + k_, len_ - k_, &u2_, &out_),       \
                                 HTTP_CHUNKED_DONE);                                               \
                assert_int_equal(u2_, len_ - k_);                                                  \
            } else {                                                                               \
                assert_int_equal(r1_, HTTP_CHUNKED_DONE);                                          \
            }                                                                                      \
            assert_slice_equal(buf_str(&out_), (want));                                            \
            buf_cleanup(&out_);                                                                    \
        }                                                                                          \
    } while (0)

/* The body must be refused with want, whole and byte by byte. */
#define assert_body_result(lit, max, want)                                                         \
    do {                                                                                           \
        static const char in_[] = lit;                                                             \
        size_t len_ = sizeof(in_) - 1;                                                             \
        struct buf out_;                                                                           \
        size_t used_ = 0, fed_ = 0;                                                                \
        enum http_chunked_result r_ = decode_all(in_, len_, (max), &out_, &used_);                 \
        size_t out_len_ = out_.len;                                                                \
        buf_cleanup(&out_);                                                                        \
        if (r_ != (want))                                                                          \
            fail_msg("%s: result %d, want %d", #lit, (int)r_, (int)(want));                        \
        assert_true(out_len_ <= (max));                                                            \
        r_ = decode_bytewise(in_, len_, (max), &out_, &fed_);                                      \
        buf_cleanup(&out_);                                                                        \
        if (r_ != (want))                                                                          \
            fail_msg("%s fed bytewise: result %d, want %d", #lit, (int)r_, (int)(want));           \
    } while (0)

#define assert_bad(lit) assert_body_result(lit, 1 << 16, HTTP_CHUNKED_BAD)

static void test_chunked_decodes_simple_body(void **state)
{
    assert_body("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
}

static void test_chunked_decodes_empty_body(void **state)
{
    assert_body("0\r\n\r\n", "");
    assert_body("000\r\n\r\n", "");
}

static void test_chunked_reads_hex_sizes_in_either_case(void **state)
{
    assert_body("a\r\n0123456789\r\nA\r\nabcdefghij\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
                "0123456789abcdefghij0123456789abcdef");
    assert_body("0005\r\nhello\r\n0\r\n\r\n", "hello");
}

static void test_chunked_data_may_hold_crlf(void **state)
{
    /* The data "\r\n0\r\n\r" looks like framing but is counted, not parsed. */
    assert_body("6\r\n\r\n0\r\n\r\r\n0\r\n\r\n", "\r\n0\r\n\r");
}

static void test_chunked_byte_at_a_time_gives_same_body(void **state)
{
    static const char in[] = "3\r\nabc\r\n1;x=y\r\nd\r\n0\r\nT: 1\r\n\r\n";
    struct buf whole, bytes;
    size_t used = 0, fed = 0;
    assert_int_equal(decode_all(in, sizeof(in) - 1, 1024, &whole, &used), HTTP_CHUNKED_DONE);
    assert_int_equal(decode_bytewise(in, sizeof(in) - 1, 1024, &bytes, &fed), HTTP_CHUNKED_DONE);
    assert_int_equal(fed, sizeof(in) - 1);
    assert_int_equal(whole.len, bytes.len);
    assert_memory_equal(whole.data, bytes.data, whole.len);
    assert_slice_equal(buf_str(&bytes), "abcd");
    buf_cleanup(&whole);
    buf_cleanup(&bytes);
}

static void test_chunked_ignores_extensions(void **state)
{
    assert_body("5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello");
    assert_body("5;a=\"quoted; \\\"str\"\r\nhello\r\n0\r\n\r\n", "hello");
    assert_body("5;a;b=1\r\nhello\r\n0\r\n\r\n", "hello");
    /* BWS before ';' (RFC 9112 §7.1.1). */
    assert_body("5 ;a\r\nhello\r\n0\t;b\r\n\r\n", "hello");
}

static void test_chunked_drops_trailers(void **state)
{
    assert_body("5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n", "hello");
    assert_body("5\r\nhello\r\n0\r\nA: 1\r\nB:\r\nC: x y z\r\n\r\n", "hello");
}

static void test_chunked_rejects_bad_hex_size(void **state)
{
    assert_bad("g\r\nhello\r\n0\r\n\r\n");
    assert_bad("5x\r\nhello\r\n0\r\n\r\n");
    assert_bad("0x5\r\nhello\r\n0\r\n\r\n");
    assert_bad("-5\r\nhello\r\n0\r\n\r\n");
    assert_bad("+5\r\nhello\r\n0\r\n\r\n");
    assert_bad(" 5\r\nhello\r\n0\r\n\r\n");
    assert_bad("\r\nhello\r\n0\r\n\r\n");
    assert_bad(";ext\r\nhello\r\n0\r\n\r\n");
}

static void test_chunked_rejects_missing_crlf_after_data(void **state)
{
    assert_bad("5\r\nhelloX\r\n0\r\n\r\n");
    assert_bad("5\r\nhello0\r\n\r\n");
    assert_bad("5\r\nhello\rX0\r\n\r\n");
    assert_bad("5\r\nhello\r\r\n0\r\n\r\n");
    /* Data longer than its size: the surplus is where the CRLF belongs. */
    assert_bad("3\r\nhello\r\n0\r\n\r\n");
}

static void test_chunked_rejects_bare_lf(void **state)
{
    assert_bad("5\nhello\r\n0\r\n\r\n");
    assert_bad("5\r\nhello\n0\r\n\r\n");
    assert_bad("5\r\nhello\r\n0\n\r\n");
    assert_bad("5\r\nhello\r\n0\r\n\n");
    assert_bad("5;ext\nhello\r\n0\r\n\r\n");
    assert_bad("5\r\nhello\r\n0\r\nT: 1\n\r\n");
}

static void test_chunked_rejects_bare_cr(void **state)
{
    assert_bad("5\rhello\r\n0\r\n\r\n");
    assert_bad("5\r\nhello\r\n0\r\r\n");
    assert_bad("5\r\nhello\r\n0\r\nT: 1\rX\r\n\r\n");
}

static void test_chunked_rejects_size_overflow(void **state)
{
    /* 16 and more hex digits are past any body limit and could overflow. */
    assert_bad("ffffffffffffffff\r\n");
    assert_bad("10000000000000000\r\nx\r\n0\r\n\r\n");
    assert_bad("10000000000000005\r\nhello\r\n0\r\n\r\n");
    assert_bad("ffffffffffffffffffffffffffffffff\r\n");
}

static void test_chunked_rejects_controls_in_extension_and_trailer(void **state)
{
    assert_bad("5;a\001b\r\nhello\r\n0\r\n\r\n");
    assert_bad("5;a\x7f\r\nhello\r\n0\r\n\r\n");
    assert_bad("5\r\nhello\r\n0\r\nT: a\0b\r\n\r\n");
    /* A trailer field cannot be folded. */
    assert_bad("5\r\nhello\r\n0\r\nT: a\r\n b\r\n\r\n");
}

static void test_chunked_rejects_extension_without_semicolon(void **state)
{
    /* chunk-ext is *( BWS ";" ... ): whitespace after the size must lead to ';'. */
    assert_bad("5 x\r\nhello\r\n0\r\n\r\n");
}

static void test_chunked_accepts_extensions_by_the_grammar(void **state)
{
    /* BWS around '=' and before ';' (RFC 9112 §7.1.1), an empty quoted value,
     * a quoted value followed by more extensions. */
    assert_body("2;a = b\r\nhi\r\n0\r\n\r\n", "hi");
    assert_body("2 ; a\r\nhi\r\n0\r\n\r\n", "hi");
    assert_body("2;a=\"\"\r\nhi\r\n0\r\n\r\n", "hi");
    assert_body("2;a=\"x\" ;b;c=d\r\nhi\r\n0\r\n\r\n", "hi");
    assert_body("2;!#$%&'*+-.^_`|~=~\r\nhi\r\n0\r\n\r\n", "hi");
}

static void test_chunked_rejects_empty_extension(void **state)
{
    /* chunk-ext-name is a token: at least one tchar after each ';'. */
    assert_bad("2;\r\nhi\r\n0\r\n\r\n");
    assert_bad("2; \r\nhi\r\n0\r\n\r\n");
    assert_bad("2;;a\r\nhi\r\n0\r\n\r\n");
    assert_bad("2;a;\r\nhi\r\n0\r\n\r\n");
    assert_bad("2;=v\r\nhi\r\n0\r\n\r\n");
    assert_bad("2\r\nhi\r\n0;\r\n\r\n");
}

static void test_chunked_rejects_extension_off_the_grammar(void **state)
{
    assert_bad("2;a=\r\nhi\r\n0\r\n\r\n");       /* no value after '=' */
    assert_bad("2;a= \r\nhi\r\n0\r\n\r\n");      /* BWS, still no value */
    assert_bad("2;a \r\nhi\r\n0\r\n\r\n");       /* whitespace before the CR */
    assert_bad("2;a=b \r\nhi\r\n0\r\n\r\n");     /* ditto */
    assert_bad("2;a b\r\nhi\r\n0\r\n\r\n");      /* two names without ';' */
    assert_bad("2;a=b c\r\nhi\r\n0\r\n\r\n");    /* two values */
    assert_bad("2;a@b\r\nhi\r\n0\r\n\r\n");      /* '@' is not a tchar */
    assert_bad("2;a=b\"c\"\r\nhi\r\n0\r\n\r\n"); /* a quote inside a token */
    assert_bad("2;a=\"x\r\nhi\r\n0\r\n\r\n");    /* unterminated quoted-string */
    assert_bad("2;a=\"x\"y\r\nhi\r\n0\r\n\r\n"); /* text after the closing quote */
    assert_bad("2;a=\"x\\\r\nhi\r\n0\r\n\r\n");  /* an escaped CR */
}

static void test_chunked_rejects_trailer_line_without_colon(void **state)
{
    /* A trailer line is a field line: name ":" value. */
    assert_bad("5\r\nhello\r\n0\r\nnot-a-field\r\n\r\n");
}

static void test_chunked_rejects_overlong_extension_line(void **state)
{
    static char in[HTTP_CHUNKED_MAX_LINE + 64];
    size_t len = 0;
    memcpy(in, "1;", 2);
    len = 2;
    while (len < HTTP_CHUNKED_MAX_LINE + 10)
        in[len++] = 'a';
    memcpy(in + len, "\r\nx\r\n0\r\n\r\n", 10);
    len += 10;
    struct buf out;
    size_t used = 0;
    assert_int_equal(decode_all(in, len, 1024, &out, &used), HTTP_CHUNKED_BAD);
    buf_cleanup(&out);
}

static void test_chunked_body_over_max_is_too_large(void **state)
{
    /* Exactly the max is fine. */
    struct buf out;
    size_t used = 0;
    static const char ten[] = "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n";
    assert_int_equal(decode_all(ten, sizeof(ten) - 1, 10, &out, &used), HTTP_CHUNKED_DONE);
    assert_slice_equal(buf_str(&out), "helloworld");
    buf_cleanup(&out);

    assert_body_result("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 9, HTTP_CHUNKED_TOO_LARGE);
    assert_body_result("b\r\nhello world\r\n0\r\n\r\n", 10, HTTP_CHUNKED_TOO_LARGE);
    /* A declared size past the limit is refused before its data arrives. */
    assert_body_result("fffffffffffffff\r\n", 1 << 20, HTTP_CHUNKED_TOO_LARGE);
}

static void test_chunked_does_not_consume_bytes_after_body(void **state)
{
    static const char in[] = "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    size_t body_len = strlen("5\r\nhello\r\n0\r\n\r\n");
    struct buf out;
    size_t used = 0;
    assert_int_equal(decode_all(in, sizeof(in) - 1, 1024, &out, &used), HTTP_CHUNKED_DONE);
    assert_int_equal(used, body_len);
    assert_slice_equal(buf_str(&out), "hello");
    buf_cleanup(&out);

    /* Also when the final CRLF and the next request arrive together. */
    struct http_chunked d;
    http_chunked_init(&d);
    buf_init(&out, 1024);
    assert_int_equal(http_chunked_decode(&d, in, body_len - 2, &used, &out), HTTP_CHUNKED_PARTIAL);
    assert_int_equal(used, body_len - 2);
    assert_int_equal(
        http_chunked_decode(&d, in + body_len - 2, sizeof(in) - 1 - (body_len - 2), &used, &out),
        HTTP_CHUNKED_DONE);
    assert_int_equal(used, 2);
    buf_cleanup(&out);
}

static void test_chunked_partial_uses_all_input(void **state)
{
    struct http_chunked d;
    struct buf out;
    size_t used = 0;
    http_chunked_init(&d);
    buf_init(&out, 1024);
    assert_int_equal(http_chunked_decode(&d, "5\r\nhel", 6, &used, &out), HTTP_CHUNKED_PARTIAL);
    assert_int_equal(used, 6);
    assert_slice_equal(buf_str(&out), "hel");
    assert_int_equal(http_chunked_decode(&d, "", 0, &used, &out), HTTP_CHUNKED_PARTIAL);
    assert_int_equal(used, 0);
    assert_int_equal(http_chunked_decode(&d, "lo\r\n0\r\n\r\n", 9, &used, &out), HTTP_CHUNKED_DONE);
    assert_int_equal(used, 9);
    assert_slice_equal(buf_str(&out), "hello");
    buf_cleanup(&out);
}

static void test_chunked_appends_after_existing_content(void **state)
{
    struct http_chunked d;
    struct buf out;
    size_t used = 0;
    http_chunked_init(&d);
    buf_init(&out, 8);
    assert_int_equal(buf_append(&out, "ab", 2), RC_OK);
    /* The limit counts what out already holds. */
    assert_int_equal(http_chunked_decode(&d, "7\r\n", 3, &used, &out), HTTP_CHUNKED_TOO_LARGE);
    buf_cleanup(&out);

    http_chunked_init(&d);
    buf_init(&out, 8);
    assert_int_equal(buf_append(&out, "ab", 2), RC_OK);
    assert_int_equal(http_chunked_decode(&d, "6\r\ncdefgh\r\n0\r\n\r\n", 16, &used, &out),
                     HTTP_CHUNKED_DONE);
    assert_slice_equal(buf_str(&out), "abcdefgh");
    buf_cleanup(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunked_decodes_simple_body),
        cmocka_unit_test(test_chunked_decodes_empty_body),
        cmocka_unit_test(test_chunked_reads_hex_sizes_in_either_case),
        cmocka_unit_test(test_chunked_data_may_hold_crlf),
        cmocka_unit_test(test_chunked_byte_at_a_time_gives_same_body),
        cmocka_unit_test(test_chunked_ignores_extensions),
        cmocka_unit_test(test_chunked_drops_trailers),
        cmocka_unit_test(test_chunked_rejects_bad_hex_size),
        cmocka_unit_test(test_chunked_rejects_missing_crlf_after_data),
        cmocka_unit_test(test_chunked_rejects_bare_lf),
        cmocka_unit_test(test_chunked_rejects_bare_cr),
        cmocka_unit_test(test_chunked_rejects_size_overflow),
        cmocka_unit_test(test_chunked_rejects_controls_in_extension_and_trailer),
        cmocka_unit_test(test_chunked_rejects_extension_without_semicolon),
        cmocka_unit_test(test_chunked_accepts_extensions_by_the_grammar),
        cmocka_unit_test(test_chunked_rejects_empty_extension),
        cmocka_unit_test(test_chunked_rejects_extension_off_the_grammar),
        cmocka_unit_test(test_chunked_rejects_trailer_line_without_colon),
        cmocka_unit_test(test_chunked_rejects_overlong_extension_line),
        cmocka_unit_test(test_chunked_body_over_max_is_too_large),
        cmocka_unit_test(test_chunked_does_not_consume_bytes_after_body),
        cmocka_unit_test(test_chunked_partial_uses_all_input),
        cmocka_unit_test(test_chunked_appends_after_existing_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
