/* parse.c -- see parse.h. The grammar references are RFC 9112 (message syntax)
 * and RFC 9110 (semantics); section numbers are given where a rule is applied. */
#include "http/parse.h"

#include <string.h>

/* tchar (RFC 9110 §5.6.2): the characters of a token. */
static bool is_tchar(unsigned char c)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr(extra, c) != NULL;
}

/* field-vchar / SP / HTAB / obs-text (RFC 9110 §5.5): anything but controls. */
static bool is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7F);
}

/* RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the
 * request line. We skip up to four, here and in the parser alike. */
static size_t skip_leading_empty_lines(const char *buf, size_t len)
{
    size_t skip = 0;
    while (skip + 1 < len && buf[skip] == '\r' && buf[skip + 1] == '\n' && skip < 8)
        skip += 2;
    return skip;
}

size_t http_find_head_end(const char *buf, size_t len, size_t *scanned)
{
    size_t i = *scanned;
    if (i == 0)
        i = skip_leading_empty_lines(buf, len);
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (!nl) {
            i = len;
            break;
        }
        size_t at = (size_t)(nl - buf);
        /* The head ends at an empty line: "\n\n" or "\n\r\n". */
        if (at + 1 < len && buf[at + 1] == '\n') {
            *scanned = at;
            return at + 2;
        }
        if (at + 2 < len && buf[at + 1] == '\r' && buf[at + 2] == '\n') {
            *scanned = at;
            return at + 3;
        }
        if (at + 2 >= len) {
            /* Not enough bytes after this LF to decide: look again from it. */
            i = at;
            break;
        }
        i = at + 1;
    }
    *scanned = i;
    return 0;
}

static const struct {
    const char *name;
    enum http_method id;
} methods[] = {
    {"GET", HTTP_METHOD_GET},         {"HEAD", HTTP_METHOD_HEAD},   {"POST", HTTP_METHOD_POST},
    {"PUT", HTTP_METHOD_PUT},         {"PATCH", HTTP_METHOD_PATCH}, {"DELETE", HTTP_METHOD_DELETE},
    {"OPTIONS", HTTP_METHOD_OPTIONS},
};

const char *http_method_name(enum http_method m)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (methods[i].id == m)
            return methods[i].name;
    }
    return "OTHER";
}

bool http_method_of_name(const char *name, enum http_method *out)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(methods[i].name, name) == 0) {
            *out = methods[i].id;
            return true;
        }
    }
    return false;
}

static enum http_method method_id(struct str m)
{
    /* Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET. */
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (str_eq(m, str_from_cstr(methods[i].name)))
            return methods[i].id;
    }
    return HTTP_METHOD_OTHER;
}

int http_parse_status(enum http_parse_result r)
{
    switch (r) {
    case HTTP_PARSE_DONE:
    case HTTP_PARSE_PARTIAL: return 0;
    case HTTP_PARSE_BAD_REQUEST: return 400;
    case HTTP_PARSE_URI_TOO_LONG: return 414;
    case HTTP_PARSE_HEADERS_TOO_LARGE: return 431;
    case HTTP_PARSE_EXPECTATION: return 417;
    case HTTP_PARSE_NOT_IMPLEMENTED: return 501;
    case HTTP_PARSE_BAD_VERSION: return 505;
    }
    return 400;
}

struct str http_header_find(const struct http_header *headers, size_t count, const char *name)
{
    struct str n = str_from_cstr(name);
    for (size_t i = 0; i < count; i++) {
        if (str_eq_nocase(headers[i].name, n))
            return headers[i].value;
    }
    return (struct str){NULL, 0};
}

/* Calls fn on each non-empty element of a comma-separated list (RFC 9110 §5.6.1),
 * trimmed of whitespace. Stops and returns false when fn does. */
typedef bool list_item_fn(struct str item, void *ctx);
static bool for_each_list_item(struct str v, list_item_fn *fn, void *ctx)
{
    size_t start = 0;
    for (size_t i = 0; i <= v.len; i++) {
        if (i == v.len || v.ptr[i] == ',') {
            struct str item = str_trim_ows((struct str){v.ptr + start, i - start});
            if (item.len && !fn(item, ctx))
                return false;
            start = i + 1;
        }
    }
    return true;
}

struct te_state {
    size_t count;
    bool last_is_chunked;
    bool chunked_seen_before_last;
    bool has_unknown;
};

