/* test_jsonw.c -- unit tests of base/jsonw.h: structure (commas, nesting,
 * depth), string escaping and UTF-8 repair, number formatting, and the sticky
 * error contract. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/jsonw.h"
#include "base/utf8.h"
#include "slice_assert.h"

/* Writes one string value with a fresh writer and returns the JSON text in b. */
static void write_string(struct buf *b, struct str s)
{
    struct jsonw w;
    buf_init(b, 4096);
    jsonw_init(&w, b);
    jsonw_string(&w, s);
    assert_int_equal(jsonw_finish(&w), RC_OK);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the JSON string literal s (with its quotes) into out (room for
 * s.len bytes). Returns the decoded length, or -1 when s is not a well-formed
 * JSON string: so tests can check what a reader sees, whichever of the valid
 * encodings the writer chose. */
static long json_unquote(struct str s, char *out)
{
    if (s.len < 2 || s.ptr[0] != '"' || s.ptr[s.len - 1] != '"')
        return -1;
    size_t o = 0;
    for (size_t i = 1; i < s.len - 1; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c < 0x20 || c == '"')
            return -1;
        if (c != '\\') {
            out[o++] = (char)c;
            continue;
        }
        if (++i >= s.len - 1)
            return -1;
        switch (s.ptr[i]) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case '/': out[o++] = '/'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            if (i + 4 >= s.len - 1)
                return -1;
            uint32_t cp = 0;
            for (int k = 1; k <= 4; k++) {
                int h = hex_digit(s.ptr[i + (size_t)k]);
                if (h < 0)
                    return -1;
                cp = cp * 16 + (uint32_t)h;
            }
            i += 4;
            size_t n = utf8_encode(cp, out + o);
            if (n == 0)
                return -1; /* the writer never needs surrogate escapes */
            o += n;
            break;
        }
        default: return -1;
        }
    }
    return (long)o;
}

/* Checks that the JSON text of the string value written for in decodes to want. */
#define assert_string_reads_back_as(in, want_ptr, want_len)                                        \
    do {                                                                                           \
        struct buf b_;                                                                             \
        write_string(&b_, (in));                                                                   \
        assert_true(utf8_is_valid(b_.data, b_.len));                                               \
        char dec_[256];                                                                            \
        assert_true(b_.len <= sizeof(dec_));                                                       \
        long n_ = json_unquote(buf_str(&b_), dec_);                                                \
        if (n_ < 0)                                                                                \
            fail_msg("not a JSON string: %.*s", (int)b_.len, b_.data);                             \
        assert_int_equal((size_t)n_, (want_len));                                                  \
        assert_memory_equal(dec_, (want_ptr), (want_len));                                         \
        buf_cleanup(&b_);                                                                          \
    } while (0)

/* The JSON number grammar of RFC 8259 §6. */
static bool is_json_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0') {
        s++;
    } else if (*s >= '1' && *s <= '9') {
        while (*s >= '0' && *s <= '9')
            s++;
    } else {
        return false;
    }
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

/* Significant digits of a JSON number: the mantissa's digits without leading
 * and trailing zeros ("0.0120" -> 2, "1500" -> 2, "0" -> 0). */
static int significant_digits(const char *s)
{
    char digits[64];
    int n = 0;
    for (; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s >= '0' && *s <= '9' && n < (int)sizeof(digits))
            digits[n++] = *s;
    }
    int lo = 0;
    while (lo < n && digits[lo] == '0')
        lo++;
    while (n > lo && digits[n - 1] == '0')
        n--;
    return n - lo;
}

/* Writes v and returns its text (NUL-terminated) in out. */
static void write_double(double v, char *out, size_t cap)
{
    struct buf b;
    struct jsonw w;
    buf_init(&b, 4096);
    jsonw_init(&w, &b);
    jsonw_double(&w, v);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    assert_true(b.len < cap);
    memcpy(out, b.data, b.len);
    out[b.len] = '\0';
    buf_cleanup(&b);
}

/* Fails unless v is written as a JSON number that reads back as v and that
 * no shorter precision could replace. */
