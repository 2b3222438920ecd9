/* test_multipart.c -- unit tests of http/multipart.h: the boundary parameter
 * of a Content-Type, then bodies as real senders build them (the PocketBase JS
 * SDK through undici and through Chrome, curl -F, Chrome forms), framing edge
 * cases (preamble, epilogue, padding, near-delimiters in data, NULs), header
 * and parameter syntax, every refusal with its reason, the limits, and every
 * truncation and many one-byte mutations of valid bodies, which must end in an
 * error or in the same parts, never in a crash (run it under ASan: each body
 * is parsed from an exactly-sized heap copy, so an over-read is caught). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "http/multipart.h"
#include "slice_assert.h"

/* Fails the test unless the slice s holds exactly the n bytes at p. */
#define assert_slice_bytes(s, p, n)                                                                \
    do {                                                                                           \
        struct str s_ = (s);                                                                       \
        size_t n_ = (n);                                                                           \
        if (s_.len != n_ || (n_ && memcmp(s_.ptr, (p), n_) != 0))                                  \
            fail_msg("got %zu bytes, want %zu bytes", s_.len, n_);                                 \
    } while (0)

/* One parse: its inputs and outputs. */
struct run {
    struct arena *a;
    const char *body; /* the heap copy parsed */
    size_t len;
    struct str boundary;
    enum rc rc;
    struct http_multipart_part *parts;
    size_t n;
    const char *why;
};

static int setup_arena(void **state)
{
    static struct arena a;
    arena_init(&a, 4096);
    *state = &a;
    return 0;
}

static int teardown_arena(void **state)
{
    arena_cleanup(*state);
    return 0;
}

static void free_copy(void *p)
{
    xfree(p);
}

static bool is_inside(struct str s, const char *base, size_t len)
{
    return s.len == 0 ||
           (s.ptr >= base && s.ptr <= base + len && s.len <= (size_t)(base + len - s.ptr));
}

/* Checks what every result must satisfy, valid input or not. */
static void check_invariants(const struct run *r)
{
    if (r->rc != RC_OK) {
        assert_non_null(r->why);
        assert_null(r->parts);
        assert_int_equal(r->n, 0);
        assert_true(r->rc == RC_INVALID || r->rc == RC_TOO_LARGE || r->rc == RC_NOMEM);
        return;
    }
    assert_true(r->n <= HTTP_MULTIPART_MAX_PARTS);
    assert_true(r->n == 0 || r->parts != NULL);
    const char *prev_end = r->body;
    for (size_t i = 0; i < r->n; i++) {
        const struct http_multipart_part *p = &r->parts[i];
        assert_true(is_inside(p->data, r->body, r->len));
        assert_true(is_inside(p->content_type, r->body, r->len));
        assert_true(p->name.len <= HTTP_MULTIPART_MAX_NAME);
        assert_true(p->has_filename || p->filename.len == 0);
        /* Parts come in order, and each is followed by CRLF "--" boundary. */
        assert_true(p->data.ptr >= prev_end);
        prev_end = p->data.ptr + p->data.len;
        size_t left = (size_t)(r->body + r->len - prev_end);
        assert_true(left >= 4 + r->boundary.len);
        assert_memory_equal(prev_end, "\r\n--", 4);
        assert_memory_equal(prev_end + 4, r->boundary.ptr, r->boundary.len);
    }
}

/* Parses body[0..len) from an exactly-sized heap copy (freed with the arena). */
static struct run parse_with(struct arena *a, const char *body, size_t len, const char *boundary)
{
    char *copy = xmalloc(len ? len : 1);
    if (len)
        memcpy(copy, body, len);
    arena_defer(a, free_copy, copy);
    struct run r = {.a = a, .body = copy, .len = len, .boundary = str_from_cstr(boundary)};
    r.parts = (struct http_multipart_part *)&r; /* must be overwritten */
    r.n = 12345;
    r.rc = http_multipart_parse((struct str){copy, len}, r.boundary, a, &r.parts, &r.n, &r.why);
    check_invariants(&r);
    return r;
}

#define PARSE(lit, bnd) parse_with(a, (lit), sizeof(lit) - 1, (bnd))

#define assert_refused(r, code, reason)                                                            \
    do {                                                                                           \
        struct run r_ = (r);                                                                       \
        if (r_.rc != (code))                                                                       \
            fail_msg("rc %s (%s), want %s", rc_name(r_.rc), r_.why ? r_.why : "-", rc_name(code)); \
        if (!strstr(r_.why, (reason)))                                                             \
            fail_msg("why \"%s\", want it to mention \"%s\"", r_.why, (reason));                   \
    } while (0)

#define assert_parsed(r, count)                                                                    \
    do {                                                                                           \
        if ((r).rc != RC_OK)                                                                       \
            fail_msg("rc %s: %s", rc_name((r).rc), (r).why ? (r).why : "-");                       \
        assert_int_equal((r).n, (count));                                                          \
    } while (0)

static void assert_text_part(const struct http_multipart_part *p, const char *name,
                             const char *data)
{
    assert_slice_equal(p->name, name);
    assert_false(p->has_filename);
    assert_int_equal(p->filename.len, 0);
    assert_int_equal(p->content_type.len, 0);
    assert_slice_equal(p->data, data);
}

static void assert_file_part(const struct http_multipart_part *p, const char *name,
                             const char *filename, const char *type, const char *data)
{
    assert_slice_equal(p->name, name);
    assert_true(p->has_filename);
    assert_slice_equal(p->filename, filename);
    assert_slice_equal(p->content_type, type);
    assert_slice_equal(p->data, data);
}

static struct str boundary_of(const char *content_type)
{
    struct str b = {NULL, 0};
    enum rc rc = http_multipart_boundary(str_from_cstr(content_type), &b);
    if (rc)
        fail_msg("\"%s\": %s", content_type, rc_name(rc));
    return b;
}

#define assert_boundary_refused(ct, code)                                                          \
    do {                                                                                           \
        struct str b_ = {"untouched", 9};                                                          \
        enum rc rc_ = http_multipart_boundary(str_from_cstr(ct), &b_);                             \
        if (rc_ != (code))                                                                         \
            fail_msg("\"%s\": %s, want %s", (ct), rc_name(rc_), rc_name(code));                    \
        assert_slice_equal(b_, "untouched");                                                       \
    } while (0)

