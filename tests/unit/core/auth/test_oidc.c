/* test_oidc.c -- unit tests of core/auth/oidc.h and of the id_token paths
 * of core_oauth2_exchange_run, against a provider on loopback whose keys
 * are made here: a key set is fetched once and then served from the cache;
 * a token under an unknown kid makes one more fetch (and no more within the
 * refresh floor), a rotated key is found that way; keys that cannot be
 * fetched, "none", HS256, another issuer or audience, an expired token are
 * refused with their reason; discovery documents are fetched once, and one
 * naming another issuer than its URL is refused; auth-with-id-token's nonce
 * rules; the code flow's id_token (audience, the user-info sub, the user
 * from the token); Apple's name kept from the redirect, its client secret;
 * the name store's expiry and bound. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <time.h>

#include <openssl/pem.h>

#include "base/chrono.h"
#include "base/jws.h"
#include "base/secure.h"
#include "core/auth/oauth2.h"
#include "core/auth/oidc.h"
#include "core/problem.h"
#include "net/http_out.h"
#include "jose_keys.h"
#include "loopback_provider.h"

static EVP_PKEY *rsa, *ec;
static char *jwks; /* {"keys":[rsa as "r1", ec as "e1"]} */

static int setup(void **state)
{
    (void)state;
    rsa = jose_rsa_key(2048);
    ec = jose_ec_key("P-256");
    char *a = jose_jwk(rsa, "r1", ",\"alg\":\"RS256\",\"use\":\"sig\""),
         *b = jose_jwk(ec, "e1", NULL);
    size_t n = strlen(a) + strlen(b) + 32;
    jwks = xmalloc(n);
    snprintf(jwks, n, "{\"keys\":[%s,%s]}", a, b);
    xfree(a);
    xfree(b);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    xfree(jwks);
    return 0;
}

static int64_t now_s(void)
{
    return chrono_real_ms() / 1000;
}

/* An id_token of key (kid, alg) with these claims; exp_in seconds from now. */
static char *token(EVP_PKEY *key, const char *alg, const char *kid, const char *iss,
                   const char *aud, const char *sub, int64_t exp_in, const char *more)
{
    char header[256], payload[2048];
    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg, kid);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"%s\",\"iat\":%lld,\"exp\":%lld%s}", iss, aud,
             sub, (long long)now_s(), (long long)(now_s() + exp_in), more ? more : "");
    return jose_sign(key, alg, header, payload, "secret", 6);
}

static void url_of(struct provider *pv, const char *path, char out[128])
{
    snprintf(out, 128, "http://127.0.0.1:%d%s", pv->port, path);
}

static enum rc verify(struct core_oidc *o, const char *jwks_url, const char *t, const char **why)
{
    const char *iss[] = {"https://idp.example"};
    const char *aud[] = {"client-1", "ios-app"};
    struct core_oidc_expect e = {.jwks_url = jwks_url,
                                 .issuers = iss,
                                 .issuer_count = 1,
                                 .audiences = aud,
                                 .audience_count = 2};
    json_t *claims = NULL;
    enum rc rc = core_oidc_verify(o, t, &e, &claims, why);
    if (rc == RC_OK)
        assert_string_equal(json_string_value(json_object_get(claims, "sub")), "user-1");
    else
        assert_null(claims);
    json_decref(claims);
    return rc;
}