static void assert_double_shortest(double v)
{
    char t[64];
    write_double(v, t, sizeof(t));
    if (!is_json_number(t))
        fail_msg("%.17g written as \"%s\", not a JSON number", v, t);
    if (strtod(t, NULL) != v)
        fail_msg("%.17g written as \"%s\", which reads back differently", v, t);
    int digits = significant_digits(t);
    if (digits > 1) {
        char shorter[800]; /* %g of any double at any precision fits */
        snprintf(shorter, sizeof(shorter), "%.*g", digits - 1, v);
        if (strtod(shorter, NULL) == v)
            fail_msg("%.17g written as \"%s\" but \"%s\" is shorter", v, t, shorter);
    }
}

static void test_jsonw_places_commas_and_colons_in_nested_containers(void **state)
{
    struct buf b;
    struct jsonw w;
    buf_init(&b, 4096);
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "a");
    jsonw_int(&w, 1);
    jsonw_key_cstr(&w, "b");
    jsonw_array_begin(&w);
    jsonw_int(&w, 1);
    jsonw_string_cstr(&w, "two");
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "c");
    jsonw_null(&w);
    jsonw_key_cstr(&w, "d");
    jsonw_array_begin(&w);
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    jsonw_array_begin(&w);
    jsonw_bool(&w, true);
    jsonw_array_end(&w);
    jsonw_array_end(&w);
    jsonw_key_cstr(&w, "e");
    jsonw_object_begin(&w);
    jsonw_object_end(&w);
    jsonw_key(&w, STR_LIT("f"));
    jsonw_bool(&w, false);
    jsonw_key_cstr(&w, "g");
    jsonw_raw(&w, STR_LIT("[1,2]"));
    jsonw_key_cstr(&w, "h");
    jsonw_double(&w, 1.5);
    jsonw_object_end(&w);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    assert_slice_equal(buf_str(&b), "{\"a\":1,\"b\":[1,\"two\",{\"c\":null,\"d\":[]},[true]],"
                                    "\"e\":{},\"f\":false,\"g\":[1,2],\"h\":1.5}");
    buf_cleanup(&b);
}

static void test_jsonw_writes_empty_containers(void **state)
{
    struct buf b;
    struct jsonw w;
    buf_init(&b, 64);
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    jsonw_object_begin(&w);
    jsonw_object_end(&w);
    jsonw_array_begin(&w);
    jsonw_array_end(&w);
    jsonw_object_begin(&w);
    jsonw_object_end(&w);
    jsonw_array_end(&w);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    assert_slice_equal(buf_str(&b), "[{},[],{}]");
    buf_cleanup(&b);
}

static void test_jsonw_writes_top_level_scalars(void **state)
{
    struct buf b;
    struct jsonw w;
    buf_init(&b, 64);
    jsonw_init(&w, &b);
    jsonw_int(&w, INT64_MIN);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    assert_slice_equal(buf_str(&b), "-9223372036854775808");

    buf_reset(&b);
    jsonw_init(&w, &b);
    jsonw_int(&w, INT64_MAX);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    assert_slice_equal(buf_str(&b), "9223372036854775807");

    buf_reset(&b);
    jsonw_init(&w, &b);
    jsonw_string_cstr(&w, "");
    assert_int_equal(jsonw_finish(&w), RC_OK);
    assert_slice_equal(buf_str(&b), "\"\"");
    buf_cleanup(&b);
}

static void test_jsonw_appends_to_existing_buffer_content(void **state)
{
    struct buf b;
    struct jsonw w;
    buf_init(&b, 64);
    assert_int_equal(buf_append_cstr(&b, "data: "), RC_OK);
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    jsonw_int(&w, 0);
    jsonw_array_end(&w);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    assert_slice_equal(buf_str(&b), "data: [0]");
    buf_cleanup(&b);
}

static void test_jsonw_escapes_quote_and_backslash(void **state)
{
    struct buf b;
    write_string(&b, STR_LIT("say \"hi\" \\o/"));
    assert_slice_equal(buf_str(&b), "\"say \\\"hi\\\" \\\\o/\"");
    buf_cleanup(&b);
}

static void test_jsonw_escapes_control_characters(void **state)
{
    struct buf b;
    write_string(&b, STR_LIT("a\nb\tc\rd\be\ff\x01g"));
    assert_slice_equal(buf_str(&b), "\"a\\nb\\tc\\rd\\be\\ff\\u0001g\"");
    buf_cleanup(&b);

    /* The last control character; hex digits may be either case. */
    write_string(&b, STR_LIT("\x1f"));
    assert_int_equal(b.len, 8);
    assert_true(strncasecmp(b.data, "\"\\u001f\"", 8) == 0);
    buf_cleanup(&b);

    /* DEL is not a control character for JSON and stays as it is. */
    write_string(&b, STR_LIT("\x7f"));
    assert_slice_equal(buf_str(&b), "\"\x7f\"");
    buf_cleanup(&b);
}