/* ------------------------------------------------------------------------
 * Sample bodies
 * ------------------------------------------------------------------------ */

/* The PocketBase JS SDK under Node: the SDK builds a FormData (text parts for
 * strings and numbers, one @jsonPayload per object/array/null value, Blobs as
 * files) and undici's fetch encodes it. */
#define UNDICI_CT "multipart/form-data; boundary=----formdata-undici-021935741863"
#define UNDICI_B "------formdata-undici-021935741863"
static const char undici_body[] =
    UNDICI_B "\r\n"
             "Content-Disposition: form-data; name=\"title\"\r\n"
             "\r\n"
             "Hello, world\r\n" UNDICI_B "\r\n"
             "Content-Disposition: form-data; name=\"count\"\r\n"
             "\r\n"
             "12\r\n" UNDICI_B "\r\n"
             "Content-Disposition: form-data; name=\"@jsonPayload\"\r\n"
             "\r\n"
             "{\"tags\":[\"a\",\"b\"]}\r\n" UNDICI_B "\r\n"
             "Content-Disposition: form-data; name=\"@jsonPayload\"\r\n"
             "\r\n"
             "{\"published\":null}\r\n" UNDICI_B "\r\n"
             "Content-Disposition: form-data; name=\"documents\"; filename=\"report.pdf\"\r\n"
             "Content-Type: application/pdf\r\n"
             "\r\n"
             "%PDF-1.4\n%\xe2\xe3\xcf\xd3\r\n" UNDICI_B "\r\n"
             "Content-Disposition: form-data; name=\"documents\"; filename=\"blob\"\r\n"
             "Content-Type: application/octet-stream\r\n"
             "\r\n"
             "\x00\x01\x02\r\n" UNDICI_B "--\r\n";

/* The same SDK call from Chrome. */
#define CHROME_CT "multipart/form-data; boundary=----WebKitFormBoundaryu7Xz0cT6lNc2RZ1q"
#define CHROME_B "------WebKitFormBoundaryu7Xz0cT6lNc2RZ1q"
static const char chrome_body[] =
    CHROME_B "\r\n"
             "Content-Disposition: form-data; name=\"title\"\r\n"
             "\r\n"
             "caf\xc3\xa9\r\n" CHROME_B "\r\n"
             "Content-Disposition: form-data; name=\"avatar\"; filename=\"\"\r\n"
             "Content-Type: application/octet-stream\r\n"
             "\r\n"
             "\r\n" CHROME_B "\r\n"
             "Content-Disposition: form-data; name=\"photos+\"; "
             "filename=\"\xd1\x84\xd0\xbe\xd1\x82\xd0\xbe.png\"\r\n"
             "Content-Type: image/png\r\n"
             "\r\n"
             "\x89PNG\r\n\x1a\n\x00\x00\r\n" CHROME_B "\r\n"
             "Content-Disposition: form-data; name=\"say %22hi%22\"; "
             "filename=\"my %22best%22%0D%0A.txt\"\r\n"
             "Content-Type: text/plain\r\n"
             "\r\n"
             "hi\r\n" CHROME_B "--\r\n";

/* curl -F title=hello -F document=@notes.txt -F 'photo=@a.jpg;type=image/jpeg' */
#define CURL_CT "multipart/form-data; boundary=------------------------d74496d66958873e"
#define CURL_B "--------------------------d74496d66958873e"
static const char curl_body[] = CURL_B "\r\n"
                                       "Content-Disposition: form-data; name=\"title\"\r\n"
                                       "\r\n"
                                       "hello\r\n" CURL_B "\r\n"
                                       "Content-Disposition: form-data; name=\"document\"; "
                                       "filename=\"notes.txt\"\r\n"
                                       "Content-Type: text/plain\r\n"
                                       "\r\n"
                                       "line 1\nline 2\n\r\n" CURL_B "\r\n"
                                       "Content-Disposition: form-data; name=\"photo\"; "
                                       "filename=\"a.jpg\"\r\n"
                                       "Content-Type: image/jpeg\r\n"
                                       "\r\n"
                                       "\xff\xd8\xff\xe0\r\n" CURL_B "--\r\n";

/* RFC 2046's quoted boundary with a space, a preamble and an epilogue. */
static const char quoted_body[] = "This is the preamble.  It is to be ignored.\r\n"
                                  "--simple boundary\r\n"
                                  "Content-Disposition: form-data; name=a\r\n"
                                  "\r\n"
                                  "one --simple boundary\r\n"
                                  "--simple boundary\r\n"
                                  "Content-Disposition: form-data; name=b\r\n"
                                  "Content-type: text/plain; charset=us-ascii\r\n"
                                  "\r\n"
                                  "two\r\n"
                                  "\r\n"
                                  "--simple boundary--\r\n"
                                  "This is the epilogue.  It is also to be ignored.\r\n";

/* ------------------------------------------------------------------------
 * http_multipart_boundary
 * ------------------------------------------------------------------------ */

static void test_boundary_reads_token_form(void **state)
{
    assert_slice_equal(boundary_of(UNDICI_CT), "----formdata-undici-021935741863");
    assert_slice_equal(boundary_of(CHROME_CT), "----WebKitFormBoundaryu7Xz0cT6lNc2RZ1q");
    assert_slice_equal(boundary_of(CURL_CT), "------------------------d74496d66958873e");
    assert_slice_equal(boundary_of("multipart/form-data;boundary=x"), "x");
}

static void test_boundary_reads_quoted_form(void **state)
{
    assert_slice_equal(boundary_of("multipart/form-data; boundary=\"simple boundary\""),
                       "simple boundary");
    /* bchars a token cannot hold: ( ) , / : = ? */
    assert_slice_equal(boundary_of("multipart/form-data; boundary=\"a(b),c/d:e=f?g\""),
                       "a(b),c/d:e=f?g");
    assert_slice_equal(boundary_of("multipart/form-data; boundary=\"\'+_-.\""), "\'+_-.");
}

