/* inbound_verify.c -- see inbound_verify.h. */
#include "core/jobs/inbound_verify.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/hmac_sha1.h"
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

/* ---- application/x-www-form-urlencoded bodies (twilio) -------------------- */

/* One name=value of a form, decoded, into the form's own store. */
struct form_pair {
    struct str name, value;
};

/* A decoded form: its pairs in body order (or sorted), and the bytes they
 * point into. */
struct form {
    struct form_pair *pairs;
    size_t count;
    char *store;
};

static void form_cleanup(struct form *f)
{
    xfree(f->pairs);
    xfree(f->store);
}

/* Decodes body's pairs ('+' is a space, %XX a byte; a pair without '=' has
 * an empty value, an empty pair is skipped). False for a malformed escape. */
static bool form_parse(struct str body, struct form *f)
{
    size_t n = 1;
    for (size_t i = 0; i < body.len; i++)
        n += body.ptr[i] == '&';
    f->pairs = xcalloc(n, sizeof(*f->pairs));
    f->store = xmalloc(body.len + 1);
    f->count = 0;
    char *at = f->store;
    struct str rest = body, item;
    while (str_next_item(&rest, '&', &item)) {
        if (!item.len)
            continue;
        const char *eq = memchr(item.ptr, '=', item.len);
        struct str raw[2] = {{item.ptr, eq ? (size_t)(eq - item.ptr) : item.len},
                             {eq ? eq + 1 : "", eq ? item.len - (size_t)(eq - item.ptr) - 1 : 0}};
        struct str *out[2] = {&f->pairs[f->count].name, &f->pairs[f->count].value};
        for (int k = 0; k < 2; k++) {
            long len = str_percent_decode(raw[k], at, true);
            if (len < 0)
                return false;
            *out[k] = (struct str){at, (size_t)len};
            at += len;
        }
        f->count++;
    }
    return true;
}

static int compare_str(struct str a, struct str b)
{
    int c = memcmp(a.ptr, b.ptr, a.len < b.len ? a.len : b.len);
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

/* By name, byte by byte (Twilio's "Unix-style case-sensitive" order); a
 * name sent twice, by value. */
static int compare_pairs(const void *x, const void *y)
{
    const struct form_pair *a = x, *b = y;
    int c = compare_str(a->name, b->name);
    return c ? c : compare_str(a->value, b->value);
}

static struct str form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++) {
        if (str_eq(f->pairs[i].name, str_from_cstr(name)))
            return f->pairs[i].value;
    }
    return (struct str){"", 0};
}

/* ---- the schemes ------------------------------------------------------------ */

struct scheme;

/* Checks sig, the value of the scheme's signature header, against body
 * (and the URL the sender called, for the schemes that sign it). */
typedef enum rc verify_fn(const struct scheme *s, const struct core_inbound *cfg, struct str sig,
                          struct str body, struct str url, int64_t now_s, const char **why);
/* The event id the body carries ("" when none). */
typedef void body_id_fn(struct str body, char out[256]);

/* One scheme of inbound.h: its signature's header and check, and where the
 * event id comes from. */
struct scheme {
    const char *name;
    const char *sig_header; /* NULL: the endpoint's own header */
    verify_fn *verify;
    const char *prefix;    /* verify_plain: skipped before the hex when present, any case */
    const char *id_header; /* NULL: none */
    body_id_fn *body_id;   /* when there is no id header: from the body; NULL: none */
    bool is_form;          /* the body is a form: its payload an object of its fields */
};

/* Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...] in any order (a rotating
 * secret sends several v1; one match is enough), signing "<t>.<body>". */
static enum rc verify_stripe(const struct scheme *s, const struct core_inbound *cfg, struct str sig,
                             struct str body, struct str url, int64_t now_s, const char **why)
{
    (void)s;
    (void)url;
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
                            struct str body, struct str url, int64_t now_s, const char **why)
{
    (void)now_s;
    (void)url;
    size_t pl = strlen(s->prefix);
    if (pl && sig.len >= pl && strncasecmp(sig.ptr, s->prefix, pl) == 0)
        sig = (struct str){sig.ptr + pl, sig.len - pl};
    if (!hmac_matches(cfg->secret, (struct str){"", 0}, body, sig)) {
        *why = "bad signature";
        return RC_UNAUTHORIZED;
    }
    return RC_OK;
}

/* Twilio's webhook signature: X-Twilio-Signature is the base64 of
 * HMAC-SHA1(auth token, the URL Twilio called + each POST parameter's name
 * and value, sorted by name, with nothing between them). */
