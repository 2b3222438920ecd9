/* test_report.c -- unit tests of core/jobs/report.h and thumbs_kind.h: one
 * CSV cell (RFC 4180 quoting, the formula guard, JSON values) and the
 * payload checks of both kinds (each refusal names its field). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "core/jobs/report.h"
#include "core/jobs/thumbs_kind.h"

/* cell(v) as text; v is taken. */
static void assert_cell(json_t *v, const char *want)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(core_report_csv_cell(&b, v), RC_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    buf_cleanup(&b);
    json_decref(v);
}

static void cells_quote_and_guard(void **state)
{
    (void)state;
    assert_cell(json_string("plain"), "plain");
    assert_cell(json_string(""), "");
    assert_cell(NULL, "");
    assert_cell(json_null(), "");
    assert_cell(json_string("a,b"), "\"a,b\"");
    assert_cell(json_string("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_cell(json_string("\"\""), "\"\"\"\"\"\"");
    assert_cell(json_string("two\nlines"), "\"two\nlines\"");
    assert_cell(json_string("cr\rhere"), "\"cr\rhere\"");
    assert_cell(json_string("h\xc3\xa9llo \xf0\x9f\x9a\x80"), "h\xc3\xa9llo \xf0\x9f\x9a\x80");
    /* the guard: a leading quote, inside the quotes when quoted */
    assert_cell(json_string("=1+1"), "'=1+1");
    assert_cell(json_string("+1"), "'+1");
    assert_cell(json_string("-1"), "'-1");
    assert_cell(json_string("@SUM(A1)"), "'@SUM(A1)");
    assert_cell(json_string("\tx"), "'\tx");
    assert_cell(json_string("=HYPERLINK(\"a\",\"b\")"), "\"'=HYPERLINK(\"\"a\"\",\"\"b\"\")\"");
    assert_cell(json_string("a=b"), "a=b");
    /* numbers are numbers, never guarded; booleans; JSON as text */
    assert_cell(json_integer(-5), "-5");
    assert_cell(json_real(1.5), "1.5");
    assert_cell(json_true(), "true");
    assert_cell(json_false(), "false");
    assert_cell(json_pack("[s,s]", "a", "b,c"), "\"[\"\"a\"\",\"\"b,c\"\"]\"");
    assert_cell(json_pack("{s:i}", "k", 1), "\"{\"\"k\"\":1}\"");
}

/* The message of check(payload) (payload is taken): NULL or a sentence. */
static const char *report_check(const char *text)
{
    json_t *p = json_loads(text, 0, NULL);
    assert_non_null(p);
    const char *why = core_job_report_check(p);
    json_decref(p);
    return why;
}

static const char *thumbs_check(const char *text)
{
    json_t *p = json_loads(text, 0, NULL);
    assert_non_null(p);
    const char *why = core_job_thumbs_check(p);
    json_decref(p);
    return why;
}

static void assert_names(const char *why, const char *field)
{
    assert_non_null(why);
    assert_non_null(strstr(why, field));
}

static void report_payloads(void **state)
{
    (void)state;
    assert_null(report_check("{\"collection\":\"posts\"}"));
    assert_null(report_check("{\"collection\":\"posts\",\"filter\":\"a = 1\",\"sort\":\"-a\","
                             "\"fields\":[\"a\"],\"requester\":{\"collectionId\":\"c\",\"id\":"
                             "\"i\"},\"mailTo\":\"a@example.com\",\"maxRows\":10}"));
    assert_names(report_check("{}"), "payload.collection");
    assert_names(report_check("{\"collection\":\"\"}"), "payload.collection");
    assert_names(report_check("{\"collection\":\"p\",\"filter\":1}"), "payload.filter");
    assert_names(report_check("{\"collection\":\"p\",\"sort\":[]}"), "payload.sort");
    assert_names(report_check("{\"collection\":\"p\",\"fields\":\"a\"}"), "payload.fields");
    assert_names(report_check("{\"collection\":\"p\",\"fields\":[]}"), "payload.fields");
    assert_names(report_check("{\"collection\":\"p\",\"fields\":[1]}"), "payload.fields");
    assert_names(report_check("{\"collection\":\"p\",\"requester\":{\"id\":\"i\"}}"),
                 "payload.requester");
    assert_names(report_check("{\"collection\":\"p\",\"mailTo\":\"a b\"}"), "payload.mailTo");
    assert_names(report_check("{\"collection\":\"p\",\"maxRows\":0}"), "payload.maxRows");
    assert_names(report_check("{\"collection\":\"p\",\"maxRows\":100001}"), "payload.maxRows");
}

static void thumbs_payloads(void **state)
{
    (void)state;
    assert_null(thumbs_check("{\"collection\":\"c\",\"record\":\"r\"}"));
    assert_null(thumbs_check("{\"collection\":\"c\",\"record\":\"r\",\"field\":\"img\","
                             "\"sizes\":[\"100x100\",\"0x20\",\"20x0\",\"5x5t\",\"5x5b\","
                             "\"5x5f\"]}"));
    assert_names(thumbs_check("{\"record\":\"r\"}"), "payload.collection");
    assert_names(thumbs_check("{\"collection\":\"c\"}"), "payload.record");
    assert_names(thumbs_check("{\"collection\":\"c\",\"record\":\"r\",\"field\":3}"),
                 "payload.field");
    assert_names(thumbs_check("{\"collection\":\"c\",\"record\":\"r\",\"sizes\":[\"0x0\"]}"),
                 "payload.sizes");
    assert_names(thumbs_check("{\"collection\":\"c\",\"record\":\"r\",\"sizes\":\"5x5\"}"),
                 "payload.sizes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cells_quote_and_guard),
        cmocka_unit_test(report_payloads),
        cmocka_unit_test(thumbs_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
