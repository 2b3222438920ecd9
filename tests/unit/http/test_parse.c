/* test_parse.c -- unit tests of http/parse.h: what a valid head yields, and
 * one test per refusal rule of RFC 9112/9110 with its result code (each error
 * must also give a reason), plus http_find_head_end fed in pieces. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "http/parse.h"
#include "slice_assert.h"

static const struct http_limits limits = {.max_target = 8192, .max_header_bytes = 65536};

/* Large (HTTP_MAX_HEADERS headers), so kept out of the stack. */
static struct http_parsed p;

static const char *result_name(enum http_parse_result r)
{
    switch (r) {
    case HTTP_PARSE_DONE: return "DONE";
    case HTTP_PARSE_PARTIAL: return "PARTIAL";
    case HTTP_PARSE_BAD_REQUEST: return "BAD_REQUEST";
    case HTTP_PARSE_URI_TOO_LONG: return "URI_TOO_LONG";
    case HTTP_PARSE_HEADERS_TOO_LARGE: return "HEADERS_TOO_LARGE";
    case HTTP_PARSE_EXPECTATION: return "EXPECTATION";
    case HTTP_PARSE_NOT_IMPLEMENTED: return "NOT_IMPLEMENTED";
    case HTTP_PARSE_BAD_VERSION: return "BAD_VERSION";
    }
    return "?";
}

/* Parses buf[0..len) with the given limits into p. Every error result must
 * come with a reason and a status code. */
static enum http_parse_result parse_with(const char *buf, size_t len, const struct http_limits *l)
{
    const char *why = (const char *)1; /* must be overwritten */
    enum http_parse_result r = http_parse_request(buf, len, l, &p, &why);
    if (r == HTTP_PARSE_DONE || r == HTTP_PARSE_PARTIAL) {
        assert_int_equal(http_parse_status(r), 0);
    } else {
        if (why == NULL || why == (const char *)1)
            fail_msg("%s without a reason", result_name(r));
        assert_true(strlen(why) > 0);
        assert_true(http_parse_status(r) >= 400);
    }
    return r;
}

static enum http_parse_result parse_len(const char *buf, size_t len)
{
    return parse_with(buf, len, &limits);
}

static enum http_parse_result parse(const char *s)
{
    return parse_len(s, strlen(s));
}

/* Parses a heap-built request and frees it before the caller asserts, so a
 * failing check leaks nothing; only lengths of p may be used afterwards. */
static enum http_parse_result parse_owned(char *req, size_t len)
{
    enum http_parse_result r = parse_len(req, len);
    xfree(req);
    return r;
}

/* Fails the test unless parse result got is want, naming both. */
#define assert_result(got, want)                                                                   \
    do {                                                                                           \
        enum http_parse_result g_ = (got);                                                         \
        enum http_parse_result w_ = (want);                                                        \
        if (g_ != w_)                                                                              \
            fail_msg("got %s, want %s", result_name(g_), result_name(w_));                         \
    } while (0)

/* Checks the result for the C string req; prints the request on a mismatch. */
#define assert_parse(req, want)                                                                    \
    do {                                                                                           \
        const char *q_ = (req);                                                                    \
        enum http_parse_result r_ = parse(q_);                                                     \
        if (r_ != (want))                                                                          \
            fail_msg("got %s, want %s for:\n%s", result_name(r_), result_name(want), q_);          \
    } while (0)

/* As assert_parse, for a request that may hold NUL bytes (a string literal). */
#define assert_parse_lit(lit, want)                                                                \
    do {                                                                                           \
        enum http_parse_result r_ = parse_len((lit), sizeof(lit) - 1);                             \
        if (r_ != (want))                                                                          \
            fail_msg("got %s, want %s for:\n%s", result_name(r_), result_name(want), (lit));       \
    } while (0)

/* "GET / HTTP/1.1" + Host + the given extra header lines (each ending in CRLF). */
#define GET11(extra) "GET / HTTP/1.1\r\nHost: example.com\r\n" extra "\r\n"
#define POST11(extra) "POST /upload HTTP/1.1\r\nHost: example.com\r\n" extra "\r\n"

/* Builds, in a heap buffer, a request whose target is "/" followed by
 * target_len - 1 'a's; with_end adds the version, Host and the blank line. */
static char *long_target_request(size_t target_len, bool with_end, size_t *len)
{
    size_t cap = target_len + 64;
    char *s = xmalloc(cap);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'a', target_len - 1);
    size_t n = 4 + target_len;
    if (with_end) {
        static const char end[] = " HTTP/1.1\r\nHost: h\r\n\r\n";
        memcpy(s + n, end, sizeof(end) - 1);
        n += sizeof(end) - 1;
    }
    *len = n;
    return s;
}

/* ---- what a valid head yields ---- */

