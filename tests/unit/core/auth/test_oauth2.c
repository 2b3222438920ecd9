/* test_oauth2.c -- unit tests of core/auth/oauth2.h's pure parts: the PKCE
 * pair (RFC 7636 Appendix B's example checks the S256 transform through
 * secure_sha256 and base64url) and the authorization URL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/secure.h"
#include "core/auth/oauth2.h"

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
    };
    struct buf b;
    buf_init(&b, 4096);
    assert_int_equal(core_oauth2_auth_url(&cfg, "STATE", "CHAL", &b), RC_OK);
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
    assert_int_equal(core_oauth2_auth_url(&cfg, "S", "C", &b), RC_OK);
    url = xstrndup(b.data, b.len);
    assert_string_equal(url, "http://127.0.0.1:9/authorize?tenant=t&client_id=my%20id%26x"
                             "&response_type=code&scope=openid%20email%20profile&state=S"
                             "&redirect_uri=");
    xfree(url);
    buf_cleanup(&b);
}

int main(void)
{
    json_set_alloc_funcs(xmalloc, xfree);
    secure_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s256_matches_rfc7636_appendix_b),
        cmocka_unit_test(test_pkce_pair),
        cmocka_unit_test(test_auth_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