static void test_keys_are_cached_and_refreshed_once(void **state)
{
    (void)state;
    const struct answer answers[] = {{"/keys", 200, jwks}};
    struct provider pv;
    provider_start(&pv, answers, 1);
    char keys[128];
    url_of(&pv, "/keys", keys);
    struct core_oidc *o = core_oidc_new();
    const char *why = NULL;
    char *good = token(rsa, "RS256", "r1", "https://idp.example", "client-1", "user-1", 300, NULL);
    char *good_ec = token(ec, "ES256", "e1", "https://idp.example", "ios-app", "user-1", 300, NULL);
    assert_int_equal(verify(o, keys, good, &why), RC_OK);
    assert_int_equal(verify(o, keys, good_ec, &why), RC_OK);
    assert_int_equal(provider_hits(&pv, "/keys"), 1); /* the second from the cache */
    /* an unknown kid just after the set came: no fetch (the floor) */
    char *unknown =
        token(rsa, "RS256", "r9", "https://idp.example", "client-1", "user-1", 300, NULL);
    assert_int_equal(verify(o, keys, unknown, &why), RC_INVALID);
    assert_string_equal(why, jws_result_message(JWS_UNKNOWN_KEY));
    assert_int_equal(provider_hits(&pv, "/keys"), 1);
    /* later: one more fetch, then refused */
    struct timespec nap = {.tv_sec = CORE_OIDC_REFRESH_MIN_MS / 1000, .tv_nsec = 200000000};
    nanosleep(&nap, NULL);
    assert_int_equal(verify(o, keys, unknown, &why), RC_INVALID);
    assert_string_equal(why, jws_result_message(JWS_UNKNOWN_KEY));
    assert_int_equal(provider_hits(&pv, "/keys"), 2);
    /* again at once: within the refresh floor, no fetch */
    assert_int_equal(verify(o, keys, unknown, &why), RC_INVALID);
    assert_int_equal(provider_hits(&pv, "/keys"), 2);
    /* a key rotated in: after the floor, found by that one fetch */
    EVP_PKEY *next = jose_ec_key("P-256");
    char *jn = jose_jwk(next, "e2", NULL), *ja = jose_jwk(rsa, "r1", NULL);
    char rotated[4096];
    snprintf(rotated, sizeof(rotated), "{\"keys\":[%s,%s]}", ja, jn);
    const struct answer after[] = {{"/keys", 200, rotated}};
    provider_set(&pv, after, 1);
    nanosleep(&nap, NULL);
    char *fresh =
        token(next, "ES256", "e2", "https://idp.example", "client-1", "user-1", 300, NULL);
    assert_int_equal(verify(o, keys, fresh, &why), RC_OK);
    assert_int_equal(provider_hits(&pv, "/keys"), 1);
    assert_int_equal(verify(o, keys, good, &why), RC_OK); /* r1 is still there */
    /* e1 left the set: refused now */
    assert_int_equal(verify(o, keys, good_ec, &why), RC_INVALID);
    provider_stop(&pv);
    core_oidc_free(o);
    EVP_PKEY_free(next);
    char *all[] = {good, good_ec, unknown, jn, ja, fresh};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        xfree(all[i]);
}

