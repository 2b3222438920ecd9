/* test_inbound.c -- unit tests of core/jobs/inbound.h's signature checks:
 * each scheme accepts its own signature and refuses a wrong one, another
 * scheme's header, a tampered body; stripe's tolerance and rotated secrets
 * (several v1); event ids. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/secure.h"
#include "core/jobs/inbound.h"

struct headers {
    const char *name[4];
    char value[4][256];
    int n;
};

static struct str get(void *ctx, const char *name)
{
    struct headers *h = ctx;
    for (int i = 0; i < h->n; i++) {
        if (strcasecmp(h->name[i], name) == 0)
            return str_from_cstr(h->value[i]);
    }
    return (struct str){"", 0};
}

static void hex_hmac(const char *secret, const char *prefix, const char *body, char out[65])
{
    struct secure_hmac h;
    unsigned char sum[SECURE_HMAC_SHA256_BYTES];
    secure_hmac_init(&h, str_from_cstr(secret));
    secure_hmac_update(&h, prefix, strlen(prefix));
    secure_hmac_update(&h, body, strlen(body));
    secure_hmac_final(&h, sum);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", sum[i]);
}

static enum rc check(const char *scheme, const char *header_cfg, struct headers *h,
                     const char *body, int64_t now, char ev[256])
{
    struct core_inbound cfg = {.tolerance_s = 300};
    snprintf(cfg.scheme, sizeof(cfg.scheme), "%s", scheme);
    snprintf(cfg.secret, sizeof(cfg.secret), "%s", "topsecret");
    snprintf(cfg.header, sizeof(cfg.header), "%s", header_cfg);
    const char *why;
    return core_inbound_verify(&cfg, get, h, str_from_cstr(body), now, ev, &why);
}

static void stripe(void **state)
{
    (void)state;
    const char *body = "{\"id\":\"evt_9\",\"type\":\"x\"}";
    char mac[65], other[65], ev[256];
    hex_hmac("topsecret", "1000.", body, mac);
    hex_hmac("oldsecret", "1000.", body, other);
    struct headers h = {.name = {"Stripe-Signature"}, .n = 1};
    snprintf(h.value[0], 256, "t=1000,v1=%s,v1=%s", other, mac); /* rotated: either may match */
    assert_int_equal(check("stripe", "", &h, body, 1100, ev), RC_OK);
    assert_string_equal(ev, "evt_9");
    assert_int_equal(check("stripe", "", &h, body, 1301, ev), RC_UNAUTHORIZED); /* too late */
    assert_int_equal(check("stripe", "", &h, body, 699, ev), RC_UNAUTHORIZED);  /* too early */
    assert_int_equal(check("stripe", "", &h, "{\"id\":\"evt_9\"}", 1100, ev), RC_UNAUTHORIZED);
    snprintf(h.value[0], 256, "t=1001,v1=%s", mac); /* the timestamp is signed too */
    assert_int_equal(check("stripe", "", &h, body, 1100, ev), RC_UNAUTHORIZED);
    h.n = 0;
    assert_int_equal(check("stripe", "", &h, body, 1100, ev), RC_UNAUTHORIZED);
}

static void plain_schemes(void **state)
{
    (void)state;
    const char *body = "payload";
    char mac[65], ev[256];
    hex_hmac("topsecret", "", body, mac);
    struct headers h = {.name = {"X-Razorpay-Signature", "X-Razorpay-Event-Id"}, .n = 2};
    snprintf(h.value[0], 256, "%s", mac);
    snprintf(h.value[1], 256, "rz-1");
    assert_int_equal(check("razorpay", "", &h, body, 0, ev), RC_OK);
    assert_string_equal(ev, "rz-1");
    assert_int_equal(check("github", "", &h, body, 0, ev), RC_UNAUTHORIZED); /* other header */
    struct headers g = {.name = {"X-Hub-Signature-256", "X-GitHub-Delivery"}, .n = 2};
    snprintf(g.value[0], 256, "sha256=%s", mac);
    snprintf(g.value[1], 256, "gh-7");
    assert_int_equal(check("github", "", &g, body, 0, ev), RC_OK);
    assert_string_equal(ev, "gh-7");
    assert_int_equal(check("github", "", &g, "payloaD", 0, ev), RC_UNAUTHORIZED);
    struct headers x = {.name = {"X-Partner-Sig"}, .n = 1};
    snprintf(x.value[0], 256, "%s", mac);
    assert_int_equal(check("hmac-sha256", "X-Partner-Sig", &x, body, 0, ev), RC_OK);
    assert_int_equal(check("hmac-sha256", "", &x, body, 0, ev), RC_INVALID); /* no header set */
    x.value[0][0] = x.value[0][0] == 'a' ? 'b' : 'a';
    assert_int_equal(check("hmac-sha256", "X-Partner-Sig", &x, body, 0, ev), RC_UNAUTHORIZED);
    assert_int_equal(check("nope", "", &x, body, 0, ev), RC_INVALID);
}

int main(void)
{
    secure_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stripe),
        cmocka_unit_test(plain_schemes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
