/* test_mail.c -- unit tests of core/auth/mail.h: placeholders filled in one
 * pass (a value is never read again), HTML escaping of every value in the
 * body, a subject that stays one header line, {RECORD:*} only for visible,
 * non-password fields, the text alternative, and the size limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/alloc.h"
#include "core/auth/mail.h"
#include "core/schema/collection_json.h"

static struct core_collection *users(void)
{
    json_t *in = json_loads("{\"name\":\"people\",\"type\":\"auth\",\"fields\":["
                            "{\"name\":\"name\",\"type\":\"text\"},"
                            "{\"name\":\"secret\",\"type\":\"text\",\"hidden\":true},"
                            "{\"name\":\"pin\",\"type\":\"password\"},"
                            "{\"name\":\"age\",\"type\":\"number\"},"
                            "{\"name\":\"tags\",\"type\":\"json\"}]}",
                            0, NULL);
    struct core_problem p;
    core_problem_init(&p);
    struct core_collection *c = NULL;
    assert_int_equal(core_collection_from_json(in, NULL, NULL, "", &c, &p), RC_OK);
    core_problem_cleanup(&p);
    json_decref(in);
    return c;
}

/* Renders subject/body with the usual variables; record may be NULL. */
static enum rc render(const char *subject, const char *body, json_t *record, struct core_mail *m)
{
    static struct core_collection *col;
    if (!col)
        col = users(); /* kept for the process: a test binary */
    struct core_mail_template t = {(char *)subject, (char *)body};
    struct core_mail_placeholder extra[] = {{"{TOKEN}", "tok.en"}, {"{OTP}", "<1&2>"}};
    struct core_mail_vars v = {.app_name = "Acme & Co",
                               .app_url = "https://acme.test/a?b=1&c=2",
                               .col = col,
                               .record = record,
                               .extra = extra,
                               .extra_count = 2};
    core_mail_init(m);
    return core_mail_render(&t, &v, m);
}

/* The body between the layout's <body> and </body>. */
static char *inner(const struct core_mail *m)
{
    const char *start = strstr(m->html.data, "<body>\n");
    const char *end = strstr(m->html.data, "\n</body>");
    assert_non_null(start);
    assert_non_null(end);
    start += 7;
    return xstrndup(start, (size_t)(end - start));
}

static void test_placeholders_are_filled_and_escaped_in_the_body(void **state)
{
    (void)state;
    struct core_mail m;
    json_t *rec = json_pack("{s:s, s:s, s:s, s:i, s:[s,i]}", "name", "<b>Bo\"b</b> {TOKEN}",
                            "secret", "hush", "pin", "$argon2id$x", "age", 42, "tags", "a", 1);
    assert_int_equal(render("Hi {RECORD:name}",
                            "<a href=\"{APP_URL}/x/{TOKEN}\">{APP_NAME}</a> "
                            "{RECORD:name} {OTP} {RECORD:age} {RECORD:tags}",
                            rec, &m),
                     RC_OK);
    char *body = inner(&m);
    assert_string_equal(body,
                        "<a href=\"https://acme.test/a?b=1&amp;c=2/x/tok.en\">Acme &amp; Co</a> "
                        "&lt;b&gt;Bo&quot;b&lt;/b&gt; {TOKEN} &lt;1&amp;2&gt; 42 "
                        "[&quot;a&quot;,1]");
    xfree(body);
    /* The subject is plain text: no escaping, and a value's {TOKEN} stays text. */
    assert_string_equal(m.subject.data, "Hi <b>Bo\"b</b> {TOKEN}");
    assert_int_equal(strlen(m.subject.data), m.subject.len);
    assert_non_null(strstr(m.html.data, "<!DOCTYPE html>"));
    core_mail_cleanup(&m);
    json_decref(rec);
}

static void test_hidden_password_and_unknown_placeholders_stay_text(void **state)
{
    (void)state;
    struct core_mail m;
    json_t *rec = json_pack("{s:s, s:s, s:s}", "name", "N", "secret", "hush", "pin", "$argon2id$x");
    assert_int_equal(render("s",
                            "{RECORD:secret} {RECORD:pin} {RECORD:nope} {NOPE} {RECORD:name}"
                            " {{TOKEN}} {unclosed",
                            rec, &m),
                     RC_OK);
    char *body = inner(&m);
    assert_string_equal(body,
                        "{RECORD:secret} {RECORD:pin} {RECORD:nope} {NOPE} N {tok.en} {unclosed");
    xfree(body);
    core_mail_cleanup(&m);
    /* Without a record, {RECORD:*} is text too. */
    assert_int_equal(render("s", "{RECORD:name}", NULL, &m), RC_OK);
    body = inner(&m);
    assert_string_equal(body, "{RECORD:name}");
    xfree(body);
    core_mail_cleanup(&m);
    json_decref(rec);
}

static void test_subject_stays_one_line(void **state)
{
    (void)state;
    struct core_mail m;
    json_t *rec = json_pack("{s:s}", "name", "x\r\nBcc: evil@example.com\tz");
    assert_int_equal(render("Hello {RECORD:name}", "b", rec, &m), RC_OK);
    assert_string_equal(m.subject.data, "Hello x  Bcc: evil@example.com z");
    core_mail_cleanup(&m);
    json_decref(rec);
    /* Past 998 bytes it is cut, on a character boundary. */
    char name[1201];
    for (size_t i = 0; i < 1200; i += 2)
        memcpy(name + i, "\xc3\xa9", 2); /* é */
    name[1200] = '\0';
    rec = json_pack("{s:s}", "name", name);
    assert_non_null(rec);
    assert_int_equal(render("A{RECORD:name}", "b", rec, &m), RC_OK);
    assert_true(m.subject.len <= 998);
    assert_int_equal(m.subject.len, 997); /* "A" + 498 two-byte characters */
    core_mail_cleanup(&m);
    json_decref(rec);
}

static void test_text_alternative_keeps_the_link(void **state)
{
    (void)state;
    struct core_mail m;
    assert_int_equal(render("s",
                            "<p>Hello,</p>\n<p><a class=\"btn\" href=\"{APP_URL}/_/#/auth/"
                            "confirm-verification/{TOKEN}\">Verify</a></p>",
                            NULL, &m),
                     RC_OK);
    assert_string_equal(
        m.text.data,
        "Hello,\n\nVerify (https://acme.test/a?b=1&c=2/_/#/auth/confirm-verification/tok.en)");
    assert_null(strstr(m.text.data, "DOCTYPE"));
    core_mail_cleanup(&m);
}

static void test_a_body_past_the_limit_is_refused(void **state)
{
    (void)state;
    struct core_mail m;
    size_t n = 600 * 1024;
    char *big = xmalloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    json_t *rec = json_pack("{s:s}", "name", big);
    assert_int_equal(render("s", "{RECORD:name}{RECORD:name}", rec, &m), RC_TOO_LARGE);
    core_mail_cleanup(&m);
    assert_int_equal(render("s", "{RECORD:name}", rec, &m), RC_OK);
    core_mail_cleanup(&m);
    json_decref(rec);
    xfree(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placeholders_are_filled_and_escaped_in_the_body),
        cmocka_unit_test(test_hidden_password_and_unknown_placeholders_stay_text),
        cmocka_unit_test(test_subject_stays_one_line),
        cmocka_unit_test(test_text_alternative_keeps_the_link),
        cmocka_unit_test(test_a_body_past_the_limit_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
