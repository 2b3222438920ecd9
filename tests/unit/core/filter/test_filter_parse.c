/* test_filter_parse.c -- unit tests of core/filter_lex.h and filter_parse.h:
 * tokens (identifiers, text escapes decoded JSON-style, numbers, signs,
 * comments), the grammar (AND over OR, n-ary chains, parentheses, function
 * calls) and every refusal: empty input, unbalanced parentheses, dangling
 * operators, bad escapes, lone '@', trailing '.', placeholders and each limit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/filter/filter_parse.h"

static struct arena arena;

static int setup(void **state)
{
    arena_init(&arena, 4096);
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    arena_cleanup(&arena);
    (void)state;
    return 0;
}

static void assert_slice(struct str s, const char *want)
{
    if (s.len != strlen(want) || memcmp(s.ptr, want, s.len) != 0)
        fail_msg("got \"%.*s\" (%zu bytes), want \"%s\"", (int)s.len, s.ptr, s.len, want);
}

/* Parses f, failing the test on error. */
static struct core_fnode *parse(const char *f)
{
    struct core_fnode *n = NULL;
    char err[200];
    if (core_filter_parse(str_from_cstr(f), &arena, &n, err, sizeof(err)))
        fail_msg("\"%s\" refused: %s", f, err);
    return n;
}

/* Checks that f is refused with a message containing want. */
static void assert_refused(const char *f, size_t len, const char *want)
{
    struct core_fnode *n = NULL;
    char err[200] = "";
    enum rc rc = core_filter_parse((struct str){f, len}, &arena, &n, err, sizeof(err));
    if (rc != RC_INVALID)
        fail_msg("\"%.*s\" accepted", (int)(len > 80 ? 80 : len), f);
    if (!strstr(err, want))
        fail_msg("\"%.*s\": message \"%s\" lacks \"%s\"", (int)(len > 80 ? 80 : len), f, err, want);
}
#define REFUSED(f, want) assert_refused((f), strlen(f), (want))

/* Lexes f and returns its first token (the rest ignored). */
static struct core_ftoken first_token(const char *f)
{
    struct core_flexer lx;
    struct core_ftoken t;
    char err[128];
    core_flex_init(&lx, str_from_cstr(f), &arena);
    if (core_flex_next(&lx, &t, err, sizeof(err)))
        fail_msg("\"%s\": %s", f, err);
    return t;
}

/* ---- tokens -------------------------------------------------------------- */

static void test_lex_identifiers_keep_dots_colons_and_at(void **state)
{
    const char *ids[] = {"title",
                         "_x",
                         "author.team.name",
                         "tags:each",
                         "@request.auth.id",
                         "@collection.m:m2.user",
                         "#x",
                         "a1.b_2:lower",
                         "comments_via_post.x"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct core_ftoken t = first_token(ids[i]);
        assert_int_equal(t.kind, CORE_FTOK_IDENT);
        assert_slice(t.text, ids[i]);
        assert_false(t.is_call);
    }
    assert_true(first_token("geoDistance(").is_call);
    assert_false(first_token("geoDistance (").is_call);
}

static void test_lex_text_decodes_json_escapes(void **state)
{
    assert_slice(first_token("'abc'").text, "abc");
    assert_slice(first_token("\"it's\"").text, "it's");
    assert_slice(first_token("'it\\'s'").text, "it's");
    assert_slice(first_token("\"a\\\"b\\\\c\\nd\"").text, "a\"b\\c\nd");
    assert_slice(first_token("'\\t\\r\\b\\f\\/'").text, "\t\r\b\f/");
    assert_slice(first_token("'\\u00e9\\u20AC'").text, "\xc3\xa9\xe2\x82\xac");
    assert_slice(first_token("'\\ud83d\\ude00'").text, "\xf0\x9f\x98\x80");
    assert_slice(first_token("'\\ud83d'").text, "\xef\xbf\xbd"); /* lone surrogate */
    /* Unknown escapes keep both bytes (hand-written LIKE escapes). */
    assert_slice(first_token("'100\\%'").text, "100\\%");
    assert_slice(first_token("'a\\_b'").text, "a\\_b");
    /* "a\\" : the pair is one backslash and the last quote closes. */
    assert_slice(first_token("\"a\\\\\"").text, "a\\");
    assert_slice(first_token("''").text, "");
}