static enum rc verify_twilio(const struct scheme *s, const struct core_inbound *cfg, struct str sig,
                             struct str body, struct str url, int64_t now_s, const char **why)
{
    (void)s;
    (void)now_s;
    if (!url.len) {
        *why = "no URL to check the signature against (settings meta.appURL is empty)";
        return RC_UNAUTHORIZED;
    }
    struct form f = {0};
    if (!form_parse(body, &f)) {
        form_cleanup(&f);
        *why = "the body is not a form";
        return RC_UNAUTHORIZED;
    }
    qsort(f.pairs, f.count, sizeof(*f.pairs), compare_pairs);
    struct buf signed_text;
    buf_init(&signed_text, url.len + body.len + 1);
    buf_append(&signed_text, url.ptr, url.len);
    for (size_t i = 0; i < f.count; i++) {
        buf_append(&signed_text, f.pairs[i].name.ptr, f.pairs[i].name.len);
        buf_append(&signed_text, f.pairs[i].value.ptr, f.pairs[i].value.len);
    }
    form_cleanup(&f);
    unsigned char mac[HMAC_SHA1_BYTES];
    char want[32];
    bool ok = hmac_sha1_digest(str_from_cstr(cfg->secret), signed_text.data, signed_text.len, mac);
    buf_cleanup(&signed_text);
    size_t n = ok ? b64_encode(B64_STD_PAD, mac, sizeof(mac), want) : 0;
    sig = str_trim_ows(sig);
    if (!ok || sig.len != n || !secure_equal(want, sig.ptr, n)) {
        *why = "bad signature";
        return RC_UNAUTHORIZED;
    }
    return RC_OK;
}

/* The JSON body's "id". */
static void json_id(struct str body, char out[256])
{
    json_t *j = json_loadb(body.ptr, body.len, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    if (id)
        snprintf(out, 256, "%s", id);
    json_decref(j);
}

/* A status callback of Twilio's Messages API: one per message and status,
 * "<MessageSid>:<MessageStatus>"; none for another callback. */
static void twilio_id(struct str body, char out[256])
{
    struct form f = {0};
    if (form_parse(body, &f)) {
        struct str sid = form_get(&f, "MessageSid"), status = form_get(&f, "MessageStatus");
        if (sid.len && status.len && sid.len + status.len < 255)
            snprintf(out, 256, "%.*s:%.*s", (int)sid.len, sid.ptr, (int)status.len, status.ptr);
    }
    form_cleanup(&f);
}

static const struct scheme schemes[] = {
    {"stripe", "Stripe-Signature", verify_stripe, "", NULL, json_id, false},
    {"razorpay", "X-Razorpay-Signature", verify_plain, "", "X-Razorpay-Event-Id", NULL, false},
    {"github", "X-Hub-Signature-256", verify_plain, "sha256=", "X-GitHub-Delivery", NULL, false},
    {"hmac-sha256", NULL, verify_plain, "sha256=", "X-Event-Id", json_id, false},
    {"twilio", "X-Twilio-Signature", verify_twilio, "", NULL, twilio_id, true},
};

static const struct scheme *scheme_find(const char *name)
{
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (strcmp(name, schemes[i].name) == 0)
            return &schemes[i];
    }
    return NULL;
}

enum rc core_inbound_verify(const struct core_inbound *cfg, core_inbound_header_fn *header,
                            void *ctx, struct str body, struct str url, int64_t now_s,
                            char event_id[256], const char **why)
{
    event_id[0] = '\0';
    *why = "";
    const struct scheme *s = scheme_find(cfg->scheme);
    if (!s) {
        *why = "unknown scheme";
        return RC_INVALID;
    }
    const char *sig_header = s->sig_header ? s->sig_header : cfg->header;
    if (!sig_header[0]) {
        *why = "the endpoint names no signature header";
        return RC_INVALID;
    }
    enum rc rc = s->verify(s, cfg, header(ctx, sig_header), body, url, now_s, why);
    if (rc)
        return rc;
    if (s->id_header) {
        struct str v = header(ctx, s->id_header);
        snprintf(event_id, 256, "%.*s", (int)(v.len < 255 ? v.len : 255), v.ptr);
    }
    if (!event_id[0] && s->body_id)
        s->body_id(body, event_id);
    return RC_OK;
}

/* The form's fields as an object; a name sent again turns into an array. */
static json_t *form_object(const struct form *f)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < f->count; i++) {
        json_t *v = json_stringn(f->pairs[i].value.ptr, f->pairs[i].value.len);
        if (!v)
            continue; /* not UTF-8: left out */
        char *name = xstrndup(f->pairs[i].name.ptr, f->pairs[i].name.len);
        json_t *was = json_object_get(o, name);
        if (json_is_array(was)) {
            json_array_append_new(was, v);
        } else if (was) {
            json_object_set_new(o, name, json_pack("[O,o]", was, v));
        } else {
            json_object_set_new(o, name, v);
        }
        xfree(name);
    }
    return o;
}

json_t *core_inbound_payload(const struct core_inbound *cfg, struct str body)
{
    const struct scheme *s = scheme_find(cfg->scheme);
    json_t *payload = NULL;
    if (s && s->is_form) {
        struct form f = {0};
        if (form_parse(body, &f))
            payload = form_object(&f);
        form_cleanup(&f);
    } else {
        payload = json_loadb(body.ptr, body.len, 0, NULL);
    }
    return payload ? payload : json_stringn(body.ptr, body.len);
}