static void test_boundary_matches_names_case_insensitively(void **state)
{
    assert_slice_equal(boundary_of("Multipart/Form-Data; BOUNDARY=AbC"), "AbC");
    assert_slice_equal(boundary_of("MULTIPART/FORM-DATA ;  Boundary = \"X y\"  "), "X y");
}

static void test_boundary_skips_other_parameters(void **state)
{
    assert_slice_equal(boundary_of("multipart/form-data; charset=utf-8; boundary=b1"), "b1");
    assert_slice_equal(boundary_of("multipart/form-data; boundary=b1; charset=\"utf-8\";"), "b1");
}

static void test_boundary_accepts_70_bytes_and_refuses_71(void **state)
{
    char ct[200];
    const char *b70 = "0123456789012345678901234567890123456789012345678901234567890123456789";
    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", b70);
    assert_slice_equal(boundary_of(ct), b70);
    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%sx", b70);
    assert_boundary_refused(ct, RC_INVALID);
    snprintf(ct, sizeof(ct), "multipart/form-data; boundary=\"%sx\"", b70);
    assert_boundary_refused(ct, RC_INVALID);
}

static void test_boundary_refuses_characters_outside_bchars(void **state)
{
    assert_boundary_refused("multipart/form-data; boundary=a!b", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=a*b", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=\"a;b\"", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=\"a\\\"b\"", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=\"a\\b\"", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=\"a\tb\"", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=\"caf\xc3\xa9\"", RC_INVALID);
    /* A space may not be last. */
    assert_boundary_refused("multipart/form-data; boundary=\"ab \"", RC_INVALID);
}

static void test_boundary_refuses_missing_empty_or_repeated(void **state)
{
    assert_boundary_refused("multipart/form-data", RC_INVALID);
    assert_boundary_refused("multipart/form-data;", RC_INVALID);
    assert_boundary_refused("multipart/form-data; charset=utf-8", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=\"\"", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=a; boundary=a", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=a; BOUNDARY=b", RC_INVALID);
}

static void test_boundary_refuses_malformed_parameters(void **state)
{
    assert_boundary_refused("multipart/form-data; boundary=\"abc", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=a b", RC_INVALID);
    assert_boundary_refused("multipart/form-data; =a; boundary=b", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=b;; x=y", RC_INVALID);
    assert_boundary_refused("multipart/form-data; boundary=b x=y", RC_INVALID);
}

static void test_boundary_not_found_for_other_media_types(void **state)
{
    assert_boundary_refused("", RC_NOT_FOUND);
    assert_boundary_refused("application/json", RC_NOT_FOUND);
    assert_boundary_refused("application/x-www-form-urlencoded", RC_NOT_FOUND);
    assert_boundary_refused("multipart/mixed; boundary=b", RC_NOT_FOUND);
    assert_boundary_refused("multipart/form-data-x; boundary=b", RC_NOT_FOUND);
    assert_boundary_refused("multipart/form-dat; boundary=b", RC_NOT_FOUND);
}

static void test_boundary_reads_only_the_slice(void **state)
{
    /* The slice stops before "xyz": the boundary must not run into it. */
    const char *ct = "multipart/form-data; boundary=abcxyz";
    struct str b;
    assert_int_equal(http_multipart_boundary((struct str){ct, strlen(ct) - 3}, &b), RC_OK);
    assert_slice_equal(b, "abc");
    /* A quote closing only past the slice's end is unterminated. */
    ct = "multipart/form-data; boundary=\"abc\"";
    assert_int_equal(http_multipart_boundary((struct str){ct, strlen(ct) - 1}, &b), RC_INVALID);
}

static void test_boundary_and_parse_accept_absent_input(void **state)
{
    /* An absent header or body arrives as {NULL, 0}. */
    struct str b = {"untouched", 9};
    assert_int_equal(http_multipart_boundary((struct str){NULL, 0}, &b), RC_NOT_FOUND);
    assert_slice_equal(b, "untouched");
    struct arena a;
    arena_init(&a, 1024);
    struct http_multipart_part *parts;
    size_t n;
    const char *why = NULL;
    assert_int_equal(
        http_multipart_parse((struct str){NULL, 0}, STR_LIT("b"), &a, &parts, &n, &why),
        RC_INVALID);
    assert_non_null(why);
    assert_null(parts);
    arena_cleanup(&a);
}

/* ------------------------------------------------------------------------
 * What real senders send
 * ------------------------------------------------------------------------ */

static void test_parse_js_sdk_under_node(void **state)
{
    struct arena *a = *state;
    struct str b = boundary_of(UNDICI_CT);
    struct run r = parse_with(a, undici_body, sizeof(undici_body) - 1, b.ptr);
    assert_parsed(r, 6);
    assert_text_part(&r.parts[0], "title", "Hello, world");
    assert_text_part(&r.parts[1], "count", "12");
    assert_text_part(&r.parts[2], "@jsonPayload", "{\"tags\":[\"a\",\"b\"]}");
    assert_text_part(&r.parts[3], "@jsonPayload", "{\"published\":null}");
    assert_file_part(&r.parts[4], "documents", "report.pdf", "application/pdf",
                     "%PDF-1.4\n%\xe2\xe3\xcf\xd3");
    assert_slice_equal(r.parts[5].filename, "blob");
    assert_slice_bytes(r.parts[5].data, "\x00\x01\x02", 3);
}

static void test_parse_js_sdk_under_chrome(void **state)
{
    struct arena *a = *state;
    struct run r = parse_with(a, chrome_body, sizeof(chrome_body) - 1,
                              "----WebKitFormBoundaryu7Xz0cT6lNc2RZ1q");
    assert_parsed(r, 4);
    assert_text_part(&r.parts[0], "title", "caf\xc3\xa9");
    /* An empty file input: a file part with an empty filename and no data. */
    assert_file_part(&r.parts[1], "avatar", "", "application/octet-stream", "");
    /* UTF-8 filenames arrive raw. */
    assert_slice_equal(r.parts[2].name, "photos+");
    assert_slice_equal(r.parts[2].filename, "\xd1\x84\xd0\xbe\xd1\x82\xd0\xbe.png");
    assert_slice_equal(r.parts[2].content_type, "image/png");
    assert_slice_bytes(r.parts[2].data, "\x89PNG\r\n\x1a\n\x00\x00", 10);
    /* Quotes, CR and LF in names arrive as %22, %0D, %0A. */
    assert_file_part(&r.parts[3], "say \"hi\"", "my \"best\"\r\n.txt", "text/plain", "hi");
}

static void test_parse_curl_form(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE(curl_body, "------------------------d74496d66958873e");
    assert_parsed(r, 3);
    assert_text_part(&r.parts[0], "title", "hello");
    assert_file_part(&r.parts[1], "document", "notes.txt", "text/plain", "line 1\nline 2\n");
    assert_file_part(&r.parts[2], "photo", "a.jpg", "image/jpeg", "\xff\xd8\xff\xe0");
}

static void test_parse_quoted_boundary_with_preamble_and_epilogue(void **state)
{
    struct arena *a = *state;
    struct str b = boundary_of("multipart/form-data; boundary=\"simple boundary\"");
    struct run r = parse_with(a, quoted_body, sizeof(quoted_body) - 1, "simple boundary");
    assert_int_equal(b.len, 15);
    assert_parsed(r, 2);
    assert_text_part(&r.parts[0], "a", "one --simple boundary");
    assert_slice_equal(r.parts[1].name, "b");
    assert_slice_equal(r.parts[1].content_type, "text/plain; charset=us-ascii");
    assert_slice_equal(r.parts[1].data, "two\r\n");
}

static void test_parse_returns_slices_into_the_body(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE(curl_body, "------------------------d74496d66958873e");
    assert_parsed(r, 3);
    for (size_t i = 0; i < r.n; i++) {
        assert_true(is_inside(r.parts[i].name, r.body, r.len));
        assert_true(is_inside(r.parts[i].data, r.body, r.len));
    }
    const char *at = strstr(r.body, "hello");
    assert_ptr_equal(r.parts[0].data.ptr, at);
}

/* ------------------------------------------------------------------------
 * Framing
 * ------------------------------------------------------------------------ */

static void test_parse_accepts_delimiter_at_body_start_or_after_preamble(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--", "b");
    assert_parsed(r, 1);
    assert_text_part(&r.parts[0], "x", "1");
    r = PARSE("\r\n--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--", "b");
    assert_parsed(r, 1);
    /* "--b" in the preamble but not at a line start, "--bb" at a line start. */
    r = PARSE("x--b\r\n--bb\r\n--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--",
              "b");
    assert_parsed(r, 1);
    assert_text_part(&r.parts[0], "x", "1");
}

static void test_parse_ignores_epilogue(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--\r\n"
                         "--b\r\nContent-Disposition: form-data; name=y\r\n\r\n2\r\n--b--\r\n",
                         "b");
    assert_parsed(r, 1);
    assert_text_part(&r.parts[0], "x", "1");
}

static void test_parse_accepts_transport_padding(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b \t\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b  \r\n"
                         "Content-Disposition: form-data; name=y\r\n\r\n2\r\n--b-- \t\r\nepilogue",
                         "b");
    assert_parsed(r, 2);
    assert_text_part(&r.parts[1], "y", "2");
    r = PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--  ", "b");
    assert_parsed(r, 1);
}

