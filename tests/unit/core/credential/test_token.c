/* test_token.c -- unit tests of core/token.h: sign/verify round trips, byte
 * equality with tokens made by Python's standard library and by the bench
 * harness (benchlib.issue_token), and refusal of everything else: tampered
 * segments, every single-byte change, alg none/HS512/hs256/missing, expiry,
 * wrong keys, 2- and 4-part tokens, padding, the standard alphabet,
 * whitespace, oversized tokens, bad claims, duplicate keys. Also peek (reads
 * without trusting) and the claims sign refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/b64.h"
#include "base/secure.h"
#include "core/credential/token.h"

#define KEY STR_LIT("tarmac-unit-test-key")
#define NOW INT64_C(1700000000)
#define FAR INT64_C(4102444800) /* 2100-01-01T00:00:00Z */

static const char HEADER[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
/* PY_TOKEN's payload. */
static const char PAYLOAD[] = "{\"collectionId\":\"_pb_users_auth_\",\"exp\":4102444800,"
                              "\"id\":\"u9y8x7w6v5t4s3r\",\"refreshable\":true,\"type\":\"auth\"}";

/* Made with /usr/bin/python3 and only its standard library:
 *   import base64, hashlib, hmac, json
 *   b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
 *   key = b"tarmac-unit-test-key"
 *   claims = {"collectionId": "_pb_users_auth_", "exp": 4102444800,
 *             "id": "u9y8x7w6v5t4s3r", "refreshable": True, "type": "auth"}
 *   h = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
 *   p = b64u(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
 *   print(h + "." + p + "." + b64u(hmac.new(key, (h + "." + p).encode(), hashlib.sha256).digest()))
 * PY_TOKEN_SPACED is the same with json.dumps' default separators (", ", ": "). */
static const char PY_TOKEN[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJjb2xsZWN0aW9uSWQiOiJfcGJfdXNlcnNfYXV0aF8iLCJleHAiOjQxMDI0NDQ4MDAsImlkIjoidTl5OHg3dzZ2NXQ0"
    "czNyIiwicmVmcmVzaGFibGUiOnRydWUsInR5cGUiOiJhdXRoIn0."
    "w6Yg5IBmX1ChLbrOv7OT0Cg4CViePZvd_LIKX1L1GRI";
static const char PY_TOKEN_SPACED[] =
    "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9."
    "eyJjb2xsZWN0aW9uSWQiOiAiX3BiX3VzZXJzX2F1dGhfIiwgImV4cCI6IDQxMDI0NDQ4MDAsICJpZCI6ICJ1OXk4eDd3"
    "NnY1dDRzM3IiLCAicmVmcmVzaGFibGUiOiB0cnVlLCAidHlwZSI6ICJhdXRoIn0."
    "FwYD7Q94_3jJbgfJ1XIQLO420m0jy71INCHzogigCs0";

/* Made by the bench harness, with BENCH_JWT_SECRET unset:
 *   import sys; sys.path.insert(0, "/work/shared/bench/lib"); import benchlib
 *   print(benchlib.issue_token("04qp1um18yew0s6", now=1700000000, ttl=86400))
 * (user1@example.com's id in bench.db; exp = 1700086400). */
static const char BENCH_SECRET[] = "pocketbench-hs256-secret-not-for-production";
static const char BENCH_TOKEN[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJjb2xsZWN0aW9uSWQiOiJfcGJfdXNlcnNfYXV0aF8iLCJleHAiOjE3MDAwODY0MDAsImlkIjoiMDRxcDF1bTE4eWV3"
    "MHM2IiwicmVmcmVzaGFibGUiOnRydWUsInR5cGUiOiJhdXRoIn0."
    "6dj9PIQWFsISWTtva1sx9Ziixuaw62eJEOZsVo1KTTY";

#define TOKEN_ROOM 16384

/* Writes h_b64 "." p_b64 "." base64url(HMAC(key, h_b64 "." p_b64)) to dst
 * (TOKEN_ROOM bytes, NUL-terminated): validly signed whatever the segments
 * hold, so a refusal can only come from the check under test. */
static struct str sign_segments(char *dst, const char *h_b64, const char *p_b64, struct str key)
{
    int n = snprintf(dst, TOKEN_ROOM, "%s.%s", h_b64, p_b64);
    assert_true(n > 0 && n < TOKEN_ROOM - 50);
    unsigned char mac[SECURE_HMAC_SHA256_BYTES];
    secure_hmac_sha256(key, dst, (size_t)n, mac);
    dst[n++] = '.';
    n += (int)b64_encode(B64_URL, mac, sizeof(mac), dst + n);
    dst[n] = '\0';
    return (struct str){dst, (size_t)n};
}

/* As sign_segments, from JSON texts for the header and the payload. */
static struct str craft(char *dst, const char *header, const char *payload, struct str key)
{
    static char h_b64[TOKEN_ROOM];
    static char p_b64[TOKEN_ROOM];
    h_b64[b64_encode(B64_URL, header, strlen(header), h_b64)] = '\0';
    p_b64[b64_encode(B64_URL, payload, strlen(payload), p_b64)] = '\0';
    return sign_segments(dst, h_b64, p_b64, key);
}

/* Fails unless verify refuses token under key at now, leaving claims empty. */
static void expect_refused(struct str token, struct str key, int64_t now)
{
    struct core_token_claims c;
    enum rc rc = core_token_verify(token, key, now, &c);
    if (rc != RC_UNAUTHORIZED)
        fail_msg("accepted (rc %d): %.*s", (int)rc, (int)token.len, token.ptr);
    assert_null(c.type.ptr);
    assert_null(c._payload);
    core_token_claims_cleanup(&c);
}

/* Fails unless the slice s holds exactly the C string lit. */
static void assert_str(struct str s, const char *lit)
{
    if (s.len != strlen(lit) || (s.len && memcmp(s.ptr, lit, s.len) != 0))
        fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.ptr ? s.ptr : "", lit);
}

static struct core_token_claims auth_claims(void)
{
    return (struct core_token_claims){
        .type = STR_LIT("auth"),
        .id = STR_LIT("u9y8x7w6v5t4s3r"),
        .collection_id = STR_LIT("_pb_users_auth_"),
        .exp = FAR,
        .is_refreshable = true,
    };
}

/* ------------------------------------------------------------------------ */

static void test_token_sign_then_verify_round_trips(void **state)
{
    struct core_token_claims in = auth_claims();
    struct buf out;
    buf_init(&out, CORE_TOKEN_MAX_LEN);
    assert_int_equal(core_token_sign(&in, KEY, &out), RC_OK);

    struct core_token_claims c;
    assert_int_equal(core_token_verify(buf_str(&out), KEY, NOW, &c), RC_OK);
    assert_str(c.type, "auth");
    assert_str(c.id, "u9y8x7w6v5t4s3r");
    assert_str(c.collection_id, "_pb_users_auth_");
    assert_int_equal(c.exp, FAR);
    assert_true(c.is_refreshable);
    assert_null(c.email.ptr);
    assert_null(c.new_email.ptr);
    assert_true(core_token_claims_is_type(&c, "auth"));
    assert_false(core_token_claims_is_type(&c, "file"));
    core_token_claims_cleanup(&c);
    buf_cleanup(&out);
}

static void test_token_sign_matches_python_stdlib_byte_for_byte(void **state)
{
    struct core_token_claims in = auth_claims();
    struct buf out;
    buf_init(&out, CORE_TOKEN_MAX_LEN);
    assert_int_equal(core_token_sign(&in, KEY, &out), RC_OK);
    assert_str(buf_str(&out), PY_TOKEN);
    buf_cleanup(&out);
}

static void test_token_verify_accepts_python_stdlib_tokens(void **state)
{
    const char *tokens[] = {PY_TOKEN, PY_TOKEN_SPACED};
    for (size_t i = 0; i < 2; i++) {
        struct core_token_claims c;
        assert_int_equal(core_token_verify(str_from_cstr(tokens[i]), KEY, NOW, &c), RC_OK);
        assert_str(c.id, "u9y8x7w6v5t4s3r");
        assert_int_equal(c.exp, FAR);
        assert_true(c.is_refreshable);
        core_token_claims_cleanup(&c);
    }
}

static void test_token_verify_accepts_benchlib_tokens_with_the_bench_secret(void **state)
{
    struct str token = str_from_cstr(BENCH_TOKEN);
    struct str secret = str_from_cstr(BENCH_SECRET);
    struct core_token_claims c;
    assert_int_equal(core_token_verify(token, secret, NOW, &c), RC_OK);
    assert_str(c.type, "auth");
    assert_str(c.id, "04qp1um18yew0s6");
    assert_str(c.collection_id, "_pb_users_auth_");
    assert_int_equal(c.exp, NOW + 86400);
    core_token_claims_cleanup(&c);
    expect_refused(token, secret, NOW + 86400); /* exp must be > now */
    expect_refused(token, KEY, NOW);
}

static void test_token_verify_rejects_tampered_segments(void **state)
{
    char t[TOKEN_ROOM];
    const char *sig = strrchr(PY_TOKEN, '.') + 1;
    /* payload: another user's id, original signature */
    const char *other = "{\"collectionId\":\"_pb_users_auth_\",\"exp\":4102444800,"
                        "\"id\":\"aaaaaaaaaaaaaaa\",\"refreshable\":true,\"type\":\"auth\"}";
    char p_b64[512];
    p_b64[b64_encode(B64_URL, other, strlen(other), p_b64)] = '\0';
    snprintf(t, sizeof(t), "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.%s.%s", p_b64, sig);
    expect_refused(str_from_cstr(t), KEY, NOW);
    /* header: an added kid, original signature */
    const char *hdr = "{\"alg\":\"HS256\",\"kid\":\"x\",\"typ\":\"JWT\"}";
    char h_b64[128];
    h_b64[b64_encode(B64_URL, hdr, strlen(hdr), h_b64)] = '\0';
    snprintf(t, sizeof(t), "%s.%s", h_b64, strchr(PY_TOKEN, '.') + 1);
    expect_refused(str_from_cstr(t), KEY, NOW);
    /* signature: one character changed */
    snprintf(t, sizeof(t), "%s", PY_TOKEN);
    char *s = strrchr(t, '.') + 5;
    *s = *s == 'A' ? 'B' : 'A';
    expect_refused(str_from_cstr(t), KEY, NOW);
}

static void test_token_verify_rejects_every_single_byte_change(void **state)
{
    static const char repl[] = "A0z-_.=+/ \n";
    char t[sizeof(PY_TOKEN)];
    for (size_t i = 0; i < sizeof(PY_TOKEN) - 1; i++) {
        for (size_t k = 0; k < sizeof(repl) - 1; k++) {
            if (PY_TOKEN[i] == repl[k])
                continue;
            memcpy(t, PY_TOKEN, sizeof(t));
            t[i] = repl[k];
            expect_refused((struct str){t, sizeof(t) - 1}, KEY, NOW);
        }
    }
}

static void test_token_verify_rejects_truncations_and_extensions(void **state)
{
    for (size_t len = 0; len < sizeof(PY_TOKEN) - 1; len++)
        expect_refused((struct str){PY_TOKEN, len}, KEY, NOW);
    char t[TOKEN_ROOM];
    snprintf(t, sizeof(t), "%sA", PY_TOKEN);
    expect_refused(str_from_cstr(t), KEY, NOW);
}

static void test_token_verify_rejects_other_algorithms(void **state)
{
    static const char *const headers[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
        "{\"alg\":\"hs256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS256 \",\"typ\":\"JWT\"}",
        "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
        "{\"typ\":\"JWT\"}",
        "{\"alg\":null,\"typ\":\"JWT\"}",
        "{\"alg\":[\"HS256\"],\"typ\":\"JWT\"}",
        "{\"alg\":\"HS256\",\"alg\":\"none\"}",
        "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
        "[\"HS256\"]",
        "\"HS256\"",
        "{\"alg\":\"HS256\"",
        "",
    };
    char t[TOKEN_ROOM];
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
        expect_refused(craft(t, headers[i], PAYLOAD, KEY), KEY, NOW);
    /* the classic unsigned form: alg none and an empty signature */
    const char *payload = strchr(PY_TOKEN, '.') + 1;
    int payload_len = (int)(strrchr(PY_TOKEN, '.') - payload);
    snprintf(t, sizeof(t), "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.%.*s.", payload_len, payload);
    expect_refused(str_from_cstr(t), KEY, NOW);
    /* and the control: the same crafting with HS256 passes */
    struct core_token_claims c;
    assert_int_equal(core_token_verify(craft(t, HEADER, PAYLOAD, KEY), KEY, NOW, &c), RC_OK);
    core_token_claims_cleanup(&c);
}

static void test_token_verify_rejects_expired_tokens(void **state)
{
    char t[TOKEN_ROOM];
    struct str tok = craft(t, HEADER, PAYLOAD, KEY);
    struct core_token_claims c;
    assert_int_equal(core_token_verify(tok, KEY, FAR - 1, &c), RC_OK);
    core_token_claims_cleanup(&c);
    expect_refused(tok, KEY, FAR);
    expect_refused(tok, KEY, FAR + 1);
    expect_refused(tok, KEY, INT64_MAX);
}

static void test_token_verify_rejects_wrong_keys(void **state)
{
    struct str token = str_from_cstr(PY_TOKEN);
    expect_refused(token, STR_LIT("tarmac-unit-test-kez"), NOW);
    expect_refused(token, STR_LIT("tarmac-unit-test-key "), NOW);
    expect_refused(token, STR_LIT("tarmac-unit-test-ke"), NOW);
    expect_refused(token, STR_LIT(""), NOW);
    expect_refused(token, str_from_cstr(BENCH_SECRET), NOW);
}

static void test_token_verify_rejects_wrong_segment_counts(void **state)
{
    char t[TOKEN_ROOM];
    const char *last_dot = strrchr(PY_TOKEN, '.');
    expect_refused((struct str){PY_TOKEN, (size_t)(last_dot - PY_TOKEN)}, KEY, NOW); /* 2 parts */
    snprintf(t, sizeof(t), "%s.", PY_TOKEN);
    expect_refused(str_from_cstr(t), KEY, NOW); /* 4 parts, last empty */
    snprintf(t, sizeof(t), "%s.e30", PY_TOKEN);
    expect_refused(str_from_cstr(t), KEY, NOW);
    expect_refused(STR_LIT(""), KEY, NOW);
    expect_refused(STR_LIT("."), KEY, NOW);
    expect_refused(STR_LIT(".."), KEY, NOW);
    expect_refused(STR_LIT("..."), KEY, NOW);
    expect_refused(STR_LIT("abc"), KEY, NOW);
}

static void test_token_verify_rejects_padding_and_the_standard_alphabet(void **state)
{
    char t[TOKEN_ROOM];
    /* signature padded to a multiple of 4 */
    snprintf(t, sizeof(t), "%s=", PY_TOKEN);
    expect_refused(str_from_cstr(t), KEY, NOW);
    /* payload padded, and signed as padded: only strict decoding refuses it */
    char p_b64[512];
    size_t n = b64_encode(B64_URL, PAYLOAD, strlen(PAYLOAD), p_b64);
    assert_int_not_equal(n % 4, 0);
    while (n % 4)
        p_b64[n++] = '=';
    p_b64[n] = '\0';
    expect_refused(sign_segments(t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", p_b64, KEY), KEY, NOW);
    /* the signature's '_' spelled in the standard alphabet */
    snprintf(t, sizeof(t), "%s", PY_TOKEN);
    char *u = strchr(strrchr(t, '.'), '_');
    assert_non_null(u);
    *u = '/';
    expect_refused(str_from_cstr(t), KEY, NOW);
}

static void test_token_verify_rejects_surrounding_whitespace_and_prefixes(void **state)
{
    char t[TOKEN_ROOM];
    const char *forms[] = {" %s", "%s ", "%s\n", "\t%s", "Bearer %s", "\"%s\""};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(t, sizeof(t), forms[i], PY_TOKEN);
        expect_refused(str_from_cstr(t), KEY, NOW);
    }
}

static void test_token_verify_and_peek_reject_oversized_tokens(void **state)
{
    static char payload[7000];
    static char t[TOKEN_ROOM];
    int n = snprintf(payload, sizeof(payload),
                     "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":\"i\",\"type\":\"auth\","
                     "\"pad\":\"%6200d\"}",
                     0);
    assert_true(n > 6200 && n < (int)sizeof(payload));
    struct str tok = craft(t, HEADER, payload, KEY);
    assert_true(tok.len > CORE_TOKEN_MAX_LEN); /* validly signed, yet too long */
    expect_refused(tok, KEY, NOW);
    struct core_token_claims c;
    assert_int_equal(core_token_peek(tok, &c), RC_UNAUTHORIZED);
    core_token_claims_cleanup(&c);
}

static void test_token_verify_rejects_bad_claims(void **state)
{
    static const char *const payloads[] = {
        "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":\"i\"}",      /* no type */
        "{\"collectionId\":\"c\",\"exp\":4102444800,\"type\":\"auth\"}", /* no id */
        "{\"exp\":4102444800,\"id\":\"i\",\"type\":\"auth\"}",           /* no collectionId */
        "{\"collectionId\":\"c\",\"id\":\"i\",\"type\":\"auth\"}",       /* no exp */
        "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":\"\",\"type\":\"auth\"}",
        "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":\"i\",\"type\":\"\"}",
        "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":7,\"type\":\"auth\"}",
        "{\"collectionId\":\"c\",\"exp\":\"4102444800\",\"id\":\"i\",\"type\":\"auth\"}",
        "{\"collectionId\":\"c\",\"exp\":4102444800.0,\"id\":\"i\",\"type\":\"auth\"}",
        "{\"collectionId\":\"c\",\"exp\":99999999999999999999,\"id\":\"i\",\"type\":\"auth\"}",
        "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":\"i\",\"type\":\"auth\","
        "\"refreshable\":\"true\"}",
        "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":\"i\",\"type\":\"auth\",\"email\":1}",
        "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":\"i\",\"type\":\"auth\","
        "\"newEmail\":null}",
        "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":\"i\",\"id\":\"j\",\"type\":\"auth\"}",
        "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":\"i\\u0000x\",\"type\":\"auth\"}",
        "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":\"i\",\"type\":\"auth\"} x",
        "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":\"i\",\"type\":\"auth\"",
        "[\"auth\"]",
        "null",
        "",
    };
    char t[TOKEN_ROOM];
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++)
        expect_refused(craft(t, HEADER, payloads[i], KEY), KEY, NOW);
    /* invalid UTF-8 in a validly signed payload */
    expect_refused(craft(t, HEADER,
                         "{\"collectionId\":\"c\",\"exp\":4102444800,\"id\":\"\xff\","
                         "\"type\":\"auth\"}",
                         KEY),
                   KEY, NOW);
}

static void test_token_peek_reads_claims_without_trusting_them(void **state)
{
    char t[TOKEN_ROOM];
    /* signed with a key we do not know, and long expired */
    struct str tok =
        craft(t, "{\"alg\":\"none\"}",
              "{\"collectionId\":\"pbc_3142635823\",\"exp\":1,\"id\":\"admin0000000000\","
              "\"type\":\"auth\",\"email\":\"x@y.z\"}",
              STR_LIT("someone else's key"));
    struct core_token_claims c;
    assert_int_equal(core_token_peek(tok, &c), RC_OK);
    assert_str(c.id, "admin0000000000");
    assert_str(c.collection_id, "pbc_3142635823");
    assert_str(c.email, "x@y.z");
    assert_int_equal(c.exp, 1);
    assert_false(c.is_refreshable);
    core_token_claims_cleanup(&c);
    expect_refused(tok, KEY, NOW);
}

static void test_token_peek_rejects_malformed_tokens(void **state)
{
    char t[TOKEN_ROOM];
    struct str bad[] = {
        STR_LIT(""),
        STR_LIT("a.b"),
        STR_LIT("a.b.c.d"),
        STR_LIT("eyJ9.!!!.x"),
        craft(t, HEADER, "{\"exp\":1,\"id\":\"i\",\"type\":\"auth\"}", KEY),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct core_token_claims c;
        assert_int_equal(core_token_peek(bad[i], &c), RC_UNAUTHORIZED);
        assert_null(c._payload);
        core_token_claims_cleanup(&c);
    }
}

/* The intended flow: peek to pick the record's key, then verify with it. */
static void test_token_peek_then_verify_with_the_records_key(void **state)
{
    struct {
        const char *id;
        const char *token_key;
    } records[] = {{"aaaaaaaaaaaaaaa", "tk-a"}, {"bbbbbbbbbbbbbbb", "tk-b"}};
    const char *secret = "collection-auth-secret";
    for (size_t i = 0; i < 2; i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s%s", records[i].token_key, secret);
        struct core_token_claims in = auth_claims();
        in.id = str_from_cstr(records[i].id);
        struct buf tok;
        buf_init(&tok, CORE_TOKEN_MAX_LEN);
        assert_int_equal(core_token_sign(&in, str_from_cstr(key), &tok), RC_OK);

        struct core_token_claims peeked;
        assert_int_equal(core_token_peek(buf_str(&tok), &peeked), RC_OK);
        size_t found = 2;
        for (size_t k = 0; k < 2; k++) {
            if (peeked.id.len == strlen(records[k].id) &&
                memcmp(peeked.id.ptr, records[k].id, peeked.id.len) == 0)
                found = k;
        }
        core_token_claims_cleanup(&peeked);
        assert_int_equal(found, i);

        char other[64];
        snprintf(other, sizeof(other), "%s%s", records[1 - i].token_key, secret);
        expect_refused(buf_str(&tok), str_from_cstr(other), NOW);
        struct core_token_claims c;
        assert_int_equal(core_token_verify(buf_str(&tok), str_from_cstr(key), NOW, &c), RC_OK);
        assert_str(c.id, records[i].id);
        core_token_claims_cleanup(&c);
        buf_cleanup(&tok);
    }
}

static void test_token_sign_writes_kind_specific_claims(void **state)
{
    json_t *extra = json_pack("{s:s, s:i}", "purpose", "unit", "n", 3);
    struct core_token_claims in = {
        .type = STR_LIT("emailChange"),
        .id = STR_LIT("u9y8x7w6v5t4s3r"),
        .collection_id = STR_LIT("_pb_users_auth_"),
        .exp = NOW + 1800,
        .is_refreshable = true, /* ignored: not an auth token */
        .email = STR_LIT("old@example.com"),
        .new_email = STR_LIT("new@example.com"),
        .extra = extra,
    };
    struct buf out;
    buf_init(&out, CORE_TOKEN_MAX_LEN);
    assert_int_equal(core_token_sign(&in, KEY, &out), RC_OK);
    json_decref(extra);

    struct core_token_claims c;
    assert_int_equal(core_token_verify(buf_str(&out), KEY, NOW, &c), RC_OK);
    assert_str(c.type, "emailChange");
    assert_str(c.email, "old@example.com");
    assert_str(c.new_email, "new@example.com");
    assert_false(c.is_refreshable);
    assert_null(core_token_claims_find(&c, "refreshable"));
    assert_string_equal(json_string_value(core_token_claims_find(&c, "purpose")), "unit");
    assert_int_equal(json_integer_value(core_token_claims_find(&c, "n")), 3);
    assert_null(core_token_claims_find(&c, "iat"));
    core_token_claims_cleanup(&c);
    buf_cleanup(&out);
}

static void test_token_sign_writes_refreshable_false_for_impersonation(void **state)
{
    struct core_token_claims in = auth_claims();
    in.is_refreshable = false;
    struct buf out;
    buf_init(&out, CORE_TOKEN_MAX_LEN);
    assert_int_equal(core_token_sign(&in, KEY, &out), RC_OK);
    struct core_token_claims c;
    assert_int_equal(core_token_verify(buf_str(&out), KEY, NOW, &c), RC_OK);
    assert_false(c.is_refreshable);
    assert_true(json_is_false(core_token_claims_find(&c, "refreshable")));
    core_token_claims_cleanup(&c);
    buf_cleanup(&out);
}

/* Unescaped, the payload for this email holds '-' in base64url (checked with
 * Python's base64.urlsafe_b64encode), which the JS SDK's atob() refuses. */
static void test_token_sign_keeps_payload_free_of_dash_and_underscore(void **state)
{
    struct core_token_claims in = {
        .type = STR_LIT("verification"),
        .id = STR_LIT("u9y8x7w6v5t4s3r"),
        .collection_id = STR_LIT("_pb_users_auth_"),
        .exp = FAR,
        .email = STR_LIT("a>b?c~d\x7f@x.io"),
    };
    struct buf out;
    buf_init(&out, CORE_TOKEN_MAX_LEN);
    assert_int_equal(core_token_sign(&in, KEY, &out), RC_OK);
    const char *p = (const char *)memchr(out.data, '.', out.len) + 1;
    const char *end = memchr(p, '.', out.len - (size_t)(p - out.data));
    for (const char *q = p; q < end; q++)
        assert_true(*q != '-' && *q != '_');
    struct core_token_claims c;
    assert_int_equal(core_token_verify(buf_str(&out), KEY, NOW, &c), RC_OK);
    assert_str(c.email, "a>b?c~d\x7f@x.io");
    core_token_claims_cleanup(&c);
    buf_cleanup(&out);
}

static void test_token_sign_refuses_bad_claims_and_leaves_out_unchanged(void **state)
{
    json_t *reserved = json_pack("{s:i}", "exp", 1);
    json_t *array = json_array();
    struct core_token_claims cases[9];
    for (size_t i = 0; i < 9; i++)
        cases[i] = auth_claims();
    cases[0].id = STR_LIT("");
    cases[1].type = (struct str){NULL, 0};
    cases[2].collection_id = STR_LIT("");
    cases[3].id = STR_LIT("bad\xff");
    cases[4].id = (struct str){"a\0b", 3};
    cases[5].email = STR_LIT("\xc3\x28@x.io");
    cases[6].extra = reserved;
    cases[7].extra = array;
    cases[8].new_email = (struct str){"x\0", 2};
    struct buf out;
    buf_init(&out, CORE_TOKEN_MAX_LEN);
    assert_int_equal(buf_append_cstr(&out, "keep"), RC_OK);
    for (size_t i = 0; i < 9; i++) {
        if (core_token_sign(&cases[i], KEY, &out) != RC_INVALID)
            fail_msg("case %zu signed", i);
        assert_int_equal(out.len, 4);
    }
    json_decref(reserved);
    json_decref(array);
    buf_cleanup(&out);
}

static void test_token_sign_refuses_oversized_tokens(void **state)
{
    static char big[7000];
    memset(big, 'x', sizeof(big) - 1);
    json_t *extra = json_pack("{s:s}", "pad", big);
    struct core_token_claims in = auth_claims();
    in.extra = extra;
    struct buf out;
    buf_init(&out, 1 << 20);
    assert_int_equal(core_token_sign(&in, KEY, &out), RC_TOO_LARGE);
    assert_int_equal(out.len, 0);
    json_decref(extra);
    buf_cleanup(&out);

    /* a buffer too small for an ordinary token */
    in = auth_claims();
    buf_init(&out, 100);
    assert_int_equal(buf_append_cstr(&out, "prefix"), RC_OK);
    assert_int_equal(core_token_sign(&in, KEY, &out), RC_TOO_LARGE);
    assert_int_equal(out.len, 6);
    buf_cleanup(&out);
}

static void test_token_claims_cleanup_is_idempotent(void **state)
{
    struct core_token_claims c;
    assert_int_equal(core_token_verify(str_from_cstr(PY_TOKEN), KEY, NOW, &c), RC_OK);
    core_token_claims_cleanup(&c);
    core_token_claims_cleanup(&c);
    assert_null(core_token_claims_find(&c, "id"));
}

int main(void)
{
    if (secure_init()) {
        fputs("secure_init failed\n", stderr);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_sign_then_verify_round_trips),
        cmocka_unit_test(test_token_sign_matches_python_stdlib_byte_for_byte),
        cmocka_unit_test(test_token_verify_accepts_python_stdlib_tokens),
        cmocka_unit_test(test_token_verify_accepts_benchlib_tokens_with_the_bench_secret),
        cmocka_unit_test(test_token_verify_rejects_tampered_segments),
        cmocka_unit_test(test_token_verify_rejects_every_single_byte_change),
        cmocka_unit_test(test_token_verify_rejects_truncations_and_extensions),
        cmocka_unit_test(test_token_verify_rejects_other_algorithms),
        cmocka_unit_test(test_token_verify_rejects_expired_tokens),
        cmocka_unit_test(test_token_verify_rejects_wrong_keys),
        cmocka_unit_test(test_token_verify_rejects_wrong_segment_counts),
        cmocka_unit_test(test_token_verify_rejects_padding_and_the_standard_alphabet),
        cmocka_unit_test(test_token_verify_rejects_surrounding_whitespace_and_prefixes),
        cmocka_unit_test(test_token_verify_and_peek_reject_oversized_tokens),
        cmocka_unit_test(test_token_verify_rejects_bad_claims),
        cmocka_unit_test(test_token_peek_reads_claims_without_trusting_them),
        cmocka_unit_test(test_token_peek_rejects_malformed_tokens),
        cmocka_unit_test(test_token_peek_then_verify_with_the_records_key),
        cmocka_unit_test(test_token_sign_writes_kind_specific_claims),
        cmocka_unit_test(test_token_sign_writes_refreshable_false_for_impersonation),
        cmocka_unit_test(test_token_sign_keeps_payload_free_of_dash_and_underscore),
        cmocka_unit_test(test_token_sign_refuses_bad_claims_and_leaves_out_unchanged),
        cmocka_unit_test(test_token_sign_refuses_oversized_tokens),
        cmocka_unit_test(test_token_claims_cleanup_is_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
