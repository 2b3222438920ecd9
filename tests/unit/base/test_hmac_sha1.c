/* test_hmac_sha1.c -- unit tests of base/hmac_sha1.h: the RFC 2202 test
 * cases (short and long keys, a key longer than the block, binary data)
 * and Twilio's documented webhook signature example. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/b64.h"
#include "base/hmac_sha1.h"

static void check(struct str key, const void *data, size_t len, const char *want)
{
    unsigned char mac[HMAC_SHA1_BYTES];
    assert_true(hmac_sha1_digest(key, data, len, mac));
    char got[41];
    for (int i = 0; i < HMAC_SHA1_BYTES; i++)
        snprintf(got + 2 * i, 3, "%02x", mac[i]);
    assert_string_equal(got, want);
}

static void rfc2202(void **state)
{
    (void)state;
    char k1[20], k3[20], d3[50], k5[20], k6[80];
    memset(k1, 0x0b, sizeof(k1));
    check((struct str){k1, 20}, "Hi There", 8, "b617318655057264e28bc0b6fb378c8ef146be00");
    check(STR_LIT("Jefe"), "what do ya want for nothing?", 28,
          "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    memset(k3, 0xaa, sizeof(k3));
    memset(d3, 0xdd, sizeof(d3));
    check((struct str){k3, 20}, d3, 50, "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
    memset(k5, 0x0c, sizeof(k5));
    check((struct str){k5, 20}, "Test With Truncation", 20,
          "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04");
    memset(k6, 0xaa, sizeof(k6)); /* longer than SHA-1's 64-byte block: hashed first */
    const char *t6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    check((struct str){k6, 80}, t6, strlen(t6), "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    check(STR_LIT(""), "", 0, "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
}

static void twilio_example(void **state)
{
    (void)state;
    /* twilio.com/docs/usage/security: the URL, then the POST parameters
     * sorted by name, each name followed by its value */
    const char *text = "https://mycompany.com/myapp.php?foo=1&bar=2"
                       "CallSidCA1234567890ABCDECaller+12349013030Digits1234"
                       "From+12349013030To+18005551212";
    unsigned char mac[HMAC_SHA1_BYTES];
    assert_true(hmac_sha1_digest(STR_LIT("12345"), text, strlen(text), mac));
    char b64[32];
    size_t n = b64_encode(B64_STD_PAD, mac, sizeof(mac), b64);
    b64[n] = '\0';
    assert_string_equal(b64, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc2202),
        cmocka_unit_test(twilio_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