static void test_parse_accepts_zero_parts(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b--\r\n", "b");
    assert_parsed(r, 0);
    assert_null(r.parts);
    r = PARSE("preamble\r\n--b--", "b");
    assert_parsed(r, 0);
}

static void test_parse_accepts_empty_parts(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n\r\n"
                         "--b\r\nContent-Disposition: form-data; name=e\r\n\r\n\r\n--b--",
                         "b");
    assert_parsed(r, 2);
    assert_text_part(&r.parts[0], "", "");
    assert_text_part(&r.parts[1], "e", "");
    assert_non_null(r.parts[1].data.ptr);
}

static void test_parse_keeps_boundary_text_not_at_a_line_start(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n"
                         "a--b\r\nc --b--\r\n-b\r\n\n--b\r\r--b\r\n--b--",
                         "b");
    assert_parsed(r, 1);
    assert_text_part(&r.parts[0], "x", "a--b\r\nc --b--\r\n-b\r\n\n--b\r\r--b");
}

static void test_parse_keeps_near_delimiters_in_data(void **state)
{
    struct arena *a = *state;
    /* "--boundary" then another byte is not the delimiter of "boundary". */
    struct run r = PARSE("--bnd\r\nContent-Disposition: form-data; name=x\r\n\r\n"
                         "1\r\n--bndX\r\n--bnd-y\r\n--bndbnd\r\n--bn\r\n--bnd--\r\n",
                         "bnd");
    assert_parsed(r, 1);
    assert_text_part(&r.parts[0], "x", "1\r\n--bndX\r\n--bnd-y\r\n--bndbnd\r\n--bn");
}

static void test_parse_keeps_crlf_inside_and_at_end_of_data(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n"
                         "\r\nline1\r\n\r\nline2\r\n\r\n\r\n--b--",
                         "b");
    assert_parsed(r, 1);
    assert_text_part(&r.parts[0], "x", "\r\nline1\r\n\r\nline2\r\n\r\n");
}

static void test_parse_keeps_binary_data_with_nul_bytes(void **state)
{
    struct arena *a = *state;
    static const char body[] = "--b\r\nContent-Disposition: form-data; name=f; filename=z.bin\r\n"
                               "Content-Type: application/octet-stream\r\n\r\n"
                               "\x00\r\n\x00--b\x00\r\n--b\x00\xff\x00\r\n--b--";
    struct run r = PARSE(body, "b");
    assert_parsed(r, 1);
    assert_slice_bytes(r.parts[0].data, "\x00\r\n\x00--b\x00\r\n--b\x00\xff\x00", 16);
    assert_slice_equal(r.parts[0].filename, "z.bin");
}

/* ------------------------------------------------------------------------
 * Headers and parameters
 * ------------------------------------------------------------------------ */