static bool te_item(struct str item, void *ctx)
{
    struct te_state *st = ctx;
    /* A coding may carry parameters: "gzip;q=1" names gzip. */
    const char *semi = memchr(item.ptr, ';', item.len);
    struct str name =
        str_trim_ows((struct str){item.ptr, semi ? (size_t)(semi - item.ptr) : item.len});
    if (st->last_is_chunked)
        st->chunked_seen_before_last = true;
    st->count++;
    st->last_is_chunked = str_eq_cstr_nocase(name, "chunked") && !semi;
    if (!st->last_is_chunked)
        st->has_unknown = true;
    return true;
}

struct conn_state {
    bool close;
    bool keep_alive;
};

static bool connection_item(struct str item, void *ctx)
{
    struct conn_state *st = ctx;
    if (str_eq_cstr_nocase(item, "close"))
        st->close = true;
    else if (str_eq_cstr_nocase(item, "keep-alive"))
        st->keep_alive = true;
    return true;
}

#define FAIL(result, text)                                                                         \
    do {                                                                                           \
        *why = (text);                                                                             \
        return (result);                                                                           \
    } while (0)

/* Parses "HTTP/1.x"; returns DONE, BAD_VERSION for another well-formed
 * version, BAD_REQUEST for garbage. */
static enum http_parse_result parse_version(struct str v, int *minor)
{
    if (v.len != 8 || memcmp(v.ptr, "HTTP/", 5) != 0 || v.ptr[6] != '.')
        return HTTP_PARSE_BAD_REQUEST;
    char major = v.ptr[5], mi = v.ptr[7];
    if (major < '0' || major > '9' || mi < '0' || mi > '9')
        return HTTP_PARSE_BAD_REQUEST;
    if (major != '1' || (mi != '0' && mi != '1'))
        return HTTP_PARSE_BAD_VERSION;
    *minor = mi - '0';
    return HTTP_PARSE_DONE;
}

/* Splits the request-target into path and query. origin-form is "/path?query";
 * absolute-form "http://host/path" (RFC 9112 §3.2.2) is accepted and its path
 * used; "*" (asterisk-form) only for OPTIONS. */
static bool split_target(struct http_parsed *p)
{
    struct str t = p->target;
    if (t.len == 1 && t.ptr[0] == '*') {
        if (p->method_id != HTTP_METHOD_OPTIONS)
            return false;
        p->path = t;
        p->query = (struct str){t.ptr + 1, 0};
        return true;
    }
    if (t.ptr[0] != '/') {
        size_t skip;
        if (t.len > 7 && str_eq_nocase((struct str){t.ptr, 7}, STR_LIT("http://")))
            skip = 7;
        else if (t.len > 8 && str_eq_nocase((struct str){t.ptr, 8}, STR_LIT("https://")))
            skip = 8;
        else
            return false;
        const char *slash = memchr(t.ptr + skip, '/', t.len - skip);
        const char *qmark = memchr(t.ptr + skip, '?', t.len - skip);
        if (!slash || (qmark && qmark < slash)) {
            /* "http://host" and "http://host?q" mean the path "/". */
            p->path = STR_LIT("/");
            p->query = qmark ? (struct str){qmark + 1, t.len - (size_t)(qmark - t.ptr) - 1}
                             : (struct str){t.ptr + t.len, 0};
            return memchr(t.ptr, '#', t.len) == NULL;
        }
        t.len -= (size_t)(slash - t.ptr);
        t.ptr = slash;
    }
    const char *q = memchr(t.ptr, '?', t.len);
    if (q) {
        p->path = (struct str){t.ptr, (size_t)(q - t.ptr)};
        p->query = (struct str){q + 1, t.len - (size_t)(q - t.ptr) - 1};
    } else {
        p->path = t;
        p->query = (struct str){t.ptr + t.len, 0};
    }
    /* A fragment is never sent (RFC 9112 §3.2.1). */
    return memchr(t.ptr, '#', t.len) == NULL;
}

