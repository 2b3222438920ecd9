/* multipart.c -- see multipart.h.
 *
 * DESIGN
 * Two passes over the body. The first walks the delimiters only, to check the
 * framing and count the parts (stopping at HTTP_MULTIPART_MAX_PARTS + 1), so
 * that the part array is allocated once, at its exact size, with
 * arena_try_alloc(); the second walks them again and parses each part's
 * header section. The delimiter search is memmem() for "\r\n--boundary" and
 * resumes past each false hit, so both passes are linear in the body.
 *
 * RULES
 * PocketBase reads forms with Go's mime/multipart, so where the RFCs leave
 * room we do what Go does, except where Go's leniency lets two readers split
 * one body differently.
 * - A delimiter is CRLF "--" boundary (RFC 2046 §5.1.1); the first one may also
 *   open the body without the CRLF. After "--boundary" comes "--" (close), or
 *   transport padding (SP/HT) and CRLF (next part). Any other byte means it was
 *   data ("--foo" is not "--foobar"), which is Go's matchAfterPrefix; padding,
 *   CR or LF not ending in CRLF is refused (Go refuses it one step later).
 *   Bare-LF bodies, which Go tolerates, are refused: every sender we know
 *   (browsers, undici, curl, Go, Python) sends CRLF, and the request-head
 *   parser refuses bare LF too.
 * - The close delimiter may be followed by padding, then CRLF + epilogue or the
 *   end of the body; anything else is refused. A body without it is refused as
 *   truncated (Go: io.ErrUnexpectedEOF). Zero parts ("--b--") is accepted:
 *   browsers and undici send exactly that for an empty FormData.
 * - Header section: lines ending in CRLF, then an empty line; at most 8 KiB.
 *   Field names are RFC 9110 tokens (as Go's textproto), matched
 *   case-insensitively, no space before the colon; values may hold UTF-8
 *   (browsers send raw UTF-8 filenames) but no control byte except HT. Folded
 *   lines are refused, as the request-head parser refuses obs-fold. A part with
 *   empty data still has its empty line ("...CRLF CRLF CRLF--b"); Go also takes
 *   a delimiter straight after the last header's CRLF, we do not.
 * - Content-Disposition: exactly one, type form-data, with a name parameter
 *   (RFC 7578 §4.2). Content-Type: at most one. Content-Transfer-Encoding:
 *   absent, 7bit, 8bit or binary (§4.7 deprecates it; Go decodes
 *   quoted-printable, we refuse rather than hand back encoded bytes). Other
 *   fields are ignored.
 * - Parameters follow RFC 2045 §5.1 as Go's mime.ParseMediaType reads it:
 *   case-insensitive names, a token or quoted-string value, OWS around ';' and
 *   '=', a trailing ';' allowed. A repeated name, filename or filename* is
 *   refused (which one would win is exactly what two readers disagree on).
 *   In a quoted-string a backslash escapes only a tspecial and is literal
 *   before anything else, so MSIE's unescaped "C:\dir\f.txt" survives (Go's
 *   consumeValue).
 * - name and filename: the WHATWG form encoding sends '"', CR and LF as %22,
 *   %0D and %0A (Chrome, Firefox, undici and curl >= 7.81 do). Exactly those
 *   three escapes are decoded; any other '%' is literal, since browsers do not
 *   escape '%' itself. Go decodes none of them: the difference shows only in
 *   names no PocketBase field can have and in filenames storage renames.
 * - filename*=charset'lang'pct-encoded (RFC 5987) replaces filename when the
 *   charset is utf-8 or us-ascii and every escape is valid; otherwise it is
 *   ignored (Go's decode2231Enc). The filename is returned as sent: RFC 7578
 *   §4.2 says to drop directory parts (Go's FileName() takes filepath.Base),
 *   which the file layer does when it normalizes the name.
 * - Go's ReadForm treats a part with filename="" as a text field and skips a
 *   part with an empty name; we report both as sent (has_filename, name "")
 *   and leave the choice to the caller. */
#include "http/multipart.h"

#include <string.h>

#include "base/str.h"

/* Sets *why, when the caller asked for it, and returns rc. */
static enum rc fail(const char **why, enum rc rc, const char *msg)
{
    if (why)
        *why = msg;
    return rc;
}

