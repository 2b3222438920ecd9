/* test_query.c -- unit tests of http/query.h: percent-decoding ('+' as a
 * space only when asked), malformed escapes, and query-string splitting
 * (order, repeats, empty pairs, keys without '=', the parameter limit);
 * and http/req.h's per-request view of it (parsed once, a bad query is
 * an error on every call, never a partial list). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http/query.h"
#include "http/req.h"
#include "slice_assert.h"

/* Decodes the C string in; checks the result is the C string want. */
#define assert_decodes(in, plus, want)                                                             \
    do {                                                                                           \
        const char *in_ = (in);                                                                    \
        char out_[256];                                                                            \
        long dn_ = str_percent_decode(str_from_cstr(in_), out_, (plus));                           \
        if (dn_ < 0)                                                                               \
            fail_msg("\"%s\" refused", in_);                                                       \
        assert_slice_equal(((struct str){out_, (size_t)dn_}), (want));                             \
    } while (0)

#define assert_decode_refused(in, plus)                                                            \
    do {                                                                                           \
        char out_[256];                                                                            \
        long n_ = str_percent_decode(str_from_cstr(in), out_, (plus));                             \
        if (n_ != -1)                                                                              \
            fail_msg("\"%s\" decoded (%ld bytes), want -1", (in), n_);                             \
    } while (0)

static int setup_arena(void **state)
{
    static struct arena a;
    arena_init(&a, 4096);
    *state = &a;
    return 0;
}

static int teardown_arena(void **state)
{
    arena_cleanup(*state);
    return 0;
}

static void test_percent_decode_decodes_escapes(void **state)
{
    assert_decodes("", false, "");
    assert_decodes("plain", false, "plain");
    assert_decodes("a%20b%2Fc", false, "a b/c");
    assert_decodes("%41%42%43", false, "ABC");
    assert_decodes("%2f%2F%aB%Ab", false, "//\xab\xab");
    assert_decodes("100%25", false, "100%");
    assert_decodes("%E2%82%AC", false, "\xe2\x82\xac");
    /* A decoded '%' is not decoded again. */
    assert_decodes("%2541", false, "%41");
}

static void test_percent_decode_plus_is_space_only_when_asked(void **state)
{
    assert_decodes("a+b", true, "a b");
    assert_decodes("a+b", false, "a+b");
    assert_decodes("++", true, "  ");
    /* An encoded plus is always a plus. */
    assert_decodes("%2B", true, "+");
    assert_decodes("%2b", false, "+");
}

static void test_percent_decode_keeps_encoded_nul(void **state)
{
    char out[8];
    long n = str_percent_decode(STR_LIT("a%00b"), out, false);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "a\0b", 3);
}

static void test_percent_decode_rejects_malformed_escapes(void **state)
{
    assert_decode_refused("%", false);
    assert_decode_refused("%", true);
    assert_decode_refused("abc%", false);
    assert_decode_refused("abc%4", false);
    assert_decode_refused("%zz", false);
    assert_decode_refused("%zz", true);
    assert_decode_refused("%g0", false);
    assert_decode_refused("%0g", false);
    assert_decode_refused("% 41", false);
    assert_decode_refused("%+1", true);
    assert_decode_refused("%-1", false);
    assert_decode_refused("ok%41then%", false);
}

static void test_percent_decode_never_writes_past_input_length(void **state)
{
    static const char *inputs[] = {"abc%41", "%41%42%4", "++++", "x", "%zz", "%", "a%2"};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        struct str in = str_from_cstr(inputs[i]);
        char out[64];
        memset(out, '#', sizeof(out));
        long n = str_percent_decode(in, out, true);
        assert_true(n <= (long)in.len);
        for (size_t k = in.len; k < sizeof(out); k++)
            assert_int_equal(out[k], '#');
    }
}

static void test_percent_decode_reads_only_the_slice(void **state)
{
    /* The slice ends before the escape's digits: a truncated escape. */
    char out[8];
    assert_int_equal(str_percent_decode((struct str){"ab%41", 4}, out, false), -1);
    assert_int_equal(str_percent_decode((struct str){"ab%41", 2}, out, false), 2);
}