/* Reads the request line at buf[0..len) (the head is complete, so a LF is there). */
static enum http_parse_result parse_request_line(const char *buf, size_t len,
                                                 const struct http_limits *limits,
                                                 struct http_parsed *p, size_t *used,
                                                 const char **why)
{
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)buf[i]))
        i++;
    if (i == 0 || i >= len || buf[i] != ' ')
        FAIL(HTTP_PARSE_BAD_REQUEST, "Malformed request line.");
    p->method = (struct str){buf, i};
    p->method_id = method_id(p->method);
    size_t t0 = ++i;
    /* request-target: visible ASCII only; no spaces, controls or obs-text. */
    while (i < len && (unsigned char)buf[i] > 0x20 && (unsigned char)buf[i] < 0x7F)
        i++;
    if (i - t0 > limits->max_target)
        FAIL(HTTP_PARSE_URI_TOO_LONG, "Request target too long.");
    if (i == t0 || i >= len || buf[i] != ' ')
        FAIL(HTTP_PARSE_BAD_REQUEST, "Malformed request target.");
    p->target = (struct str){buf + t0, i - t0};
    size_t v0 = ++i;
    while (i < len && buf[i] != '\r' && buf[i] != '\n')
        i++;
    if (i + 1 >= len || buf[i] != '\r' || buf[i + 1] != '\n')
        FAIL(HTTP_PARSE_BAD_REQUEST, "Request line must end with CRLF.");
    enum http_parse_result r = parse_version((struct str){buf + v0, i - v0}, &p->version_minor);
    if (r == HTTP_PARSE_BAD_VERSION)
        FAIL(r, "HTTP version not supported.");
    if (r != HTTP_PARSE_DONE)
        FAIL(r, "Malformed HTTP version.");
    if (!split_target(p))
        FAIL(HTTP_PARSE_BAD_REQUEST, "Malformed request target.");
    *used = i + 2;
    return HTTP_PARSE_DONE;
}

/* Reads header lines from buf[0..len) until the empty line. */
static enum http_parse_result parse_headers(const char *buf, size_t len, struct http_parsed *p,
                                            size_t *used, const char **why)
{
    size_t i = 0;
    for (;;) {
        if (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n') {
            *used = i + 2;
            return HTTP_PARSE_DONE;
        }
        if (i >= len)
            FAIL(HTTP_PARSE_BAD_REQUEST, "Malformed header section.");
        /* obs-fold: a line starting with whitespace continues the previous one;
         * RFC 9112 §5.2 lets a server reject it, and we do. */
        if (buf[i] == ' ' || buf[i] == '\t')
            FAIL(HTTP_PARSE_BAD_REQUEST, "Obsolete line folding is not accepted.");
        size_t n0 = i;
        while (i < len && is_tchar((unsigned char)buf[i]))
            i++;
        if (i >= len || buf[i] != ':') {
            if (i < len && (buf[i] == ' ' || buf[i] == '\t'))
                FAIL(HTTP_PARSE_BAD_REQUEST, "Whitespace before a header colon.");
            FAIL(HTTP_PARSE_BAD_REQUEST, "Malformed header name.");
        }
        if (i == n0)
            FAIL(HTTP_PARSE_BAD_REQUEST, "Empty header name.");
        struct str name = {buf + n0, i - n0};
        i++;
        size_t v0 = i;
        while (i < len && is_field_char((unsigned char)buf[i]))
            i++;
        if (i >= len)
            FAIL(HTTP_PARSE_BAD_REQUEST, "Malformed header section.");
        if (buf[i] != '\r') {
            if (buf[i] == '\n')
                FAIL(HTTP_PARSE_BAD_REQUEST, "Header line must end with CRLF.");
            FAIL(HTTP_PARSE_BAD_REQUEST, "Invalid character in a header value.");
        }
        if (i + 1 >= len || buf[i + 1] != '\n')
            FAIL(HTTP_PARSE_BAD_REQUEST, "Bare CR in a header.");
        if (p->header_count == HTTP_MAX_HEADERS)
            FAIL(HTTP_PARSE_HEADERS_TOO_LARGE, "Too many header fields.");
        p->headers[p->header_count].name = name;
        p->headers[p->header_count].value = str_trim_ows((struct str){buf + v0, i - v0});
        p->header_count++;
        i += 2;
    }
}

