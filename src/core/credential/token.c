/* token.c -- see token.h.
 *
 * Verification order matters: everything before the MAC check treats the
 * token as hostile bytes (length cap, split, strict base64 of the signature),
 * and no JSON is parsed until the signature matches, so an attacker without
 * the key reaches only the base64 decoder. The header's alg is checked after
 * the MAC, which is safe because we compute HS256 whatever the header says:
 * a token claiming "none" or "HS512" can only match if it was HS256-signed
 * with our key, and it is then refused anyway. */
#include "core/credential/token.h"

#include <string.h>

#include "base/b64.h"
#include "base/secure.h"
#include "base/utf8.h"

/* base64url of {"alg":"HS256","typ":"JWT"}, the only header we write. */
static const char HEADER_B64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/* Largest decoded segment of a token within CORE_TOKEN_MAX_LEN. */
#define SEGMENT_MAX (CORE_TOKEN_MAX_LEN / 4 * 3)
/* Encoded length of a 32-byte HMAC-SHA256 without padding. */
#define SIG_B64_LEN 43

/* The payload's claim names this module interprets (extra may not set them). */
static const char *const RESERVED_CLAIMS[] = {
    "type", "id", "collectionId", "exp", "refreshable", "email", "newEmail",
};

/* ------------------------------------------------------------------------ */
/* Signing                                                                  */
/* ------------------------------------------------------------------------ */

struct dump_ctx {
    struct buf *out;
    enum rc rc;
};

/* json_dump_callback sink: appends to ctx->out, writing '>', '?', '~' and DEL
 * as \u escapes. With JSON_ENSURE_ASCII these are the only bytes that can put
 * the 6-bit values 62 and 63 ('-' and '_' in base64url) into the encoding: an
 * ASCII byte has its top bit clear, so only a byte's low six bits, as the
 * fourth character of a group, can reach 111110 or 111111 (0x3E 0x3F 0x7E
 * 0x7F). JSON syntax and jansson's own escapes never use them, so they can
 * only be string content, where \u003e means the same thing. */
static int dump_escaped(const char *p, size_t len, void *data)
{
    struct dump_ctx *ctx = data;
    size_t start = 0;
    for (size_t i = 0; i < len && !ctx->rc; i++) {
        const char *esc = NULL;
        switch (p[i]) {
        case '>': esc = "\\u003e"; break;
        case '?': esc = "\\u003f"; break;
        case '~': esc = "\\u007e"; break;
        case 0x7F: esc = "\\u007f"; break;
        default: continue;
        }
        ctx->rc = buf_append(ctx->out, p + start, i - start);
        if (!ctx->rc)
            ctx->rc = buf_append_cstr(ctx->out, esc);
        start = i + 1;
    }
    if (!ctx->rc)
        ctx->rc = buf_append(ctx->out, p + start, len - start);
    return ctx->rc ? -1 : 0;
}

/* True when s is acceptable as a JSON string value we sign: UTF-8, no NUL
 * (which verification would refuse, jansson loading without JSON_ALLOW_NUL). */
static bool is_claim_string(struct str s)
{
    if (s.len && memchr(s.ptr, '\0', s.len))
        return false;
    return utf8_is_valid(s.ptr, s.len);
}

/* Sets obj[name] to the string s. RC_INVALID for a bad string, RC_NOMEM. */
static enum rc set_string(json_t *obj, const char *name, struct str s)
{
    if (!is_claim_string(s))
        return RC_INVALID;
    json_t *v = json_stringn(s.len ? s.ptr : "", s.len);
    if (!v || json_object_set_new(obj, name, v))
        return RC_NOMEM;
    return RC_OK;
}

/* Builds the payload object for c into *out (a new reference). */
static enum rc build_payload(const struct core_token_claims *c, json_t **out)
{
    if (!c->type.len || !c->id.len || !c->collection_id.len)
        return RC_INVALID;
    if (c->extra && !json_is_object(c->extra))
        return RC_INVALID;
    /* A deep copy leaves the caller's object (possibly shared) untouched,
     * reference counts included. */
    json_t *obj = c->extra ? json_deep_copy(c->extra) : json_object();
    if (!obj)
        return RC_NOMEM;
    enum rc rc = RC_OK;
    for (size_t i = 0; i < sizeof(RESERVED_CLAIMS) / sizeof(RESERVED_CLAIMS[0]); i++) {
        if (json_object_get(obj, RESERVED_CLAIMS[i])) {
            rc = RC_INVALID;
            goto out;
        }
    }
    rc = set_string(obj, "type", c->type);
    if (!rc)
        rc = set_string(obj, "id", c->id);
    if (!rc)
        rc = set_string(obj, "collectionId", c->collection_id);
    if (!rc && c->email.ptr)
        rc = set_string(obj, "email", c->email);
    if (!rc && c->new_email.ptr)
        rc = set_string(obj, "newEmail", c->new_email);
    if (rc)
        goto out;
    if (json_object_set_new(obj, "exp", json_integer((json_int_t)c->exp))) {
        rc = RC_NOMEM;
        goto out;
    }
    /* Spec §6.1: only auth tokens carry refreshable. */
    if (core_token_claims_is_type(c, "auth") &&
        json_object_set_new(obj, "refreshable", json_boolean(c->is_refreshable))) {
        rc = RC_NOMEM;
        goto out;
    }
out:
    if (rc) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return RC_OK;
}