static void test_jsonw_escapes_nul_inside_slice(void **state)
{
    struct buf b;
    write_string(&b, (struct str){"a\0b", 3});
    assert_slice_equal(buf_str(&b), "\"a\\u0000b\"");
    buf_cleanup(&b);
}

static void test_jsonw_escapes_object_keys(void **state)
{
    struct buf b;
    struct jsonw w;
    buf_init(&b, 64);
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_key(&w, STR_LIT("k\"\n"));
    jsonw_int(&w, 1);
    jsonw_object_end(&w);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    assert_slice_equal(buf_str(&b), "{\"k\\\"\\n\":1}");
    buf_cleanup(&b);
}

static void test_jsonw_passes_valid_utf8_through(void **state)
{
    struct buf b;
    /* U+00E9, U+20AC, U+1F600, and U+FFFD itself. */
    write_string(&b, STR_LIT("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd"));
    assert_slice_equal(buf_str(&b), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd\"");
    buf_cleanup(&b);
}

static void test_jsonw_replaces_invalid_utf8_with_replacement_char(void **state)
{
#define FFFD "\xef\xbf\xbd"
    /* A stray continuation byte and an impossible byte. */
    assert_string_reads_back_as(STR_LIT("a\x80z"), "a" FFFD "z", 5);
    assert_string_reads_back_as(STR_LIT("\xff"), FFFD, 3);
    /* Truncated sequences, mid-string and at the very end: one U+FFFD per
     * byte, as Go's encoding/json. */
    assert_string_reads_back_as(STR_LIT("\xe2\x82x"), FFFD FFFD "x", 7);
    assert_string_reads_back_as(STR_LIT("ok\xc3"), "ok" FFFD, 5);
    assert_string_reads_back_as(STR_LIT("\xf0\x9f\x98"), FFFD FFFD FFFD, 9);
    /* Overlong "/" and an encoded surrogate. */
    assert_string_reads_back_as(STR_LIT("\xc0\xaf"), FFFD FFFD, 6);
    assert_string_reads_back_as(STR_LIT("\xed\xa0\x80"), FFFD FFFD FFFD, 9);
    /* Past U+10FFFF. */
    assert_string_reads_back_as(STR_LIT("\xf4\x90\x80\x80"), FFFD FFFD FFFD FFFD, 12);
    /* Valid text around the bad byte is kept. */
    assert_string_reads_back_as(STR_LIT("\xc3\xa9\xfe\xc3\xa9"), "\xc3\xa9" FFFD "\xc3\xa9", 7);
#undef FFFD
}

static void test_jsonw_escapes_line_and_paragraph_separators(void **state)
{
    struct buf b;
    write_string(&b, STR_LIT("a\342\200\250b\342\200\251c"));
    assert_slice_equal(buf_str(&b), "\"a\\u2028b\\u2029c\"");
    buf_cleanup(&b);
    /* Their neighbours U+2027 and U+202A are ordinary characters. */
    write_string(&b, STR_LIT("\xe2\x80\xa7\xe2\x80\xaa"));
    assert_slice_equal(buf_str(&b), "\"\xe2\x80\xa7\xe2\x80\xaa\"");
    buf_cleanup(&b);
}

static void test_jsonw_escape_into_writes_content_without_quotes(void **state)
{
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(jsonw_escape_into(&b, STR_LIT("x\"y\n")), RC_OK);
    assert_slice_equal(buf_str(&b), "x\\\"y\\n");
    buf_cleanup(&b);

    buf_init(&b, 3);
    assert_int_equal(jsonw_escape_into(&b, STR_LIT("\n\n")), RC_TOO_LARGE);
    assert_true(b.len <= 3);
    buf_cleanup(&b);
}

