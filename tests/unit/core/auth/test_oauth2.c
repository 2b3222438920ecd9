/* test_oauth2.c -- unit tests of core/auth/oauth2.h: the PKCE pair (RFC 7636
 * Appendix B's example checks the S256 transform through secure_sha256 and
 * base64url), the authorization URL, and the exchange against a provider on
 * loopback that answers garbage: a token answer that is not JSON, lacks
 * access_token, has one of the wrong type, is over the size cap or comes
 * with an error status; user info that is not JSON, not an object or has no
 * usable id; GitHub's emails list of the wrong shape. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/secure.h"
#include "core/auth/oauth2.h"
#include "loopback_provider.h"

static void test_s256_matches_rfc7636_appendix_b(void **state)
{
    (void)state;
    const char *verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    unsigned char digest[32];
    secure_sha256(verifier, strlen(verifier), digest);
    char out[64];
    size_t n = b64_encode(B64_URL, digest, sizeof(digest), out);
    out[n] = '\0';
    assert_string_equal(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

static void test_pkce_pair(void **state)
{
    (void)state;
    char st[31], verifier[CORE_OAUTH2_VERIFIER_LEN + 1], challenge[44];
    core_oauth2_pkce_new(st, verifier, challenge);
    assert_int_equal(strlen(st), 30);
    assert_int_equal(strlen(verifier), 43);
    assert_int_equal(strlen(challenge), 43);
    unsigned char digest[32];
    secure_sha256(verifier, 43, digest);
    char expect[64];
    size_t n = b64_encode(B64_URL, digest, sizeof(digest), expect);
    expect[n] = '\0';
    assert_string_equal(challenge, expect);
    char st2[31], v2[CORE_OAUTH2_VERIFIER_LEN + 1], c2[44];
    core_oauth2_pkce_new(st2, v2, c2);
    assert_string_not_equal(st, st2);
    assert_string_not_equal(verifier, v2);
}

static void test_auth_url(void **state)
{
    (void)state;
    struct core_oauth2_config cfg = {
        .name = "google",
        .client_id = "my id&x",
        .client_secret = "s",
        .auth_url = "",
        .token_url = "",
        .user_info_url = "",
        .display_name = "",
        .pkce = -1,
        .jwks_url = "",
        .discovery_url = "",
    };
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(core_oauth2_auth_url(&cfg, NULL, "STATE", "CHAL", &b), RC_OK);
    char *url = xstrndup(b.data, b.len);
    assert_string_equal(url, "https://accounts.google.com/o/oauth2/v2/auth?client_id=my%20id%26x"
                             "&code_challenge=CHAL&code_challenge_method=S256&response_type=code"
                             "&scope=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fuserinfo.profile%20"
                             "https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fuserinfo.email"
                             "&state=STATE&redirect_uri=");
    xfree(url);
    /* an overridden endpoint with a query of its own, PKCE off */
    buf_cleanup(&b);
    buf_init(&b, 4096);
    cfg.name = "oidc";
    cfg.auth_url = "http://127.0.0.1:9/authorize?tenant=t";
    cfg.pkce = 0;
    assert_int_equal(core_oauth2_auth_url(&cfg, "https://discovered/auth", "S", "C", &b), RC_OK);
    url = xstrndup(b.data, b.len);
    assert_string_equal(url, "http://127.0.0.1:9/authorize?tenant=t&client_id=my%20id%26x"
                             "&response_type=code&scope=openid%20email%20profile&state=S"
                             "&redirect_uri=");
    xfree(url);
    buf_cleanup(&b);
    /* no endpoint configured: discovery's; none at all: refused */
    buf_init(&b, 4096);
    cfg.auth_url = "";
    assert_int_equal(core_oauth2_auth_url(&cfg, "https://idp.example/auth", "S", "C", &b), RC_OK);
    assert_true(strncmp(b.data, "https://idp.example/auth?client_id=", 35) == 0);
    buf_reset(&b);
    assert_int_equal(core_oauth2_auth_url(&cfg, NULL, "S", "C", &b), RC_INVALID);
    assert_int_equal(core_oauth2_auth_url(&cfg, "", "S", "C", &b), RC_INVALID);
    /* Apple: the answer is posted to the redirect (response_mode, in Go's key order) */
    cfg.name = "apple";
    cfg.pkce = -1;
    buf_reset(&b);
    assert_int_equal(core_oauth2_auth_url(&cfg, NULL, "S", "C", &b), RC_OK);
    url = xstrndup(b.data, b.len);
    assert_string_equal(url, "https://appleid.apple.com/auth/authorize?client_id=my%20id%26x"
                             "&code_challenge=C&code_challenge_method=S256"
                             "&response_mode=form_post&response_type=code&scope=name%20email"
                             "&state=S&redirect_uri=");
    xfree(url);
    cfg.name = "nosuch";
    assert_int_equal(core_oauth2_auth_url(&cfg, NULL, "S", "C", &b), RC_INVALID);
    buf_cleanup(&b);
}

