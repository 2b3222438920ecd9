/* chunked.c -- see chunked.h.
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*("0") [ chunk-ext ] CRLF
 *   chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *   chunk-ext-name = token;  chunk-ext-val = token / quoted-string
 * Line ends must be CRLF; a bare LF or CR is malformed, and so is an
 * extension off that grammar (an empty one, "5;", whitespace before the CR):
 * no leniency, so a proxy in front cannot read the body differently. */
#include "http/chunked.h"

#include <string.h>

#include "base/str.h"

enum {
    ST_SIZE,          /* reading hex digits */
    ST_EXT_SEMI,      /* BWS that must lead to ';' */
    ST_EXT_NAME_BWS,  /* after ';': BWS, then the name's first tchar */
    ST_EXT_NAME,      /* inside chunk-ext-name */
    ST_EXT_NAME_END,  /* BWS after the name: '=' or ';' must follow */
    ST_EXT_VAL_BWS,   /* after '=': BWS, then a token or a quoted-string */
    ST_EXT_TOKEN,     /* inside a token value */
    ST_EXT_QUOTED,    /* inside a quoted-string value */
    ST_EXT_ESCAPE,    /* after '\\' in a quoted-string */
    ST_EXT_QUOTE_END, /* after the closing '"': ';', BWS or CR */
    ST_SIZE_LF,       /* CR seen after the size line */
    ST_DATA,          /* chunk data */
    ST_DATA_CR,       /* expecting CR after data */
    ST_DATA_LF,       /* expecting LF after data */
    ST_TRAILER,       /* at the start of a trailer line (or the final CRLF) */
    ST_TRAILER_LINE,  /* inside a trailer line */
    ST_TRAILER_LF,    /* CR seen at end of a trailer line */
    ST_FINAL_LF,      /* CR of the final empty line seen */
    ST_DONE,
};

/* tchar (RFC 9110 §5.6.2): the characters of a token. */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && memchr("!#$%&'*+-.^_`|~", c, 15) != NULL);
}

static bool is_bws(char c)
{
    return c == ' ' || c == '\t';
}

/* One byte of chunk-ext other than the CR that ends it: moves d to the next
 * state, or returns false when the byte breaks the grammar. */
static bool ext_step(struct http_chunked *d, char c)
{
    unsigned char u = (unsigned char)c;
    switch (d->state) {
    case ST_EXT_SEMI:
        if (c == ';')
            d->state = ST_EXT_NAME_BWS;
        return c == ';' || is_bws(c);
    case ST_EXT_NAME_BWS:
        if (is_tchar(u))
            d->state = ST_EXT_NAME;
        return is_tchar(u) || is_bws(c);
    case ST_EXT_NAME:
    case ST_EXT_NAME_END:
        if (c == '=')
            d->state = ST_EXT_VAL_BWS;
        else if (c == ';')
            d->state = ST_EXT_NAME_BWS;
        else if (is_bws(c))
            d->state = ST_EXT_NAME_END;
        else
            return d->state == ST_EXT_NAME && is_tchar(u);
        return true;
    case ST_EXT_VAL_BWS:
        if (c == '"')
            d->state = ST_EXT_QUOTED;
        else if (is_tchar(u))
            d->state = ST_EXT_TOKEN;
        else
            return is_bws(c);
        return true;
    case ST_EXT_TOKEN:
        if (c == ';')
            d->state = ST_EXT_NAME_BWS;
        else if (is_bws(c))
            d->state = ST_EXT_SEMI;
        else
            return is_tchar(u);
        return true;
    case ST_EXT_QUOTED:
        /* qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text */
        if (c == '"')
            d->state = ST_EXT_QUOTE_END;
        else if (c == '\\')
            d->state = ST_EXT_ESCAPE;
        else
            return c == '\t' || (u >= 0x20 && u != 0x7F);
        return true;
    case ST_EXT_ESCAPE:
        /* quoted-pair = "\\" ( HTAB / SP / VCHAR / obs-text ) */
        d->state = ST_EXT_QUOTED;
        return c == '\t' || (u >= 0x20 && u != 0x7F);
    case ST_EXT_QUOTE_END:
        if (c == ';')
            d->state = ST_EXT_NAME_BWS;
        else if (is_bws(c))
            d->state = ST_EXT_SEMI;
        else
            return false;
        return true;
    }
    return false;
}

void http_chunked_init(struct http_chunked *d)
{
    d->state = ST_SIZE;
    d->remaining = 0;
    d->digits = 0;
    d->line_len = 0;
    d->trailer_len = 0;
}

