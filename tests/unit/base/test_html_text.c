/* test_html_text.c -- unit tests of base/html_text.h: the text alternative of
 * an HTML mail body (blocks and breaks, links, references, skipped elements,
 * malformed markup, the output limit). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/html_text.h"

/* The text of html, NUL-terminated, in a static buffer. */
static const char *text_of(const char *html)
{
    static char out[4096];
    struct buf b;
    buf_init(&b, sizeof(out) - 1);
    assert_int_equal(html_to_text(str_from_cstr(html), &b), RC_OK);
    memcpy(out, b.data ? b.data : "", b.len);
    out[b.len] = '\0';
    buf_cleanup(&b);
    return out;
}

static void test_paragraphs_make_blank_lines_and_br_a_line_break(void **state)
{
    (void)state;
    assert_string_equal(text_of("<p>Hello,</p>\n<p>second\n   one</p>\n<p>\n  Thanks,<br/>\n  "
                                "The team\n</p>"),
                        "Hello,\n\nsecond one\n\nThanks,\nThe team");
    assert_string_equal(text_of("<div>a</div><div>b</div>"), "a\nb");
    assert_string_equal(text_of("<h1>Title</h1>text"), "Title\n\ntext");
    assert_string_equal(text_of("   <p>  </p>  "), "");
    assert_string_equal(text_of("<br><br>x"), "x");
}

static void test_links_keep_their_address(void **state)
{
    (void)state;
    assert_string_equal(text_of("<a class=\"btn\" href=\"https://x.test/a?b=1&amp;c=2\">Go</a>"),
                        "Go (https://x.test/a?b=1&c=2)");
    assert_string_equal(text_of("<a href='https://x.test'>https://x.test</a>"), "https://x.test");
    assert_string_equal(text_of("see <a href=https://x.test></a>."), "see https://x.test.");
    assert_string_equal(text_of("<a>no address</a>"), "no address");
    assert_string_equal(text_of("<a href=\"u1\">one<a href=\"u2\">two</a>"), "one (u1)two (u2)");
    assert_string_equal(text_of("<a href=\"u\">open to the end"), "open to the end (u)");
}

static void test_references_are_decoded(void **state)
{
    (void)state;
    assert_string_equal(text_of("a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#x27; caf&#233;"),
                        "a & b <c> \"d\" 'e' caf\xc3\xa9");
    assert_string_equal(text_of("AT&T &unknown; &#0; &#x110000; &#xD800;"),
                        "AT&T &unknown; \xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd");
    assert_string_equal(text_of("a&nbsp;b"), "a b");
}

static void test_non_text_elements_are_skipped(void **state)
{
    (void)state;
    assert_string_equal(text_of("<!DOCTYPE html><html><head><title>T</title><style>p{x:1}</style>"
                                "</head><body><!-- note --><p>Body</p><script>var a='<p>';"
                                "</script></body></html>"),
                        "Body");
    assert_string_equal(text_of("<STYLE>x</Style >after"), "after");
    assert_string_equal(text_of("<style>never closed"), "");
}

static void test_lists_and_tables(void **state)
{
    (void)state;
    assert_string_equal(text_of("<ul><li>one</li><li>two</li></ul>after"), "- one\n- two\n\nafter");
    assert_string_equal(text_of("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>"),
                        "a b\nc");
}

static void test_malformed_markup_never_fails(void **state)
{
    (void)state;
    assert_string_equal(text_of("1 < 2 and 3 <> 4"), "1 < 2 and 3 <> 4");
    assert_string_equal(text_of("before<p class=\"unclosed"), "before");
    assert_string_equal(text_of("x<a href=\"q>y"), "x");
    assert_string_equal(text_of("<p attr=\"a>b\">in</p>"), "in");
    assert_string_equal(text_of("</>"), "</>");
}

static void test_output_limit_is_reported(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(html_to_text(STR_LIT("<p>much more than eight bytes</p>"), &b), RC_TOO_LARGE);
    assert_true(b.len <= 8);
    buf_cleanup(&b);
}

static void test_appends_after_existing_content(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(buf_append_cstr(&b, "head:"), RC_OK);
    assert_int_equal(html_to_text(STR_LIT("<p>x</p>"), &b), RC_OK);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "head:x", 6);
    buf_cleanup(&b);
}

static void test_escape_writes_references_for_markup(void **state)
{
    (void)state;
    struct buf out;
    buf_init(&out, 1024);
    assert_int_equal(html_escape(STR_LIT("a<b>&\"c'd"), &out), RC_OK);
    assert_int_equal(out.len, strlen("a&lt;b&gt;&amp;&quot;c&#39;d"));
    assert_memory_equal(out.data, "a&lt;b&gt;&amp;&quot;c&#39;d", out.len);
    buf_reset(&out);
    assert_int_equal(html_escape(STR_LIT("plain ऑर्डर"), &out), RC_OK);
    assert_memory_equal(out.data, "plain ऑर्डर", out.len);
    buf_cleanup(&out);
    struct buf small;
    buf_init(&small, 4);
    assert_int_equal(html_escape(STR_LIT("<<"), &small), RC_TOO_LARGE);
    buf_cleanup(&small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_writes_references_for_markup),
        cmocka_unit_test(test_paragraphs_make_blank_lines_and_br_a_line_break),
        cmocka_unit_test(test_links_keep_their_address),
        cmocka_unit_test(test_references_are_decoded),
        cmocka_unit_test(test_non_text_elements_are_skipped),
        cmocka_unit_test(test_lists_and_tables),
        cmocka_unit_test(test_malformed_markup_never_fails),
        cmocka_unit_test(test_output_limit_is_reported),
        cmocka_unit_test(test_appends_after_existing_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
