/* test_mail_template.c -- unit tests of core/auth/mail_template.h: the
 * placeholders PocketBase fills ({APP_NAME}, {RECORD:<field>}, the mail's
 * own), escaping in the HTML and not in the text copy or the subject,
 * hidden fields left out, one pass (a value is never filled again), an
 * unknown placeholder kept, a subject that stays one line, and the
 * buffers' limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/alloc.h"
#include "core/auth/mail_template.h"
#include "core/problem.h"
#include "core/schema/collection_json.h"

struct rendered {
    struct buf subject, html, text;
};

static struct core_collection *members(void)
{
    json_t *in = json_loads("{\"name\":\"members\",\"type\":\"auth\",\"fields\":["
                            "{\"name\":\"name\",\"type\":\"text\"},"
                            "{\"name\":\"age\",\"type\":\"number\"},"
                            "{\"name\":\"note\",\"type\":\"text\",\"hidden\":true},"
                            "{\"name\":\"tags\",\"type\":\"json\"}]}",
                            0, NULL);
    assert_non_null(in);
    struct core_problem p;
    core_problem_init(&p);
    struct core_collection *c = NULL;
    assert_int_equal(core_collection_from_json(in, NULL, NULL, "", &c, &p), RC_OK);
    core_problem_cleanup(&p);
    json_decref(in);
    return c;
}

static enum rc render(const char *subject, const char *body, const char *record_json,
                      struct rendered *out, size_t max)
{
    struct core_collection *c = members();
    json_t *record = json_loads(record_json, 0, NULL);
    assert_non_null(record);
    struct core_email_template tpl = {.subject = (char *)subject, .body = (char *)body};
    struct core_mail_placeholder extra[] = {{"{APP_NAME}", "Acme &amp; Co"},
                                            {"{ALERT_INFO}", "{RECORD:name}"}};
    buf_init(&out->subject, max);
    buf_init(&out->html, max);
    buf_init(&out->text, max);
    enum rc rc =
        core_mail_template_render(&tpl, c, record, extra, 2, &out->subject, &out->html, &out->text);
    json_decref(record);
    core_collection_free(c);
    return rc;
}

static void done(struct rendered *r)
{
    buf_cleanup(&r->subject);
    buf_cleanup(&r->html);
    buf_cleanup(&r->text);
}

static void assert_buf(const struct buf *b, const char *want)
{
    if (b->len != strlen(want) || memcmp(b->data, want, b->len) != 0)
        fail_msg("got \"%.*s\", want \"%s\"", (int)b->len, b->data ? b->data : "", want);
}

static void test_fills_and_escapes(void **state)
{
    (void)state;
    struct rendered r;
    assert_int_equal(
        render("Hi {RECORD:name} from {APP_NAME}",
               "<p>{RECORD:name}, {RECORD:age}, {RECORD:verified}, {RECORD:tags}: {ALERT_INFO}</p>",
               "{\"id\":\"r1\",\"name\":\"Ann <b>&\",\"age\":42,\"verified\":false,"
               "\"tags\":[\"a\",\"b\"]}",
               &r, 1 << 16),
        RC_OK);
    assert_buf(&r.subject, "Hi Ann <b>& from Acme & Co");
    /* The value of {ALERT_INFO} is not filled again: one pass. */
    assert_buf(&r.html, "<p>Ann &lt;b&gt;&amp;, 42, false, [&#34;a&#34;,&#34;b&#34;]: "
                        "{RECORD:name}</p>");
    assert_buf(&r.text, "Ann <b>&, 42, false, [\"a\",\"b\"]: {RECORD:name}\n");
    done(&r);
}

static void test_hidden_and_unknown_placeholders_stay(void **state)
{
    (void)state;
    struct rendered r;
    assert_int_equal(render("s",
                            "{RECORD:password}{RECORD:tokenKey}{RECORD:note}{RECORD:nope}"
                            "{OTP}{RECORD:name",
                            "{\"id\":\"r1\",\"name\":\"n\",\"password\":\"$argon2id$x\","
                            "\"tokenKey\":\"secretkey\",\"note\":\"private\"}",
                            &r, 1 << 16),
                     RC_OK);
    assert_buf(&r.html, "{RECORD:password}{RECORD:tokenKey}{RECORD:note}{RECORD:nope}{OTP}"
                        "{RECORD:name");
    done(&r);
}

static void test_subject_is_one_line(void **state)
{
    (void)state;
    struct rendered r;
    assert_int_equal(render("<b>New</b> {RECORD:name}", "x",
                            "{\"id\":\"r1\",\"name\":\"a\\r\\nBcc: x@example.com\"}", &r, 1 << 16),
                     RC_OK);
    assert_buf(&r.subject, "New a  Bcc: x@example.com");
    done(&r);
}

static void test_past_the_limit_is_too_large(void **state)
{
    (void)state;
    struct rendered r;
    assert_int_equal(
        render("s", "{RECORD:name}{RECORD:name}", "{\"id\":\"r\",\"name\":\"0123456789\"}", &r, 16),
        RC_TOO_LARGE);
    done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fills_and_escapes),
        cmocka_unit_test(test_hidden_and_unknown_placeholders_stay),
        cmocka_unit_test(test_subject_is_one_line),
        cmocka_unit_test(test_past_the_limit_is_too_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