/* Runs an exchange of provider name against pv; returns x for checks (clean
 * it up with core_oauth2_exchange_cleanup). */
static void exchange(struct provider *pv, const char *name, struct core_oauth2_exchange *x,
                     struct core_oauth2_config *cfg, char urls[2][64])
{
    snprintf(urls[0], 64, "http://127.0.0.1:%d/token", pv->port);
    snprintf(urls[1], 64, "http://127.0.0.1:%d/user", pv->port);
    *cfg = (struct core_oauth2_config){.name = (char *)name,
                                       .client_id = "cid",
                                       .client_secret = "secret",
                                       .auth_url = "",
                                       .token_url = urls[0],
                                       .user_info_url = urls[1],
                                       .display_name = "",
                                       .pkce = -1,
                                       .jwks_url = "",
                                       .discovery_url = ""};
    memset(x, 0, sizeof(*x));
    x->cfg = cfg;
    x->code = "code";
    x->code_verifier = "verifier";
    x->redirect_url = "https://app.example.com/cb";
    core_oauth2_exchange_run(x);
}

static void test_exchange_refuses_bad_token_answers(void **state)
{
    (void)state;
    static const struct answer cases[][2] = {
        {{"/token", 200, "<html>not json</html>"}, {"/user", 200, "{\"sub\":\"u\"}"}},
        {{"/token", 200, "{\"token_type\":\"Bearer\"}"}, {"/user", 200, "{\"sub\":\"u\"}"}},
        {{"/token", 200, "{\"access_token\":12345}"}, {"/user", 200, "{\"sub\":\"u\"}"}},
        {{"/token", 200, "{\"access_token\":\"\"}"}, {"/user", 200, "{\"sub\":\"u\"}"}},
        {{"/token", 200, "[\"access_token\"]"}, {"/user", 200, "{\"sub\":\"u\"}"}},
        {{"/token", 400, "{\"access_token\":\"t\"}"}, {"/user", 200, "{\"sub\":\"u\"}"}},
        {{"/token", 200, NULL /* 2 MiB, over the 1 MiB cap */}, {"/user", 200, "{\"sub\":\"u\"}"}},
        {{"/token", 200, ""}, {"/user", 200, "{\"sub\":\"u\"}"}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct provider pv;
        provider_start(&pv, cases[i], 2);
        struct core_oauth2_exchange x;
        struct core_oauth2_config cfg;
        char urls[2][64];
        exchange(&pv, "oidc", &x, &cfg, urls);
        provider_stop(&pv);
        if (x.rc != RC_INVALID || x.access_token)
            fail_msg("case %zu: token answer accepted", i);
        assert_int_equal(pv.requests, 1); /* user info never asked */
        core_oauth2_exchange_cleanup(&x);
    }
}

static void test_exchange_refuses_bad_user_info(void **state)
{
    (void)state;
    static const char *const infos[] = {
        "not json",
        "[{\"sub\":\"u\"}]",
        "\"u\"",
        "{}",
        "{\"sub\":{\"id\":1}}",
        "{\"sub\":\"\"}",
        "{\"sub\":null,\"email\":\"a@b.c\",\"email_verified\":true}",
    };
    for (size_t i = 0; i < sizeof(infos) / sizeof(infos[0]); i++) {
        const struct answer answers[] = {
            {"/token", 200, "{\"access_token\":\"t\",\"expires_in\":\"soon\"}"},
            {"/user", 200, infos[i]},
        };
        struct provider pv;
        provider_start(&pv, answers, 2);
        struct core_oauth2_exchange x;
        struct core_oauth2_config cfg;
        char urls[2][64];
        exchange(&pv, "oidc", &x, &cfg, urls);
        provider_stop(&pv);
        if (x.rc != RC_INVALID)
            fail_msg("user info %s accepted", infos[i]);
        assert_string_equal(x.access_token, "t");
        assert_int_equal(x.expiry, 0); /* a string expires_in is no expiry */
        core_oauth2_exchange_cleanup(&x);
    }
    /* the same exchange with a usable answer signs in */
    const struct answer good[] = {
        {"/token", 200, "{\"access_token\":\"t\",\"refresh_token\":7,\"expires_in\":60}"},
        {"/user", 200, "{\"sub\":\"u1\",\"email\":\"a@b.c\",\"email_verified\":true}"},
    };
    struct provider pv;
    provider_start(&pv, good, 2);
    struct core_oauth2_exchange x;
    struct core_oauth2_config cfg;
    char urls[2][64];
    exchange(&pv, "oidc", &x, &cfg, urls);
    provider_stop(&pv);
    assert_int_equal(x.rc, RC_OK);
    assert_string_equal(x.user.id, "u1");
    assert_string_equal(x.user.email, "a@b.c");
    assert_string_equal(x.refresh_token, ""); /* not a string: none */
    assert_true(x.expiry > 0);
    core_oauth2_exchange_cleanup(&x);
}

static void test_github_emails_of_the_wrong_shape(void **state)
{
    (void)state;
    static const struct {
        const char *list, *email;
    } cases[] = {
        {"not json", ""},
        {"{\"email\":\"a@b.c\",\"primary\":true,\"verified\":true}", ""},
        {"[1,\"x\",null,[]]", ""},
        {"[{\"email\":\"a@b.c\",\"primary\":\"true\",\"verified\":\"true\"}]", ""},
        {"[{\"email\":\"a@b.c\",\"primary\":true,\"verified\":false}]", ""},
        {"[{\"email\":7,\"primary\":true,\"verified\":true}]", ""},
        {"[7,{\"email\":\"x@b.c\",\"primary\":false,\"verified\":true},"
         "{\"email\":\"a@b.c\",\"primary\":true,\"verified\":true}]",
         "a@b.c"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct answer answers[] = {
            {"/token", 200, "{\"access_token\":\"t\"}"},
            {"/user", 200, "{\"id\":42,\"login\":\"octo\",\"email\":null}"},
            {"/user/emails", 200, cases[i].list},
        };
        struct provider pv;
        provider_start(&pv, answers, 3);
        struct core_oauth2_exchange x;
        struct core_oauth2_config cfg;
        char urls[2][64];
        exchange(&pv, "github", &x, &cfg, urls);
        provider_stop(&pv);
        assert_int_equal(x.rc, RC_OK); /* the identity stands without an address */
        assert_string_equal(x.user.id, "42");
        if (strcmp(x.user.email, cases[i].email) != 0)
            fail_msg("emails %s gave \"%s\"", cases[i].list, x.user.email);
        assert_int_equal(pv.requests, 3);
        core_oauth2_exchange_cleanup(&x);
    }
}

int main(void)
{
    json_set_alloc_funcs(xmalloc, xfree);
    secure_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s256_matches_rfc7636_appendix_b),
        cmocka_unit_test(test_pkce_pair),
        cmocka_unit_test(test_auth_url),
        cmocka_unit_test(test_exchange_refuses_bad_token_answers),
        cmocka_unit_test(test_exchange_refuses_bad_user_info),
        cmocka_unit_test(test_github_emails_of_the_wrong_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
