/* test_http_out.c -- unit tests of net/http_out.h: which addresses the SSRF
 * guard refuses (loopback, private, CGNAT, link-local, unspecified,
 * multicast, ULA, in IPv4, IPv6 and IPv4-mapped forms) and which it lets by;
 * a refused target is reported without a connection. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/cidr.h"
#include "net/http_out.h"

static bool private_ip(const char *s)
{
    uint8_t a[16];
    assert_true(cidr_parse_ip(str_from_cstr(s), a));
    return net_http_out_is_private(a);
}

static void private_addresses(void **state)
{
    (void)state;
    const char *const refused[] = {"127.0.0.1",
                                   "127.255.0.9",
                                   "10.1.2.3",
                                   "172.16.0.1",
                                   "172.31.255.1",
                                   "192.168.1.1",
                                   "169.254.169.254",
                                   "100.64.0.1",
                                   "0.0.0.0",
                                   "224.0.0.1",
                                   "::1",
                                   "::",
                                   "fe80::1",
                                   "fc00::1",
                                   "fd12::1",
                                   "ff02::1",
                                   "::ffff:127.0.0.1",
                                   "::ffff:10.0.0.1"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        assert_true(private_ip(refused[i]));
    const char *const allowed[] = {"8.8.8.8",     "172.32.0.1",      "192.169.0.1",
                                   "100.128.0.1", "2606:4700::1111", "::ffff:1.1.1.1"};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        assert_false(private_ip(allowed[i]));
}

static void refused_before_connecting(void **state)
{
    (void)state;
    struct net_http_out_req req = {
        .method = "POST", .url = "http://127.0.0.1:9/x", .timeout_ms = 2000};
    struct net_http_out_resp resp;
    net_http_out_send(&req, &resp);
    assert_int_equal(resp.fail, NET_HTTP_OUT_REFUSED);
    req.url = "ftp://example.com/";
    net_http_out_send(&req, &resp);
    assert_int_equal(resp.fail, NET_HTTP_OUT_BAD_URL);
}

int main(void)
{
    net_http_out_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(private_addresses),
        cmocka_unit_test(refused_before_connecting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