enum rc core_token_sign(const struct core_token_claims *claims, struct str key, struct buf *out)
{
    json_t *payload = NULL;
    struct buf json;
    buf_init(&json, SEGMENT_MAX);
    size_t start = out->len;

    enum rc rc = build_payload(claims, &payload);
    if (rc)
        goto out;
    /* Sorted keys and no spaces: the bytes PocketBase (Go's encoding/json
     * sorts map keys) and json.dumps(sort_keys=True, separators=(",", ":"))
     * produce, so equal claims give equal tokens. */
    struct dump_ctx ctx = {&json, RC_OK};
    if (json_dump_callback(payload, dump_escaped, &ctx,
                           JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)) {
        rc = ctx.rc ? ctx.rc : RC_NOMEM;
        goto out;
    }
    size_t total =
        sizeof(HEADER_B64) - 1 + 1 + b64_encoded_len(B64_URL, json.len) + 1 + SIG_B64_LEN;
    if (total > CORE_TOKEN_MAX_LEN) {
        rc = RC_TOO_LARGE;
        goto out;
    }
    rc = buf_reserve(out, total);
    if (rc)
        goto out;
    /* Cannot fail now: the room is reserved. */
    buf_append(out, HEADER_B64, sizeof(HEADER_B64) - 1);
    buf_append(out, ".", 1);
    b64_encode_buf(B64_URL, json.data, json.len, out);
    unsigned char mac[SECURE_HMAC_SHA256_BYTES];
    secure_hmac_sha256(key, out->data + start, out->len - start, mac);
    buf_append(out, ".", 1);
    b64_encode_buf(B64_URL, mac, sizeof(mac), out);
out:
    if (rc)
        out->len = start;
    json_decref(payload);
    buf_cleanup(&json);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Decoding and verification                                                */
/* ------------------------------------------------------------------------ */

/* Splits token into its three segments. RC_UNAUTHORIZED unless the token is
 * 1..CORE_TOKEN_MAX_LEN bytes with exactly two dots. */
static enum rc split_token(struct str token, struct str seg[3])
{
    if (token.len == 0 || token.len > CORE_TOKEN_MAX_LEN)
        return RC_UNAUTHORIZED;
    const char *p = token.ptr;
    const char *end = token.ptr + token.len;
    for (int i = 0; i < 2; i++) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        if (!dot)
            return RC_UNAUTHORIZED;
        seg[i] = (struct str){p, (size_t)(dot - p)};
        p = dot + 1;
    }
    if (memchr(p, '.', (size_t)(end - p)))
        return RC_UNAUTHORIZED;
    seg[2] = (struct str){p, (size_t)(end - p)};
    return RC_OK;
}

/* Decodes a base64url segment holding a JSON object into *out (a new
 * reference). Duplicate keys are refused: with them, two parsers could read
 * different claims from the same signed bytes. */
static enum rc decode_object(struct str seg, json_t **out)
{
    char raw[SEGMENT_MAX];
    size_t n;
    if (b64_decode(B64_URL, seg, raw, sizeof(raw), &n))
        return RC_UNAUTHORIZED;
    json_error_t err;
    json_t *v = json_loadb(raw, n, JSON_REJECT_DUPLICATES, &err);
    if (!v)
        return json_error_code(&err) == json_error_out_of_memory ? RC_NOMEM : RC_UNAUTHORIZED;
    if (!json_is_object(v)) {
        json_decref(v);
        return RC_UNAUTHORIZED;
    }
    *out = v;
    return RC_OK;
}

static struct str string_of(const json_t *v)
{
    return (struct str){json_string_value(v), json_string_length(v)};
}

/* Fills c from payload, which c then owns. is_strict (verify) refuses wrong
 * types for the optional claims and a missing or non-integer exp; peek reads
 * what it can. Required either way: non-empty string type, id, collectionId. */