static void test_lex_numbers_and_signs(void **state)
{
    const char *nums[] = {"0", "10", "-2.5", "3.14159", "-0"};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        struct core_ftoken t = first_token(nums[i]);
        assert_int_equal(t.kind, CORE_FTOK_NUMBER);
        assert_slice(t.text, nums[i]);
    }
    const char *signs[] = {"=",  "!=",  "~",  "!~",  "<",  "<=",  ">",  ">=",
                           "?=", "?!=", "?~", "?!~", "?<", "?<=", "?>", "?>="};
    for (size_t i = 0; i < sizeof(signs) / sizeof(signs[0]); i++) {
        struct core_ftoken t = first_token(signs[i]);
        assert_int_equal(t.kind, CORE_FTOK_SIGN);
        assert_int_equal(t.op, (enum core_fop)i);
        assert_string_equal(core_fop_name(t.op), signs[i]);
        assert_int_equal(core_fop_is_any(t.op), i >= CORE_FOP_ANY_OFFSET);
    }
    assert_int_equal(core_fop_base(CORE_FOP_ANY_GTE), CORE_FOP_GTE);
}

static void test_lex_skips_whitespace_and_comments(void **state)
{
    struct core_ftoken t = first_token(" \t\r\n// note ( x\n  // more\n  title");
    assert_int_equal(t.kind, CORE_FTOK_IDENT);
    assert_slice(t.text, "title");
    assert_int_equal(first_token("  // only a comment").kind, CORE_FTOK_EOF);
}

/* ---- grammar ------------------------------------------------------------- */

static void test_parse_comparison_operands(void **state)
{
    struct core_fnode *n = parse("'x' = title");
    assert_int_equal(n->kind, CORE_FNODE_CMP);
    assert_int_equal(n->left.kind, CORE_FOPD_TEXT);
    assert_int_equal(n->right.kind, CORE_FOPD_IDENT);
    assert_int_equal(n->op, CORE_FOP_EQ);
    n = parse("views?>=-1.5");
    assert_int_equal(n->op, CORE_FOP_ANY_GTE);
    assert_int_equal(n->right.kind, CORE_FOPD_NUMBER);
    assert_slice(n->right.text, "-1.5");
    assert_int_equal(n->right.offset, 8);
}

static void test_parse_and_binds_tighter_than_or(void **state)
{
    struct core_fnode *n = parse("a = 1 || b = 2 && c = 3");
    assert_int_equal(n->kind, CORE_FNODE_OR);
    assert_int_equal(n->count, 2);
    assert_int_equal(n->items[0]->kind, CORE_FNODE_CMP);
    assert_int_equal(n->items[1]->kind, CORE_FNODE_AND);
    assert_int_equal(n->items[1]->count, 2);
    n = parse("a = 1 && b = 2 || c = 3");
    assert_int_equal(n->kind, CORE_FNODE_OR);
    assert_int_equal(n->items[0]->kind, CORE_FNODE_AND);
}

static void test_parse_chains_are_one_nary_node(void **state)
{
    struct core_fnode *n = parse("a=1 && b=2 && c=3 && d=4 && e=5 && f=6");
    assert_int_equal(n->kind, CORE_FNODE_AND);
    assert_int_equal(n->count, 6);
    assert_slice(n->items[5]->left.text, "f");
}

static void test_parse_parentheses_group(void **state)
{
    struct core_fnode *n = parse("(a = 1 || b = 2) && c = 3");
    assert_int_equal(n->kind, CORE_FNODE_AND);
    assert_int_equal(n->items[0]->kind, CORE_FNODE_OR);
    n = parse("((((a = 1))))");
    assert_int_equal(n->kind, CORE_FNODE_CMP);
}

static void test_parse_function_calls_nest_to_three(void **state)
{
    struct core_fnode *n = parse("geoDistance(loc.lon, loc.lat, 23.32, -42.69) < 5");
    assert_int_equal(n->left.kind, CORE_FOPD_FUNC);
    assert_slice(n->left.text, "geoDistance");
    assert_int_equal(n->left.arg_count, 4);
    assert_int_equal(n->left.args[3].kind, CORE_FOPD_NUMBER);
    n = parse("strftime(strftime(strftime('%Y'))) = ''");
    assert_int_equal(n->left.args[0].args[0].kind, CORE_FOPD_FUNC);
    n = parse("now() = 1");
    assert_int_equal(n->left.arg_count, 0);
}