static void test_parse_accepts_simple_get(void **state)
{
    static const char req[] = "GET /a/b?x=1&y=2 HTTP/1.1\r\n"
                              "Host: example.com\r\n"
                              "Accept: */*\r\n"
                              "\r\n";
    assert_result(parse(req), HTTP_PARSE_DONE);
    assert_slice_equal(p.method, "GET");
    assert_int_equal(p.method_id, HTTP_METHOD_GET);
    assert_slice_equal(p.target, "/a/b?x=1&y=2");
    assert_slice_equal(p.path, "/a/b");
    assert_slice_equal(p.query, "x=1&y=2");
    assert_int_equal(p.version_minor, 1);
    assert_int_equal(p.header_count, 2);
    assert_slice_equal(p.headers[0].name, "Host");
    assert_slice_equal(p.headers[0].value, "example.com");
    assert_slice_equal(p.headers[1].name, "Accept");
    assert_slice_equal(p.headers[1].value, "*/*");
    assert_slice_equal(p.host, "example.com");
    assert_false(p.has_content_length);
    assert_false(p.is_chunked);
    assert_true(p.is_keep_alive);
    assert_false(p.expects_continue);
    assert_int_equal(p.head_len, sizeof(req) - 1);
    /* Slices point into the input. */
    assert_ptr_equal(p.method.ptr, req);
}