static void test_query_parse_splits_pairs_in_order(void **state)
{
    struct arena *a = *state;
    struct http_query_param *p = NULL;
    size_t n = 0;
    assert_int_equal(http_query_parse(STR_LIT("a=1&b=2&a=3"), a, &p, &n), RC_OK);
    assert_int_equal(n, 3);
    assert_slice_equal(p[0].key, "a");
    assert_slice_equal(p[0].value, "1");
    assert_slice_equal(p[1].key, "b");
    assert_slice_equal(p[1].value, "2");
    assert_slice_equal(p[2].key, "a");
    assert_slice_equal(p[2].value, "3");
}

static void test_query_parse_decodes_keys_and_values(void **state)
{
    struct arena *a = *state;
    struct http_query_param *p = NULL;
    size_t n = 0;
    assert_int_equal(
        http_query_parse(STR_LIT("q=hello+world&x=%26%3D&a%5B0%5D=1&f=a%2Bb"), a, &p, &n), RC_OK);
    assert_int_equal(n, 4);
    assert_slice_equal(p[0].key, "q");
    assert_slice_equal(p[0].value, "hello world");
    /* Encoded separators are data, not structure. */
    assert_slice_equal(p[1].key, "x");
    assert_slice_equal(p[1].value, "&=");
    assert_slice_equal(p[2].key, "a[0]");
    assert_slice_equal(p[2].value, "1");
    assert_slice_equal(p[3].key, "f");
    assert_slice_equal(p[3].value, "a+b");
}

static void test_query_parse_skips_empty_pairs(void **state)
{
    struct arena *a = *state;
    struct http_query_param *p = NULL;
    size_t n = 99;
    assert_int_equal(http_query_parse(STR_LIT("&a=1&&b=2&"), a, &p, &n), RC_OK);
    assert_int_equal(n, 2);
    assert_slice_equal(p[0].key, "a");
    assert_slice_equal(p[1].key, "b");
    assert_slice_equal(p[1].value, "2");

    n = 99;
    assert_int_equal(http_query_parse(STR_LIT(""), a, &p, &n), RC_OK);
    assert_int_equal(n, 0);
    n = 99;
    assert_int_equal(http_query_parse(STR_LIT("&&&"), a, &p, &n), RC_OK);
    assert_int_equal(n, 0);
}

static void test_query_parse_key_without_equals_has_empty_value(void **state)
{
    struct arena *a = *state;
    struct http_query_param *p = NULL;
    size_t n = 0;
    assert_int_equal(http_query_parse(STR_LIT("flag&x=1&empty=&=v&a=b=c"), a, &p, &n), RC_OK);
    assert_int_equal(n, 5);
    assert_slice_equal(p[0].key, "flag");
    assert_int_equal(p[0].value.len, 0);
    assert_slice_equal(p[1].key, "x");
    assert_slice_equal(p[1].value, "1");
    assert_slice_equal(p[2].key, "empty");
    assert_int_equal(p[2].value.len, 0);
    assert_int_equal(p[3].key.len, 0);
    assert_slice_equal(p[3].value, "v");
    /* Only the first '=' splits. */
    assert_slice_equal(p[4].key, "a");
    assert_slice_equal(p[4].value, "b=c");
}

static void test_query_parse_rejects_malformed_escape(void **state)
{
    struct arena *a = *state;
    struct http_query_param *p = NULL;
    size_t n = 0;
    assert_int_equal(http_query_parse(STR_LIT("a=%zz"), a, &p, &n), RC_INVALID);
    assert_int_equal(http_query_parse(STR_LIT("a%=1"), a, &p, &n), RC_INVALID);
    assert_int_equal(http_query_parse(STR_LIT("ok=1&b=%"), a, &p, &n), RC_INVALID);
    assert_int_equal(http_query_parse(STR_LIT("b=1%2&c=3"), a, &p, &n), RC_INVALID);
    assert_int_equal(http_query_parse(STR_LIT("%G0=x"), a, &p, &n), RC_INVALID);
}

/* Builds "k0=v&k1=v&..." with count pairs into out. */
static struct str make_query(char *out, size_t cap, size_t count)
{
    size_t len = 0;
    for (size_t i = 0; i < count; i++) {
        int w = snprintf(out + len, cap - len, "%sk%zu=v", i ? "&" : "", i);
        assert_true(w > 0 && (size_t)w < cap - len);
        len += (size_t)w;
    }
    return (struct str){out, len};
}