static void test_parse_accepts_limits_exactly(void **state)
{
    char f[CORE_FILTER_MAX_LEN + 1];
    /* 200 comparisons of "a=1" joined by "&&": 200*3 + 199*2 bytes. */
    size_t k = 0;
    for (int i = 0; i < CORE_FILTER_MAX_EXPRS; i++)
        k += (size_t)snprintf(f + k, sizeof(f) - k, "%sa=1", i ? "&&" : "");
    assert_int_equal(parse(f)->count, CORE_FILTER_MAX_EXPRS);
    k = 0;
    for (int i = 0; i < CORE_FILTER_MAX_DEPTH; i++)
        f[k++] = '(';
    k += (size_t)snprintf(f + k, sizeof(f) - k, "a=1");
    for (int i = 0; i < CORE_FILTER_MAX_DEPTH; i++)
        f[k++] = ')';
    f[k] = '\0';
    parse(f);
    memset(f, ' ', CORE_FILTER_MAX_LEN);
    memcpy(f, "a = 1", 5);
    f[CORE_FILTER_MAX_LEN] = '\0';
    parse(f);
}

/* ---- refusals ------------------------------------------------------------ */

static void test_parse_refuses_empty_filters(void **state)
{
    assert_refused("", 0, "empty filter expression");
    REFUSED("   \t\n ", "empty filter expression");
    REFUSED("// just a comment", "empty filter expression");
    REFUSED("// one\n  // two\n", "empty filter expression");
    REFUSED("()", "expected an expression, got ')' at offset 1");
}

static void test_parse_refuses_unbalanced_parentheses(void **state)
{
    REFUSED("(a = 1", "expected ')' closing '(' at offset 0, got end of filter");
    REFUSED("((a = 1)", "expected ')' closing '(' at offset 0");
    REFUSED("a = 1)", "unexpected ')' at offset 5");
    REFUSED("(a = 1))", "unexpected ')' at offset 7");
    REFUSED(")", "expected an expression, got ')' at offset 0");
}

static void test_parse_refuses_dangling_operators(void **state)
{
    REFUSED("a =", "expected an operand, got end of filter at offset 3");
    REFUSED("a", "expected a comparison operator, got end of filter");
    REFUSED("= 1", "expected an operand, got '=' at offset 0");
    REFUSED("a = 1 &&", "expected an expression, got end of filter at offset 8");
    REFUSED("a = 1 || && b = 2", "expected an expression, got '&&' at offset 9");
    REFUSED("a = 1 b = 2", "unexpected identifier \"b\" at offset 6");
    REFUSED("a = = 1", "expected an operand, got '=' at offset 4");
    REFUSED("a = 1 & b = 2", "unexpected '&' at offset 6");
    REFUSED("a = 1 | b = 2", "unexpected '|' at offset 6");
    REFUSED("a == 1", "expected an operand, got '='");
    REFUSED("a ! 1", "unknown operator '!' at offset 2");
    REFUSED("a ? 1", "unknown operator '?' at offset 2");
    REFUSED("a ?? 1", "unknown operator '?'");
    REFUSED("f(a, ) = 1", "expected an operand, got ')'");
    REFUSED("f(a b) = 1", "expected ',' or ')'");
    REFUSED("f(a = 1", "expected ',' or ')'");
}

static void test_parse_refuses_bad_text_and_escapes(void **state)
{
    REFUSED("a = 'abc", "unterminated text at offset 4");
    REFUSED("a = \"abc'", "unterminated text at offset 4");
    REFUSED("a = 'abc\\'", "unterminated text at offset 4");
    REFUSED("a = 'ab\\", "unterminated text");
    REFUSED("a = '\\u12'", "bad \\u escape at offset 5");
    REFUSED("a = '\\uZZZZ'", "bad \\u escape");
}

