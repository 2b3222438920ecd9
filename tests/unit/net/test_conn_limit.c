/* test_conn_limit.c -- unit tests of net/conn_limit.h: the total cap, the
 * per-address cap (IPv4 exact, IPv4-mapped IPv6 as IPv4, IPv6 by /64),
 * entries dropped when their last connection goes (and the table growing
 * past its first buckets), counts from several threads at once; and
 * net_default_max_conns() from net/worker.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <uv.h>

#include "net/conn_limit.h"
#include "net/worker.h"

static struct net_ip_key key4(const char *text)
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, text, &in.sin_addr), 1);
    struct net_ip_key k;
    assert_true(net_ip_key_of((struct sockaddr *)&in, sizeof(in), &k));
    return k;
}

static struct net_ip_key key6(const char *text)
{
    struct sockaddr_in6 in = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, text, &in.sin6_addr), 1);
    struct net_ip_key k;
    assert_true(net_ip_key_of((struct sockaddr *)&in, sizeof(in), &k));
    return k;
}

static void test_total_cap_refuses_past_max_and_counts_puts(void **state)
{
    struct net_conn_limit *l = net_conn_limit_new(3, 0);
    assert_true(net_conn_limit_take(l));
    assert_true(net_conn_limit_take(l));
    assert_true(net_conn_limit_take(l));
    assert_false(net_conn_limit_take(l));
    assert_int_equal(net_conn_limit_open(l), 3); /* the refusal took nothing */
    assert_true(net_conn_limit_is_full(l));
    net_conn_limit_put(l);
    assert_false(net_conn_limit_is_full(l));
    assert_true(net_conn_limit_take(l));
    for (int i = 0; i < 3; i++)
        net_conn_limit_put(l);
    assert_int_equal(net_conn_limit_open(l), 0);
    net_conn_limit_free(l);
}

static void test_zero_caps_count_but_never_refuse(void **state)
{
    struct net_conn_limit *l = net_conn_limit_new(0, 0);
    struct net_ip_key k = key4("192.0.2.1");
    for (int i = 0; i < 1000; i++) {
        assert_true(net_conn_limit_take(l));
        assert_true(net_conn_limit_take_addr(l, &k));
    }
    assert_int_equal(net_conn_limit_open(l), 1000);
    assert_false(net_conn_limit_is_full(l));
    assert_int_equal(net_conn_limit_addr_count(l, &k), 0); /* no table */
    for (int i = 0; i < 1000; i++) {
        net_conn_limit_put_addr(l, &k);
        net_conn_limit_put(l);
    }
    net_conn_limit_free(l);
}

static void test_per_addr_cap_is_per_address(void **state)
{
    struct net_conn_limit *l = net_conn_limit_new(0, 2);
    struct net_ip_key a = key4("192.0.2.1");
    struct net_ip_key b = key4("192.0.2.2");
    assert_true(net_conn_limit_take_addr(l, &a));
    assert_true(net_conn_limit_take_addr(l, &a));
    assert_false(net_conn_limit_take_addr(l, &a));
    assert_int_equal(net_conn_limit_addr_count(l, &a), 2);
    assert_true(net_conn_limit_take_addr(l, &b));
    net_conn_limit_put_addr(l, &a);
    assert_true(net_conn_limit_take_addr(l, &a));
    net_conn_limit_put_addr(l, &a);
    net_conn_limit_put_addr(l, &a);
    net_conn_limit_put_addr(l, &b);
    assert_int_equal(net_conn_limit_addr_count(l, &a), 0);
    assert_int_equal(net_conn_limit_addr_count(l, &b), 0);
    net_conn_limit_free(l);
}

static void test_ipv6_counts_by_64_and_mapped_ipv4_as_ipv4(void **state)
{
    struct net_conn_limit *l = net_conn_limit_new(0, 1);
    struct net_ip_key a = key6("2001:db8:1:2::1");
    struct net_ip_key same64 = key6("2001:db8:1:2:ffff:ffff:ffff:fffe");
    struct net_ip_key other64 = key6("2001:db8:1:3::1");
    assert_memory_equal(a.bytes, same64.bytes, 16);
    assert_true(net_conn_limit_take_addr(l, &a));
    assert_false(net_conn_limit_take_addr(l, &same64));
    assert_true(net_conn_limit_take_addr(l, &other64));

    struct net_ip_key v4 = key4("198.51.100.7");
    struct net_ip_key mapped = key6("::ffff:198.51.100.7");
    struct net_ip_key next = key6("::ffff:198.51.100.8");
    assert_memory_equal(v4.bytes, mapped.bytes, 16);
    assert_true(net_conn_limit_take_addr(l, &v4));
    assert_false(net_conn_limit_take_addr(l, &mapped));
    assert_true(net_conn_limit_take_addr(l, &next)); /* IPv4 stays exact */

    /* ::/64 holds ::1 and the mapped range's prefix, but not a mapped key. */
    struct net_ip_key lo6 = key6("::1");
    assert_true(net_conn_limit_take_addr(l, &lo6));

    struct net_ip_key *all[] = {&a, &other64, &v4, &next, &lo6};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        net_conn_limit_put_addr(l, all[i]);
    net_conn_limit_free(l);
}