static void test_jsonw_double_is_shortest_round_trip(void **state)
{
    char t[64];
    write_double(0.1, t, sizeof(t));
    assert_string_equal(t, "0.1");
    write_double(0.1 + 0.2, t, sizeof(t));
    assert_string_equal(t, "0.30000000000000004");
    write_double(-2.25, t, sizeof(t));
    assert_string_equal(t, "-2.25");
    write_double(123.456, t, sizeof(t));
    assert_string_equal(t, "123.456");

    static const double values[] = {0.1,
                                    0.2,
                                    0.3,
                                    0.30000000000000004,
                                    1.5,
                                    -2.25,
                                    3.141592653589793,
                                    0.3333333333333333,
                                    0.6666666666666666,
                                    1e-7,
                                    -1.5e-300,
                                    123456.789,
                                    4.35,
                                    0.000123,
                                    1e23,
                                    DBL_MAX,
                                    DBL_MIN,
                                    -DBL_MIN,
                                    9007199254740993.0,
                                    1e300,
                                    5e-5};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        assert_double_shortest(values[i]);
}

static void test_jsonw_double_subnormal_is_shortest_round_trip(void **state)
{
    char t[64];
    /* The smallest subnormal has one significant digit. */
    write_double(5e-324, t, sizeof(t));
    assert_string_equal(t, "5e-324");
    assert_double_shortest(5e-324);
    assert_double_shortest(-1e-310);
    assert_double_shortest(2.5e-320);
}

static void test_jsonw_integral_double_has_no_fraction(void **state)
{
    char t[64];
    write_double(3.0, t, sizeof(t));
    assert_string_equal(t, "3");
    write_double(-42.0, t, sizeof(t));
    assert_string_equal(t, "-42");
    write_double(0.0, t, sizeof(t));
    assert_true(strcmp(t, "0") == 0 || strcmp(t, "-0") == 0);
    write_double(-0.0, t, sizeof(t));
    assert_true(strcmp(t, "0") == 0 || strcmp(t, "-0") == 0);
    write_double(1e15, t, sizeof(t));
    assert_string_equal(t, "1000000000000000");
    write_double(9007199254740991.0, t, sizeof(t));
    assert_string_equal(t, "9007199254740991");
}

static void test_jsonw_large_integral_double_has_no_fraction(void **state)
{
    char t[64];
    /* Larger integral values may use an exponent, but never a fraction
     * (1152921504606846976 is 2^60; 1e23 is not exactly representable). */
    static const double big[] = {9007199254740992.0, 1152921504606846976.0, 1e20, 1e23};
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        write_double(big[i], t, sizeof(t));
        assert_true(is_json_number(t));
        if (strchr(t, '.'))
            fail_msg("integral %.17g written with a fraction: \"%s\"", big[i], t);
        assert_true(strtod(t, NULL) == big[i]);
    }
}

static void test_jsonw_nan_and_infinities_are_null(void **state)
{
    struct buf b;
    struct jsonw w;
    buf_init(&b, 64);
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    jsonw_double(&w, NAN);
    jsonw_double(&w, INFINITY);
    jsonw_double(&w, -INFINITY);
    jsonw_double(&w, 2.5);
    jsonw_array_end(&w);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    assert_slice_equal(buf_str(&b), "[null,null,null,2.5]");
    buf_cleanup(&b);
}

static void test_jsonw_full_buffer_error_is_sticky(void **state)
{
    struct buf b;
    struct jsonw w;
    buf_init(&b, 8);
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    jsonw_string_cstr(&w, "0123456789");
    assert_int_equal(jsonw_finish(&w), RC_TOO_LARGE);
    size_t len_at_error = b.len;
    assert_true(len_at_error <= 8);

    /* Later values would fit, but nothing more is written and the first
     * error stays the one reported, even with a container still open. */
    jsonw_int(&w, 1);
    jsonw_null(&w);
    jsonw_array_end(&w);
    jsonw_array_end(&w);
    assert_int_equal(b.len, len_at_error);
    assert_int_equal(jsonw_finish(&w), RC_TOO_LARGE);
    buf_cleanup(&b);
}

static void test_jsonw_output_exactly_at_max_succeeds(void **state)
{
    struct buf b;
    struct jsonw w;
    buf_init(&b, 6);
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    jsonw_int(&w, 1);
    jsonw_int(&w, 22);
    jsonw_array_end(&w);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    assert_slice_equal(buf_str(&b), "[1,22]");
    buf_cleanup(&b);

    /* One byte less and the closing bracket no longer fits. */
    buf_init(&b, 5);
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    jsonw_int(&w, 1);
    jsonw_int(&w, 22);
    jsonw_array_end(&w);
    assert_int_equal(jsonw_finish(&w), RC_TOO_LARGE);
    assert_slice_equal(buf_str(&b), "[1,22");
    buf_cleanup(&b);
}

