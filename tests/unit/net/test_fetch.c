/* test_fetch.c -- unit tests of net/fetch.h's address check: the ranges a
 * URL a user chose may not reach (loopback, RFC 1918, link-local and cloud
 * metadata, CGNAT, unique-local IPv6, IPv4-mapped forms of all of them). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "net/fetch.h"

static bool is_public(const char *ip)
{
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    memset(&a6, 0, sizeof(a6));
    memset(&a4, 0, sizeof(a4));
    if (inet_pton(AF_INET, ip, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        return net_fetch_is_public((struct sockaddr *)&a4);
    }
    assert_int_equal(inet_pton(AF_INET6, ip, &a6.sin6_addr), 1);
    a6.sin6_family = AF_INET6;
    return net_fetch_is_public((struct sockaddr *)&a6);
}

static void test_private_ranges_are_refused(void **state)
{
    (void)state;
    const char *inside[] = {"127.0.0.1",
                            "127.255.0.9",
                            "10.1.2.3",
                            "172.16.0.1",
                            "172.31.255.1",
                            "192.168.1.1",
                            "169.254.169.254",
                            "100.64.0.1",
                            "0.0.0.0",
                            "224.0.0.1",
                            "255.255.255.255",
                            "::1",
                            "::",
                            "fd00::1",
                            "fe80::1",
                            "ff02::1",
                            "::ffff:127.0.0.1",
                            "::ffff:10.0.0.1"};
    for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
        if (is_public(inside[i]))
            fail_msg("%s counted as public", inside[i]);
    }
}

static void test_public_addresses_pass(void **state)
{
    (void)state;
    const char *outside[] = {"8.8.8.8",     "172.32.0.1",           "100.128.0.1",
                             "192.169.0.1", "2001:4860:4860::8888", "::ffff:8.8.4.4"};
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        if (!is_public(outside[i]))
            fail_msg("%s counted as private", outside[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_private_ranges_are_refused),
        cmocka_unit_test(test_public_addresses_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