static void test_parse_refuses_bad_identifiers_and_numbers(void **state)
{
    REFUSED("@ = 1", "lone '@' at offset 0");
    REFUSED("_ = 1", "lone '_' at offset 0");
    REFUSED("# = 1", "lone '#' at offset 0");
    REFUSED("a. = 1", "identifier must not end with '.' at offset 1");
    REFUSED("author.name. = 1", "must not end with '.'");
    REFUSED("tags: = 1", "must not end with ':'");
    REFUSED("a = 1.", "malformed number at offset 4");
    REFUSED("a = .5", "unexpected character '.' at offset 4");
    REFUSED("a = 1e5", "malformed number");
    REFUSED("a = 1.2.3", "malformed number");
    REFUSED("a = 12abc", "malformed number");
    REFUSED("a = +1", "unexpected character '+' at offset 4");
    REFUSED("a = -x", "unexpected character '-' at offset 4");
    REFUSED("a = $1", "unexpected character '$'");
    REFUSED("a = 1; b = 2", "unexpected character ';'");
    REFUSED("a = `x`", "unexpected character '`'");
    REFUSED("a = \xff", "unexpected character (byte 0xff) at offset 4");
}

static void test_parse_refuses_leftover_placeholders(void **state)
{
    REFUSED("title = {:title}", "unreplaced placeholder at offset 8");
    REFUSED("title = {x}", "unexpected '{' at offset 8");
}

static void test_parse_refuses_too_long(void **state)
{
    static char f[CORE_FILTER_MAX_LEN + 2];
    memset(f, ' ', sizeof(f) - 1);
    memcpy(f, "a = 1", 5);
    assert_refused(f, CORE_FILTER_MAX_LEN + 1, "filter longer than 3500 bytes");
}

static void test_parse_refuses_too_deep_without_recursing(void **state)
{
    /* 3500 '(' would recurse 3500 deep without the limit. */
    static char f[CORE_FILTER_MAX_LEN + 1];
    memset(f, '(', CORE_FILTER_MAX_LEN);
    REFUSED(f, "parentheses nested deeper than 12 at offset 12");
    char g[64];
    memset(g, '(', CORE_FILTER_MAX_DEPTH + 1);
    strcpy(g + CORE_FILTER_MAX_DEPTH + 1, "a=1");
    REFUSED(g, "nested deeper");
    REFUSED("f(f(f(f(1)))) = 1", "functions nested deeper than 3 at offset 6");
    REFUSED("f(1,2,3,4,5,6,7,8,9) = 1", "more than 8 function arguments");
}

static void test_parse_refuses_too_many_comparisons(void **state)
{
    char f[CORE_FILTER_MAX_LEN + 1];
    size_t k = 0;
    for (int i = 0; i <= CORE_FILTER_MAX_EXPRS; i++)
        k += (size_t)snprintf(f + k, sizeof(f) - k, "%sa=1", i ? "||" : "");
    REFUSED(f, "more than 200 comparisons");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lex_identifiers_keep_dots_colons_and_at),
        cmocka_unit_test(test_lex_text_decodes_json_escapes),
        cmocka_unit_test(test_lex_numbers_and_signs),
        cmocka_unit_test(test_lex_skips_whitespace_and_comments),
        cmocka_unit_test(test_parse_comparison_operands),
        cmocka_unit_test(test_parse_and_binds_tighter_than_or),
        cmocka_unit_test(test_parse_chains_are_one_nary_node),
        cmocka_unit_test(test_parse_parentheses_group),
        cmocka_unit_test(test_parse_function_calls_nest_to_three),
        cmocka_unit_test(test_parse_accepts_limits_exactly),
        cmocka_unit_test(test_parse_refuses_empty_filters),
        cmocka_unit_test(test_parse_refuses_unbalanced_parentheses),
        cmocka_unit_test(test_parse_refuses_dangling_operators),
        cmocka_unit_test(test_parse_refuses_bad_text_and_escapes),
        cmocka_unit_test(test_parse_refuses_bad_identifiers_and_numbers),
        cmocka_unit_test(test_parse_refuses_leftover_placeholders),
        cmocka_unit_test(test_parse_refuses_too_long),
        cmocka_unit_test(test_parse_refuses_too_deep_without_recursing),
        cmocka_unit_test(test_parse_refuses_too_many_comparisons),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