static void test_parse_matches_header_and_parameter_names_case_insensitively(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b\r\ncontent-disposition: Form-Data; NAME=\"x\"; FileName=\"f.txt\"\r\n"
                         "CONTENT-TYPE: text/plain\r\n\r\n1\r\n--b--",
                         "b");
    assert_parsed(r, 1);
    assert_file_part(&r.parts[0], "x", "f.txt", "text/plain", "1");
}

static void test_parse_accepts_tokens_and_optional_whitespace(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b\r\nContent-Disposition:form-data;name=x;filename=a.b{c}\r\n"
                         "Content-Type:\t image/png \t\r\n\r\n1\r\n"
                         "--b\r\nContent-Disposition:  form-data ; name = \"y\" ;\t\r\n\r\n2\r\n"
                         "--b--",
                         "b");
    assert_parsed(r, 2);
    assert_file_part(&r.parts[0], "x", "a.b{c}", "image/png", "1");
    assert_text_part(&r.parts[1], "y", "2");
}

static void test_parse_unescapes_quoted_strings_as_go_does(void **state)
{
    struct arena *a = *state;
    /* \" and \\ are escapes; a backslash before a non-tspecial is literal
     * (MSIE sends unescaped Windows paths). */
    struct run r = PARSE("--b\r\nContent-Disposition: form-data; name=\"a\\\"b\\\\c\"; "
                         "filename=\"C:\\dev\\x.txt\"\r\n\r\n1\r\n--b--",
                         "b");
    assert_parsed(r, 1);
    assert_slice_equal(r.parts[0].name, "a\"b\\c");
    assert_slice_equal(r.parts[0].filename, "C:\\dev\\x.txt");
    /* A semicolon inside quotes is data. */
    r = PARSE("--b\r\nContent-Disposition: form-data; name=\"a;b=c\"\r\n\r\n1\r\n--b--", "b");
    assert_parsed(r, 1);
    assert_slice_equal(r.parts[0].name, "a;b=c");
}

static void test_parse_decodes_only_the_browser_escapes(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b\r\nContent-Disposition: form-data; name=\"%22%0d%0A%0D%25%41%2\"; "
                         "filename=\"100%.txt%22\"\r\n\r\n1\r\n--b--",
                         "b");
    assert_parsed(r, 1);
    assert_slice_equal(r.parts[0].name, "\"\r\n\r%25%41%2");
    assert_slice_equal(r.parts[0].filename, "100%.txt\"");
}

static void test_parse_prefers_decodable_filename_star(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b\r\nContent-Disposition: form-data; name=f; filename=\"euro.txt\"; "
                         "filename*=UTF-8''%E2%82%AC%20rates.txt\r\n\r\n1\r\n"
                         "--b\r\nContent-Disposition: form-data; name=g; "
                         "filename*=\"us-ascii'en'a%2fb\"\r\n\r\n2\r\n--b--",
                         "b");
    assert_parsed(r, 2);
    assert_slice_equal(r.parts[0].filename, "\xe2\x82\xac rates.txt");
    assert_true(r.parts[1].has_filename);
    assert_slice_equal(r.parts[1].filename, "a/b");
}

static void test_parse_ignores_undecodable_filename_star(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b\r\nContent-Disposition: form-data; name=f; filename=plain.txt; "
                         "filename*=latin1''%E9.txt\r\n\r\n1\r\n"
                         "--b\r\nContent-Disposition: form-data; name=g; "
                         "filename*=UTF-8''%zz\r\n\r\n2\r\n"
                         "--b\r\nContent-Disposition: form-data; name=h; "
                         "filename*=UTF-8'no-second-quote\r\n\r\n3\r\n--b--",
                         "b");
    assert_parsed(r, 3);
    assert_true(r.parts[0].has_filename);
    assert_slice_equal(r.parts[0].filename, "plain.txt");
    /* Nothing usable: no filename at all, as in Go. */
    assert_text_part(&r.parts[1], "g", "2");
    assert_text_part(&r.parts[2], "h", "3");
}

static void test_parse_ignores_unknown_headers_and_parameters(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b\r\nX-Custom: whatever; \"x\r\nContent-Disposition: form-data; "
                         "size=3; name=x; creation-date=\"Wed, 12 Feb 1997 16:29:51 -0500\"\r\n"
                         "Content-Length: 1\r\n\r\n1\r\n--b--",
                         "b");
    assert_parsed(r, 1);
    assert_text_part(&r.parts[0], "x", "1");
}

static void test_parse_accepts_identity_transfer_encodings(void **state)
{
    struct arena *a = *state;
    struct run r = PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n"
                         "Content-Transfer-Encoding: binary\r\n\r\n1\r\n"
                         "--b\r\nContent-Disposition: form-data; name=y\r\n"
                         "content-transfer-encoding: 8BIT\r\n\r\n2\r\n"
                         "--b\r\nContent-Disposition: form-data; name=z\r\n"
                         "Content-Transfer-Encoding: 7bit\r\n\r\n3\r\n--b--",
                         "b");
    assert_parsed(r, 3);
}

/* ------------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------------ */

static void test_parse_refuses_missing_closing_delimiter(void **state)
{
    struct arena *a = *state;
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n", "b"),
                   RC_INVALID, "closing delimiter");
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1", "b"), RC_INVALID,
                   "closing delimiter");
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b", "b"),
                   RC_INVALID, "ends inside");
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b-", "b"),
                   RC_INVALID, "ends inside");
    /* A close delimiter without its CRLF in front is data. */
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1--b--", "b"),
                   RC_INVALID, "closing delimiter");
}

static void test_parse_refuses_missing_opening_delimiter(void **state)
{
    struct arena *a = *state;
    assert_refused(PARSE("", "b"), RC_INVALID, "opening delimiter");
    assert_refused(PARSE("hello", "b"), RC_INVALID, "opening delimiter");
    assert_refused(PARSE("x--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--c--", "b"),
                   RC_INVALID, "opening delimiter");
    /* Bare LF line ends: not a delimiter line. */
    assert_refused(PARSE("--b\nContent-Disposition: form-data; name=x\n\n1\n--b--\n", "b"),
                   RC_INVALID, "delimiter line");
}

