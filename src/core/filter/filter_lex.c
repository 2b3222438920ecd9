/* filter_lex.c -- see filter_lex.h. One pass, no backtracking past the
 * current token. Text escapes follow JSON (what the SDKs' pb.filter() emits
 * through JSON.stringify); an unknown escape such as `\%` keeps both bytes so
 * LIKE escaping written by hand survives (spec §3.1, §3.2). */
#include "base/str.h"
#include "core/filter/filter_lex.h"

#include <stdio.h>
#include <string.h>

#include "base/utf8.h"

static const char *const fop_names[] = {
    [CORE_FOP_EQ] = "=",        [CORE_FOP_NEQ] = "!=",      [CORE_FOP_LIKE] = "~",
    [CORE_FOP_NLIKE] = "!~",    [CORE_FOP_LT] = "<",        [CORE_FOP_LTE] = "<=",
    [CORE_FOP_GT] = ">",        [CORE_FOP_GTE] = ">=",      [CORE_FOP_ANY_EQ] = "?=",
    [CORE_FOP_ANY_NEQ] = "?!=", [CORE_FOP_ANY_LIKE] = "?~", [CORE_FOP_ANY_NLIKE] = "?!~",
    [CORE_FOP_ANY_LT] = "?<",   [CORE_FOP_ANY_LTE] = "?<=", [CORE_FOP_ANY_GT] = "?>",
    [CORE_FOP_ANY_GTE] = "?>=",
};

const char *core_fop_name(enum core_fop op)
{
    return fop_names[op];
}

void core_flex_init(struct core_flexer *lx, struct str src, struct arena *a)
{
    lx->src = src;
    lx->pos = 0;
    lx->a = a;
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident_char(char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == ':';
}

static enum rc fail(char *err, size_t err_cap, size_t offset, const char *what, char c)
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(err, err_cap, "%s '%c' at offset %zu", what, c, offset);
    else if (c)
        snprintf(err, err_cap, "%s (byte 0x%02x) at offset %zu", what, (unsigned char)c, offset);
    else
        snprintf(err, err_cap, "%s at offset %zu", what, offset);
    return RC_INVALID;
}

static char peek(const struct core_flexer *lx, size_t ahead)
{
    size_t i = lx->pos + ahead;
    return i < lx->src.len ? lx->src.ptr[i] : '\0';
}

static void skip_space(struct core_flexer *lx)
{
    for (;;) {
        char c = peek(lx, 0);
        if (lx->pos < lx->src.len && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            lx->pos++;
        } else if (c == '/' && peek(lx, 1) == '/') {
            while (lx->pos < lx->src.len && lx->src.ptr[lx->pos] != '\n')
                lx->pos++;
        } else {
            return;
        }
    }
}