static void test_key_refuses_other_families_and_short_lengths(void **state)
{
    struct net_ip_key k;
    struct sockaddr_in in = {.sin_family = AF_INET};
    assert_false(net_ip_key_of((struct sockaddr *)&in, sizeof(in) - 1, &k));
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    assert_false(net_ip_key_of((struct sockaddr *)&in6, sizeof(in) /* too short */, &k));
    struct sockaddr sa = {.sa_family = AF_UNIX};
    assert_false(net_ip_key_of(&sa, sizeof(sa), &k));
}

static void test_many_addresses_grow_and_empty_the_table(void **state)
{
    struct net_conn_limit *l = net_conn_limit_new(0, 1);
    /* 20,000 addresses: far past 64 shards x 16 first buckets. */
    for (uint32_t i = 0; i < 20000; i++) {
        struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000000 + i)};
        struct net_ip_key k;
        assert_true(net_ip_key_of((struct sockaddr *)&in, sizeof(in), &k));
        assert_true(net_conn_limit_take_addr(l, &k));
        assert_false(net_conn_limit_take_addr(l, &k));
    }
    for (uint32_t i = 0; i < 20000; i++) {
        struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000000 + i)};
        struct net_ip_key k;
        net_ip_key_of((struct sockaddr *)&in, sizeof(in), &k);
        assert_int_equal(net_conn_limit_addr_count(l, &k), 1);
        net_conn_limit_put_addr(l, &k);
        assert_int_equal(net_conn_limit_addr_count(l, &k), 0);
    }
    net_conn_limit_free(l); /* LSan: no entry left behind */
}

struct race {
    struct net_conn_limit *l;
    int taken; /* by this thread, of 100,000 tries */
};

static void race_thread(void *arg)
{
    struct race *r = arg;
    struct net_ip_key k = key4("203.0.113.9");
    for (int i = 0; i < 100000; i++) {
        if (!net_conn_limit_take(r->l))
            continue;
        if (!net_conn_limit_take_addr(r->l, &k)) {
            net_conn_limit_put(r->l);
            continue;
        }
        r->taken++;
        net_conn_limit_put_addr(r->l, &k);
        net_conn_limit_put(r->l);
    }
}

static void test_threads_never_pass_the_caps(void **state)
{
    struct net_conn_limit *l = net_conn_limit_new(3, 2);
    struct race races[4] = {{l, 0}, {l, 0}, {l, 0}, {l, 0}};
    uv_thread_t t[4];
    for (int i = 0; i < 4; i++)
        uv_thread_create(&t[i], race_thread, &races[i]);
    /* Meanwhile this thread checks that no count is ever past its cap. */
    struct net_ip_key k = key4("203.0.113.9");
    for (int i = 0; i < 1000; i++) {
        if (net_conn_limit_take(l)) {
            assert_true(net_conn_limit_open(l) <= 3);
            if (net_conn_limit_take_addr(l, &k)) {
                assert_true(net_conn_limit_addr_count(l, &k) <= 2);
                net_conn_limit_put_addr(l, &k);
            }
            net_conn_limit_put(l);
        }
    }
    for (int i = 0; i < 4; i++)
        uv_thread_join(&t[i]);
    assert_int_equal(net_conn_limit_open(l), 0);
    assert_int_equal(net_conn_limit_addr_count(l, &k), 0);
    assert_true(races[0].taken + races[1].taken + races[2].taken + races[3].taken > 0);
    net_conn_limit_free(l);
}

static void test_default_max_conns_leaves_a_reserve(void **state)
{
    /* 256 descriptors, 2 workers: reserve 96, then 3/4 of 160. */
    assert_int_equal(net_default_max_conns(256, 2), 120);
    assert_int_equal(net_default_max_conns(1024, 1), 708);
    assert_int_equal(net_default_max_conns(20000, 2), 14928);
    /* A tiny limit keeps half of it back, and the cap never reaches 0. */
    assert_int_equal(net_default_max_conns(64, 8), 24);
    assert_int_equal(net_default_max_conns(1, 1), 1);
    assert_int_equal(net_default_max_conns(0, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_total_cap_refuses_past_max_and_counts_puts),
        cmocka_unit_test(test_zero_caps_count_but_never_refuse),
        cmocka_unit_test(test_per_addr_cap_is_per_address),
        cmocka_unit_test(test_ipv6_counts_by_64_and_mapped_ipv4_as_ipv4),
        cmocka_unit_test(test_key_refuses_other_families_and_short_lengths),
        cmocka_unit_test(test_many_addresses_grow_and_empty_the_table),
        cmocka_unit_test(test_threads_never_pass_the_caps),
        cmocka_unit_test(test_default_max_conns_leaves_a_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