static void test_refusals_name_their_reason(void **state)
{
    (void)state;
    const struct answer answers[] = {{"/keys", 200, jwks}, {"/broken", 500, "{}"}};
    struct provider pv;
    provider_start(&pv, answers, 2);
    char keys[128], broken[128];
    url_of(&pv, "/keys", keys);
    url_of(&pv, "/broken", broken);
    struct core_oidc *o = core_oidc_new();
    const char *why = NULL;
    EVP_PKEY *stranger = jose_ec_key("P-256");
    struct {
        char *t;
        enum jws_result want;
    } cases[] = {
        {token(rsa, "RS256", "r1", "https://evil.example", "client-1", "user-1", 300, NULL),
         JWS_BAD_ISSUER},
        {token(rsa, "RS256", "r1", "https://idp.example", "android-app", "user-1", 300, NULL),
         JWS_BAD_AUDIENCE},
        {token(rsa, "RS256", "r1", "https://idp.example", "client-1", "user-1", -3600, NULL),
         JWS_EXPIRED},
        {token(NULL, "HS256", "r1", "https://idp.example", "client-1", "user-1", 300, NULL),
         JWS_ALG_REFUSED},
        {token(NULL, "none", "r1", "https://idp.example", "client-1", "user-1", 300, NULL),
         JWS_ALG_REFUSED},
        {token(ec, "ES256", "r1", "https://idp.example", "client-1", "user-1", 300, NULL),
         JWS_UNKNOWN_KEY}, /* the RSA key's kid on an ES256 token */
        {token(stranger, "ES256", "e1", "https://idp.example", "client-1", "user-1", 300, NULL),
         JWS_BAD_SIGNATURE},
        {xstrdup("not.a.token"), JWS_MALFORMED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        why = NULL;
        assert_int_equal(verify(o, keys, cases[i].t, &why), RC_INVALID);
        if (strcmp(why, jws_result_message(cases[i].want)) != 0)
            fail_msg("case %zu: %s", i, why);
        xfree(cases[i].t);
    }
    /* keys that cannot be fetched: RC_IO */
    char *good = token(rsa, "RS256", "r1", "https://idp.example", "client-1", "user-1", 300, NULL);
    assert_int_equal(verify(o, broken, good, &why), RC_IO);
    assert_non_null(strstr(why, "keys"));
    /* no keys known (a token endpoint's answer): the claims alone are checked */
    assert_int_equal(verify(o, "", good, &why), RC_OK);
    char *other = token(rsa, "RS256", "r1", "https://idp.example", "other", "user-1", 300, NULL);
    assert_int_equal(verify(o, "", other, &why), RC_INVALID);
    xfree(good);
    xfree(other);
    EVP_PKEY_free(stranger);
    provider_stop(&pv);
    core_oidc_free(o);
}

static void test_discovery(void **state)
{
    (void)state;
    struct provider pv;
    provider_start(&pv, NULL, 0);
    char base[128], doc[1024], wrong[1024], url[128], partial[128];
    url_of(&pv, "", base);
    snprintf(doc, sizeof(doc),
             "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/auth\",\"token_endpoint\":"
             "\"%s/token\",\"jwks_uri\":\"%s/keys\"}",
             base, base, base, base);
    snprintf(wrong, sizeof(wrong), "{\"issuer\":\"https://other.example\",\"jwks_uri\":\"%s/k\"}",
             base);
    const struct answer answers[] = {
        {"/.well-known/openid-configuration", 200, doc},
        {"/t2/.well-known/openid-configuration", 200, wrong},
        {"/partial", 200, "{\"issuer\":\"x\"}"},
        {"/array", 200, "[]"},
    };
    provider_set(&pv, answers, 4);
    url_of(&pv, "/.well-known/openid-configuration", url);
    struct core_oidc *o = core_oidc_new();
    struct core_oidc_discovery d = {0};
    assert_false(core_oidc_discovery_cached(o, url, &d));
    assert_int_equal(core_oidc_discover(o, url, &d), RC_OK);
    assert_string_equal(d.issuer, base);
    char want[160];
    snprintf(want, sizeof(want), "%s/auth", base);
    assert_string_equal(d.authorization_endpoint, want);
    snprintf(want, sizeof(want), "%s/keys", base);
    assert_string_equal(d.jwks_uri, want);
    core_oidc_discovery_cleanup(&d);
    assert_int_equal(core_oidc_discover(o, url, &d), RC_OK); /* cached */
    core_oidc_discovery_cleanup(&d);
    assert_true(core_oidc_discovery_cached(o, url, &d));
    core_oidc_discovery_cleanup(&d);
    assert_int_equal(provider_hits(&pv, "/.well-known/openid-configuration"), 1);
    /* a document vouching for another issuer than its URL's */
    url_of(&pv, "/t2/.well-known/openid-configuration", url);
    assert_int_equal(core_oidc_discover(o, url, &d), RC_INVALID);
    assert_false(core_oidc_discovery_cached(o, url, &d));
    /* a document without jwks_uri, one that is no object, none at all */
    url_of(&pv, "/partial", partial);
    assert_int_equal(core_oidc_discover(o, partial, &d), RC_INVALID);
    url_of(&pv, "/array", partial);
    assert_int_equal(core_oidc_discover(o, partial, &d), RC_INVALID);
    url_of(&pv, "/missing", partial);
    assert_int_equal(core_oidc_discover(o, partial, &d), RC_IO);
    provider_stop(&pv);
    core_oidc_free(o);
}

/* Options of one provider parsed from JSON text (the ports filled in). */
static const struct core_oauth2_config *config(struct core_oauth2_options *o, const char *json)
{
    json_t *in = json_loads(json, 0, NULL);
    assert_non_null(in);
    struct core_problem p;
    core_problem_init(&p);
    memset(o, 0, sizeof(*o));
    core_oauth2_options_parse(in, o, &p);
    if (core_problem_has_fields(&p)) {
        char *d = json_dumps(p.data, 0);
        fail_msg("%s", d);
    }
    core_problem_cleanup(&p);
    json_decref(in);
    return &o->providers[0];
}

static void run_id_token(struct core_oidc *o, const struct core_oauth2_config *cfg, const char *t,
                         const char *nonce, struct core_oauth2_exchange *x)
{
    memset(x, 0, sizeof(*x));
    x->cfg = cfg;
    x->oidc = o;
    x->id_token = t;
    x->nonce = nonce;
    core_oauth2_exchange_run(x);
}

static void test_id_token_sign_in_and_nonce(void **state)
{
    (void)state;
    const struct answer answers[] = {{"/keys", 200, jwks}};
    struct provider pv;
    provider_start(&pv, answers, 1);
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"providers\":[{\"name\":\"oidc\",\"clientId\":\"client-1\",\"clientSecret\":\"s\","
             "\"authURL\":\"https://a\",\"tokenURL\":\"https://t\",\"extra\":{\"jwksURL\":"
             "\"http://127.0.0.1:%d/keys\",\"issuers\":[\"https://idp.example\"],\"audiences\":"
             "[\"ios-app\"]}}]}",
             pv.port);
    struct core_oauth2_options opts;
    const struct core_oauth2_config *cfg = config(&opts, json);
    struct core_oidc *o = core_oidc_new();
    struct core_oauth2_exchange x;
    /* the nonce's SHA-256 in hex, as Apple's SDK puts it */
    unsigned char d[32];
    secure_sha256("raw-nonce", 9, d);
    char hashed[80] = ",\"nonce\":\"";
    for (size_t i = 0; i < 32; i++)
        snprintf(hashed + 10 + 2 * i, 3, "%02x", d[i]);
    strcat(hashed, "\"");
    struct {
        const char *more, *nonce;
        bool is_ok;
    } cases[] = {
        {",\"email\":\"a@b.c\",\"email_verified\":true,\"name\":\"Ann\"", "", true},
        {",\"nonce\":\"n-1\"", "n-1", true},
        {hashed, "raw-nonce", true},
        {",\"nonce\":\"n-1\"", "n-2", false},
        {",\"nonce\":\"n-1\"", "", false}, /* the token has one, the client says none */
        {NULL, "n-1", false},              /* the client sent one, the token has none */
        {",\"nonce\":7", "7", false},
        {hashed, "RAW-NONCE", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = token(rsa, "RS256", "r1", "https://idp.example", i % 2 ? "ios-app" : "client-1",
                        "user-1", 300, cases[i].more);
        run_id_token(o, cfg, t, cases[i].nonce, &x);
        if ((x.rc == RC_OK) != cases[i].is_ok)
            fail_msg("case %zu: rc %d (%s)", i, x.rc, x.reason ? x.reason : "");
        if (!cases[i].is_ok)
            assert_non_null(strstr(x.reason, "nonce"));
        if (i == 0) {
            assert_string_equal(x.user.id, "user-1");
            assert_string_equal(x.user.email, "a@b.c");
            assert_string_equal(x.user.name, "Ann");
            assert_string_equal(x.access_token, "");
            assert_string_equal(json_string_value(json_object_get(x.user.raw, "iss")),
                                "https://idp.example");
        }
        core_oauth2_exchange_cleanup(&x);
        xfree(t);
    }
    /* a bad token: its reason */
    char *t = token(rsa, "RS256", "r1", "https://idp.example", "web", "user-1", 300, NULL);
    run_id_token(o, cfg, t, "", &x);
    assert_int_equal(x.rc, RC_INVALID);
    assert_string_equal(x.reason, jws_result_message(JWS_BAD_AUDIENCE));
    core_oauth2_exchange_cleanup(&x);
    xfree(t);
    core_oauth2_options_cleanup(&opts);
    /* a provider that knows no keys cannot take a client's token */
    cfg = config(&opts,
                 "{\"providers\":[{\"name\":\"oidc\",\"clientId\":\"client-1\","
                 "\"clientSecret\":\"s\",\"authURL\":\"https://a\",\"tokenURL\":\"https://t\"}]}");
    t = token(rsa, "RS256", "r1", "https://idp.example", "client-1", "user-1", 300, NULL);
    run_id_token(o, cfg, t, "", &x);
    assert_int_equal(x.rc, RC_INVALID);
    assert_non_null(x.reason);
    core_oauth2_exchange_cleanup(&x);
    core_oauth2_options_cleanup(&opts);
    xfree(t);
    provider_stop(&pv);
    core_oidc_free(o);
}

/* The code flow: the token endpoint's id_token is checked; the user comes
 * from user info (whose sub must match) or from the token. */
static void test_code_flow_id_token(void **state)
{
    (void)state;
    struct provider pv;
    provider_start(&pv, NULL, 0);
    char *good = token(ec, "ES256", "e1", "https://idp.example", "client-1", "user-1", 300,
                       ",\"email\":\"a@b.c\",\"email_verified\":true");
    char *wrong_aud = token(ec, "ES256", "e1", "https://idp.example", "other", "user-1", 300, NULL);
    char tok_good[2048], tok_wrong[2048];
    snprintf(tok_good, sizeof(tok_good), "{\"access_token\":\"at\",\"id_token\":\"%s\"}", good);
    snprintf(tok_wrong, sizeof(tok_wrong), "{\"access_token\":\"at\",\"id_token\":\"%s\"}",
             wrong_aud);
    struct core_oidc *o = core_oidc_new();
    char json[1024];
    struct {
        const char *token_answer, *user_answer;
        bool has_user_info;
        bool is_ok;
        const char *email;
    } cases[] = {
        {tok_good, NULL, false, true, "a@b.c"}, /* user = token */
        {tok_good, "{\"sub\":\"user-1\",\"email\":\"u@b.c\",\"email_verified\":true}", true, true,
         "u@b.c"},                                             /* user info */
        {tok_good, "{\"sub\":\"user-2\"}", true, false, ""},   /* another sub */
        {tok_wrong, "{\"sub\":\"user-1\"}", true, false, ""},  /* another aud */
        {"{\"access_token\":\"at\"}", NULL, false, false, ""}, /* no token, no info */
        {"{\"access_token\":\"at\",\"id_token\":7}", "{\"sub\":\"user-1\"}", true, false, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct answer answers[] = {
            {"/keys", 200, jwks},
            {"/token", 200, cases[i].token_answer},
            {"/user", 200, cases[i].user_answer ? cases[i].user_answer : "{}"},
        };
        provider_set(&pv, answers, 3);
        snprintf(json, sizeof(json),
                 "{\"providers\":[{\"name\":\"oidc\",\"clientId\":\"client-1\",\"clientSecret\":"
                 "\"s\",\"authURL\":\"https://a\",\"tokenURL\":\"http://127.0.0.1:%d/token\","
                 "\"userInfoURL\":\"%s\",\"extra\":{\"jwksURL\":\"http://127.0.0.1:%d/keys\","
                 "\"issuers\":[\"https://idp.example\"]}}]}",
                 pv.port, "", pv.port);
        if (cases[i].has_user_info)
            snprintf(json, sizeof(json),
                     "{\"providers\":[{\"name\":\"oidc\",\"clientId\":\"client-1\","
                     "\"clientSecret\":\"s\",\"authURL\":\"https://a\",\"tokenURL\":"
                     "\"http://127.0.0.1:%d/token\",\"userInfoURL\":\"http://127.0.0.1:%d/user\","
                     "\"extra\":{\"jwksURL\":\"http://127.0.0.1:%d/keys\",\"issuers\":"
                     "[\"https://idp.example\"]}}]}",
                     pv.port, pv.port, pv.port);
        struct core_oauth2_options opts;
        struct core_oauth2_exchange x = {.cfg = config(&opts, json),
                                         .oidc = o,
                                         .code = "c",
                                         .code_verifier = "v",
                                         .redirect_url = "https://app/cb"};
        core_oauth2_exchange_run(&x);
        if ((x.rc == RC_OK) != cases[i].is_ok)
            fail_msg("case %zu: rc %d", i, x.rc);
        assert_string_equal(x.access_token, "at");
        if (cases[i].is_ok)
            assert_string_equal(x.user.email, cases[i].email);
        core_oauth2_exchange_cleanup(&x);
        core_oauth2_options_cleanup(&opts);
    }
    xfree(good);
    xfree(wrong_aud);
    provider_stop(&pv);
    core_oidc_free(o);
}

/* Apple: the user is the id_token, its name the one its redirect posted;
 * the client secret is a JWT Apple can check with the key's public half. */
static void test_apple(void **state)
{
    (void)state;
    struct provider pv;
    provider_start(&pv, NULL, 0);
    char *idt = token(ec, "ES256", "e1", "https://appleid.apple.com", "com.example.web", "001.u",
                      300, ",\"email\":\"x@privaterelay.appleid.com\",\"email_verified\":\"true\"");
    char answer[2048];
    snprintf(answer, sizeof(answer), "{\"access_token\":\"at\",\"id_token\":\"%s\"}", idt);
    const struct answer answers[] = {{"/keys", 200, jwks}, {"/token", 200, answer}};
    provider_set(&pv, answers, 2);
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"providers\":[{\"name\":\"apple\",\"clientId\":\"com.example.web\","
             "\"clientSecret\":\"jwt\",\"tokenURL\":\"http://127.0.0.1:%d/token\","
             "\"extra\":{\"jwksURL\":\"http://127.0.0.1:%d/keys\"}}]}",
             pv.port, pv.port);
    struct core_oauth2_options opts;
    struct core_oidc *o = core_oidc_new();
    core_oidc_name_put(o, "code-1", "Ada Lovelace");
    struct core_oauth2_exchange x = {.cfg = config(&opts, json),
                                     .oidc = o,
                                     .code = "code-1",
                                     .code_verifier = "v",
                                     .redirect_url = "https://app/cb"};
    core_oauth2_exchange_run(&x);
    assert_int_equal(x.rc, RC_OK);
    assert_string_equal(x.user.id, "001.u");
    assert_string_equal(x.user.email, "x@privaterelay.appleid.com");
    assert_string_equal(x.user.name, "Ada Lovelace");
    core_oauth2_exchange_cleanup(&x);
    char *gone = core_oidc_name_take(o, "code-1");
    assert_null(gone); /* taken by the exchange */
    /* Apple's default issuer is checked: another one is refused */
    char *bad =
        token(ec, "ES256", "e1", "https://idp.example", "com.example.web", "001.u", 300, NULL);
    snprintf(answer, sizeof(answer), "{\"access_token\":\"at\",\"id_token\":\"%s\"}", bad);
    x = (struct core_oauth2_exchange){.cfg = &opts.providers[0],
                                      .oidc = o,
                                      .code = "code-2",
                                      .code_verifier = "v",
                                      .redirect_url = "https://app/cb"};
    core_oauth2_exchange_run(&x);
    assert_int_equal(x.rc, RC_INVALID);
    assert_string_equal(x.reason, jws_result_message(JWS_BAD_ISSUER));
    core_oauth2_exchange_cleanup(&x);
    core_oauth2_options_cleanup(&opts);
    xfree(idt);
    xfree(bad);
    provider_stop(&pv);
    /* the client secret: ES256 under the key id, Apple's claims */
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, ec, NULL, NULL, 0, NULL, NULL);
    char *pem_data;
    long pem_len = BIO_get_mem_data(bio, &pem_data);
    struct buf out;
    buf_init(&out, 4096);
    int64_t now = now_s();
    assert_int_equal(core_oauth2_apple_secret("TEAM123456", "KEY1234567", "com.example.web",
                                              (struct str){pem_data, (size_t)pem_len}, 3600, now,
                                              &out),
                     RC_OK);
    struct jws_token t;
    assert_int_equal(jws_parse(buf_str(&out), &t), JWS_OK);
    assert_string_equal(t.kid, "KEY1234567");
    assert_int_equal(t.alg, JWK_ALG_ES256);
    struct jwk_set *s;
    assert_int_equal(jwk_set_parse(str_from_cstr(jwks), &s), RC_OK);
    t.kid = "e1"; /* the test's set names the same key e1 */
    assert_int_equal(jws_verify(&t, s), JWS_OK);
    const char *aud[] = {"https://appleid.apple.com"};
    const char *iss[] = {"TEAM123456"};
    struct jws_expect e = {.issuers = iss,
                           .issuer_count = 1,
                           .audiences = aud,
                           .audience_count = 1,
                           .now_s = now,
                           .leeway_s = 0};
    assert_int_equal(jws_check_claims(t.payload, &e), JWS_OK);
    assert_string_equal(json_string_value(json_object_get(t.payload, "sub")), "com.example.web");
    assert_int_equal(json_integer_value(json_object_get(t.payload, "exp")), now + 3600);
    assert_int_equal(json_integer_value(json_object_get(t.payload, "iat")), now);
    jws_token_cleanup(&t);
    jwk_set_unref(s);
    buf_reset(&out);
    assert_int_equal(core_oauth2_apple_secret("T", "K", "C", STR_LIT("not a key"), 60, now, &out),
                     RC_INVALID);
    buf_cleanup(&out);
    BIO_free(bio);
    core_oidc_free(o);
}

