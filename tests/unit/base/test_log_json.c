/* test_log_json.c -- unit tests of log_line_json (base/log.h): a key=value
 * line as one JSON object with its keys in order, every value a string:
 * quoted values unquoted, escapes, control bytes and invalid UTF-8 made
 * valid JSON, words without '=' joined to the value before them, and a line
 * too long for the room cut at a whole pair. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "base/log.h"

static void conv(const char *line, char *out, size_t cap)
{
    size_t n = log_line_json(line, strlen(line), out, cap);
    assert_true(n >= 3 && n <= cap && out[n - 1] == '\n');
    out[n - 1] = '\0';
}

static void test_pairs_in_order(void **state)
{
    (void)state;
    char out[512];
    conv("t=2026-12-04T05:59:58.482Z level=info msg=\"server started\" port=80", out, sizeof(out));
    assert_string_equal(out, "{\"t\":\"2026-12-04T05:59:58.482Z\",\"level\":\"info\","
                             "\"msg\":\"server started\",\"port\":\"80\"}");
    conv("a=\"say \\\"hi\\\" \\\\ x\" b=", out, sizeof(out));
    assert_string_equal(out, "{\"a\":\"say \\\"hi\\\" \\\\ x\",\"b\":\"\"}");
    conv("", out, sizeof(out));
    assert_string_equal(out, "{}");
}

static void test_words_and_bytes(void **state)
{
    (void)state;
    char out[512];
    conv("msg=mail to: x@y.example", out, sizeof(out));
    assert_string_equal(out, "{\"msg\":\"mail to: x@y.example\"}");
    conv("Subject: hi =x", out, sizeof(out));
    assert_string_equal(out, "{\"text\":\"Subject: hi =x\"}");
    conv("k=a\tb v=\xc3\xa9 w=\xff\x01", out, sizeof(out));
    assert_string_equal(out, "{\"k\":\"a\\u0009b\",\"v\":\"\xc3\xa9\",\"w\":\"\\ufffd\\u0001\"}");
    conv("q=\"unterminated", out, sizeof(out));
    assert_string_equal(out, "{\"q\":\"unterminated\"}");
}

static void test_cut_at_a_pair(void **state)
{
    (void)state;
    char out[40];
    conv("a=1 bb=22 ccc=\"a long value that cannot fit\" d=4", out, sizeof(out));
    assert_string_equal(out, "{\"a\":\"1\",\"bb\":\"22\"}");
    conv("a=1 b=2 and some more words than fit", out, sizeof(out));
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j); /* still a whole object */
    assert_string_equal(json_string_value(json_object_get(j, "a")), "1");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_in_order),
        cmocka_unit_test(test_words_and_bytes),
        cmocka_unit_test(test_cut_at_a_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
