/* test_inbound.c -- unit tests of core/jobs/inbound.h's signature checks:
 * each scheme accepts its own signature and refuses a wrong one, another
 * scheme's header, a tampered body; stripe's tolerance and rotated secrets
 * (several v1); event ids; malformed headers (a missing or non-numeric t,
 * a digest of the wrong length or with a non-hex character, a sign or a
 * space where strtol would have skipped it); twilio's signature over the
 * URL and the sorted form (Twilio's documented example), its event id and
 * the payload a form becomes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/b64.h"
#include "base/hmac_sha1.h"
#include "base/secure.h"
#include "core/jobs/inbound_verify.h"

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
    return core_inbound_verify(&cfg, get, h, str_from_cstr(body), (struct str){"", 0}, now, ev,
                               &why);
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

static void upper(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

static void stripe_malformed(void **state)
{
    (void)state;
    /* a body whose MAC starts with '0', so "+X" and " X" spell the same byte
     * to strtol: they must still be refused */
    char body[32], mac[65], ev[256];
    for (int i = 0;; i++) {
        snprintf(body, sizeof(body), "{\"id\":\"e%d\"}", i);
        hex_hmac("topsecret", "1000.", body, mac);
        if (mac[0] == '0')
            break;
    }
    struct headers h = {.name = {"Stripe-Signature"}, .n = 1};
    const char *const refused[] = {
        "t=1000",                       /* no v1 */
        "v1=%s",                        /* no t */
        "t=,v1=%s",                     /* empty t */
        "t=1000x,v1=%s",                /* t not a number */
        "t=-1000,v1=%s",                /* a sign */
        " t=1000,v1=%s",                /* a space before the key */
        "t=1000,v1=%.63s",              /* one digit short */
        "t=1000,v1=%s0",                /* one digit long */
        "t=1000,v1= %s",                /* a space before the digest */
        "t=1000,v0=%s",                 /* another version */
        "t=1000;v1=%s",                 /* not comma-separated */
        "t=10000000000000000000,v1=%s", /* past 18 digits */
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(h.value[0], 256, refused[i], mac);
        assert_int_equal(check("stripe", "", &h, body, 1000, ev), RC_UNAUTHORIZED);
    }
    char signed_mac[66];
    snprintf(signed_mac, sizeof(signed_mac), "+%s", mac + 1);
    snprintf(h.value[0], 256, "t=1000,v1=%s", signed_mac);
    assert_int_equal(check("stripe", "", &h, body, 1000, ev), RC_UNAUTHORIZED);
    signed_mac[0] = ' ';
    snprintf(h.value[0], 256, "t=1000,v1=%s", signed_mac);
    assert_int_equal(check("stripe", "", &h, body, 1000, ev), RC_UNAUTHORIZED);
    char bad[65];
    snprintf(bad, sizeof(bad), "%s", mac);
    bad[10] = 'g';
    snprintf(h.value[0], 256, "t=1000,v1=%s", bad);
    assert_int_equal(check("stripe", "", &h, body, 1000, ev), RC_UNAUTHORIZED);
    /* empty items, a v1 before t, upper-case hex: accepted */
    char up[65];
    snprintf(up, sizeof(up), "%s", mac);
    upper(up);
    snprintf(h.value[0], 256, ",,v1=%s,,t=1000,", up);
    assert_int_equal(check("stripe", "", &h, body, 1000, ev), RC_OK);
    /* no "id" in a body that is not JSON: no event id */
    hex_hmac("topsecret", "1000.", "not json", mac);
    snprintf(h.value[0], 256, "t=1000,v1=%s", mac);
    assert_int_equal(check("stripe", "", &h, "not json", 1000, ev), RC_OK);
    assert_string_equal(ev, "");
}

static void plain_malformed(void **state)
{
    (void)state;
    const char *body = "{\"id\":\"b-1\"}";
    char mac[65], ev[256];
    hex_hmac("topsecret", "", body, mac);
    struct headers g = {.name = {"X-Hub-Signature-256"}, .n = 1};
    snprintf(g.value[0], 256, "SHA256=%s", mac); /* the prefix in any case */
    assert_int_equal(check("github", "", &g, body, 0, ev), RC_OK);
    assert_string_equal(ev, ""); /* no X-GitHub-Delivery: no id (not the body's) */
    snprintf(g.value[0], 256, "sha256:%s", mac);
    assert_int_equal(check("github", "", &g, body, 0, ev), RC_UNAUTHORIZED);
    snprintf(g.value[0], 256, "sha256=");
    assert_int_equal(check("github", "", &g, body, 0, ev), RC_UNAUTHORIZED);
    struct headers r = {.name = {"X-Razorpay-Signature"}, .n = 1};
    snprintf(r.value[0], 256, "sha256=%s", mac); /* razorpay takes no prefix */
    assert_int_equal(check("razorpay", "", &r, body, 0, ev), RC_UNAUTHORIZED);
    snprintf(r.value[0], 256, "%s ", mac);
    assert_int_equal(check("razorpay", "", &r, body, 0, ev), RC_UNAUTHORIZED);
    struct headers x = {.name = {"X-Sig"}, .n = 1};
    snprintf(x.value[0], 256, "%s", mac);
    assert_int_equal(check("hmac-sha256", "X-Sig", &x, body, 0, ev), RC_OK);
    assert_string_equal(ev, "b-1"); /* no X-Event-Id: the body's id */
    x.n = 0;
    assert_int_equal(check("hmac-sha256", "X-Sig", &x, body, 0, ev), RC_UNAUTHORIZED);
}