static void test_jsonw_finish_with_open_container_is_invalid(void **state)
{
    struct buf b;
    struct jsonw w;
    buf_init(&b, 64);
    jsonw_init(&w, &b);
    jsonw_object_begin(&w);
    jsonw_key_cstr(&w, "a");
    jsonw_array_begin(&w);
    jsonw_array_end(&w);
    assert_int_equal(jsonw_finish(&w), RC_INVALID);
    jsonw_object_end(&w);
    assert_int_equal(jsonw_finish(&w), RC_OK);
    buf_cleanup(&b);
}

static void test_jsonw_closing_more_than_opened_is_invalid(void **state)
{
    struct buf b;
    struct jsonw w;
    buf_init(&b, 64);
    jsonw_init(&w, &b);
    jsonw_array_begin(&w);
    jsonw_array_end(&w);
    jsonw_array_end(&w);
    assert_int_equal(jsonw_finish(&w), RC_INVALID);
    /* Sticky: a balanced continuation does not clear it. */
    jsonw_array_begin(&w);
    jsonw_array_end(&w);
    assert_int_equal(jsonw_finish(&w), RC_INVALID);
    buf_cleanup(&b);
}

static void test_jsonw_allows_max_depth_and_refuses_deeper(void **state)
{
    struct buf b;
    struct jsonw w;
    buf_init(&b, 4096);
    jsonw_init(&w, &b);
    for (int i = 0; i < JSONW_MAX_DEPTH; i++) {
        if (i % 2)
            jsonw_object_begin(&w);
        else
            jsonw_array_begin(&w);
        if (i % 2)
            jsonw_key_cstr(&w, "k");
    }
    jsonw_int(&w, 7);
    for (int i = JSONW_MAX_DEPTH - 1; i >= 0; i--) {
        if (i % 2)
            jsonw_object_end(&w);
        else
            jsonw_array_end(&w);
    }
    assert_int_equal(jsonw_finish(&w), RC_OK);
    buf_cleanup(&b);

    buf_init(&b, 4096);
    jsonw_init(&w, &b);
    for (int i = 0; i < JSONW_MAX_DEPTH + 1; i++)
        jsonw_array_begin(&w);
    for (int i = 0; i < JSONW_MAX_DEPTH + 1; i++)
        jsonw_array_end(&w);
    enum rc rc = jsonw_finish(&w);
    assert_int_not_equal(rc, RC_OK);
    /* Never more opening brackets than the limit. */
    size_t opens = 0;
    for (size_t i = 0; i < b.len; i++)
        opens += b.data[i] == '[';
    assert_true(opens <= JSONW_MAX_DEPTH);
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonw_places_commas_and_colons_in_nested_containers),
        cmocka_unit_test(test_jsonw_writes_empty_containers),
        cmocka_unit_test(test_jsonw_writes_top_level_scalars),
        cmocka_unit_test(test_jsonw_appends_to_existing_buffer_content),
        cmocka_unit_test(test_jsonw_escapes_quote_and_backslash),
        cmocka_unit_test(test_jsonw_escapes_control_characters),
        cmocka_unit_test(test_jsonw_escapes_nul_inside_slice),
        cmocka_unit_test(test_jsonw_escapes_object_keys),
        cmocka_unit_test(test_jsonw_passes_valid_utf8_through),
        cmocka_unit_test(test_jsonw_replaces_invalid_utf8_with_replacement_char),
        cmocka_unit_test(test_jsonw_escapes_line_and_paragraph_separators),
        cmocka_unit_test(test_jsonw_escape_into_writes_content_without_quotes),
        cmocka_unit_test(test_jsonw_double_is_shortest_round_trip),
        cmocka_unit_test(test_jsonw_double_subnormal_is_shortest_round_trip),
        cmocka_unit_test(test_jsonw_integral_double_has_no_fraction),
        cmocka_unit_test(test_jsonw_large_integral_double_has_no_fraction),
        cmocka_unit_test(test_jsonw_nan_and_infinities_are_null),
        cmocka_unit_test(test_jsonw_full_buffer_error_is_sticky),
        cmocka_unit_test(test_jsonw_output_exactly_at_max_succeeds),
        cmocka_unit_test(test_jsonw_finish_with_open_container_is_invalid),
        cmocka_unit_test(test_jsonw_closing_more_than_opened_is_invalid),
        cmocka_unit_test(test_jsonw_allows_max_depth_and_refuses_deeper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