static void test_names_expire_and_are_bounded(void **state)
{
    (void)state;
    struct core_oidc *o = core_oidc_new();
    assert_null(core_oidc_name_take(o, "nosuch"));
    char code[32];
    for (int i = 0; i < CORE_OIDC_MAX_NAMES + 5; i++) {
        snprintf(code, sizeof(code), "c%d", i);
        core_oidc_name_put(o, code, "N");
    }
    assert_null(core_oidc_name_take(o, "c0")); /* the oldest made room */
    assert_null(core_oidc_name_take(o, "c4"));
    char *n = core_oidc_name_take(o, "c5");
    assert_string_equal(n, "N");
    xfree(n);
    assert_null(core_oidc_name_take(o, "c5")); /* once */
    snprintf(code, sizeof(code), "c%d", CORE_OIDC_MAX_NAMES + 4);
    n = core_oidc_name_take(o, code);
    assert_non_null(n);
    xfree(n);
    core_oidc_free(o);
    core_oidc_free(NULL);
}

int main(void)
{
    json_set_alloc_funcs(xmalloc, xfree);
    secure_init();
    net_http_out_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_are_cached_and_refreshed_once),
        cmocka_unit_test(test_refusals_name_their_reason),
        cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_id_token_sign_in_and_nonce),
        cmocka_unit_test(test_code_flow_id_token),
        cmocka_unit_test(test_apple),
        cmocka_unit_test(test_names_expire_and_are_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