static void test_parse_path_without_query_has_empty_query(void **state)
{
    assert_parse(GET11(""), HTTP_PARSE_DONE);
    assert_slice_equal(p.path, "/");
    assert_int_equal(p.query.len, 0);
    assert_parse("GET /p? HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_DONE);
    assert_slice_equal(p.path, "/p");
    assert_int_equal(p.query.len, 0);
    /* Only the first '?' splits; the path stays %-encoded. */
    assert_parse("GET /a%20b?q=?&r HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_DONE);
    assert_slice_equal(p.path, "/a%20b");
    assert_slice_equal(p.query, "q=?&r");
}

static void test_parse_accepts_post_with_content_length(void **state)
{
    static const char head[] = "POST /api/items HTTP/1.1\r\n"
                               "Host: h\r\n"
                               "Content-Type: application/json\r\n"
                               "Content-Length: 13\r\n"
                               "\r\n";
    char req[256];
    snprintf(req, sizeof(req), "%s{\"a\":\"body\"}", head);
    assert_result(parse(req), HTTP_PARSE_DONE);
    assert_int_equal(p.method_id, HTTP_METHOD_POST);
    assert_true(p.has_content_length);
    assert_int_equal(p.content_length, 13);
    assert_false(p.is_chunked);
    /* The body is not part of the head. */
    assert_int_equal(p.head_len, sizeof(head) - 1);
}

static void test_parse_accepts_content_length_edge_values(void **state)
{
    assert_parse(POST11("Content-Length: 0\r\n"), HTTP_PARSE_DONE);
    assert_true(p.has_content_length);
    assert_int_equal(p.content_length, 0);
    assert_parse(POST11("Content-Length: 007\r\n"), HTTP_PARSE_DONE);
    assert_int_equal(p.content_length, 7);
    assert_parse(POST11("content-length:  42 \r\n"), HTTP_PARSE_DONE);
    assert_int_equal(p.content_length, 42);
    assert_parse(POST11("Content-Length: 18446744073709551615\r\n"), HTTP_PARSE_DONE);
    assert_true(p.content_length == UINT64_MAX);
}

static void test_parse_accepts_chunked_post(void **state)
{
    assert_parse(POST11("Transfer-Encoding: chunked\r\n"), HTTP_PARSE_DONE);
    assert_true(p.is_chunked);
    assert_false(p.has_content_length);
    /* Coding names are case-insensitive. */
    assert_parse(POST11("transfer-encoding: Chunked\r\n"), HTTP_PARSE_DONE);
    assert_true(p.is_chunked);
}

static void test_parse_trims_header_value_whitespace(void **state)
{
    assert_parse(GET11("X-A:   padded value \t\r\nX-B:\r\nX-C:\t\t\r\nX-D:tight\r\n"),
                 HTTP_PARSE_DONE);
    assert_int_equal(p.header_count, 5);
    assert_slice_equal(p.headers[1].name, "X-A");
    assert_slice_equal(p.headers[1].value, "padded value");
    assert_int_equal(p.headers[2].value.len, 0);
    assert_int_equal(p.headers[3].value.len, 0);
    assert_slice_equal(p.headers[4].value, "tight");
}

static void test_parse_keeps_obs_text_in_header_values(void **state)
{
    assert_parse(GET11("X-Name: caf\xc3\xa9 \xff\r\n"), HTTP_PARSE_DONE);
    assert_slice_equal(p.headers[1].value, "caf\xc3\xa9 \xff");
}

static void test_parse_maps_method_names(void **state)
{
    static const struct {
        const char *name;
        enum http_method id;
    } cases[] = {
        {"GET", HTTP_METHOD_GET},         {"HEAD", HTTP_METHOD_HEAD},
        {"POST", HTTP_METHOD_POST},       {"PUT", HTTP_METHOD_PUT},
        {"PATCH", HTTP_METHOD_PATCH},     {"DELETE", HTTP_METHOD_DELETE},
        {"OPTIONS", HTTP_METHOD_OPTIONS}, {"TRACE", HTTP_METHOD_OTHER},
        {"CONNECT", HTTP_METHOD_OTHER},   {"PROPFIND", HTTP_METHOD_OTHER},
        {"GETS", HTTP_METHOD_OTHER},      {"X-Custom_1!", HTTP_METHOD_OTHER},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "%s /x HTTP/1.1\r\nHost: h\r\n\r\n", cases[i].name);
        assert_parse(req, HTTP_PARSE_DONE);
        assert_int_equal(p.method_id, cases[i].id);
        assert_slice_equal(p.method, cases[i].name);
    }
}

static void test_parse_lowercase_method_is_other_token(void **state)
{
    /* Methods are case-sensitive (RFC 9110 §9.1): "get" is a token, not GET. */
    assert_parse("get / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_DONE);
    assert_int_equal(p.method_id, HTTP_METHOD_OTHER);
    assert_slice_equal(p.method, "get");
    assert_parse("Post / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_DONE);
    assert_int_equal(p.method_id, HTTP_METHOD_OTHER);
}

static void test_parse_http11_keeps_alive_unless_close(void **state)
{
    assert_parse(GET11(""), HTTP_PARSE_DONE);
    assert_true(p.is_keep_alive);
    assert_parse(GET11("Connection: keep-alive\r\n"), HTTP_PARSE_DONE);
    assert_true(p.is_keep_alive);
    assert_parse(GET11("Connection: close\r\n"), HTTP_PARSE_DONE);
    assert_false(p.is_keep_alive);
    assert_parse(GET11("Connection: Upgrade, CLOSE\r\n"), HTTP_PARSE_DONE);
    assert_false(p.is_keep_alive);
    assert_parse(GET11("Connection: te\r\nConnection: close\r\n"), HTTP_PARSE_DONE);
    assert_false(p.is_keep_alive);
    assert_parse(GET11("Connection: closed\r\n"), HTTP_PARSE_DONE);
    assert_true(p.is_keep_alive);
}

static void test_parse_http10_closes_unless_keep_alive(void **state)
{
    assert_parse("GET / HTTP/1.0\r\n\r\n", HTTP_PARSE_DONE);
    assert_int_equal(p.version_minor, 0);
    assert_false(p.is_keep_alive);
    assert_parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", HTTP_PARSE_DONE);
    assert_true(p.is_keep_alive);
    assert_parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", HTTP_PARSE_DONE);
    assert_true(p.is_keep_alive);
    assert_parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", HTTP_PARSE_DONE);
    assert_false(p.is_keep_alive);
    assert_parse("GET / HTTP/1.0\r\nConnection: close\r\n\r\n", HTTP_PARSE_DONE);
    assert_false(p.is_keep_alive);
}

static void test_parse_http10_needs_no_host(void **state)
{
    assert_parse("GET / HTTP/1.0\r\n\r\n", HTTP_PARSE_DONE);
    assert_null(p.host.ptr);
    assert_parse("GET / HTTP/1.0\r\nHost: h\r\n\r\n", HTTP_PARSE_DONE);
    assert_slice_equal(p.host, "h");
}

static void test_parse_accepts_host_with_port_and_empty_host(void **state)
{
    assert_parse("GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", HTTP_PARSE_DONE);
    assert_slice_equal(p.host, "example.com:8080");
    assert_parse("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", HTTP_PARSE_DONE);
    /* RFC 9112 §3.2: an empty Host is what a client sends for a URI without authority. */
    assert_parse("GET / HTTP/1.1\r\nHost:\r\n\r\n", HTTP_PARSE_DONE);
    assert_int_equal(p.host.len, 0);
}

static void test_parse_accepts_absolute_form_target(void **state)
{
    assert_parse("GET http://example.com/p/q?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
                 HTTP_PARSE_DONE);
    assert_slice_equal(p.target, "http://example.com/p/q?x=1");
    assert_slice_equal(p.path, "/p/q");
    assert_slice_equal(p.query, "x=1");

    assert_parse("GET https://example.com:8443/a HTTP/1.1\r\nHost: example.com\r\n\r\n",
                 HTTP_PARSE_DONE);
    assert_slice_equal(p.path, "/a");
    assert_int_equal(p.query.len, 0);

    /* An empty path means "/". */
    assert_parse("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", HTTP_PARSE_DONE);
    assert_slice_equal(p.path, "/");
    assert_int_equal(p.query.len, 0);
}

static void test_parse_asterisk_target_only_for_options(void **state)
{
    assert_parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_DONE);
    assert_int_equal(p.method_id, HTTP_METHOD_OPTIONS);
    assert_slice_equal(p.target, "*");
    assert_parse("GET * HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("POST * HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_ignores_leading_empty_line(void **state)
{
    static const char req[] = "\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_result(parse(req), HTTP_PARSE_DONE);
    assert_slice_equal(p.method, "GET");
    assert_slice_equal(p.path, "/x");
    assert_int_equal(p.head_len, sizeof(req) - 1);
}

static void test_parse_partial_for_every_incomplete_prefix(void **state)
{
    static const char *reqs[] = {
        "GET /a?b=c HTTP/1.1\r\nHost: h\r\nX-Long: some value here\r\n\r\n",
        "\r\nPOST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
    };
    for (size_t k = 0; k < sizeof(reqs) / sizeof(reqs[0]); k++) {
        size_t len = strlen(reqs[k]);
        for (size_t n = 0; n < len; n++) {
            enum http_parse_result r = parse_len(reqs[k], n);
            if (r != HTTP_PARSE_PARTIAL)
                fail_msg("prefix of %zu bytes: got %s, want PARTIAL", n, result_name(r));
        }
        assert_result(parse_len(reqs[k], len), HTTP_PARSE_DONE);
        assert_int_equal(p.head_len, len);
    }
}

static void test_parse_does_not_look_past_the_head(void **state)
{
    static const char first[] = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
    static const char two[] = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
                              "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_result(parse(two), HTTP_PARSE_DONE);
    assert_slice_equal(p.path, "/1");
    assert_int_equal(p.head_len, sizeof(first) - 1);
    /* Whatever follows, even bytes no head may hold. */
    assert_parse_lit("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n\x00\x01\n\n garbage", HTTP_PARSE_DONE);
    assert_int_equal(p.head_len, sizeof(first) - 1);
}

/* ---- framing refusals (request smuggling) ---- */

static void test_parse_rejects_content_length_with_transfer_encoding(void **state)
{
    assert_parse(POST11("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
                 HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
                 HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"),
                 HTTP_PARSE_BAD_REQUEST);
    assert_int_equal(http_parse_status(HTTP_PARSE_BAD_REQUEST), 400);
}

static void test_parse_rejects_repeated_content_length(void **state)
{
    assert_parse(POST11("Content-Length: 5\r\nContent-Length: 5\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Content-Length: 5\r\nContent-Length: 6\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Content-Length: 5\r\ncontent-length: 5\r\n"), HTTP_PARSE_BAD_REQUEST);
    /* The same as a list in one field. */
    assert_parse(POST11("Content-Length: 5, 5\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Content-Length: 5,5\r\n"), HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_rejects_malformed_content_length(void **state)
{
    /* The last is UINT64_MAX + 1. */
    static const char *values[] = {"12a",
                                   "-1",
                                   "",
                                   " 1 2",
                                   "+1",
                                   "0x10",
                                   "1.0",
                                   "1e3",
                                   "\t",
                                   "99999999999999999999999",
                                   "18446744073709551616"};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char req[256];
        snprintf(req, sizeof(req), POST11("Content-Length: %s\r\n"), values[i]);
        assert_parse(req, HTTP_PARSE_BAD_REQUEST);
    }
}

static void test_parse_rejects_transfer_encoding_not_ending_in_chunked(void **state)
{
    assert_parse(POST11("Transfer-Encoding: chunked, gzip\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Transfer-Encoding: gzip\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Transfer-Encoding: identity\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"),
                 HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Transfer-Encoding: xchunked\r\n"), HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_unknown_coding_before_chunked_is_501(void **state)
{
    assert_parse(POST11("Transfer-Encoding: gzip, chunked\r\n"), HTTP_PARSE_NOT_IMPLEMENTED);
    assert_parse(POST11("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
                 HTTP_PARSE_NOT_IMPLEMENTED);
    assert_int_equal(http_parse_status(HTTP_PARSE_NOT_IMPLEMENTED), 501);
}

static void test_parse_rejects_chunked_twice(void **state)
{
    assert_parse(POST11("Transfer-Encoding: chunked, chunked\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
                 HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Transfer-Encoding: chunked, gzip, chunked\r\n"), HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_rejects_empty_transfer_encoding(void **state)
{
    assert_parse(POST11("Transfer-Encoding:\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Transfer-Encoding: , \r\n"), HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_rejects_transfer_encoding_in_http10(void **state)
{
    assert_parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                 HTTP_PARSE_BAD_REQUEST);
}

/* ---- header syntax refusals ---- */

static void test_parse_rejects_obs_fold(void **state)
{
    assert_parse(GET11("X-A: one\r\n two\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(GET11("X-A: one\r\n\ttwo\r\n"), HTTP_PARSE_BAD_REQUEST);
    /* Whitespace before the first header line is the same thing. */
    assert_parse("GET / HTTP/1.1\r\n Host: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_rejects_whitespace_before_colon(void **state)
{
    assert_parse("GET / HTTP/1.1\r\nHost : h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Content-Length : 5\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(POST11("Transfer-Encoding : chunked\r\n"), HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_rejects_malformed_header_names(void **state)
{
    assert_parse(GET11(": empty name\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(GET11("No-Colon\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(GET11("X(y): 1\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(GET11("X\xc3\xa9: 1\r\n"), HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_rejects_bare_cr_in_header(void **state)
{
    assert_parse(GET11("X-A: a\rb\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(GET11("X-A: a\r\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(GET11("X-A\r: a\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.1\rX\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_rejects_nul_in_header_value(void **state)
{
    assert_parse_lit("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse_lit("GET / HTTP/1.1\r\nHost: h\x00\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_rejects_control_characters_in_header_value(void **state)
{
    assert_parse(GET11("X-A: a\001b\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(GET11("X-A: a\x7f\r\n"), HTTP_PARSE_BAD_REQUEST);
    assert_parse(GET11("X-A: a\x1b[0m\r\n"), HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_rejects_bare_lf_line_endings(void **state)
{
    /* Not PARTIAL: the head is over, and it is malformed. */
    assert_parse("GET / HTTP/1.1\nHost: h\n\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.1\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.1\r\nHost: h\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.1\r\nHost: h\r\n\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.1\r\nHost: h\r\nX: 1\nY: 2\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
}

/* ---- Host ---- */

static void test_parse_rejects_missing_host_on_http11(void **state)
{
    assert_parse("GET / HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.1\r\nX-Host: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET http://example.com/ HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_rejects_repeated_host(void **state)
{
    assert_parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_rejects_invalid_host_value(void **state)
{
    assert_parse("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.1\r\nHost: a?b\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET / HTTP/1.1\r\nHost: a#b\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
}

/* ---- request line ---- */

static void test_parse_unsupported_http_versions_are_505(void **state)
{
    assert_parse("GET / HTTP/2.0\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_VERSION);
    assert_parse("GET / HTTP/1.2\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_VERSION);
    assert_parse("GET / HTTP/3.0\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_VERSION);
    assert_parse("GET / HTTP/0.9\r\n\r\n", HTTP_PARSE_BAD_VERSION);
    assert_int_equal(http_parse_status(HTTP_PARSE_BAD_VERSION), 505);
}

static void test_parse_garbage_version_is_400(void **state)
{
    static const char *versions[] = {
        "HTTP/1.1x", "HTTP/1",    "http/1.1", "HTTP/1.a", "HTTX/1.1", "HTTP/11",
        "HTTP/1.1 ", "HTTP/10.1", "HTTP/a.1", "HTTP1.1",  "",         "HTTP/1,1",
    };
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        char req[128];
        snprintf(req, sizeof(req), "GET / %s\r\nHost: h\r\n\r\n", versions[i]);
        assert_parse(req, HTTP_PARSE_BAD_REQUEST);
    }
    /* No version at all. */
    assert_parse("GET /\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
}

static void test_parse_rejects_malformed_request_line(void **state)
{
    assert_parse("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET /  HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
    assert_parse("GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n", HTTP_PARSE_BAD_REQUEST);
}

/* ---- limits ---- */

static void test_parse_target_at_max_is_accepted(void **state)
{
    size_t len;
    char *req = long_target_request(limits.max_target, true, &len);
    assert_result(parse_owned(req, len), HTTP_PARSE_DONE);
    assert_int_equal(p.target.len, limits.max_target);
}

static void test_parse_target_over_max_is_414(void **state)
{
    size_t len;
    char *req = long_target_request(limits.max_target + 1, true, &len);
    assert_result(parse_owned(req, len), HTTP_PARSE_URI_TOO_LONG);
    assert_int_equal(http_parse_status(HTTP_PARSE_URI_TOO_LONG), 414);
}

static void test_parse_long_partial_request_line_is_414(void **state)
{
    size_t len;
    /* No LF yet, and already too long to end well. */
    char *req = long_target_request(9000, false, &len);
    assert_result(parse_owned(req, len), HTTP_PARSE_URI_TOO_LONG);
    /* A partial line that could still end within the limit is just partial. */
    req = long_target_request(100, false, &len);
    assert_result(parse_owned(req, len), HTTP_PARSE_PARTIAL);
}

static void test_parse_target_longer_than_whole_head_limit_is_414(void **state)
{
    size_t len;
    char *req = long_target_request(limits.max_header_bytes + 5000, true, &len);
    assert_result(parse_owned(req, len), HTTP_PARSE_URI_TOO_LONG);
}

static void test_parse_partial_request_line_longer_than_head_limit_is_414(void **state)
{
    /* The same over-long target as above, before its LF has arrived: the
     * result must not depend on whether the LF is in this read. */
    size_t len;
    char *req = long_target_request(limits.max_header_bytes + 5000, false, &len);
    assert_result(parse_owned(req, len), HTTP_PARSE_URI_TOO_LONG);
}

/* Builds GET / with Host and filler headers so that the head is head_len bytes. */
static char *sized_head(size_t head_len, bool complete, size_t *len)
{
    static const char start[] = "GET / HTTP/1.1\r\nHost: h\r\n";
    char *s = xmalloc(head_len + 1);
    size_t n = sizeof(start) - 1;
    memcpy(s, start, n);
    /* Filler lines "X: aaa...\r\n" of at most 1000 bytes, then the blank line. */
    while (head_len - n - 2 > 0) {
        size_t room = head_len - n - 2;
        size_t line = room > 1000 ? 1000 : room;
        if (room - line > 0 && room - line < 6)
            line = room - 6; /* leave room for one more minimal line */
        assert_true(line >= 5);
        memcpy(s + n, "X: ", 3);
        memset(s + n + 3, 'a', line - 5);
        memcpy(s + n + line - 2, "\r\n", 2);
        n += line;
    }
    memcpy(s + n, "\r\n", 2);
    n += 2;
    assert_int_equal(n, head_len);
    *len = complete ? n : n - 2;
    return s;
}

static void test_parse_head_at_max_header_bytes_is_accepted(void **state)
{
    size_t len;
    char *req = sized_head(limits.max_header_bytes, true, &len);
    assert_result(parse_owned(req, len), HTTP_PARSE_DONE);
    assert_int_equal(p.head_len, limits.max_header_bytes);
}

static void test_parse_head_over_max_header_bytes_is_431(void **state)
{
    size_t len;
    char *req = sized_head(limits.max_header_bytes + 1, true, &len);
    assert_result(parse_owned(req, len), HTTP_PARSE_HEADERS_TOO_LARGE);
    assert_int_equal(http_parse_status(HTTP_PARSE_HEADERS_TOO_LARGE), 431);
    /* Also while the head is still arriving. */
    req = sized_head(limits.max_header_bytes + 100, false, &len);
    assert_result(parse_owned(req, len), HTTP_PARSE_HEADERS_TOO_LARGE);
}

static void test_parse_small_limits_apply(void **state)
{
    static const struct http_limits small = {.max_target = 8, .max_header_bytes = 64};
    static const char ok[] = "GET /1234567 HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_result(parse_with(ok, sizeof(ok) - 1, &small), HTTP_PARSE_DONE);
    static const char long_target[] = "GET /12345678 HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_result(parse_with(long_target, sizeof(long_target) - 1, &small),
                  HTTP_PARSE_URI_TOO_LONG);

    /* A head of 64 bytes fits; 65 does not. */
    static const char fits[] = "GET / HTTP/1.1\r\nHost: h\r\n"
                               "X-Filler: 0123456789012345678901234\r\n\r\n";
    assert_int_equal(sizeof(fits) - 1, 64);
    assert_result(parse_with(fits, sizeof(fits) - 1, &small), HTTP_PARSE_DONE);
    static const char big[] = "GET / HTTP/1.1\r\nHost: h\r\n"
                              "X-Filler: 01234567890123456789012345\r\nX-More: 1\r\n\r\n";
    assert_result(parse_with(big, sizeof(big) - 1, &small), HTTP_PARSE_HEADERS_TOO_LARGE);
    /* While arriving: 64 bytes may still end well, 65 cannot. */
    assert_result(parse_with(big, 64, &small), HTTP_PARSE_PARTIAL);
    assert_result(parse_with(big, 65, &small), HTTP_PARSE_HEADERS_TOO_LARGE);
}

/* Builds a head with Host and count - 1 more headers. */
static size_t many_headers(char *out, size_t cap, size_t count)
{
    size_t n = (size_t)snprintf(out, cap, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (size_t i = 1; i < count; i++)
        n += (size_t)snprintf(out + n, cap - n, "X-%zu: v\r\n", i);
    n += (size_t)snprintf(out + n, cap - n, "\r\n");
    assert_true(n < cap);
    return n;
}

static void test_parse_accepts_max_headers(void **state)
{
    static char req[4096];
    size_t len = many_headers(req, sizeof(req), HTTP_MAX_HEADERS);
    assert_result(parse_len(req, len), HTTP_PARSE_DONE);
    assert_int_equal(p.header_count, HTTP_MAX_HEADERS);
    assert_slice_equal(p.headers[HTTP_MAX_HEADERS - 1].name, "X-99");
}

static void test_parse_too_many_headers_is_431(void **state)
{
    static char req[4096];
    size_t len = many_headers(req, sizeof(req), HTTP_MAX_HEADERS + 1);
    assert_result(parse_len(req, len), HTTP_PARSE_HEADERS_TOO_LARGE);
}

/* ---- Expect ---- */

static void test_parse_expect_100_continue_is_noted(void **state)
{
    assert_parse(POST11("Content-Length: 5\r\nExpect: 100-continue\r\n"), HTTP_PARSE_DONE);
    assert_true(p.expects_continue);
    assert_parse(POST11("Content-Length: 5\r\nExpect: 100-Continue\r\n"), HTTP_PARSE_DONE);
    assert_true(p.expects_continue);
    assert_parse(POST11("Content-Length: 5\r\n"), HTTP_PARSE_DONE);
    assert_false(p.expects_continue);
}

static void test_parse_expect_100_continue_is_ignored_in_http10(void **state)
{
    /* RFC 9110 §10.1.1: a server MUST ignore it in an HTTP/1.0 request. */
    assert_parse("POST / HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
                 HTTP_PARSE_DONE);
    assert_false(p.expects_continue);
}

static void test_parse_other_expectation_is_417(void **state)
{
    assert_parse(POST11("Content-Length: 5\r\nExpect: something-else\r\n"), HTTP_PARSE_EXPECTATION);
    assert_parse(POST11("Content-Length: 5\r\nExpect: 100-continue, x\r\n"),
                 HTTP_PARSE_EXPECTATION);
    assert_int_equal(http_parse_status(HTTP_PARSE_EXPECTATION), 417);
}

/* ---- helpers ---- */

static void test_parse_header_find_is_case_insensitive(void **state)
{
    assert_parse(GET11("Content-Type: text/plain\r\nX-Dup: 1\r\nx-dup: 2\r\n"), HTTP_PARSE_DONE);
    assert_slice_equal(http_header_find(p.headers, p.header_count, "content-type"), "text/plain");
    assert_slice_equal(http_header_find(p.headers, p.header_count, "HOST"), "example.com");
    /* The first of repeated fields. */
    assert_slice_equal(http_header_find(p.headers, p.header_count, "X-DUP"), "1");
    assert_null(http_header_find(p.headers, p.header_count, "missing").ptr);
    assert_null(http_header_find(p.headers, 0, "host").ptr);
}

static void test_parse_status_maps_every_result(void **state)
{
    assert_int_equal(http_parse_status(HTTP_PARSE_DONE), 0);
    assert_int_equal(http_parse_status(HTTP_PARSE_PARTIAL), 0);
    assert_int_equal(http_parse_status(HTTP_PARSE_BAD_REQUEST), 400);
    assert_int_equal(http_parse_status(HTTP_PARSE_URI_TOO_LONG), 414);
    assert_int_equal(http_parse_status(HTTP_PARSE_HEADERS_TOO_LARGE), 431);
    assert_int_equal(http_parse_status(HTTP_PARSE_EXPECTATION), 417);
    assert_int_equal(http_parse_status(HTTP_PARSE_NOT_IMPLEMENTED), 501);
    assert_int_equal(http_parse_status(HTTP_PARSE_BAD_VERSION), 505);
}

static void test_parse_method_name_is_canonical(void **state)
{
    assert_string_equal(http_method_name(HTTP_METHOD_GET), "GET");
    assert_string_equal(http_method_name(HTTP_METHOD_HEAD), "HEAD");
    assert_string_equal(http_method_name(HTTP_METHOD_POST), "POST");
    assert_string_equal(http_method_name(HTTP_METHOD_PUT), "PUT");
    assert_string_equal(http_method_name(HTTP_METHOD_PATCH), "PATCH");
    assert_string_equal(http_method_name(HTTP_METHOD_DELETE), "DELETE");
    assert_string_equal(http_method_name(HTTP_METHOD_OPTIONS), "OPTIONS");
    assert_string_equal(http_method_name(HTTP_METHOD_OTHER), "OTHER");
}

/* ---- http_find_head_end ---- */

static void test_find_head_end_in_whole_buffer(void **state)
{
    size_t scanned = 0;
    static const char head[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_int_equal(http_find_head_end(head, sizeof(head) - 1, &scanned), sizeof(head) - 1);

    static const char with_body[] = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody";
    scanned = 0;
    assert_int_equal(http_find_head_end(with_body, sizeof(with_body) - 1, &scanned),
                     sizeof(with_body) - 1 - 4);

    static const char incomplete[] = "GET / HTTP/1.1\r\nHost: h\r\n";
    scanned = 0;
    assert_int_equal(http_find_head_end(incomplete, sizeof(incomplete) - 1, &scanned), 0);
    assert_true(scanned <= sizeof(incomplete) - 1);

    scanned = 0;
    assert_int_equal(http_find_head_end("", 0, &scanned), 0);
}

static void test_find_head_end_finds_bare_lf_end(void **state)
{
    static const char lf[] = "GET / HTTP/1.1\nHost: h\n\n";
    size_t scanned = 0;
    assert_int_equal(http_find_head_end(lf, sizeof(lf) - 1, &scanned), sizeof(lf) - 1);
    static const char mixed[] = "GET / HTTP/1.1\r\nHost: h\n\r\nrest";
    scanned = 0;
    assert_int_equal(http_find_head_end(mixed, sizeof(mixed) - 1, &scanned), sizeof(mixed) - 5);
}

/* Feeds s one byte more per call, keeping the cursor; the first end found
 * must be the one found over the whole buffer, at the first length that
 * holds it. */
static void check_bytewise_head_end(const char *s, size_t len)
{
    size_t whole_scanned = 0;
    size_t want = http_find_head_end(s, len, &whole_scanned);
    assert_true(want > 0);
    size_t scanned = 0;
    for (size_t n = 0; n <= len; n++) {
        size_t end = http_find_head_end(s, n, &scanned);
        if (end) {
            if (end != want || n != want)
                fail_msg("found end %zu with %zu bytes, want %zu", end, n, want);
            return;
        }
        assert_true(scanned <= n);
    }
    fail_msg("end never found feeding byte by byte");
}

static void test_find_head_end_byte_by_byte_finds_same_end(void **state)
{
    static const char *heads[] = {
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 22\r\nC: 333\r\n\r\nbody after",
        "GET / HTTP/1.1\nHost: h\n\nmore",
        "GET / HTTP/1.0\r\n\r\n",
        "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nX: \n\r\nY",
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
        check_bytewise_head_end(heads[i], strlen(heads[i]));
}

static void test_find_head_end_any_split_finds_same_end(void **state)
{
    static const char s[] = "POST /p HTTP/1.1\r\nHost: h\r\nX-Y: z\r\n\r\nbody";
    size_t len = sizeof(s) - 1;
    size_t whole_scanned = 0;
    size_t want = http_find_head_end(s, len, &whole_scanned);
    assert_int_equal(want, len - 4);
    for (size_t k = 0; k < want; k++) {
        size_t scanned = 0;
        assert_int_equal(http_find_head_end(s, k, &scanned), 0);
        assert_int_equal(http_find_head_end(s, len, &scanned), want);
    }
}

static void test_find_head_end_agrees_with_parser(void **state)
{
    static const char *reqs[] = {
        "GET / HTTP/1.1\r\nHost: h\r\n\r\nNEXT",
        "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab",
    };
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        size_t scanned = 0;
        size_t end = http_find_head_end(reqs[i], strlen(reqs[i]), &scanned);
        assert_result(parse(reqs[i]), HTTP_PARSE_DONE);
        assert_int_equal(end, p.head_len);
        /* The parser also accepts exactly the head, as the server passes it. */
        assert_result(parse_len(reqs[i], end), HTTP_PARSE_DONE);
    }
}

static void test_find_head_end_skips_leading_empty_lines_as_parser_does(void **state)
{
    /* The parser ignores up to four empty lines before the request line
     * (RFC 9112 §2.2); the end of such a head is not the first of them. */
    static const char req[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_result(parse(req), HTTP_PARSE_DONE);
    assert_int_equal(p.head_len, sizeof(req) - 1);
    size_t scanned = 0;
    assert_int_equal(http_find_head_end(req, sizeof(req) - 1, &scanned), sizeof(req) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts_simple_get),
        cmocka_unit_test(test_parse_path_without_query_has_empty_query),
        cmocka_unit_test(test_parse_accepts_post_with_content_length),
        cmocka_unit_test(test_parse_accepts_content_length_edge_values),
        cmocka_unit_test(test_parse_accepts_chunked_post),
        cmocka_unit_test(test_parse_trims_header_value_whitespace),
        cmocka_unit_test(test_parse_keeps_obs_text_in_header_values),
        cmocka_unit_test(test_parse_maps_method_names),
        cmocka_unit_test(test_parse_lowercase_method_is_other_token),
        cmocka_unit_test(test_parse_http11_keeps_alive_unless_close),
        cmocka_unit_test(test_parse_http10_closes_unless_keep_alive),
        cmocka_unit_test(test_parse_http10_needs_no_host),
        cmocka_unit_test(test_parse_accepts_host_with_port_and_empty_host),
        cmocka_unit_test(test_parse_accepts_absolute_form_target),
        cmocka_unit_test(test_parse_asterisk_target_only_for_options),
        cmocka_unit_test(test_parse_ignores_leading_empty_line),
        cmocka_unit_test(test_parse_partial_for_every_incomplete_prefix),
        cmocka_unit_test(test_parse_does_not_look_past_the_head),
        cmocka_unit_test(test_parse_rejects_content_length_with_transfer_encoding),
        cmocka_unit_test(test_parse_rejects_repeated_content_length),
        cmocka_unit_test(test_parse_rejects_malformed_content_length),
        cmocka_unit_test(test_parse_rejects_transfer_encoding_not_ending_in_chunked),
        cmocka_unit_test(test_parse_unknown_coding_before_chunked_is_501),
        cmocka_unit_test(test_parse_rejects_chunked_twice),
        cmocka_unit_test(test_parse_rejects_empty_transfer_encoding),
        cmocka_unit_test(test_parse_rejects_transfer_encoding_in_http10),
        cmocka_unit_test(test_parse_rejects_obs_fold),
        cmocka_unit_test(test_parse_rejects_whitespace_before_colon),
        cmocka_unit_test(test_parse_rejects_malformed_header_names),
        cmocka_unit_test(test_parse_rejects_bare_cr_in_header),
        cmocka_unit_test(test_parse_rejects_nul_in_header_value),
        cmocka_unit_test(test_parse_rejects_control_characters_in_header_value),
        cmocka_unit_test(test_parse_rejects_bare_lf_line_endings),
        cmocka_unit_test(test_parse_rejects_missing_host_on_http11),
        cmocka_unit_test(test_parse_rejects_repeated_host),
        cmocka_unit_test(test_parse_rejects_invalid_host_value),
        cmocka_unit_test(test_parse_unsupported_http_versions_are_505),
        cmocka_unit_test(test_parse_garbage_version_is_400),
        cmocka_unit_test(test_parse_rejects_malformed_request_line),
        cmocka_unit_test(test_parse_target_at_max_is_accepted),
        cmocka_unit_test(test_parse_target_over_max_is_414),
        cmocka_unit_test(test_parse_long_partial_request_line_is_414),
        cmocka_unit_test(test_parse_target_longer_than_whole_head_limit_is_414),
        cmocka_unit_test(test_parse_partial_request_line_longer_than_head_limit_is_414),
        cmocka_unit_test(test_parse_head_at_max_header_bytes_is_accepted),
        cmocka_unit_test(test_parse_head_over_max_header_bytes_is_431),
        cmocka_unit_test(test_parse_small_limits_apply),
        cmocka_unit_test(test_parse_accepts_max_headers),
        cmocka_unit_test(test_parse_too_many_headers_is_431),
        cmocka_unit_test(test_parse_expect_100_continue_is_noted),
        cmocka_unit_test(test_parse_expect_100_continue_is_ignored_in_http10),
        cmocka_unit_test(test_parse_other_expectation_is_417),
        cmocka_unit_test(test_parse_header_find_is_case_insensitive),
        cmocka_unit_test(test_parse_status_maps_every_result),
        cmocka_unit_test(test_parse_method_name_is_canonical),
        cmocka_unit_test(test_find_head_end_in_whole_buffer),
        cmocka_unit_test(test_find_head_end_finds_bare_lf_end),
        cmocka_unit_test(test_find_head_end_byte_by_byte_finds_same_end),
        cmocka_unit_test(test_find_head_end_any_split_finds_same_end),
        cmocka_unit_test(test_find_head_end_agrees_with_parser),
        cmocka_unit_test(test_find_head_end_skips_leading_empty_lines_as_parser_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
