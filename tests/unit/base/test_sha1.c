/* test_sha1.c -- unit tests of base/sha1.h: the FIPS 180 example vectors,
 * the padding boundaries (55, 56, 63, 64 bytes), a million 'a', and the
 * RFC 6455 handshake example the WebSocket endpoint depends on. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/b64.h"
#include "base/sha1.h"

static void hex(const uint8_t d[20], char out[41])
{
    for (int i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void check(const void *data, size_t len, const char *want)
{
    uint8_t d[20];
    char got[41];
    sha1_digest(data, len, d);
    hex(d, got);
    assert_string_equal(got, want);
}

static void test_fips_vectors(void **state)
{
    (void)state;
    check("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    check("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check(two, strlen(two), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

static void test_padding_boundaries(void **state)
{
    (void)state;
    /* Digests of runs of 'a' (computed with coreutils' sha1sum). */
    char a[64];
    memset(a, 'a', sizeof(a));
    check(a, 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a");
    check(a, 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699");
    check(a, 63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5");
    check(a, 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

static void test_million_a(void **state)
{
    (void)state;
    static char big[1000000];
    memset(big, 'a', sizeof(big));
    check(big, sizeof(big), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void test_websocket_accept(void **state)
{
    (void)state;
    const char *joined = "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t d[20];
    sha1_digest(joined, strlen(joined), d);
    char out[32];
    size_t n = b64_encode(B64_STD_PAD, d, sizeof(d), out);
    assert_int_equal(n, 28);
    assert_memory_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 28);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_padding_boundaries),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_websocket_accept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
