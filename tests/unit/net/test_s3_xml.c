/* test_s3_xml.c -- unit tests of net/s3_xml.h: the elements of S3's error,
 * ListObjectsV2 and DeleteObjects answers, entity decoding (named and
 * numeric, bounded), escaping and its round trip, ISO 8601 times. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "net/s3_xml.h"

static void assert_str(struct str got, const char *want)
{
    assert_int_equal(got.len, strlen(want));
    assert_memory_equal(got.ptr, want, got.len);
}

static void test_error_answer_gives_code_and_message(void **state)
{
    (void)state;
    struct str xml = STR_LIT("<?xml version=\"1.0\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
                             "<Message>The request signature &amp; more</Message></Error>");
    assert_str(net_s3_xml_first(xml, "Code"), "SignatureDoesNotMatch");
    assert_str(net_s3_xml_first(xml, "Message"), "The request signature &amp; more");
    assert_str(net_s3_xml_first(xml, "RequestId"), "");
}

static void test_next_walks_repeated_elements_and_skips_longer_names(void **state)
{
    (void)state;
    struct str xml = STR_LIT("<ListBucketResult xmlns=\"http://s3\"><KeyCount>2</KeyCount>"
                             "<Contents><Key>a/1</Key><Size>3</Size></Contents>"
                             "<Contents ><Key>a/2</Key><Size>40</Size></Contents>"
                             "<IsTruncated>false</IsTruncated></ListBucketResult>");
    size_t pos = 0;
    struct str item;
    assert_true(net_s3_xml_next(xml, "Contents", &pos, &item));
    assert_str(net_s3_xml_first(item, "Key"), "a/1");
    assert_true(net_s3_xml_next(xml, "Contents", &pos, &item));
    assert_str(net_s3_xml_first(item, "Size"), "40");
    assert_false(net_s3_xml_next(xml, "Contents", &pos, &item));
    /* <KeyCount> is not <Key> */
    assert_str(net_s3_xml_first(xml, "Key"), "a/1");
    assert_str(net_s3_xml_first(xml, "IsTruncated"), "false");
    /* the root's attributes are skipped */
    pos = 0;
    assert_true(net_s3_xml_next(xml, "ListBucketResult", &pos, &item));
    assert_int_equal(pos, xml.len);
}

static void test_next_handles_empty_and_unclosed_elements(void **state)
{
    (void)state;
    size_t pos = 0;
    struct str item;
    assert_true(net_s3_xml_next(STR_LIT("<a><Key/><Key>x</Key></a>"), "Key", &pos, &item));
    assert_int_equal(item.len, 0);
    assert_true(net_s3_xml_next(STR_LIT("<a><Key/><Key>x</Key></a>"), "Key", &pos, &item));
    assert_str(item, "x");
    pos = 0;
    assert_false(net_s3_xml_next(STR_LIT("<Key>never closed"), "Key", &pos, &item));
    pos = 0;
    assert_false(net_s3_xml_next(STR_LIT("<Key"), "Key", &pos, &item));
}

static void test_unescape_named_numeric_and_bounds(void **state)
{
    (void)state;
    char out[32];
    long n =
        net_s3_xml_unescape(STR_LIT("a&amp;b&lt;&gt;&quot;&apos;&#233;&#x41;"), out, sizeof(out));
    assert_int_equal(n, 10);
    assert_memory_equal(out,
                        "a&b<>\"'\xc3\xa9"
                        "A",
                        10);
    assert_int_equal(net_s3_xml_unescape(STR_LIT("&bogus;"), out, sizeof(out)), -1);
    assert_int_equal(net_s3_xml_unescape(STR_LIT("&amp"), out, sizeof(out)), -1);
    assert_int_equal(net_s3_xml_unescape(STR_LIT("&#xD800;"), out, sizeof(out)), -1);
    assert_int_equal(net_s3_xml_unescape(STR_LIT("&#0;"), out, sizeof(out)), -1);
    assert_int_equal(net_s3_xml_unescape(STR_LIT("abcd"), out, 3), -1);
    assert_int_equal(net_s3_xml_unescape(STR_LIT("&#x1F600;"), out, 3), -1);
}

static void test_escape_round_trips(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    const char *key = "col/rec/a&b<c>\"d'e.txt";
    assert_int_equal(net_s3_xml_escape(&b, str_from_cstr(key)), RC_OK);
    assert_null(memchr(b.data, '<', b.len));
    char out[64];
    long n = net_s3_xml_unescape(buf_str(&b), out, sizeof(out));
    assert_int_equal(n, (long)strlen(key));
    assert_memory_equal(out, key, (size_t)n);
    buf_cleanup(&b);
    buf_init(&b, 4);
    assert_int_equal(net_s3_xml_escape(&b, STR_LIT("&&")), RC_TOO_LARGE);
    buf_cleanup(&b);
}

static void test_time_parses_s3_dates(void **state)
{
    (void)state;
    assert_int_equal(net_s3_xml_time(STR_LIT("2009-10-12T17:50:30.000Z")), 1255369830);
    assert_int_equal(net_s3_xml_time(STR_LIT("2009-10-12T17:50:30Z")), 1255369830);
    assert_int_equal(net_s3_xml_time(STR_LIT("2009-10-12T17:50:30+01:00")), -1);
    assert_int_equal(net_s3_xml_time(STR_LIT("yesterday")), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_answer_gives_code_and_message),
        cmocka_unit_test(test_next_walks_repeated_elements_and_skips_longer_names),
        cmocka_unit_test(test_next_handles_empty_and_unclosed_elements),
        cmocka_unit_test(test_unescape_named_numeric_and_bounds),
        cmocka_unit_test(test_escape_round_trips),
        cmocka_unit_test(test_time_parses_s3_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