/* Applies the framing rules of RFC 9112 §6 and the Host rule of §3.2. */
static enum http_parse_result derive_framing(struct http_parsed *p, const char **why)
{
    struct te_state te = {0};
    struct conn_state conn = {0};
    size_t host_count = 0;
    for (size_t k = 0; k < p->header_count; k++) {
        struct str name = p->headers[k].name;
        struct str value = p->headers[k].value;
        if (str_eq_cstr_nocase(name, "content-length")) {
            if (p->has_content_length)
                FAIL(HTTP_PARSE_BAD_REQUEST, "Repeated Content-Length.");
            if (!str_to_u64(value, &p->content_length))
                FAIL(HTTP_PARSE_BAD_REQUEST, "Malformed Content-Length.");
            p->has_content_length = true;
        } else if (str_eq_cstr_nocase(name, "transfer-encoding")) {
            for_each_list_item(value, te_item, &te);
        } else if (str_eq_cstr_nocase(name, "host")) {
            host_count++;
            p->host = value;
        } else if (str_eq_cstr_nocase(name, "connection")) {
            for_each_list_item(value, connection_item, &conn);
        } else if (str_eq_cstr_nocase(name, "expect")) {
            if (!str_eq_cstr_nocase(value, "100-continue"))
                FAIL(HTTP_PARSE_EXPECTATION, "Unsupported expectation.");
            p->expects_continue = p->version_minor == 1;
        }
    }
    if (te.count) {
        if (p->version_minor == 0)
            FAIL(HTTP_PARSE_BAD_REQUEST, "Transfer-Encoding is not allowed in HTTP/1.0.");
        if (p->has_content_length)
            FAIL(HTTP_PARSE_BAD_REQUEST, "Both Content-Length and Transfer-Encoding.");
        if (!te.last_is_chunked)
            FAIL(HTTP_PARSE_BAD_REQUEST, "The final transfer coding must be chunked.");
        if (te.chunked_seen_before_last)
            FAIL(HTTP_PARSE_BAD_REQUEST, "chunked applied more than once.");
        if (te.has_unknown)
            FAIL(HTTP_PARSE_NOT_IMPLEMENTED, "Unsupported transfer coding.");
        p->is_chunked = true;
    } else {
        for (size_t k = 0; k < p->header_count; k++) {
            /* A Transfer-Encoding header with an empty list is still a TE header. */
            if (str_eq_cstr_nocase(p->headers[k].name, "transfer-encoding"))
                FAIL(HTTP_PARSE_BAD_REQUEST, "Empty Transfer-Encoding.");
        }
    }
    if (p->version_minor == 1 && host_count != 1)
        FAIL(HTTP_PARSE_BAD_REQUEST, host_count ? "Repeated Host header." : "Missing Host header.");
    if (host_count > 1)
        FAIL(HTTP_PARSE_BAD_REQUEST, "Repeated Host header.");
    for (size_t i = 0; i < p->host.len; i++) {
        unsigned char c = (unsigned char)p->host.ptr[i];
        if (c <= 0x20 || c >= 0x7F || c == '/' || c == '?' || c == '#' || c == '@')
            FAIL(HTTP_PARSE_BAD_REQUEST, "Malformed Host header.");
    }
    if (p->version_minor == 1)
        p->is_keep_alive = !conn.close;
    else
        p->is_keep_alive = conn.keep_alive && !conn.close;
    return HTTP_PARSE_DONE;
}

enum http_parse_result http_parse_request(const char *buf, size_t len,
                                          const struct http_limits *limits, struct http_parsed *out,
                                          const char **why)
{
    *why = NULL;
    memset(out, 0, offsetof(struct http_parsed, headers));
    out->header_count = 0;
    out->host = (struct str){NULL, 0};
    out->has_content_length = false;
    out->content_length = 0;
    out->is_chunked = false;
    out->is_keep_alive = false;
    out->expects_continue = false;

    size_t skip = skip_leading_empty_lines(buf, len);
    size_t scanned = skip;
    size_t end = http_find_head_end(buf, len, &scanned);
    if (!end) {
        /* No LF yet, so the request line is still arriving: past the target
         * limit plus room for method and version, it cannot end well. */
        if (len - skip > limits->max_target + 64 && !memchr(buf + skip, '\n', len - skip))
            FAIL(HTTP_PARSE_URI_TOO_LONG, "Request target too long.");
        if (len > limits->max_header_bytes)
            FAIL(HTTP_PARSE_HEADERS_TOO_LARGE, "Request header section too large.");
        return HTTP_PARSE_PARTIAL;
    }
    if (end > limits->max_header_bytes + skip) {
        /* Still report an over-long target as such. */
        const char *nl = memchr(buf + skip, '\n', end - skip);
        if (nl && (size_t)(nl - buf) - skip > limits->max_target + 64)
            FAIL(HTTP_PARSE_URI_TOO_LONG, "Request target too long.");
        FAIL(HTTP_PARSE_HEADERS_TOO_LARGE, "Request header section too large.");
    }
    size_t used = 0;
    enum http_parse_result r = parse_request_line(buf + skip, end - skip, limits, out, &used, why);
    if (r != HTTP_PARSE_DONE)
        return r;
    size_t hused = 0;
    r = parse_headers(buf + skip + used, end - skip - used, out, &hused, why);
    if (r != HTTP_PARSE_DONE)
        return r;
    if (skip + used + hused != end)
        FAIL(HTTP_PARSE_BAD_REQUEST, "Malformed header section.");
    r = derive_framing(out, why);
    if (r != HTTP_PARSE_DONE)
        return r;
    out->head_len = end;
    return HTTP_PARSE_DONE;
}
