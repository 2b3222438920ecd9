/* html_text.c -- see html_text.h.
 *
 * One pass over the input. Text is not written as it is met: whitespace and
 * block boundaries become debts (a space owed, line breaks owed) paid before
 * the next visible character, so no line ends in a space, no text starts
 * with a break, and a paragraph's closing tag and the next one's opening tag
 * make one blank line, not two. */
#include "base/html_text.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/utf8.h"

#define MAX_HREF (16 * 1024)

struct conv {
    struct buf *out;
    size_t start; /* out->len when we began: only what follows is ours */
    enum rc rc;   /* the first error; later writes do nothing */
    int breaks;   /* line breaks owed before the next text: 0, 1 or 2 */
    bool space;   /* a space owed before the next text */
    bool bullet;  /* a list item's "- " owed at the start of its text */
    bool in_link;
    bool link_has_text;
    size_t link_at; /* where the link's text begins in out */
    struct str href;
};

static void put(struct conv *c, const char *p, size_t n)
{
    if (c->rc == RC_OK)
        c->rc = buf_append(c->out, p, n);
}

static bool at_line_start(const struct conv *c)
{
    return c->out->len == c->start || c->out->data[c->out->len - 1] == '\n';
}

/* Pays the debts, then writes n bytes of visible text. */
static void text(struct conv *c, const char *p, size_t n)
{
    if (c->out->len > c->start) {
        if (c->breaks) {
            for (int i = at_line_start(c) ? 1 : 0; i < c->breaks; i++)
                put(c, "\n", 1);
        } else if (c->space && !at_line_start(c)) {
            put(c, " ", 1);
        }
    }
    c->breaks = 0;
    c->space = false;
    if (c->bullet) {
        c->bullet = false;
        put(c, "- ", 2);
    }
    if (c->in_link && !c->link_has_text) {
        c->link_has_text = true;
        c->link_at = c->out->len;
    }
    put(c, p, n);
}

static void code_point(struct conv *c, uint32_t cp)
{
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f') {
        c->space = true;
        return;
    }
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    char enc[4];
    text(c, enc, utf8_encode(cp, enc));
}

static void block(struct conv *c, int breaks)
{
    if (c->breaks < breaks)
        c->breaks = breaks;
    c->space = false;
}

static bool is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_alnum(char ch)
{
    return is_alpha(ch) || (ch >= '0' && ch <= '9');
}

static bool is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f';
}

/* ---- character references ------------------------------------------- */

static const struct {
    const char *name;
    uint32_t cp;
} named[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
    {"nbsp", ' '},     {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122}, {"hellip", 0x2026},
    {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C},
    {"rdquo", 0x201D}, {"laquo", 0xAB},   {"raquo", 0xBB},   {"bull", 0x2022},  {"middot", 0xB7},
    {"euro", 0x20AC},
};

/* The reference at s[0] == '&': its code point and length through ';', or
 * 0 when it is none we know (the '&' is then text). */
static size_t reference(const char *s, size_t n, uint32_t *cp)
{
    size_t end = 1;
    while (end < n && end < 12 && (is_alnum(s[end]) || (end == 1 && s[end] == '#')))
        end++;
    if (end >= n || s[end] != ';' || end == 1)
        return 0;
    if (s[1] == '#') {
        bool hex = end > 2 && (s[2] == 'x' || s[2] == 'X');
        size_t i = hex ? 3 : 2;
        if (i == end)
            return 0;
        uint32_t v = 0;
        for (; i < end; i++) {
            int d = hex ? str_hex_value(s[i]) : (s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);
            if (d < 0)
                return 0;
            if (v <= 0x10FFFF)
                v = v * (hex ? 16 : 10) + (uint32_t)d;
        }
        *cp = v;
        return end + 1;
    }
    for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
        if (strlen(named[k].name) == end - 1 && memcmp(named[k].name, s + 1, end - 1) == 0) {
            *cp = named[k].cp;
            return end + 1;
        }
    }
    return 0;
}

/* Text with references decoded, into c (whitespace collapsed) or, for an
 * attribute value, into b as is. */