static void test_parse_refuses_junk_on_delimiter_lines(void **state)
{
    struct arena *a = *state;
    assert_refused(PARSE("--b x\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--", "b"),
                   RC_INVALID, "delimiter line");
    assert_refused(PARSE("--b\rContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--", "b"),
                   RC_INVALID, "delimiter line");
    assert_refused(
        PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b \r--b--", "b"),
        RC_INVALID, "delimiter line");
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--x", "b"),
                   RC_INVALID, "closing");
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--\r", "b"),
                   RC_INVALID, "closing");
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b---", "b"),
                   RC_INVALID, "closing");
}

static void test_parse_refuses_missing_content_disposition(void **state)
{
    struct arena *a = *state;
    assert_refused(PARSE("--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--", "b"), RC_INVALID,
                   "no Content-Disposition");
    assert_refused(PARSE("--b\r\n\r\n1\r\n--b--", "b"), RC_INVALID, "no Content-Disposition");
    /* The second part is the bad one. */
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n"
                         "--b\r\n\r\n2\r\n--b--",
                         "b"),
                   RC_INVALID, "no Content-Disposition");
}

static void test_parse_refuses_header_without_colon(void **state)
{
    struct arena *a = *state;
    assert_refused(PARSE("--b\r\nContent-Disposition form-data; name=x\r\n\r\n1\r\n--b--", "b"),
                   RC_INVALID, "without a colon");
    assert_refused(
        PARSE("--b\r\nContent-Disposition: form-data; name=x\r\njunk\r\n\r\n1\r\n--b--", "b"),
        RC_INVALID, "without a colon");
    assert_refused(
        PARSE("--b\r\n: x\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--", "b"),
        RC_INVALID, "empty name");
    assert_refused(PARSE("--b\r\nContent-Disposition : form-data; name=x\r\n\r\n1\r\n--b--", "b"),
                   RC_INVALID, "before the colon");
    assert_refused(PARSE("--b\r\nContent(Disposition): form-data; name=x\r\n\r\n1\r\n--b--", "b"),
                   RC_INVALID, "header name");
}

static void test_parse_refuses_disposition_other_than_form_data(void **state)
{
    struct arena *a = *state;
    assert_refused(PARSE("--b\r\nContent-Disposition: attachment; name=x\r\n\r\n1\r\n--b--", "b"),
                   RC_INVALID, "not form-data");
    assert_refused(PARSE("--b\r\nContent-Disposition: \r\n\r\n1\r\n--b--", "b"), RC_INVALID,
                   "not form-data");
    assert_refused(PARSE("--b\r\nContent-Disposition: form-datax; name=x\r\n\r\n1\r\n--b--", "b"),
                   RC_INVALID, "not form-data");
}

static void test_parse_refuses_disposition_without_name(void **state)
{
    struct arena *a = *state;
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data\r\n\r\n1\r\n--b--", "b"),
                   RC_INVALID, "no name");
    assert_refused(
        PARSE("--b\r\nContent-Disposition: form-data; filename=a\r\n\r\n1\r\n--b--", "b"),
        RC_INVALID, "no name");
}

static void test_parse_refuses_repeated_headers_and_parameters(void **state)
{
    struct arena *a = *state;
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n"
                         "Content-Disposition: form-data; name=y\r\n\r\n1\r\n--b--",
                         "b"),
                   RC_INVALID, "two Content-Disposition");
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\nContent-Type: a/b\r\n"
                         "content-type: a/b\r\n\r\n1\r\n--b--",
                         "b"),
                   RC_INVALID, "two Content-Type");
    assert_refused(
        PARSE("--b\r\nContent-Disposition: form-data; name=x; NAME=y\r\n\r\n1\r\n--b--", "b"),
        RC_INVALID, "repeated parameter");
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x; filename=a; "
                         "filename=b\r\n\r\n1\r\n--b--",
                         "b"),
                   RC_INVALID, "repeated parameter");
}

static void test_parse_refuses_malformed_disposition_parameters(void **state)
{
    struct arena *a = *state;
    const char *bad[] = {
        "form-data; name=\"x",    "form-data; name=\"x\\\"",     "form-data; name=",
        "form-data; name",        "form-data; name=x y",         "form-data name=x",
        "form-data; ; name=x",    "form-data; name=caf\xc3\xa9", "form-data; name=x;; a=b",
        "form-data; name=\"x\"y",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[256];
        int n = snprintf(body, sizeof(body), "--b\r\nContent-Disposition: %s\r\n\r\n1\r\n--b--",
                         bad[i]);
        struct run r = parse_with(a, body, (size_t)n, "b");
        if (r.rc != RC_INVALID || !strstr(r.why, "malformed part Content-Disposition"))
            fail_msg("\"%s\": %s (%s)", bad[i], rc_name(r.rc), r.why ? r.why : "-");
    }
}

static void test_parse_refuses_bare_lf_and_bare_cr_in_headers(void **state)
{
    struct arena *a = *state;
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\n\r\n1\r\n--b--", "b"),
                   RC_INVALID, "bare LF");
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\n1\r\n--b--", "b"),
                   RC_INVALID, "bare LF");
    assert_refused(
        PARSE("--b\r\nContent-Disposition: form-data; name=x\rY: z\r\n\r\n1\r\n--b--", "b"),
        RC_INVALID, "bare CR");
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n\rX\r\n1\r\n--b--", "b"),
                   RC_INVALID, "bare CR");
}

static void test_parse_refuses_folded_lines_and_control_bytes(void **state)
{
    struct arena *a = *state;
    assert_refused(
        PARSE("--b\r\nContent-Disposition: form-data;\r\n name=x\r\n\r\n1\r\n--b--", "b"),
        RC_INVALID, "folded");
    assert_refused(
        PARSE("--b\r\nContent-Disposition: form-data; name=\"x\x01\"\r\n\r\n1\r\n--b--", "b"),
        RC_INVALID, "control byte");
    assert_refused(
        PARSE("--b\r\nContent-Disposition: form-data; name=\"x\x7f\"\r\n\r\n1\r\n--b--", "b"),
        RC_INVALID, "control byte");
    static const char nul[] = "--b\r\nContent-Disposition: form-data; name=\"x\x00y\"\r\n\r\n"
                              "1\r\n--b--";
    assert_refused(PARSE(nul, "b"), RC_INVALID, "control byte");
}

