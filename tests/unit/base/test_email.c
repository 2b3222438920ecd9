/* test_email.c -- unit tests of base/email.h: the address syntax every
 * identity input shares, and the look-alikes it refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/email.h"

#define assert_email(lit, want)                                                                    \
    do {                                                                                           \
        static const char s_[] = lit;                                                              \
        if (email_is_valid((struct str){s_, sizeof(s_) - 1}) != (want))                            \
            fail_msg("%s: want %s", #lit, (want) ? "valid" : "invalid");                           \
    } while (0)

static void test_email_accepts_plain_addresses(void **state)
{
    (void)state;
    assert_email("a@b.co", true);
    assert_email("first.last+tag@mail.example.com", true);
    assert_email("o'neil@example.org", true);
    assert_email("j\xc3\xbcrgen@b\xc3\xbc"
                 "cher.example",
                 true); /* internationalised */
}

static void test_email_refuses_bad_syntax(void **state)
{
    (void)state;
    assert_email("", false);
    assert_email("nope", false);
    assert_email("@b.co", false);
    assert_email("a@b", false);
    assert_email("a@.co", false);
    assert_email("a@b.", false);
    assert_email("a@@b.co", false);
    assert_email("a@b@c.co", false);
    assert_email("sp ace@b.co", false);
    assert_email("a<b>@b.co", false);
    assert_email("\"a\"@b.co", false);
    assert_email("a\\b@b.co", false);
}

static void test_email_refuses_surrounding_whitespace(void **state)
{
    (void)state;
    /* Not trimmed: PocketBase's is.EmailFormat refuses these as well. */
    assert_email(" a@b.co", false);
    assert_email("a@b.co ", false);
    assert_email("a@b.co\n", false);
    assert_email("\ta@b.co", false);
    assert_email("a@b.co\xe3\x80\x80", false); /* U+3000 ideographic space */
    assert_email("\xc2\xa0"
                 "a@b.co",
                 false); /* U+00A0 */
}

static void test_email_refuses_invisible_look_alikes(void **state)
{
    (void)state;
    assert_email("a@b.co\xe2\x80\x8b", false); /* U+200B zero-width space */
    assert_email("a\xe2\x80\x8c@b.co", false); /* U+200C ZWNJ */
    assert_email("a@b\xe2\x80\x8d.co", false); /* U+200D ZWJ */
    assert_email("\xe2\x80\x8e"
                 "a@b.co",
                 false);                       /* U+200E LRM */
    assert_email("a@b.co\xe2\x80\x8f", false); /* U+200F RLM */
    assert_email("a\xe2\x81\xa0@b.co", false); /* U+2060 word joiner */
    assert_email("a@b.co\xe2\x81\xa4", false); /* U+2064 */
    assert_email("\xef\xbb\xbf"
                 "a@b.co",
                 false); /* U+FEFF BOM */
    assert_email("\xc2\xad"
                 "a@b.co",
                 false);                       /* U+00AD soft hyphen */
    assert_email("a@b.co\xe2\x80\xae", false); /* U+202E RLO */
    assert_email("a@b.co\xe3\x85\xa4", false); /* U+3164 Hangul filler */
    assert_email("a@b.co\x7f", false);         /* DEL */
    assert_email("a@b.co\xc2\x85", false);     /* U+0085 NEL */
    assert_email("a@b.co\xff", false);         /* not UTF-8 */
    static const char nul[] = "a@b.co\0x";
    assert_false(email_is_valid((struct str){nul, sizeof(nul) - 1}));
}

static void test_email_refuses_longer_than_254(void **state)
{
    (void)state;
    char s[300];
    memset(s, 'a', sizeof(s));
    memcpy(s + 240, "@example.com", 12); /* 252 bytes */
    assert_true(email_is_valid((struct str){s, 252}));
    memcpy(s + 243, "@example.com", 12); /* 255 bytes */
    assert_false(email_is_valid((struct str){s, 255}));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_email_accepts_plain_addresses),
        cmocka_unit_test(test_email_refuses_bad_syntax),
        cmocka_unit_test(test_email_refuses_surrounding_whitespace),
        cmocka_unit_test(test_email_refuses_invisible_look_alikes),
        cmocka_unit_test(test_email_refuses_longer_than_254),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