static void decode_into(struct conv *c, struct buf *b, struct str s, enum rc *brc)
{
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t used = s.ptr[i] == '&' ? reference(s.ptr + i, s.len - i, &cp) : 0;
        if (!used) {
            unsigned char ch = (unsigned char)s.ptr[i];
            if (c && (ch == 0 || is_ws((char)ch)))
                code_point(c, ch);
            else if (c)
                text(c, s.ptr + i, 1);
            else if (*brc == RC_OK)
                *brc = buf_append(b, s.ptr + i, 1);
            i++;
            continue;
        }
        if (c) {
            code_point(c, cp);
        } else if (*brc == RC_OK) {
            if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                cp = 0xFFFD;
            char enc[4];
            *brc = buf_append(b, enc, utf8_encode(cp, enc));
        }
        i += used;
    }
}

/* ---- elements ----------------------------------------------------------- */

/* Elements whose content is not text a reader sees. */
static bool skips_content(const char *name)
{
    static const char *const names[] = {"style",  "script", "head",     "title",  "template", "svg",
                                        "iframe", "object", "noscript", "select", "textarea"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0)
            return true;
    }
    return false;
}

/* Line breaks an element stands for: 2 (a blank line), 1, or 0 (inline). */
static int breaks_of(const char *name)
{
    static const char *const two[] = {"p",  "h1", "h2",    "h3", "h4",  "h5", "h6",
                                      "ul", "ol", "table", "hr", "pre", "dl", "blockquote"};
    static const char *const one[] = {
        "div", "li",    "tr",      "section", "article", "header",  "footer",
        "dd",  "dt",    "address", "center",  "form",    "figure",  "main",
        "nav", "aside", "tbody",   "thead",   "tfoot",   "caption", "fieldset"};
    for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++) {
        if (strcmp(name, two[i]) == 0)
            return 2;
    }
    for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
        if (strcmp(name, one[i]) == 0)
            return 1;
    }
    return 0;
}

/* An address as a browser reads an href: tabs and line breaks dropped,
 * spaces at the ends trimmed and inner ones written %20. */
static void clean_href(struct buf *b)
{
    size_t w = 0;
    for (size_t r = 0; r < b->len; r++) {
        char ch = b->data[r];
        if (ch != '\t' && ch != '\n' && ch != '\r' && ch != '\f')
            b->data[w++] = ch;
    }
    b->len = w;
    size_t from = 0;
    while (from < b->len && b->data[from] == ' ')
        from++;
    while (b->len > from && b->data[b->len - 1] == ' ')
        b->len--;
    memmove(b->data, b->data + from, b->len - from);
    b->len -= from;
}

/* A link ends: its address goes after its text, unless the text is the
 * address. */
static void end_link(struct conv *c)
{
    if (!c->in_link)
        return;
    c->in_link = false;
    if (!c->href.len)
        return;
    struct buf href;
    buf_init(&href, MAX_HREF);
    enum rc rc = RC_OK;
    decode_into(NULL, &href, c->href, &rc);
    if (rc == RC_OK)
        clean_href(&href);
    size_t text_len = c->link_has_text ? c->out->len - c->link_at : 0;
    if (rc == RC_OK && href.len && c->rc == RC_OK) {
        if (!c->link_has_text) {
            text(c, href.data, href.len);
        } else if (text_len != href.len || memcmp(c->out->data + c->link_at, href.data, href.len)) {
            put(c, " (", 2);
            for (size_t i = 0; i < href.len; i++) {
                if (href.data[i] == ' ')
                    put(c, "%20", 3);
                else
                    put(c, href.data + i, 1);
            }
            put(c, ")", 1);
        }
    }
    buf_cleanup(&href);
}

/* The tag at s[0] == '<' (a letter or '/' follows): acts on it and returns
 * its length through '>', or 0 when it never closes. *skip_to gets the name
 * of an element whose content is to be skipped ("" otherwise). */
