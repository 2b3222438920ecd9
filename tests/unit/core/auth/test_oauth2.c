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

/* -------------------------------------------------------------------------
 * A provider on loopback: answers each path with canned bytes until stopped
 * ------------------------------------------------------------------------- */

struct answer {
    const char *path; /* "/token" */
    int status;
    const char *body; /* NULL: the 2 MiB body below */
};

struct provider {
    int fd;
    int port;
    const struct answer *answers;
    size_t answer_count;
    int requests;
    pthread_t thread;
};

static char *huge_body(void)
{
    static char *body;
    if (!body) {
        size_t n = 2u << 20;
        body = xmalloc(n + 32);
        memcpy(body, "{\"access_token\":\"", 17);
        memset(body + 17, 'a', n);
        memcpy(body + 17 + n, "\"}", 3);
    }
    return body;
}

static void answer_one(struct provider *pv, int c)
{
    char head[8192];
    size_t n = 0;
    head[0] = '\0';
    while (n < sizeof(head) - 1 && !strstr(head, "\r\n\r\n")) {
        ssize_t r = read(c, head + n, sizeof(head) - 1 - n);
        if (r <= 0)
            return;
        n += (size_t)r;
        head[n] = '\0';
    }
    const char *cl = strstr(head, "Content-Length: ");
    size_t want = cl ? (size_t)atoi(cl + 16) : 0;
    size_t got = n - (size_t)(strstr(head, "\r\n\r\n") + 4 - head);
    char sink[4096];
    while (got < want) {
        ssize_t r = read(c, sink, sizeof(sink));
        if (r <= 0)
            return;
        got += (size_t)r;
    }
    pv->requests++;
    const struct answer *a = NULL;
    for (size_t i = 0; i < pv->answer_count && !a; i++) {
        size_t pl = strlen(pv->answers[i].path);
        if (strncmp(head + 4, pv->answers[i].path, pl) == 0 && head[4 + pl] == ' ')
            a = &pv->answers[i];
        if (strncmp(head + 5, pv->answers[i].path, pl) == 0 && head[5 + pl] == ' ')
            a = &pv->answers[i]; /* "POST " */
    }
    const char *body = !a ? "{}" : a->body ? a->body : huge_body();
    char top[160];
    int tl = snprintf(top, sizeof(top),
                      "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      a ? a->status : 404, strlen(body));
    (void)!write(c, top, (size_t)tl);
    for (size_t off = 0, len = strlen(body); off < len;) {
        ssize_t w = write(c, body + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

static void *provider_run(void *ctx)
{
    struct provider *pv = ctx;
    for (;;) {
        int c = accept(pv->fd, NULL, NULL);
        if (c < 0)
            return NULL; /* shut down */
        answer_one(pv, c);
        close(c);
    }
}

static void provider_start(struct provider *pv, const struct answer *answers, size_t count)
{
    memset(pv, 0, sizeof(*pv));
    pv->answers = answers;
    pv->answer_count = count;
    pv->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(pv->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(pv->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(pv->fd, 8), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(pv->fd, (struct sockaddr *)&a, &len), 0);
    pv->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&pv->thread, NULL, provider_run, pv), 0);
}

static void provider_stop(struct provider *pv)
{
    shutdown(pv->fd, SHUT_RDWR); /* wakes accept() */
    pthread_join(pv->thread, NULL);
    close(pv->fd);
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
                                       .pkce = -1};
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
