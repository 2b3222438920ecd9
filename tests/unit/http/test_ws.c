/* test_ws.c -- unit tests of http/ws_handshake.h: the RFC 6455
 * §1.3 example key, what makes a request an upgrade (token lists, any case,
 * a GET of HTTP/1.1), the version (426), and keys that are not the base64 of
 * 16 bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http/ws_handshake.h"

#define SAMPLE_KEY "dGhlIHNhbXBsZSBub25jZQ=="

/* A request with up to four headers; NULL values are left out. */
static struct http_req make_req(struct http_header h[4], const char *upgrade,
                                const char *connection, const char *version, const char *key)
{
    struct http_req req;
    memset(&req, 0, sizeof(req));
    const char *names[4] = {"Upgrade", "Connection", "Sec-WebSocket-Version", "Sec-WebSocket-Key"};
    const char *values[4] = {upgrade, connection, version, key};
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        if (!values[i])
            continue;
        h[n].name = str_from_cstr(names[i]);
        h[n].value = str_from_cstr(values[i]);
        n++;
    }
    req.method = HTTP_METHOD_GET;
    req.version_minor = 1;
    req.headers = h;
    req.header_count = n;
    return req;
}

static int check(const char *upgrade, const char *connection, const char *version, const char *key,
                 struct http_ws_handshake *hs)
{
    struct http_header h[4];
    struct http_req req = make_req(h, upgrade, connection, version, key);
    enum rc rc = http_ws_check(&req, hs);
    return rc == RC_OK ? 101 : hs->status;
}

static void test_rfc_example(void **state)
{
    (void)state;
    struct http_ws_handshake hs;
    assert_int_equal(check("websocket", "Upgrade", "13", SAMPLE_KEY, &hs), 101);
    assert_string_equal(hs.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char out[29];
    http_ws_accept_key(STR_LIT(SAMPLE_KEY), out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_token_lists(void **state)
{
    (void)state;
    struct http_ws_handshake hs;
    /* Firefox sends "keep-alive, Upgrade"; header tokens are case-insensitive. */
    assert_int_equal(check("WebSocket", "keep-alive, Upgrade", "13", SAMPLE_KEY, &hs), 101);
    assert_int_equal(check("h2c,  websocket ", "UPGRADE", " 13 ", SAMPLE_KEY, &hs), 101);
    assert_int_equal(check("websocketx", "Upgrade", "13", SAMPLE_KEY, &hs), 400);
    assert_string_equal(hs.message, "Expected a WebSocket upgrade request.");
    assert_int_equal(check("websocket", "keep-alive", "13", SAMPLE_KEY, &hs), 400);
    assert_int_equal(check(NULL, "Upgrade", "13", SAMPLE_KEY, &hs), 400);
    assert_int_equal(check("websocket", NULL, "13", SAMPLE_KEY, &hs), 400);
}

static void test_version(void **state)
{
    (void)state;
    struct http_ws_handshake hs;
    /* RFC 6455 §4.1: a GET of HTTP/1.1 or later */
    struct http_header h[4];
    struct http_req req = make_req(h, "websocket", "Upgrade", "13", SAMPLE_KEY);
    req.method = HTTP_METHOD_HEAD;
    assert_int_equal(http_ws_check(&req, &hs), RC_INVALID);
    assert_int_equal(hs.status, 400);
    req.method = HTTP_METHOD_GET;
    req.version_minor = 0;
    assert_int_equal(http_ws_check(&req, &hs), RC_INVALID);
    assert_int_equal(hs.status, 400);
    assert_int_equal(check("websocket", "Upgrade", "8", SAMPLE_KEY, &hs), 426);
    assert_int_equal(check("websocket", "Upgrade", NULL, SAMPLE_KEY, &hs), 426);
    assert_int_equal(check("websocket", "Upgrade", "13, 8", SAMPLE_KEY, &hs), 426);
}

static void test_bad_keys(void **state)
{
    (void)state;
    struct http_ws_handshake hs;
    assert_int_equal(check("websocket", "Upgrade", "13", NULL, &hs), 400);
    assert_string_equal(hs.message, "Invalid Sec-WebSocket-Key.");
    /* 15 and 17 bytes, unpadded, URL alphabet, too long, not base64 */
    assert_int_equal(check("websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25j", &hs), 400);
    assert_int_equal(check("websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ==QQ==", &hs), 400);
    assert_int_equal(check("websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ", &hs), 400);
    assert_int_equal(check("websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ-_", &hs), 400);
    assert_int_equal(check("websocket", "Upgrade", "13", "%%%%%%%%%%%%%%%%%%%%%%%%", &hs), 400);
    assert_int_equal(check("websocket", "Upgrade", "13", "", &hs), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_example),
        cmocka_unit_test(test_token_lists),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_bad_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