static size_t tag(struct conv *c, const char *s, size_t n, char *skip_to)
{
    size_t i = 1;
    bool closing = s[i] == '/';
    if (closing)
        i++;
    char name[16];
    size_t nl = 0;
    while (i < n && is_alnum(s[i])) {
        if (nl < sizeof(name) - 1)
            name[nl++] = (char)(s[i] | 0x20);
        i++;
    }
    name[nl] = '\0';
    struct str href = {NULL, 0};
    bool self_closing = false;
    while (i < n && s[i] != '>') {
        if (is_ws(s[i]) || s[i] == '/') {
            self_closing = s[i] == '/';
            i++;
            continue;
        }
        self_closing = false;
        size_t a = i;
        while (i < n && !is_ws(s[i]) && s[i] != '=' && s[i] != '>' && s[i] != '/')
            i++;
        struct str attr = {s + a, i - a};
        if (i == a) {
            i++; /* a stray '=' */
            continue;
        }
        while (i < n && is_ws(s[i]))
            i++;
        if (i >= n || s[i] != '=')
            continue;
        i++;
        while (i < n && is_ws(s[i]))
            i++;
        size_t v = i, vend;
        if (i < n && (s[i] == '"' || s[i] == '\'')) {
            char q = s[i++];
            v = i;
            while (i < n && s[i] != q)
                i++;
            vend = i;
            if (i < n)
                i++;
        } else {
            while (i < n && !is_ws(s[i]) && s[i] != '>')
                i++;
            vend = i;
        }
        if (str_eq_cstr_nocase(attr, "href"))
            href = (struct str){s + v, vend - v};
    }
    if (i >= n)
        return 0;
    skip_to[0] = '\0';
    if (strcmp(name, "br") == 0) {
        if (c->out->len > c->start) {
            c->breaks = 0;
            c->space = false;
            put(c, "\n", 1);
        }
    } else if (strcmp(name, "a") == 0) {
        end_link(c);
        if (!closing && !self_closing) {
            c->in_link = true;
            c->link_has_text = false;
            c->href = href;
        }
    } else if (!closing && !self_closing && skips_content(name)) {
        memcpy(skip_to, name, nl + 1);
    } else {
        int b = breaks_of(name);
        if (b)
            block(c, b);
        if (strcmp(name, "li") == 0)
            c->bullet = !closing;
        if ((strcmp(name, "td") == 0 || strcmp(name, "th") == 0) && closing)
            c->space = true;
    }
    return i + 1;
}

/* The offset of "</name" (any case, then not a name character) from s, or n. */
static size_t find_close(const char *s, size_t n, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i + 2 + nl <= n; i++) {
        if (s[i] != '<' || s[i + 1] != '/')
            continue;
        if (!str_eq_cstr_nocase((struct str){s + i + 2, nl}, name))
            continue;
        if (i + 2 + nl == n || !is_alnum(s[i + 2 + nl]))
            return i;
    }
    return n;
}

enum rc html_to_text(struct str html, struct buf *out)
{
    struct conv c = {.out = out, .start = out->len};
    const char *s = html.ptr;
    size_t n = html.len;
    size_t i = 0;
    while (i < n && c.rc == RC_OK) {
        if (s[i] == '<' && i + 3 < n && memcmp(s + i, "<!--", 4) == 0) {
            const char *end = memmem(s + i + 4, n - i - 4, "-->", 3);
            i = end ? (size_t)(end - s) + 3 : n;
            continue;
        }
        if (s[i] == '<' && i + 1 < n && (s[i + 1] == '!' || s[i + 1] == '?')) {
            const char *end = memchr(s + i, '>', n - i);
            i = end ? (size_t)(end - s) + 1 : n;
            continue;
        }
        if (s[i] == '<' && i + 1 < n &&
            (is_alpha(s[i + 1]) || (s[i + 1] == '/' && i + 2 < n && is_alpha(s[i + 2])))) {
            char skip_to[16];
            size_t used = tag(&c, s + i, n - i, skip_to);
            if (!used)
                break; /* an unclosed tag ends the text */
            i += used;
            if (skip_to[0])
                i += find_close(s + i, n - i, skip_to);
            continue;
        }
        size_t run = i + 1;
        while (run < n && s[run] != '<')
            run++;
        decode_into(&c, NULL, (struct str){s + i, run - i}, NULL);
        i = run;
    }
    end_link(&c);
    while (out->len > c.start &&
           (out->data[out->len - 1] == ' ' || out->data[out->len - 1] == '\n'))
        out->len--;
    return c.rc;
}

enum rc html_escape(struct str text, struct buf *out)
{
    enum rc rc = RC_OK;
    size_t from = 0;
    for (size_t i = 0; !rc && i < text.len; i++) {
        char c = text.ptr[i];
        const char *rep = c == '&'    ? "&amp;"
                          : c == '<'  ? "&lt;"
                          : c == '>'  ? "&gt;"
                          : c == '"'  ? "&quot;"
                          : c == '\'' ? "&#39;"
                                      : NULL;
        if (rep) {
            rc = buf_append(out, text.ptr + from, i - from);
            if (!rc)
                rc = buf_append_cstr(out, rep);
            from = i + 1;
        }
    }
    return rc ? rc : buf_append(out, text.ptr + from, text.len - from);
}
