/* fuzz_inbound_verify.c -- libFuzzer target for the signature headers of
 * inbound webhooks (core/jobs/inbound_verify.h): Stripe-Signature's
 * t=,v1= list and the hex digests of the other schemes.
 *
 * The first byte picks the scheme (or an unknown one); the rest is the
 * signature header's value up to the first newline, then the body. Checks
 * the contract, not just "no crash":
 * - the result is RC_OK, RC_UNAUTHORIZED or RC_INVALID, RC_INVALID exactly
 *   for the unknown scheme, always with a reason when refused, and the
 *   event id is a string shorter than its buffer (twilio: the body is also
 *   parsed as a form, for its signature, its event id and its payload,
 *   which is an object or, for a malformed form, the text, or none when
 *   the body is not UTF-8);
 * - whatever the fuzzed header holds, appending a correct "t=,v1=" to it
 *   (stripe) or sending the body's correct digest (the others) is
 *   accepted, so a stray item never hides a good signature. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/secure.h"
#include "base/utf8.h"
#include "core/jobs/inbound_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const schemes[] = {"stripe",      "razorpay", "github",
                                      "hmac-sha256", "twilio",   "nope"};
#define TWILIO 4
#define UNKNOWN 5

static struct str the_header(void *ctx, const char *name)
{
    (void)name;
    return *(const struct str *)ctx;
}

static void hex_mac(const char *prefix, struct str body, char out[65])
{
    unsigned char mac[SECURE_HMAC_SHA256_BYTES];
    struct secure_hmac h;
    secure_hmac_init(&h, STR_LIT("k"));
    secure_hmac_update(&h, prefix, strlen(prefix));
    secure_hmac_update(&h, body.ptr, body.len);
    secure_hmac_final(&h, mac);
    for (size_t i = 0; i < sizeof(mac); i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool is_init;
    if (!is_init) {
        secure_init();
        is_init = true;
    }
    if (size == 0 || size > 4096)
        return 0;
    size_t which = data[0] % (sizeof(schemes) / sizeof(schemes[0]));
    struct core_inbound cfg = {.tolerance_s = 300};
    snprintf(cfg.scheme, sizeof(cfg.scheme), "%s", schemes[which]);
    snprintf(cfg.secret, sizeof(cfg.secret), "k");
    snprintf(cfg.header, sizeof(cfg.header), "X-Sig");
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    struct str value = {p, nl ? (size_t)(nl - p) : (size_t)(end - p)};
    struct str body = nl ? (struct str){nl + 1, (size_t)(end - nl - 1)} : (struct str){"", 0};

    char event_id[256];
    const char *why = NULL;
    enum rc rc = core_inbound_verify(&cfg, the_header, &value, body, STR_LIT("https://x.test/h"),
                                     1000, event_id, &why);
    if (rc != RC_OK && rc != RC_UNAUTHORIZED && rc != RC_INVALID)
        abort();
    if ((rc == RC_INVALID) != (which == UNKNOWN))
        abort();
    if (rc != RC_OK && (!why || !why[0]))
        abort();
    if (memchr(event_id, '\0', sizeof(event_id)) == NULL)
        abort();
    /* the payload of any body: an object (a form, JSON) or the text */
    json_t *payload = core_inbound_payload(&cfg, body);
    bool is_shape = json_is_object(payload) || json_is_string(payload) ||
                    (which != TWILIO && json_is_array(payload)) ||    /* JSON: an object or array */
                    (!payload && !utf8_is_valid(body.ptr, body.len)); /* no text either */
    if (!is_shape)
        abort();
    json_decref(payload);
    if (which == UNKNOWN || which == TWILIO)
        return 0;

    /* A correct signature is accepted next to anything. */
    char mac[65], *good = malloc(value.len + 128);
    if (!good)
        return 0;
    if (which == 0) {
        hex_mac("1000.", body, mac);
        snprintf(good, value.len + 128, "%.*s,t=1000,v1=%s", (int)value.len, value.ptr, mac);
    } else {
        hex_mac("", body, mac);
        snprintf(good, value.len + 128, "%s%s", which == 1 ? "" : "sha256=", mac);
    }
    struct str sig = str_from_cstr(good);
    if (core_inbound_verify(&cfg, the_header, &sig, body, STR_LIT("https://x.test/h"), 1000,
                            event_id, &why) != RC_OK)
        abort();
    free(good);
    return 0;
}