static void test_parse_refuses_delimiter_right_after_headers(void **state)
{
    struct arena *a = *state;
    /* The empty line is missing: the CRLF before "--b" belongs to the delimiter. */
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n--b--", "b"), RC_INVALID,
                   "empty line");
    assert_refused(
        PARSE("--b\r\n--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--", "b"),
        RC_INVALID, "without a colon");
}

static void test_parse_refuses_encoded_transfer_encodings(void **state)
{
    struct arena *a = *state;
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n"
                         "Content-Transfer-Encoding: quoted-printable\r\n\r\na=3D1\r\n--b--",
                         "b"),
                   RC_INVALID, "Content-Transfer-Encoding");
    assert_refused(PARSE("--b\r\nContent-Disposition: form-data; name=x\r\n"
                         "Content-Transfer-Encoding: base64\r\n\r\nMQ==\r\n--b--",
                         "b"),
                   RC_INVALID, "Content-Transfer-Encoding");
}

static void test_parse_refuses_bad_boundary_argument(void **state)
{
    struct arena *a = *state;
    assert_refused(PARSE("----\r\n", ""), RC_INVALID, "boundary");
    char b71[72];
    memset(b71, 'x', 71);
    b71[71] = '\0';
    assert_refused(PARSE("--b--", b71), RC_INVALID, "boundary");
    char b70[71];
    memset(b70, 'x', 70);
    b70[70] = '\0';
    char body[200];
    int n = snprintf(body, sizeof(body), "--%s--", b70);
    struct run r = parse_with(a, body, (size_t)n, b70);
    assert_parsed(r, 0);
}

/* ------------------------------------------------------------------------
 * Limits
 * ------------------------------------------------------------------------ */

/* A body of count parts named p0, p1, ... each holding "v". */
static struct run parse_many_parts(struct arena *a, size_t count)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    for (size_t i = 0; i < count; i++) {
        char part[96];
        int n = snprintf(part, sizeof(part),
                         "--b\r\nContent-Disposition: form-data; name=p%zu\r\n\r\nv\r\n", i);
        assert_int_equal(buf_append(&b, part, (size_t)n), RC_OK);
    }
    assert_int_equal(buf_append_cstr(&b, "--b--\r\n"), RC_OK);
    struct run r = parse_with(a, b.data, b.len, "b");
    buf_cleanup(&b);
    return r;
}

static void test_parse_accepts_1000_parts_and_refuses_1001(void **state)
{
    struct arena *a = *state;
    struct run r = parse_many_parts(a, HTTP_MULTIPART_MAX_PARTS);
    assert_parsed(r, HTTP_MULTIPART_MAX_PARTS);
    assert_slice_equal(r.parts[999].name, "p999");
    assert_refused(parse_many_parts(a, HTTP_MULTIPART_MAX_PARTS + 1), RC_TOO_LARGE, "1000");
}

/* A part whose header section (blank line included) is exactly size bytes. */
static struct run parse_header_section_of(struct arena *a, size_t size)
{
    static const char cd[] = "Content-Disposition: form-data; name=x\r\nX-Pad: ";
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_cstr(&b, "--b\r\n"), RC_OK);
    assert_int_equal(buf_append_cstr(&b, cd), RC_OK);
    size_t pad = size - (sizeof(cd) - 1) - 4; /* the pad line's CRLF and the empty line */
    for (size_t i = 0; i < pad; i++)
        assert_int_equal(buf_append(&b, "p", 1), RC_OK);
    assert_int_equal(buf_append_cstr(&b, "\r\n\r\ndata\r\n--b--"), RC_OK);
    struct run r = parse_with(a, b.data, b.len, "b");
    buf_cleanup(&b);
    return r;
}

static void test_parse_accepts_8k_header_section_and_refuses_more(void **state)
{
    struct arena *a = *state;
    struct run r = parse_header_section_of(a, HTTP_MULTIPART_MAX_HEADER_BYTES);
    assert_parsed(r, 1);
    assert_slice_equal(r.parts[0].data, "data");
    assert_refused(parse_header_section_of(a, HTTP_MULTIPART_MAX_HEADER_BYTES + 1), RC_TOO_LARGE,
                   "8 KiB");
    assert_refused(parse_header_section_of(a, 3 * HTTP_MULTIPART_MAX_HEADER_BYTES), RC_TOO_LARGE,
                   "8 KiB");
}

/* A part named by name_len bytes of 'n', each of the first escapes of them
 * written as %22 (so the decoded name is still name_len bytes). */
static struct run parse_name_of(struct arena *a, size_t name_len, size_t escapes)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_cstr(&b, "--b\r\nContent-Disposition: form-data; name=\""), RC_OK);
    for (size_t i = 0; i < name_len; i++)
        assert_int_equal(buf_append_cstr(&b, i < escapes ? "%22" : "n"), RC_OK);
    assert_int_equal(buf_append_cstr(&b, "\"\r\n\r\n1\r\n--b--"), RC_OK);
    struct run r = parse_with(a, b.data, b.len, "b");
    buf_cleanup(&b);
    return r;
}

static void test_parse_accepts_255_byte_names_and_refuses_longer(void **state)
{
    struct arena *a = *state;
    struct run r = parse_name_of(a, HTTP_MULTIPART_MAX_NAME, 0);
    assert_parsed(r, 1);
    assert_int_equal(r.parts[0].name.len, HTTP_MULTIPART_MAX_NAME);
    /* The limit is on the decoded name. */
    r = parse_name_of(a, HTTP_MULTIPART_MAX_NAME, 100);
    assert_parsed(r, 1);
    assert_int_equal(r.parts[0].name.len, HTTP_MULTIPART_MAX_NAME);
    assert_int_equal(r.parts[0].name.ptr[99], '"');
    assert_refused(parse_name_of(a, HTTP_MULTIPART_MAX_NAME + 1, 0), RC_TOO_LARGE, "255");
    assert_refused(parse_name_of(a, HTTP_MULTIPART_MAX_NAME + 1, 256), RC_TOO_LARGE, "255");
}