/* ------------------------------------------------------------------------
 * Character classes and parameters
 * ------------------------------------------------------------------------ */

/* RFC 2045 §5.1 tspecials. */
static bool is_tspecial(unsigned char c)
{
    return c != 0 && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* RFC 2045 token character: what may stand unquoted in a parameter. */
static bool is_mime_token(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !is_tspecial(c);
}

/* RFC 9110 tchar: what a header field name is made of. */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 2046 §5.1.1 bchars (space allowed, but not last). */
static bool is_bchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("'()+_,-./:=? ", c) != NULL;
}

static size_t skip_ows(struct str s, size_t i)
{
    while (i < s.len && (s.ptr[i] == ' ' || s.ptr[i] == '\t'))
        i++;
    return i;
}

static size_t skip_mime_token(struct str s, size_t i)
{
    while (i < s.len && is_mime_token((unsigned char)s.ptr[i]))
        i++;
    return i;
}

struct param {
    struct str name;  /* as sent */
    struct str value; /* the token, or what is inside the quotes, still escaped */
    bool is_quoted;
};

enum param_result { PARAM_END, PARAM_NEXT, PARAM_BAD };

/* Reads the next `; name=value` off the front of *s and advances *s past it.
 * PARAM_END when only OWS (and at most one trailing ';') is left. */
static enum param_result next_param(struct str *s, struct param *p)
{
    size_t i = skip_ows(*s, 0);
    if (i == s->len)
        return PARAM_END;
    if (s->ptr[i] != ';')
        return PARAM_BAD;
    i = skip_ows(*s, i + 1);
    if (i == s->len)
        return PARAM_END; /* a trailing ';', which Go ignores too */
    size_t start = i;
    i = skip_mime_token(*s, i);
    if (i == start)
        return PARAM_BAD;
    p->name = (struct str){s->ptr + start, i - start};
    i = skip_ows(*s, i);
    if (i == s->len || s->ptr[i] != '=')
        return PARAM_BAD;
    i = skip_ows(*s, i + 1);
    if (i < s->len && s->ptr[i] == '"') {
        start = ++i;
        while (i < s->len && s->ptr[i] != '"') {
            /* Only an escaped tspecial (such as \") is skipped as a pair. */
            if (s->ptr[i] == '\\' && i + 1 < s->len && is_tspecial((unsigned char)s->ptr[i + 1]))
                i++;
            i++;
        }
        if (i >= s->len)
            return PARAM_BAD; /* unterminated quoted-string */
        p->value = (struct str){s->ptr + start, i - start};
        p->is_quoted = true;
        i++;
    } else {
        start = i;
        i = skip_mime_token(*s, i);
        if (i == start)
            return PARAM_BAD; /* "name=" with nothing after it */
        p->value = (struct str){s->ptr + start, i - start};
        p->is_quoted = false;
    }
    s->ptr += i;
    s->len -= i;
    return PARAM_NEXT;
}

/* The byte a browser escape at p[0..2) ("22", "0D", "0A") stands for, or -1. */
static int browser_escape(const char *p)
{
    if (p[0] == '2' && p[1] == '2')
        return '"';
    if (p[0] == '0' && (p[1] == 'D' || p[1] == 'd'))
        return '\r';
    if (p[0] == '0' && (p[1] == 'A' || p[1] == 'a'))
        return '\n';
    return -1;
}

/* Writes p's value into out (room for p.value.len bytes) with quoted-string
 * escapes undone and, when is_form, the three browser escapes decoded.
 * Returns the length written, never more than p.value.len. */
static size_t unescape(struct param p, bool is_form, char *out)
{
    struct str v = p.value;
    size_t o = 0;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.ptr[i];
        if (c == '\\' && p.is_quoted && i + 1 < v.len && is_tspecial((unsigned char)v.ptr[i + 1])) {
            out[o++] = v.ptr[++i];
            continue;
        }
        if (c == '%' && is_form && i + 2 < v.len) {
            int d = browser_escape(v.ptr + i + 1);
            if (d >= 0) {
                out[o++] = (char)d;
                i += 2;
                continue;
            }
        }
        out[o++] = c;
    }
    return o;
}

