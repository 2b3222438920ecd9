/* inbound_verify.c -- see inbound_verify.h. */
#include "core/jobs/inbound_verify.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/secure.h"

/* Whether hex (64 hex digits, any case) is the HMAC of prefix + body under
 * secret. Anything but hex digits (a sign, a space) is a mismatch. */
static bool hmac_matches(const char *secret, struct str prefix, struct str body, struct str hex)
{
    if (hex.len != 2 * SECURE_HMAC_SHA256_BYTES)
        return false;
    unsigned char want[SECURE_HMAC_SHA256_BYTES], got[SECURE_HMAC_SHA256_BYTES];
    for (size_t i = 0; i < sizeof(got); i++) {
        int hi = str_hex_value(hex.ptr[2 * i]), lo = str_hex_value(hex.ptr[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        got[i] = (unsigned char)(hi << 4 | lo);
    }
    struct secure_hmac h;
    secure_hmac_init(&h, str_from_cstr(secret));
    secure_hmac_update(&h, prefix.ptr, prefix.len);
    secure_hmac_update(&h, body.ptr, body.len);
    secure_hmac_final(&h, want);
    return secure_equal(want, got, sizeof(want));
}

struct scheme;

/* Checks sig, the value of the scheme's signature header, against body. */
typedef enum rc verify_fn(const struct scheme *s, const struct core_inbound *cfg, struct str sig,
                          struct str body, int64_t now_s, const char **why);

/* One scheme of inbound.h: its signature's header and check, and where the
 * event id comes from. */
struct scheme {
    const char *name;
    const char *sig_header; /* NULL: the endpoint's own header */
    verify_fn *verify;
    const char *prefix;    /* verify_plain: skipped before the hex when present, any case */
    const char *id_header; /* NULL: none */
    bool is_id_in_body;    /* the body's "id" when there is no id header */
};

/* Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...] in any order (a rotating
 * secret sends several v1; one match is enough), signing "<t>.<body>". */
static enum rc verify_stripe(const struct scheme *s, const struct core_inbound *cfg, struct str sig,
                             struct str body, int64_t now_s, const char **why)
{
    (void)s;
    struct str rest = sig, item, t = {0};
    while (str_next_item(&rest, ',', &item)) {
        if (item.len > 2 && str_has_prefix(item, STR_LIT("t=")))
            t = (struct str){item.ptr + 2, item.len - 2};
    }
    /* Digits only, short enough that |now - t| cannot overflow. */
    uint64_t ts = 0;
    bool is_time = t.len <= 18 && str_to_u64(t, &ts);
    bool ok = false;
    if (is_time) {
        char prefix[20];
        int n = snprintf(prefix, sizeof(prefix), "%.*s.", (int)t.len, t.ptr);
        rest = sig;
        while (!ok && str_next_item(&rest, ',', &item)) {
            ok = str_has_prefix(item, STR_LIT("v1=")) &&
                 hmac_matches(cfg->secret, (struct str){prefix, (size_t)n}, body,
                              (struct str){item.ptr + 3, item.len - 3});
        }
    }
    if (!ok) {
        *why = "bad signature";
        return RC_UNAUTHORIZED;
    }
    if (llabs(now_s - (int64_t)ts) > cfg->tolerance_s) {
        *why = "timestamp outside the tolerance";
        return RC_UNAUTHORIZED;
    }
    return RC_OK;
}

/* The hex HMAC of the body alone, after s->prefix when present. */
static enum rc verify_plain(const struct scheme *s, const struct core_inbound *cfg, struct str sig,
                            struct str body, int64_t now_s, const char **why)
{
    (void)now_s;
    size_t pl = strlen(s->prefix);
    if (pl && sig.len >= pl && strncasecmp(sig.ptr, s->prefix, pl) == 0)
        sig = (struct str){sig.ptr + pl, sig.len - pl};
    if (!hmac_matches(cfg->secret, (struct str){"", 0}, body, sig)) {
        *why = "bad signature";
        return RC_UNAUTHORIZED;
    }
    return RC_OK;
}

static const struct scheme schemes[] = {
    {"stripe", "Stripe-Signature", verify_stripe, "", NULL, true},
    {"razorpay", "X-Razorpay-Signature", verify_plain, "", "X-Razorpay-Event-Id", false},
    {"github", "X-Hub-Signature-256", verify_plain, "sha256=", "X-GitHub-Delivery", false},
    {"hmac-sha256", NULL, verify_plain, "sha256=", "X-Event-Id", true},
};

static void body_id(struct str body, char out[256])
{
    json_t *j = json_loadb(body.ptr, body.len, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    if (id)
        snprintf(out, 256, "%s", id);
    json_decref(j);
}

enum rc core_inbound_verify(const struct core_inbound *cfg, core_inbound_header_fn *header,
                            void *ctx, struct str body, int64_t now_s, char event_id[256],
                            const char **why)
{
    event_id[0] = '\0';
    *why = "";
    const struct scheme *s = NULL;
    for (size_t i = 0; !s && i < sizeof(schemes) / sizeof(schemes[0]); i++)
        s = strcmp(cfg->scheme, schemes[i].name) == 0 ? &schemes[i] : NULL;
    if (!s) {
        *why = "unknown scheme";
        return RC_INVALID;
    }
    const char *sig_header = s->sig_header ? s->sig_header : cfg->header;
    if (!sig_header[0]) {
        *why = "the endpoint names no signature header";
        return RC_INVALID;
    }
    enum rc rc = s->verify(s, cfg, header(ctx, sig_header), body, now_s, why);
    if (rc)
        return rc;
    if (s->id_header) {
        struct str v = header(ctx, s->id_header);
        snprintf(event_id, 256, "%.*s", (int)(v.len < 255 ? v.len : 255), v.ptr);
    }
    if (!event_id[0] && s->is_id_in_body)
        body_id(body, event_id);
    return RC_OK;
}