static enum rc check_twilio(const char *url, const char *sig, const char *body, char ev[256])
{
    struct core_inbound cfg = {.tolerance_s = 300};
    snprintf(cfg.scheme, sizeof(cfg.scheme), "twilio");
    snprintf(cfg.secret, sizeof(cfg.secret), "12345");
    struct headers h = {.name = {"X-Twilio-Signature"}, .n = sig != NULL};
    snprintf(h.value[0], 256, "%s", sig ? sig : "");
    const char *why;
    return core_inbound_verify(&cfg, get, &h, str_from_cstr(body), str_from_cstr(url), 0, ev, &why);
}

/* base64(HMAC-SHA1("12345", text)). */
static void twilio_sig(const char *text, char out[32])
{
    unsigned char mac[HMAC_SHA1_BYTES];
    assert_true(hmac_sha1_digest(STR_LIT("12345"), text, strlen(text), mac));
    out[b64_encode(B64_STD_PAD, mac, sizeof(mac), out)] = '\0';
}

static void twilio(void **state)
{
    (void)state;
    /* Twilio's documented example (twilio.com/docs/usage/security): the
     * form in another order, percent-encoded, must sign the same */
    const char *url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const char *sig = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
    const char *body = "To=%2B18005551212&From=%2B12349013030&Digits=1234&"
                       "Caller=%2B12349013030&CallSid=CA1234567890ABCDE";
    char ev[256];
    assert_int_equal(check_twilio(url, sig, body, ev), RC_OK);
    assert_string_equal(ev, ""); /* a call's callback: no message status */
    assert_int_equal(check_twilio("https://mycompany.com/myapp.php?foo=1&bar=3", sig, body, ev),
                     RC_UNAUTHORIZED); /* the query is signed */
    assert_int_equal(check_twilio("http://mycompany.com/myapp.php?foo=1&bar=2", sig, body, ev),
                     RC_UNAUTHORIZED);
    assert_int_equal(check_twilio("", sig, body, ev), RC_UNAUTHORIZED); /* no appURL */
    assert_int_equal(check_twilio(url, NULL, body, ev), RC_UNAUTHORIZED);
    assert_int_equal(check_twilio(url, sig, "To=%2B18005551212", ev), RC_UNAUTHORIZED);
    /* a value changed, a parameter added, an escape broken */
    const char *tampered = "To=%2B18005551212&From=%2B12349013030&Digits=1235&"
                           "Caller=%2B12349013030&CallSid=CA1234567890ABCDE";
    assert_int_equal(check_twilio(url, sig, tampered, ev), RC_UNAUTHORIZED);
    char more[300];
    snprintf(more, sizeof(more), "%s&X=", body);
    assert_int_equal(check_twilio(url, sig, more, ev), RC_UNAUTHORIZED);
    snprintf(more, sizeof(more), "%s&X=%%zz", body);
    assert_int_equal(check_twilio(url, sig, more, ev), RC_UNAUTHORIZED);
    /* empty pairs are skipped; surrounding spaces of the header are not part of it */
    snprintf(more, sizeof(more), "&%s&&", body);
    char spaced[40];
    snprintf(spaced, sizeof(spaced), " %s ", sig);
    assert_int_equal(check_twilio(url, spaced, more, ev), RC_OK);
    /* a status callback: '+' is a space, names sorted byte by byte
     * (upper case first), the event id is MessageSid:MessageStatus */
    const char *dlr = "MessageStatus=delivered&MessageSid=SM1&ApiVersion=2010-04-01&"
                      "Body=hi+there&apple=1&ErrorCode=";
    const char *base = "https://api.example.com/api/webhooks/tw";
    char text[400], good[32];
    snprintf(text, sizeof(text), "%s%s", base,
             "ApiVersion2010-04-01Bodyhi thereErrorCodeMessageSidSM1MessageStatusdeliveredapple1");
    twilio_sig(text, good);
    assert_int_equal(check_twilio(base, good, dlr, ev), RC_OK);
    assert_string_equal(ev, "SM1:delivered");
    good[0] = good[0] == 'A' ? 'B' : 'A';
    assert_int_equal(check_twilio(base, good, dlr, ev), RC_UNAUTHORIZED);
    /* a name sent twice: by value */
    snprintf(text, sizeof(text), "%sa1a2b3", base);
    twilio_sig(text, good);
    assert_int_equal(check_twilio(base, good, "a=2&b=3&a=1", ev), RC_OK);
}

static void payloads(void **state)
{
    (void)state;
    struct core_inbound tw = {.scheme = "twilio"}, st = {.scheme = "stripe"};
    json_t *p = core_inbound_payload(&tw, STR_LIT("a=1&b=x+y%21&a=2&c&d=%E2%82%AC"));
    json_t *want = json_pack("{s:[s,s], s:s, s:s, s:s}", "a", "1", "2", "b", "x y!", "c", "", "d",
                             "\xe2\x82\xac");
    assert_true(json_equal(p, want));
    json_decref(p);
    json_decref(want);
    p = core_inbound_payload(&tw, STR_LIT("a=%zz")); /* not a form: the text */
    assert_string_equal(json_string_value(p), "a=%zz");
    json_decref(p);
    p = core_inbound_payload(&st, STR_LIT("{\"id\":\"e1\"}"));
    assert_string_equal(json_string_value(json_object_get(p, "id")), "e1");
    json_decref(p);
    p = core_inbound_payload(&st, STR_LIT("a=1"));
    assert_string_equal(json_string_value(p), "a=1");
    json_decref(p);
}

int main(void)
{
    secure_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stripe),           cmocka_unit_test(plain_schemes),
        cmocka_unit_test(stripe_malformed), cmocka_unit_test(plain_malformed),
        cmocka_unit_test(twilio),           cmocka_unit_test(payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
