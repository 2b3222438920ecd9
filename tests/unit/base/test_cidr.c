/* test_cidr.c -- unit tests of base/cidr.h: parsing addresses and networks
 * (IPv4, IPv6, mapped), prefix matching at byte and bit boundaries, lists,
 * and the canonical text form. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/alloc.h"
#include "base/cidr.h"

static bool in(const char *net, const char *ip)
{
    struct cidr c;
    uint8_t a[16];
    assert_true(cidr_parse(str_from_cstr(net), &c));
    assert_true(cidr_parse_ip(str_from_cstr(ip), a));
    return cidr_contains(&c, a);
}

static void test_cidr_matches_v4_and_v6(void **state)
{
    (void)state;
    assert_true(in("10.0.0.0/8", "10.255.1.2"));
    assert_false(in("10.0.0.0/8", "11.0.0.1"));
    assert_true(in("10.1.2.3/8", "10.9.9.9")); /* host bits cleared */
    assert_true(in("192.168.0.0/23", "192.168.1.200"));
    assert_false(in("192.168.0.0/23", "192.168.2.1"));
    assert_true(in("127.0.0.2", "127.0.0.2"));
    assert_false(in("127.0.0.2", "127.0.0.3"));
    assert_true(in("0.0.0.0/0", "8.8.8.8"));
    assert_true(in("10.0.0.0/8", "::ffff:10.1.1.1")); /* dual-stack peer */
    assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
    assert_false(in("2001:db8::/33", "2001:db8:8000::1"));
    assert_true(in("::1", "::1"));
    assert_false(in("::1", "::2"));
}

static void test_cidr_rejects_malformed(void **state)
{
    (void)state;
    struct cidr c;
    const char *bad[] = {"",           "10.0.0.0/33", "::/129",       "10.0.0/8",  "10.0.0.0/",
                         "10.0.0.0/x", "1.2.3.4.5",   "fe80::1%eth0", " 10.0.0.1", "10.0.0.0/0008"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(cidr_parse(str_from_cstr(bad[i]), &c));
}

static void test_cidr_list(void **state)
{
    (void)state;
    struct cidr_list l;
    struct str bad = {0};
    assert_true(cidr_list_parse(str_from_cstr(" 10.0.0.0/8 , ::1,,"), &l, &bad));
    assert_int_equal(l.count, 2);
    uint8_t a[16];
    assert_true(cidr_parse_ip(STR_LIT("::1"), a));
    assert_true(cidr_list_contains(&l, a));
    assert_true(cidr_parse_ip(STR_LIT("192.0.2.1"), a));
    assert_false(cidr_list_contains(&l, a));
    cidr_list_cleanup(&l);
    assert_false(cidr_list_parse(str_from_cstr("10.0.0.0/8,nope"), &l, &bad));
    assert_int_equal(l.count, 0);
    assert_true(bad.len == 4 && memcmp(bad.ptr, "nope", 4) == 0);
    assert_true(cidr_list_parse(STR_LIT(""), &l, &bad));
    assert_int_equal(l.count, 0);
    assert_false(cidr_list_contains(&l, a));
}

static void test_cidr_format_is_canonical(void **state)
{
    (void)state;
    uint8_t a[16];
    char out[CIDR_IP_TEXT];
    assert_true(cidr_parse_ip(STR_LIT("::ffff:10.0.0.1"), a));
    cidr_format_ip(a, out);
    assert_string_equal(out, "10.0.0.1");
    assert_true(cidr_parse_ip(STR_LIT("2001:0db8:0000:0000:0000:0000:0000:0001"), a));
    cidr_format_ip(a, out);
    assert_string_equal(out, "2001:db8::1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr_matches_v4_and_v6),
        cmocka_unit_test(test_cidr_rejects_malformed),
        cmocka_unit_test(test_cidr_list),
        cmocka_unit_test(test_cidr_format_is_canonical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