static void test_query_parse_accepts_max_params(void **state)
{
    struct arena *a = *state;
    char q[2048];
    struct http_query_param *p = NULL;
    size_t n = 0;
    assert_int_equal(http_query_parse(make_query(q, sizeof(q), HTTP_QUERY_MAX_PARAMS), a, &p, &n),
                     RC_OK);
    assert_int_equal(n, HTTP_QUERY_MAX_PARAMS);
    assert_slice_equal(p[HTTP_QUERY_MAX_PARAMS - 1].key, "k63");
}

static void test_query_parse_rejects_too_many_params(void **state)
{
    struct arena *a = *state;
    char q[8192];
    struct http_query_param *p = NULL;
    size_t n = 0;
    assert_int_equal(
        http_query_parse(make_query(q, sizeof(q), HTTP_QUERY_MAX_PARAMS + 1), a, &p, &n),
        RC_TOO_LARGE);
    assert_int_equal(http_query_parse(make_query(q, sizeof(q), 1000), a, &p, &n), RC_TOO_LARGE);
}

static void test_req_query_all_lists_params_and_finds_first(void **state)
{
    struct http_req req;
    memset(&req, 0, sizeof(req));
    req.arena = *state;
    req.query_string = STR_LIT("a=1&b=two&a=3");
    const struct http_query_param *p = NULL;
    size_t n = 0;
    assert_int_equal(http_req_query_all(&req, &p, &n), RC_OK);
    assert_int_equal(n, 3);
    assert_slice_equal(p[2].value, "3");
    struct str v;
    assert_int_equal(http_req_query(&req, "a", &v), RC_OK);
    assert_slice_equal(v, "1");
    assert_int_equal(http_req_query(&req, "missing", &v), RC_NOT_FOUND);
    /* The second call reuses the first parse. */
    const struct http_query_param *again = NULL;
    assert_int_equal(http_req_query_all(&req, &again, &n), RC_OK);
    assert_ptr_equal(again, p);
}

static void test_req_query_all_bad_query_is_an_error_every_time(void **state)
{
    struct http_req req;
    memset(&req, 0, sizeof(req));
    req.arena = *state;
    req.query_string = STR_LIT("a=1&b=%zz");
    const struct http_query_param *p = NULL;
    size_t n = 99;
    assert_int_equal(http_req_query_all(&req, &p, &n), RC_INVALID);
    assert_int_equal(n, 0);
    struct str v;
    assert_int_equal(http_req_query(&req, "a", &v), RC_INVALID);
    n = 99;
    assert_int_equal(http_req_query_all(&req, &p, &n), RC_INVALID);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percent_decode_decodes_escapes),
        cmocka_unit_test(test_percent_decode_plus_is_space_only_when_asked),
        cmocka_unit_test(test_percent_decode_keeps_encoded_nul),
        cmocka_unit_test(test_percent_decode_rejects_malformed_escapes),
        cmocka_unit_test(test_percent_decode_never_writes_past_input_length),
        cmocka_unit_test(test_percent_decode_reads_only_the_slice),
        cmocka_unit_test_setup_teardown(test_query_parse_splits_pairs_in_order, setup_arena,
                                        teardown_arena),
        cmocka_unit_test_setup_teardown(test_query_parse_decodes_keys_and_values, setup_arena,
                                        teardown_arena),
        cmocka_unit_test_setup_teardown(test_query_parse_skips_empty_pairs, setup_arena,
                                        teardown_arena),
        cmocka_unit_test_setup_teardown(test_query_parse_key_without_equals_has_empty_value,
                                        setup_arena, teardown_arena),
        cmocka_unit_test_setup_teardown(test_query_parse_rejects_malformed_escape, setup_arena,
                                        teardown_arena),
        cmocka_unit_test_setup_teardown(test_query_parse_accepts_max_params, setup_arena,
                                        teardown_arena),
        cmocka_unit_test_setup_teardown(test_query_parse_rejects_too_many_params, setup_arena,
                                        teardown_arena),
        cmocka_unit_test_setup_teardown(test_req_query_all_lists_params_and_finds_first,
                                        setup_arena, teardown_arena),
        cmocka_unit_test_setup_teardown(test_req_query_all_bad_query_is_an_error_every_time,
                                        setup_arena, teardown_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