/* A name or filename value, decoded; a slice of the input when nothing needs
 * decoding (the common case), else a copy in a. */
static enum rc decode_form_value(struct param p, struct arena *a, struct str *out)
{
    struct str v = p.value;
    bool has_escape = memchr(v.ptr, '%', v.len) || (p.is_quoted && memchr(v.ptr, '\\', v.len));
    if (!has_escape) {
        *out = v;
        return RC_OK;
    }
    char *buf = arena_try_alloc(a, v.len); /* v.len < HTTP_MULTIPART_MAX_HEADER_BYTES */
    if (!buf)
        return RC_NOMEM;
    *out = (struct str){buf, unescape(p, true, buf)};
    return RC_OK;
}

/* filename*=charset'lang'pct-encoded. *ok is false (and *out untouched) when
 * the value is not one we can decode: it is then ignored, as Go does. */
static enum rc decode_ext_value(struct param p, struct arena *a, struct str *out, bool *ok)
{
    *ok = false;
    if (p.value.len == 0)
        return RC_OK;
    char *buf = arena_try_alloc(a, p.value.len);
    if (!buf)
        return RC_NOMEM;
    size_t n = unescape(p, false, buf);
    const char *q1 = memchr(buf, '\'', n);
    if (!q1)
        return RC_OK;
    const char *q2 = memchr(q1 + 1, '\'', n - (size_t)(q1 + 1 - buf));
    if (!q2)
        return RC_OK;
    struct str charset = {buf, (size_t)(q1 - buf)};
    if (!str_eq_cstr_nocase(charset, "utf-8") && !str_eq_cstr_nocase(charset, "us-ascii"))
        return RC_OK;
    /* Decode in place: the write index never passes the read index. */
    size_t o = 0;
    for (size_t i = (size_t)(q2 + 1 - buf); i < n; i++) {
        if (buf[i] != '%') {
            buf[o++] = buf[i];
            continue;
        }
        if (n - i < 3)
            return RC_OK;
        int hi = str_hex_value(buf[i + 1]);
        int lo = str_hex_value(buf[i + 2]);
        if (hi < 0 || lo < 0)
            return RC_OK;
        buf[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    *out = (struct str){buf, o};
    *ok = true;
    return RC_OK;
}

/* ------------------------------------------------------------------------
 * Content-Type: multipart/form-data; boundary=...
 * ------------------------------------------------------------------------ */

enum rc http_multipart_boundary(struct str content_type, struct str *boundary)
{
    const char *semi = content_type.len ? memchr(content_type.ptr, ';', content_type.len) : NULL;
    size_t type_len = semi ? (size_t)(semi - content_type.ptr) : content_type.len;
    struct str type = str_trim_ows((struct str){content_type.ptr, type_len});
    if (!str_eq_cstr_nocase(type, "multipart/form-data"))
        return RC_NOT_FOUND;
    struct str rest = {content_type.ptr + type_len, content_type.len - type_len};
    struct param p;
    struct str value = {NULL, 0};
    bool is_found = false;
    enum param_result r;
    while ((r = next_param(&rest, &p)) == PARAM_NEXT) {
        if (!str_eq_cstr_nocase(p.name, "boundary"))
            continue;
        if (is_found)
            return RC_INVALID;
        is_found = true;
        value = p.value;
    }
    if (r == PARAM_BAD || !is_found)
        return RC_INVALID;
    if (value.len == 0 || value.len > HTTP_MULTIPART_MAX_BOUNDARY)
        return RC_INVALID;
    /* A backslash is not a bchar, so a valid quoted boundary has no escapes
     * and the slice can be returned as is. */
    for (size_t i = 0; i < value.len; i++) {
        if (!is_bchar((unsigned char)value.ptr[i]))
            return RC_INVALID;
    }
    if (value.ptr[value.len - 1] == ' ')
        return RC_INVALID;
    *boundary = value;
    return RC_OK;
}

/* ------------------------------------------------------------------------
 * Framing: delimiters
 * ------------------------------------------------------------------------ */

enum delim { DELIM_NONE, DELIM_NEXT, DELIM_CLOSE };

struct framer {
    struct str body;
    char needle[4 + HTTP_MULTIPART_MAX_BOUNDARY]; /* CRLF "--" boundary */
    size_t needle_len;
    size_t pos;     /* offset where the next part starts */
    bool is_closed; /* the close delimiter has been read */
};

static bool is_crlf_at(struct str s, size_t i)
{
    return i + 1 < s.len && s.ptr[i] == '\r' && s.ptr[i + 1] == '\n';
}

/* Classifies what follows a "--boundary" that ends at offset q. On DELIM_NEXT
 * *after is the offset just past the delimiter line's CRLF. */
static enum rc classify(struct str body, size_t q, enum delim *kind, size_t *after,
                        const char **why)
{
    if (q == body.len)
        return fail(why, RC_INVALID, "body ends inside a multipart delimiter");
    char c = body.ptr[q];
    if (c == '-') {
        if (q + 1 == body.len)
            return fail(why, RC_INVALID, "body ends inside a multipart delimiter");
        if (body.ptr[q + 1] != '-') {
            *kind = DELIM_NONE;
            return RC_OK;
        }
        size_t i = skip_ows(body, q + 2);
        if (i < body.len && !is_crlf_at(body, i))
            return fail(why, RC_INVALID, "junk after the closing multipart delimiter");
        *kind = DELIM_CLOSE;
        return RC_OK;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        size_t i = skip_ows(body, q);
        if (!is_crlf_at(body, i))
            return fail(why, RC_INVALID, "malformed multipart delimiter line");
        *kind = DELIM_NEXT;
        *after = i + 2;
        return RC_OK;
    }
    *kind = DELIM_NONE;
    return RC_OK;
}

/* Finds the first real delimiter at or after from. *at is the offset of its
 * CRLF (the end of the part before it). *kind is DELIM_NONE when there is none. */
static enum rc find_delimiter(const struct framer *fr, size_t from, size_t *at, enum delim *kind,
                              size_t *after, const char **why)
{
    struct str body = fr->body;
    *kind = DELIM_NONE;
    while (from < body.len) {
        const char *hit = memmem(body.ptr + from, body.len - from, fr->needle, fr->needle_len);
        if (!hit)
            break;
        size_t h = (size_t)(hit - body.ptr);
        enum rc rc = classify(body, h + fr->needle_len, kind, after, why);
        if (rc)
            return rc;
        if (*kind != DELIM_NONE) {
            *at = h;
            return RC_OK;
        }
        from = h + 1;
    }
    return RC_OK;
}

/* Checks boundary, then finds the opening delimiter, at offset 0 or after the
 * preamble. */
static enum rc framer_init(struct framer *fr, struct str body, struct str boundary,
                           const char **why)
{
    if (boundary.len == 0 || boundary.len > HTTP_MULTIPART_MAX_BOUNDARY)
        return fail(why, RC_INVALID, "multipart boundary is not 1 to 70 bytes");
    fr->body = body;
    memcpy(fr->needle, "\r\n--", 4);
    memcpy(fr->needle + 4, boundary.ptr, boundary.len);
    fr->needle_len = 4 + boundary.len;
    fr->is_closed = false;
    enum delim kind = DELIM_NONE;
    size_t after = 0;
    if (body.len >= fr->needle_len - 2 &&
        memcmp(body.ptr, fr->needle + 2, fr->needle_len - 2) == 0) {
        enum rc rc = classify(body, fr->needle_len - 2, &kind, &after, why);
        if (rc)
            return rc;
    }
    if (kind == DELIM_NONE) {
        size_t at;
        enum rc rc = find_delimiter(fr, 0, &at, &kind, &after, why);
        if (rc)
            return rc;
        if (kind == DELIM_NONE)
            return fail(why, RC_INVALID, "multipart body has no opening delimiter");
    }
    fr->is_closed = kind == DELIM_CLOSE;
    fr->pos = after;
    return RC_OK;
}

/* The next part: on RC_OK and *has_part, body[*start, *end) holds its header
 * section and data. */
static enum rc frame_next(struct framer *fr, bool *has_part, size_t *start, size_t *end,
                          const char **why)
{
    if (fr->is_closed) {
        *has_part = false;
        return RC_OK;
    }
    enum delim kind;
    size_t after = 0;
    enum rc rc = find_delimiter(fr, fr->pos, end, &kind, &after, why);
    if (rc)
        return rc;
    if (kind == DELIM_NONE)
        return fail(why, RC_INVALID, "multipart body has no closing delimiter");
    *has_part = true;
    *start = fr->pos;
    if (kind == DELIM_CLOSE)
        fr->is_closed = true;
    else
        fr->pos = after;
    return RC_OK;
}

/* ------------------------------------------------------------------------
 * Part headers
 * ------------------------------------------------------------------------ */

static enum rc parse_disposition(struct str v, struct arena *a, struct http_multipart_part *out,
                                 const char **why)
{
    size_t i = skip_mime_token(v, 0);
    if (!str_eq_cstr_nocase((struct str){v.ptr, i}, "form-data"))
        return fail(why, RC_INVALID, "part Content-Disposition is not form-data");
    struct str rest = {v.ptr + i, v.len - i};
    struct param p, name = {0}, filename = {0}, filename_ext = {0};
    bool has_name = false;
    bool has_filename = false;
    bool has_filename_ext = false;
    enum param_result r;
    while ((r = next_param(&rest, &p)) == PARAM_NEXT) {
        struct param *slot = NULL;
        bool *seen = NULL;
        if (str_eq_cstr_nocase(p.name, "name")) {
            slot = &name;
            seen = &has_name;
        } else if (str_eq_cstr_nocase(p.name, "filename")) {
            slot = &filename;
            seen = &has_filename;
        } else if (str_eq_cstr_nocase(p.name, "filename*")) {
            slot = &filename_ext;
            seen = &has_filename_ext;
        } else {
            continue;
        }
        if (*seen)
            return fail(why, RC_INVALID, "repeated parameter in part Content-Disposition");
        *seen = true;
        *slot = p;
    }
    if (r == PARAM_BAD)
        return fail(why, RC_INVALID, "malformed part Content-Disposition");
    if (!has_name)
        return fail(why, RC_INVALID, "part Content-Disposition has no name");
    enum rc rc = decode_form_value(name, a, &out->name);
    if (rc)
        return fail(why, rc, "out of memory");
    if (out->name.len > HTTP_MULTIPART_MAX_NAME)
        return fail(why, RC_TOO_LARGE, "part name longer than 255 bytes");
    if (has_filename_ext) {
        bool ok;
        rc = decode_ext_value(filename_ext, a, &out->filename, &ok);
        if (rc)
            return fail(why, rc, "out of memory");
        if (ok) {
            out->has_filename = true;
            return RC_OK;
        }
    }
    if (has_filename) {
        rc = decode_form_value(filename, a, &out->filename);
        if (rc)
            return fail(why, rc, "out of memory");
        out->has_filename = true;
    }
    return RC_OK;
}

/* One "Name: value" line, without its CRLF. */
static enum rc parse_header_line(struct str line, struct arena *a, struct http_multipart_part *out,
                                 bool *has_disposition, bool *has_type, const char **why)
{
    size_t i = 0;
    while (i < line.len && is_tchar((unsigned char)line.ptr[i]))
        i++;
    if (i == line.len || line.ptr[i] != ':') {
        if (!memchr(line.ptr, ':', line.len))
            return fail(why, RC_INVALID, "part header line without a colon");
        if (line.ptr[i] == ' ' || line.ptr[i] == '\t')
            return fail(why, RC_INVALID, "whitespace before the colon in a part header");
        return fail(why, RC_INVALID, "invalid character in a part header name");
    }
    if (i == 0)
        return fail(why, RC_INVALID, "part header with an empty name");
    struct str name = {line.ptr, i};
    struct str value = str_trim_ows((struct str){line.ptr + i + 1, line.len - i - 1});
    if (str_eq_cstr_nocase(name, "content-disposition")) {
        if (*has_disposition)
            return fail(why, RC_INVALID, "part has two Content-Disposition headers");
        *has_disposition = true;
        return parse_disposition(value, a, out, why);
    }
    if (str_eq_cstr_nocase(name, "content-type")) {
        if (*has_type)
            return fail(why, RC_INVALID, "part has two Content-Type headers");
        *has_type = true;
        out->content_type = value;
        return RC_OK;
    }
    if (str_eq_cstr_nocase(name, "content-transfer-encoding")) {
        if (!str_eq_cstr_nocase(value, "7bit") && !str_eq_cstr_nocase(value, "8bit") &&
            !str_eq_cstr_nocase(value, "binary"))
            return fail(why, RC_INVALID, "unsupported part Content-Transfer-Encoding");
    }
    return RC_OK;
}

/* Parses body[start, end): the header section, then the data up to end. */
static enum rc parse_part(struct str body, size_t start, size_t end, struct arena *a,
                          struct http_multipart_part *out, const char **why)
{
    const char *p = body.ptr + start;
    size_t n = end - start;
    size_t limit = n < HTTP_MULTIPART_MAX_HEADER_BYTES ? n : HTTP_MULTIPART_MAX_HEADER_BYTES;
    bool has_disposition = false;
    bool has_type = false;
    size_t i = 0;
    *out = (struct http_multipart_part){.name = {p, 0}, .filename = {p, 0}, .content_type = {p, 0}};
    for (;;) {
        if (i + 2 > limit)
            break;
        if (p[i] == '\r' && p[i + 1] == '\n') {
            i += 2;
            if (!has_disposition)
                return fail(why, RC_INVALID, "part has no Content-Disposition");
            out->data = (struct str){p + i, n - i};
            return RC_OK;
        }
        if (p[i] == ' ' || p[i] == '\t')
            return fail(why, RC_INVALID, "folded part header line");
        size_t line = i;
        while (i < limit && p[i] != '\r' && p[i] != '\n') {
            unsigned char c = (unsigned char)p[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return fail(why, RC_INVALID, "control byte in a part header");
            i++;
        }
        if (i < limit && p[i] == '\n')
            return fail(why, RC_INVALID, "bare LF in part headers");
        if (i + 1 >= limit)
            break;
        if (p[i + 1] != '\n')
            return fail(why, RC_INVALID, "bare CR in part headers");
        /* Refuse a fold before reading the line it continues, or the error
         * would be about the truncated first half. */
        if (i + 2 < limit && (p[i + 2] == ' ' || p[i + 2] == '\t'))
            return fail(why, RC_INVALID, "folded part header line");
        enum rc rc = parse_header_line((struct str){p + line, i - line}, a, out, &has_disposition,
                                       &has_type, why);
        if (rc)
            return rc;
        i += 2;
    }
    if (limit < n)
        return fail(why, RC_TOO_LARGE, "part header section over 8 KiB");
    return fail(why, RC_INVALID, "part headers not ended by an empty line");
}

/* ------------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------------ */

enum rc http_multipart_parse(struct str body, struct str boundary, struct arena *a,
                             struct http_multipart_part **parts, size_t *count, const char **why)
{
    *parts = NULL;
    *count = 0;
    struct framer fr;
    enum rc rc = framer_init(&fr, body, boundary, why);
    if (rc)
        return rc;
    const struct framer first = fr;
    bool has_part;
    size_t start;
    size_t end;
    size_t n = 0;
    for (;;) {
        rc = frame_next(&fr, &has_part, &start, &end, why);
        if (rc)
            return rc;
        if (!has_part)
            break;
        if (++n > HTTP_MULTIPART_MAX_PARTS)
            return fail(why, RC_TOO_LARGE, "more than 1000 multipart parts");
    }
    if (n == 0)
        return RC_OK;
    struct http_multipart_part *arr = arena_try_alloc(a, n * sizeof(*arr));
    if (!arr)
        return fail(why, RC_NOMEM, "out of memory");
    fr = first;
    for (size_t k = 0; k < n; k++) {
        rc = frame_next(&fr, &has_part, &start, &end, why);
        if (rc || !has_part)
            return rc ? rc : fail(why, RC_INTERNAL, "multipart framing changed between passes");
        rc = parse_part(body, start, end, a, &arr[k], why);
        if (rc)
            return rc;
    }
    *parts = arr;
    *count = n;
    return RC_OK;
}