static enum rc fill_claims(json_t *payload, bool is_strict, struct core_token_claims *c)
{
    const json_t *type = json_object_get(payload, "type");
    const json_t *id = json_object_get(payload, "id");
    const json_t *col = json_object_get(payload, "collectionId");
    const json_t *exp = json_object_get(payload, "exp");
    const json_t *refreshable = json_object_get(payload, "refreshable");
    const json_t *email = json_object_get(payload, "email");
    const json_t *new_email = json_object_get(payload, "newEmail");

    if (!json_is_string(type) || !json_is_string(id) || !json_is_string(col))
        return RC_UNAUTHORIZED;
    if (!json_string_length(type) || !json_string_length(id) || !json_string_length(col))
        return RC_UNAUTHORIZED;
    if (is_strict) {
        if (!json_is_integer(exp))
            return RC_UNAUTHORIZED;
        if (refreshable && !json_is_boolean(refreshable))
            return RC_UNAUTHORIZED;
        if ((email && !json_is_string(email)) || (new_email && !json_is_string(new_email)))
            return RC_UNAUTHORIZED;
    }
    c->type = string_of(type);
    c->id = string_of(id);
    c->collection_id = string_of(col);
    c->exp = json_is_integer(exp) ? (int64_t)json_integer_value(exp) : 0;
    c->is_refreshable = json_is_true(refreshable);
    if (json_is_string(email))
        c->email = string_of(email);
    if (json_is_string(new_email))
        c->new_email = string_of(new_email);
    c->extra = NULL;
    c->_payload = payload;
    return RC_OK;
}

enum rc core_token_peek(struct str token, struct core_token_claims *out)
{
    memset(out, 0, sizeof(*out));
    struct str seg[3];
    json_t *payload = NULL;
    enum rc rc = split_token(token, seg);
    if (!rc)
        rc = decode_object(seg[1], &payload);
    if (!rc)
        rc = fill_claims(payload, false, out);
    if (rc) {
        json_decref(payload);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

/* RC_OK when header is an HS256 JWS header we fully understand. */
static enum rc check_header(const json_t *header)
{
    const json_t *alg = json_object_get(header, "alg");
    if (!json_is_string(alg) || json_string_length(alg) != 5 ||
        memcmp(json_string_value(alg), "HS256", 5) != 0)
        return RC_UNAUTHORIZED;
    /* RFC 7515 §4.1.11: a "crit" extension we do not implement must fail. */
    if (json_object_get(header, "crit"))
        return RC_UNAUTHORIZED;
    return RC_OK;
}

enum rc core_token_verify(struct str token, struct str key, int64_t now,
                          struct core_token_claims *out)
{
    memset(out, 0, sizeof(*out));
    struct str seg[3];
    json_t *header = NULL;
    json_t *payload = NULL;
    unsigned char sig[SECURE_HMAC_SHA256_BYTES];
    unsigned char mac[SECURE_HMAC_SHA256_BYTES] = {0};
    size_t sig_len = 0;

    enum rc rc = split_token(token, seg);
    if (rc)
        goto out;
    if (seg[2].len != SIG_B64_LEN || b64_decode(B64_URL, seg[2], sig, sizeof(sig), &sig_len) ||
        sig_len != sizeof(sig)) {
        rc = RC_UNAUTHORIZED;
        goto out;
    }
    /* The MAC covers the segments as sent, "header.payload". */
    secure_hmac_sha256(key, token.ptr, seg[1].len + (size_t)(seg[1].ptr - token.ptr), mac);
    if (!secure_equal(mac, sig, sizeof(mac))) {
        rc = RC_UNAUTHORIZED;
        goto out;
    }
    rc = decode_object(seg[0], &header);
    if (!rc)
        rc = check_header(header);
    if (!rc)
        rc = decode_object(seg[1], &payload);
    if (!rc)
        rc = fill_claims(payload, true, out);
    if (rc)
        goto out;
    payload = NULL; /* owned by out now */
    if (out->exp <= now)
        rc = RC_UNAUTHORIZED;
out:
    /* The MAC of attacker-chosen bytes is a valid signature for them: do not
     * leave it on the stack. */
    secure_zero(mac, sizeof(mac));
    json_decref(header);
    json_decref(payload);
    if (rc)
        core_token_claims_cleanup(out);
    return rc;
}

bool core_token_claims_is_type(const struct core_token_claims *c, const char *type)
{
    size_t n = strlen(type);
    return c->type.len == n && (n == 0 || memcmp(c->type.ptr, type, n) == 0);
}

const json_t *core_token_claims_find(const struct core_token_claims *c, const char *name)
{
    return c->_payload ? json_object_get(c->_payload, name) : NULL;
}

void core_token_claims_cleanup(struct core_token_claims *c)
{
    json_decref(c->_payload);
    memset(c, 0, sizeof(*c));
}