/* Reads 4 hex digits at s[i..]; -1 when they are not there. */
static long read_hex4(struct str s, size_t i)
{
    if (i + 4 > s.len)
        return -1;
    long v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = str_hex_value(s.ptr[i + k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Decodes the text literal starting at the quote at lx->pos. */
static enum rc lex_text(struct core_flexer *lx, struct core_ftoken *t, char *err, size_t err_cap)
{
    struct str s = lx->src;
    char quote = s.ptr[lx->pos];
    size_t start = lx->pos + 1;
    size_t i = start;
    bool has_escape = false;
    /* First find the end, so the decoded copy is allocated once. */
    while (i < s.len && s.ptr[i] != quote) {
        if (s.ptr[i] == '\\') {
            has_escape = true;
            i++;
        }
        i++;
    }
    if (i >= s.len)
        return fail(err, err_cap, lx->pos, "unterminated text", '\0');
    size_t end = i;
    t->kind = CORE_FTOK_TEXT;
    lx->pos = end + 1;
    if (!has_escape) {
        t->text = (struct str){s.ptr + start, end - start};
        return RC_OK;
    }
    /* Decoding never grows the text: every escape is >= its UTF-8 form. */
    char *out = arena_alloc(lx->a, end - start + 1);
    size_t n = 0;
    for (i = start; i < end; i++) {
        char c = s.ptr[i];
        if (c != '\\') {
            out[n++] = c;
            continue;
        }
        char e = s.ptr[++i];
        switch (e) {
        case '\\':
        case '"':
        case '\'':
        case '/': out[n++] = e; break;
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'u': {
            long cp = read_hex4((struct str){s.ptr, end}, i + 1);
            if (cp < 0)
                return fail(err, err_cap, i - 1, "bad \\u escape", '\0');
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 2 < end && s.ptr[i + 1] == '\\' &&
                s.ptr[i + 2] == 'u') {
                long lo = read_hex4((struct str){s.ptr, end}, i + 3);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD; /* a lone surrogate has no UTF-8 form */
            n += utf8_encode((uint32_t)cp, out + n);
            break;
        }
        default:
            /* Unknown escape: keep the pair (LIKE's `\%` and `\_`). */
            out[n++] = '\\';
            out[n++] = e;
            break;
        }
    }
    out[n] = '\0';
    t->text = (struct str){out, n};
    return RC_OK;
}

static enum rc lex_number(struct core_flexer *lx, struct core_ftoken *t, char *err, size_t err_cap)
{
    size_t start = lx->pos;
    if (peek(lx, 0) == '-')
        lx->pos++;
    while (is_digit(peek(lx, 0)))
        lx->pos++;
    if (peek(lx, 0) == '.') {
        lx->pos++;
        if (!is_digit(peek(lx, 0)))
            return fail(err, err_cap, start, "malformed number", '\0');
        while (is_digit(peek(lx, 0)))
            lx->pos++;
    }
    char c = peek(lx, 0);
    if (is_ident_char(c) || c == '@' || c == '#')
        return fail(err, err_cap, start, "malformed number", '\0');
    t->kind = CORE_FTOK_NUMBER;
    t->text = (struct str){lx->src.ptr + start, lx->pos - start};
    return RC_OK;
}

static enum rc lex_ident(struct core_flexer *lx, struct core_ftoken *t, char *err, size_t err_cap)
{
    size_t start = lx->pos;
    lx->pos++;
    while (is_ident_char(peek(lx, 0)))
        lx->pos++;
    size_t len = lx->pos - start;
    char first = lx->src.ptr[start];
    char last = lx->src.ptr[lx->pos - 1];
    if (len == 1 && (first == '@' || first == '_' || first == '#'))
        return fail(err, err_cap, start, "lone", first);
    if (last == '.' || last == ':')
        return fail(err, err_cap, lx->pos - 1, "identifier must not end with", last);
    t->kind = CORE_FTOK_IDENT;
    t->text = (struct str){lx->src.ptr + start, len};
    t->is_call = peek(lx, 0) == '(';
    return RC_OK;
}

static enum rc lex_sign(struct core_flexer *lx, struct core_ftoken *t, char *err, size_t err_cap)
{
    size_t start = lx->pos;
    bool any = false;
    if (peek(lx, 0) == '?') {
        any = true;
        lx->pos++;
    }
    char c = peek(lx, 0);
    char n = peek(lx, 1);
    enum core_fop op;
    size_t used = 1;
    if (c == '=') {
        op = CORE_FOP_EQ;
    } else if (c == '~') {
        op = CORE_FOP_LIKE;
    } else if (c == '!' && n == '=') {
        op = CORE_FOP_NEQ;
        used = 2;
    } else if (c == '!' && n == '~') {
        op = CORE_FOP_NLIKE;
        used = 2;
    } else if (c == '<') {
        op = n == '=' ? CORE_FOP_LTE : CORE_FOP_LT;
        used = n == '=' ? 2 : 1;
    } else if (c == '>') {
        op = n == '=' ? CORE_FOP_GTE : CORE_FOP_GT;
        used = n == '=' ? 2 : 1;
    } else {
        return fail(err, err_cap, start, "unknown operator", lx->src.ptr[start]);
    }
    lx->pos += used;
    t->kind = CORE_FTOK_SIGN;
    t->op = any ? (enum core_fop)(op + CORE_FOP_ANY_OFFSET) : op;
    t->text = (struct str){lx->src.ptr + start, lx->pos - start};
    return RC_OK;
}

enum rc core_flex_next(struct core_flexer *lx, struct core_ftoken *t, char *err, size_t err_cap)
{
    skip_space(lx);
    memset(t, 0, sizeof(*t));
    t->offset = lx->pos;
    t->text = (struct str){lx->src.ptr + lx->pos, 0};
    if (lx->pos >= lx->src.len) {
        t->kind = CORE_FTOK_EOF;
        return RC_OK;
    }
    char c = lx->src.ptr[lx->pos];
    char n = peek(lx, 1);
    switch (c) {
    case '(':
    case ')':
    case ',':
        t->kind = c == '(' ? CORE_FTOK_LPAREN : c == ')' ? CORE_FTOK_RPAREN : CORE_FTOK_COMMA;
        t->text.len = 1;
        lx->pos++;
        return RC_OK;
    case '&':
    case '|':
        if (n != c)
            return fail(err, err_cap, lx->pos, "unexpected", c);
        t->kind = c == '&' ? CORE_FTOK_AND : CORE_FTOK_OR;
        t->text.len = 2;
        lx->pos += 2;
        return RC_OK;
    case '\'':
    case '"': return lex_text(lx, t, err, err_cap);
    case '=':
    case '!':
    case '~':
    case '<':
    case '>':
    case '?': return lex_sign(lx, t, err, err_cap);
    case '{':
        if (n == ':')
            return fail(err, err_cap, lx->pos, "unreplaced placeholder", '\0');
        return fail(err, err_cap, lx->pos, "unexpected", c);
    default: break;
    }
    if (is_digit(c) || (c == '-' && is_digit(n)))
        return lex_number(lx, t, err, err_cap);
    if (is_alpha(c) || c == '_' || c == '@' || c == '#')
        return lex_ident(lx, t, err, err_cap);
    return fail(err, err_cap, lx->pos, "unexpected character", c);
}