enum http_chunked_result http_chunked_decode(struct http_chunked *d, const char *in, size_t len,
                                             size_t *used, struct buf *out)
{
    size_t i = 0;
    enum http_chunked_result result = HTTP_CHUNKED_PARTIAL;
    while (i < len && d->state != ST_DONE) {
        char c = in[i];
        switch (d->state) {
        case ST_SIZE: {
            int h = str_hex_value(c);
            if (h >= 0) {
                /* 15 hex digits are already past any body limit we allow. */
                if (d->digits == 15)
                    goto bad;
                d->remaining = d->remaining * 16 + (uint64_t)h;
                d->digits++;
                i++;
                break;
            }
            if (d->digits == 0)
                goto bad;
            if (c == ';' || c == ' ' || c == '\t') {
                d->state = ST_EXT_SEMI;
                d->line_len = d->digits;
                break; /* ST_EXT_SEMI reads this byte */
            }
            if (c != '\r')
                goto bad;
            d->state = ST_SIZE_LF;
            i++;
            break;
        }
        case ST_EXT_SEMI:
        case ST_EXT_NAME_BWS:
        case ST_EXT_NAME:
        case ST_EXT_NAME_END:
        case ST_EXT_VAL_BWS:
        case ST_EXT_TOKEN:
        case ST_EXT_QUOTED:
        case ST_EXT_ESCAPE:
        case ST_EXT_QUOTE_END:
            if (c == '\r') {
                /* The line may end only after a whole extension. */
                if (d->state != ST_EXT_NAME && d->state != ST_EXT_TOKEN &&
                    d->state != ST_EXT_QUOTE_END)
                    goto bad;
                d->state = ST_SIZE_LF;
            } else if (++d->line_len > HTTP_CHUNKED_MAX_LINE || !ext_step(d, c)) {
                goto bad;
            }
            i++;
            break;
        case ST_SIZE_LF:
            if (c != '\n')
                goto bad;
            i++;
            if (d->remaining == 0) {
                d->state = ST_TRAILER;
            } else {
                if (d->remaining > out->max - out->len) {
                    result = HTTP_CHUNKED_TOO_LARGE;
                    goto out;
                }
                d->state = ST_DATA;
            }
            break;
        case ST_DATA: {
            size_t n = len - i;
            if (n > d->remaining)
                n = (size_t)d->remaining;
            enum rc rc = buf_append(out, in + i, n);
            if (rc) {
                result = rc == RC_TOO_LARGE ? HTTP_CHUNKED_TOO_LARGE : HTTP_CHUNKED_NOMEM;
                goto out;
            }
            i += n;
            d->remaining -= n;
            if (d->remaining == 0)
                d->state = ST_DATA_CR;
            break;
        }
        case ST_DATA_CR:
            if (c != '\r')
                goto bad;
            d->state = ST_DATA_LF;
            i++;
            break;
        case ST_DATA_LF:
            if (c != '\n')
                goto bad;
            d->state = ST_SIZE;
            d->digits = 0;
            d->remaining = 0;
            i++;
            break;
        case ST_TRAILER:
            if (c == '\r') {
                d->state = ST_FINAL_LF;
                i++;
                break;
            }
            /* A trailer field starts with a token character; anything else
             * (incl. obs-fold whitespace) is refused. */
            if (c == ' ' || c == '\t' || c == ':' || (unsigned char)c < 0x21 || c == 0x7F)
                goto bad;
            d->state = ST_TRAILER_LINE;
            d->line_len = 0;
            d->has_colon = false;
            break;
        case ST_TRAILER_LINE:
            if (c == ':')
                d->has_colon = true;
            if (c == '\r') {
                /* A trailer is a field line: name ":" value (RFC 9112 §7.1.2). */
                if (!d->has_colon)
                    goto bad;
                d->state = ST_TRAILER_LF;
            } else if (((unsigned char)c < 0x20 && c != '\t') || c == 0x7F) {
                goto bad;
            } else if (++d->line_len > HTTP_CHUNKED_MAX_LINE) {
                goto bad;
            }
            if (++d->trailer_len > HTTP_CHUNKED_MAX_TRAILERS)
                goto bad;
            i++;
            break;
        case ST_TRAILER_LF:
            if (c != '\n')
                goto bad;
            d->state = ST_TRAILER;
            i++;
            break;
        case ST_FINAL_LF:
            if (c != '\n')
                goto bad;
            d->state = ST_DONE;
            i++;
            break;
        }
    }
    if (d->state == ST_DONE)
        result = HTTP_CHUNKED_DONE;
out:
    *used = i;
    return result;
bad:
    *used = i;
    return HTTP_CHUNKED_BAD;
}