/* ------------------------------------------------------------------------
 * Robustness: truncations and mutations of valid bodies
 * ------------------------------------------------------------------------ */

struct sample {
    const char *body;
    size_t len;
    const char *boundary;
};

static const struct sample samples[] = {
    {undici_body, sizeof(undici_body) - 1, "----formdata-undici-021935741863"},
    {chrome_body, sizeof(chrome_body) - 1, "----WebKitFormBoundaryu7Xz0cT6lNc2RZ1q"},
    {curl_body, sizeof(curl_body) - 1, "------------------------d74496d66958873e"},
    {quoted_body, sizeof(quoted_body) - 1, "simple boundary"},
};

static void test_parse_every_truncation_fails_or_matches_the_whole(void **state)
{
    struct arena *a = *state;
    for (size_t s = 0; s < sizeof(samples) / sizeof(samples[0]); s++) {
        const struct sample *sm = &samples[s];
        struct run whole = parse_with(a, sm->body, sm->len, sm->boundary);
        assert_parsed(whole, whole.n);
        size_t accepted = 0;
        for (size_t len = 0; len < sm->len; len++) {
            struct run r = parse_with(a, sm->body, len, sm->boundary);
            if (r.rc != RC_OK)
                continue;
            /* Only a cut inside the epilogue may parse, and then to the same parts. */
            accepted++;
            assert_int_equal(r.n, whole.n);
            for (size_t i = 0; i < r.n; i++) {
                assert_int_equal(r.parts[i].data.ptr - r.body,
                                 whole.parts[i].data.ptr - whole.body);
                assert_int_equal(r.parts[i].data.len, whole.parts[i].data.len);
                assert_true(str_eq(r.parts[i].name, whole.parts[i].name));
                assert_true(str_eq(r.parts[i].filename, whole.parts[i].filename));
            }
        }
        assert_true(accepted >= 1); /* at least the cut just before the final CRLF */
        arena_reset(a);
    }
}

static void test_parse_survives_every_one_byte_mutation(void **state)
{
    struct arena *a = *state;
    static const char repl[] = {'\0', '\r', '\n', '-', '"', ':', ';', ' ', '\\', '%', 'x'};
    for (size_t s = 0; s < sizeof(samples) / sizeof(samples[0]); s++) {
        const struct sample *sm = &samples[s];
        char *m = xmalloc(sm->len);
        for (size_t at = 0; at < sm->len; at++) {
            for (size_t k = 0; k < sizeof(repl); k++) {
                memcpy(m, sm->body, sm->len);
                m[at] = repl[k];
                (void)parse_with(a, m, sm->len, sm->boundary); /* checks the invariants */
            }
            arena_reset(a);
        }
        xfree(m);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup_arena, teardown_arena)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary_reads_token_form),
        cmocka_unit_test(test_boundary_reads_quoted_form),
        cmocka_unit_test(test_boundary_matches_names_case_insensitively),
        cmocka_unit_test(test_boundary_skips_other_parameters),
        cmocka_unit_test(test_boundary_accepts_70_bytes_and_refuses_71),
        cmocka_unit_test(test_boundary_refuses_characters_outside_bchars),
        cmocka_unit_test(test_boundary_refuses_missing_empty_or_repeated),
        cmocka_unit_test(test_boundary_refuses_malformed_parameters),
        cmocka_unit_test(test_boundary_not_found_for_other_media_types),
        cmocka_unit_test(test_boundary_reads_only_the_slice),
        cmocka_unit_test(test_boundary_and_parse_accept_absent_input),
        T(test_parse_js_sdk_under_node),
        T(test_parse_js_sdk_under_chrome),
        T(test_parse_curl_form),
        T(test_parse_quoted_boundary_with_preamble_and_epilogue),
        T(test_parse_returns_slices_into_the_body),
        T(test_parse_accepts_delimiter_at_body_start_or_after_preamble),
        T(test_parse_ignores_epilogue),
        T(test_parse_accepts_transport_padding),
        T(test_parse_accepts_zero_parts),
        T(test_parse_accepts_empty_parts),
        T(test_parse_keeps_boundary_text_not_at_a_line_start),
        T(test_parse_keeps_near_delimiters_in_data),
        T(test_parse_keeps_crlf_inside_and_at_end_of_data),
        T(test_parse_keeps_binary_data_with_nul_bytes),
        T(test_parse_matches_header_and_parameter_names_case_insensitively),
        T(test_parse_accepts_tokens_and_optional_whitespace),
        T(test_parse_unescapes_quoted_strings_as_go_does),
        T(test_parse_decodes_only_the_browser_escapes),
        T(test_parse_prefers_decodable_filename_star),
        T(test_parse_ignores_undecodable_filename_star),
        T(test_parse_ignores_unknown_headers_and_parameters),
        T(test_parse_accepts_identity_transfer_encodings),
        T(test_parse_refuses_missing_closing_delimiter),
        T(test_parse_refuses_missing_opening_delimiter),
        T(test_parse_refuses_junk_on_delimiter_lines),
        T(test_parse_refuses_missing_content_disposition),
        T(test_parse_refuses_header_without_colon),
        T(test_parse_refuses_disposition_other_than_form_data),
        T(test_parse_refuses_disposition_without_name),
        T(test_parse_refuses_repeated_headers_and_parameters),
        T(test_parse_refuses_malformed_disposition_parameters),
        T(test_parse_refuses_bare_lf_and_bare_cr_in_headers),
        T(test_parse_refuses_folded_lines_and_control_bytes),
        T(test_parse_refuses_delimiter_right_after_headers),
        T(test_parse_refuses_encoded_transfer_encodings),
        T(test_parse_refuses_bad_boundary_argument),
        T(test_parse_accepts_1000_parts_and_refuses_1001),
        T(test_parse_accepts_8k_header_section_and_refuses_more),
        T(test_parse_accepts_255_byte_names_and_refuses_longer),
        T(test_parse_every_truncation_fails_or_matches_the_whole),
        T(test_parse_survives_every_one_byte_mutation),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
