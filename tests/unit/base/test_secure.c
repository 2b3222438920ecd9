/* test_secure.c -- unit tests of base/secure.h: HMAC-SHA256 against RFC 4231
 * (including keys longer than a block) and against Python's hmac module,
 * streaming equal to one-shot, constant-time comparison results, wiping, and
 * random strings that stay within their alphabet with a uniform spread. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/secure.h"

/* Checks that mac equals the 64 hex digits want. */
static void check_mac_hex(const unsigned char mac[SECURE_HMAC_SHA256_BYTES], const char *want)
{
    char hex[2 * SECURE_HMAC_SHA256_BYTES + 1];
    for (size_t i = 0; i < SECURE_HMAC_SHA256_BYTES; i++) {
        hex[2 * i] = "0123456789abcdef"[mac[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[mac[i] & 15];
    }
    hex[sizeof(hex) - 1] = '\0';
    assert_string_equal(hex, want);
}

static void test_secure_init_can_run_twice(void **state)
{
    assert_int_equal(secure_init(), RC_OK);
    assert_int_equal(secure_init(), RC_OK);
}

/* RFC 4231 test cases 1, 2 and 6; 6 has a 131-byte key, hashed first. */
static void test_secure_hmac_matches_rfc4231(void **state)
{
    unsigned char mac[SECURE_HMAC_SHA256_BYTES];
    char key1[20];
    memset(key1, 0x0b, sizeof(key1));
    secure_hmac_sha256((struct str){key1, sizeof(key1)}, "Hi There", 8, mac);
    check_mac_hex(mac, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

    const char *msg2 = "what do ya want for nothing?";
    secure_hmac_sha256(STR_LIT("Jefe"), msg2, strlen(msg2), mac);
    check_mac_hex(mac, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    char key6[131];
    memset(key6, 0xaa, sizeof(key6));
    const char *msg6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    secure_hmac_sha256((struct str){key6, sizeof(key6)}, msg6, strlen(msg6), mac);
    check_mac_hex(mac, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* python3 -c 'import hmac,hashlib; print(hmac.new(b"", b"", hashlib.sha256).hexdigest())' */
static void test_secure_hmac_accepts_an_empty_key_and_message(void **state)
{
    unsigned char mac[SECURE_HMAC_SHA256_BYTES];
    secure_hmac_sha256((struct str){NULL, 0}, NULL, 0, mac);
    check_mac_hex(mac, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

static void test_secure_hmac_streaming_equals_one_shot(void **state)
{
    char msg[1000];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (char)(i * 7);
    struct str key =
        STR_LIT("a record tokenKey followed by a collection secret, longer than 64 bytes");
    unsigned char whole[SECURE_HMAC_SHA256_BYTES];
    unsigned char parts[SECURE_HMAC_SHA256_BYTES];
    secure_hmac_sha256(key, msg, sizeof(msg), whole);

    struct secure_hmac h;
    secure_hmac_init(&h, key);
    size_t off = 0;
    for (size_t step = 1; off < sizeof(msg); step = step * 2 + 1) {
        size_t n = step < sizeof(msg) - off ? step : sizeof(msg) - off;
        secure_hmac_update(&h, msg + off, n);
        off += n;
    }
    secure_hmac_update(&h, NULL, 0);
    secure_hmac_final(&h, parts);
    assert_memory_equal(whole, parts, sizeof(whole));
}

static void test_secure_hmac_depends_on_every_key_byte(void **state)
{
    unsigned char a[SECURE_HMAC_SHA256_BYTES];
    unsigned char b[SECURE_HMAC_SHA256_BYTES];
    secure_hmac_sha256(STR_LIT("secret-1"), "m", 1, a);
    secure_hmac_sha256(STR_LIT("secret-2"), "m", 1, b);
    assert_memory_not_equal(a, b, sizeof(a));
    secure_hmac_sha256(STR_LIT("secret-1x"), "m", 1, b);
    assert_memory_not_equal(a, b, sizeof(a));
}

static void test_secure_equal_compares_whole_ranges(void **state)
{
    unsigned char a[32];
    unsigned char b[32];
    memset(a, 7, sizeof(a));
    memset(b, 7, sizeof(b));
    assert_true(secure_equal(a, b, sizeof(a)));
    b[0] = 8;
    assert_false(secure_equal(a, b, sizeof(a)));
    b[0] = 7;
    b[31] = 8;
    assert_false(secure_equal(a, b, sizeof(a)));
    assert_true(secure_equal(a, b, 31));
    assert_true(secure_equal(NULL, NULL, 0));
}

static void test_secure_str_equal_refuses_different_lengths(void **state)
{
    assert_true(secure_str_equal(STR_LIT("abc"), STR_LIT("abc")));
    assert_false(secure_str_equal(STR_LIT("abc"), STR_LIT("abd")));
    assert_false(secure_str_equal(STR_LIT("abc"), STR_LIT("abcd")));
    assert_false(secure_str_equal(STR_LIT("abc"), STR_LIT("")));
    assert_true(secure_str_equal(STR_LIT(""), (struct str){NULL, 0}));
}

static void test_secure_zero_clears_memory(void **state)
{
    unsigned char p[64];
    memset(p, 0xFF, sizeof(p));
    secure_zero(p + 8, 48);
    for (size_t i = 0; i < sizeof(p); i++)
        assert_int_equal(p[i], (i < 8 || i >= 56) ? 0xFF : 0);
    secure_zero(NULL, 0);
}

static void test_secure_random_bytes_differ_between_calls(void **state)
{
    unsigned char a[32];
    unsigned char b[32];
    static const unsigned char zero[32];
    secure_random_bytes(a, sizeof(a));
    secure_random_bytes(b, sizeof(b));
    assert_memory_not_equal(a, b, sizeof(a)); /* equal with probability 2^-256 */
    assert_memory_not_equal(a, zero, sizeof(a));
    secure_random_bytes(NULL, 0);
}

static void test_secure_random_string_stays_in_alphabet(void **state)
{
    char out[4096];
    struct str alphabet = STR_LIT("abcdefghijklmnopqrstuvwxyz0123456789");
    assert_int_equal(secure_random_string(alphabet, out, sizeof(out)), RC_OK);
    bool seen[256] = {false};
    for (size_t i = 0; i < sizeof(out); i++) {
        assert_non_null(memchr(alphabet.ptr, out[i], alphabet.len));
        seen[(unsigned char)out[i]] = true;
    }
    for (size_t i = 0; i < alphabet.len; i++)
        assert_true(seen[(unsigned char)alphabet.ptr[i]]); /* miss: p < 36 * (35/36)^4096 */
}

/* Each letter of a 3-letter alphabet (not a power of two) comes up a third
 * of the time. The bounds are 8 standard deviations wide so the test never
 * flakes; they catch gross bias (an index that misses a letter, a skewed
 * mapping), not the ~0.8% a modulo of one byte would give 'a': that exactness
 * is randombytes_uniform's, by construction. */
static void test_secure_random_string_spreads_evenly(void **state)
{
    enum { N = 60000 };
    static char out[N];
    assert_int_equal(secure_random_string(STR_LIT("abc"), out, N), RC_OK);
    size_t count[3] = {0, 0, 0};
    for (size_t i = 0; i < N; i++) {
        assert_true(out[i] >= 'a' && out[i] <= 'c');
        count[out[i] - 'a']++;
    }
    for (size_t k = 0; k < 3; k++) {
        assert_in_range(count[k], N / 3 - 930, N / 3 + 930);
    }
}

static void test_secure_random_uniform_stays_in_range_and_spreads(void **state)
{
    (void)state;
    assert_int_equal(secure_random_uniform(0), 0);
    assert_int_equal(secure_random_uniform(1), 0);
    /* 3 does not divide 2^32: a plain modulo would favour 0; with 30,000
     * draws each value lands within a few percent of 10,000. Enough draws to
     * cross the per-thread pool many times. */
    unsigned counts[3] = {0};
    for (int i = 0; i < 30000; i++) {
        uint32_t v = secure_random_uniform(3);
        assert_true(v < 3);
        counts[v]++;
    }
    for (int k = 0; k < 3; k++)
        assert_in_range(counts[k], 9400, 10600);
    uint32_t big = 0;
    for (int i = 0; i < 64; i++)
        big |= secure_random_uniform(0x80000001u);
    assert_true(big > 0x10000000u); /* the high bits are reached */
}

static void test_secure_random_bytes_small_and_large_draws_differ(void **state)
{
    (void)state;
    unsigned char a[16], b[16], big1[300], big2[300];
    secure_random_bytes(a, sizeof(a));
    secure_random_bytes(b, sizeof(b));
    assert_memory_not_equal(a, b, sizeof(a));
    secure_random_bytes(big1, sizeof(big1));
    secure_random_bytes(big2, sizeof(big2));
    assert_memory_not_equal(big1, big2, sizeof(big1));
}

static void test_secure_random_string_refuses_bad_alphabets(void **state)
{
    char out[4] = {'x', 'x', 'x', 'x'};
    char big[257];
    memset(big, 'a', sizeof(big));
    assert_int_equal(secure_random_string(STR_LIT(""), out, sizeof(out)), RC_INVALID);
    assert_int_equal(secure_random_string((struct str){big, sizeof(big)}, out, sizeof(out)),
                     RC_INVALID);
    assert_memory_equal(out, "xxxx", 4);
    assert_int_equal(secure_random_string((struct str){big, 256}, out, sizeof(out)), RC_OK);
    assert_memory_equal(out, "aaaa", 4);
    assert_int_equal(secure_random_string(STR_LIT("z"), out, 0), RC_OK);
}

static void test_secure_hash64_depends_on_key_and_text(void **state)
{
    (void)state;
    struct secure_hash_key a, b;
    secure_hash_key_init(&a);
    secure_hash_key_init(&b);
    uint64_t x = secure_hash64(&a, STR_LIT("127.0.0.1"));
    assert_true(x == secure_hash64(&a, STR_LIT("127.0.0.1"))); /* stable under one key */
    assert_true(x != secure_hash64(&a, STR_LIT("127.0.0.2")));
    assert_true(x != secure_hash64(&b, STR_LIT("127.0.0.1"))); /* another key, another slot */
    (void)secure_hash64(&a, (struct str){NULL, 0});
}

int main(void)
{
    if (secure_init()) {
        fputs("secure_init failed\n", stderr);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secure_init_can_run_twice),
        cmocka_unit_test(test_secure_hmac_matches_rfc4231),
        cmocka_unit_test(test_secure_hmac_accepts_an_empty_key_and_message),
        cmocka_unit_test(test_secure_hmac_streaming_equals_one_shot),
        cmocka_unit_test(test_secure_hmac_depends_on_every_key_byte),
        cmocka_unit_test(test_secure_equal_compares_whole_ranges),
        cmocka_unit_test(test_secure_str_equal_refuses_different_lengths),
        cmocka_unit_test(test_secure_zero_clears_memory),
        cmocka_unit_test(test_secure_random_bytes_differ_between_calls),
        cmocka_unit_test(test_secure_random_string_stays_in_alphabet),
        cmocka_unit_test(test_secure_random_string_spreads_evenly),
        cmocka_unit_test(test_secure_random_string_refuses_bad_alphabets),
        cmocka_unit_test(test_secure_random_uniform_stays_in_range_and_spreads),
        cmocka_unit_test(test_secure_random_bytes_small_and_large_draws_differ),
        cmocka_unit_test(test_secure_hash64_depends_on_key_and_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
