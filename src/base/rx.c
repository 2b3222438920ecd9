/* rx.c -- see rx.h. One left-to-right pass; bracket expressions are built
 * apart, because POSIX gives ']' , '^' and '-' meaning by position where RE2
 * escapes them. */
#include "base/rx.h"

#include <stdbool.h>
#include <string.h>

struct rx {
    const char *s;
    size_t i;
    char *out;
    size_t n, cap;
    const char *why;
    bool too_large;
};

static bool fail(struct rx *r, const char *why)
{
    if (!r->why)
        r->why = why;
    return false;
}

static bool put(struct rx *r, const char *s, size_t len)
{
    if (r->n + len + 1 > r->cap) {
        r->too_large = true;
        return fail(r, "the pattern is too long");
    }
    memcpy(r->out + r->n, s, len);
    r->n += len;
    r->out[r->n] = '\0';
    return true;
}

static bool putc_(struct rx *r, char c)
{
    return put(r, &c, 1);
}

static bool is_punct(char c)
{
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
}

static bool is_ere_special(char c)
{
    return strchr(".[]()*+?{}|^$\\", c) != NULL;
}

/* \t \n \r \f \v as their bytes; 0 for other letters. */
static char control_escape(char c)
{
    switch (c) {
    case 't': return '\t';
    case 'n': return '\n';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    default: return 0;
    }
}

/* The members of \d \w \s, for use inside a bracket expression. */
static const char *class_members(char c)
{
    switch (c) {
    case 'd': return "0-9";
    case 'w': return "0-9A-Za-z_";
    case 's': return "\t\n\f\r ";
    default: return NULL;
    }
}

/* A bracket expression after its '['. */
static bool bracket(struct rx *r)
{
    const char *s = r->s;
    bool neg = false, has_close = false, has_dash = false, has_caret = false, has_open = false;
    char body[512];
    size_t bn = 0;
    if (s[r->i] == '^') {
        neg = true;
        r->i++;
    }
    if (s[r->i] == ']') { /* a leading ']' is itself, in both dialects */
        has_close = true;
        r->i++;
    }
    while (s[r->i] && s[r->i] != ']') {
        char c = s[r->i];
        const char *add = NULL;
        char one[2] = {0, 0};
        if (c == '[' && s[r->i + 1] == ':') {
            const char *end = strstr(s + r->i + 2, ":]");
            if (!end)
                return fail(r, "an unterminated [:class:]");
            size_t len = (size_t)(end + 2 - (s + r->i));
            static const char *const names[] = {"alnum", "alpha", "blank", "cntrl",
                                                "digit", "graph", "lower", "print",
                                                "punct", "space", "upper", "xdigit"};
            bool known = false;
            for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
                known = known || (len == strlen(names[k]) + 4 &&
                                  memcmp(s + r->i + 2, names[k], len - 4) == 0);
            if (!known)
                return fail(r, "an unknown [:class:]");
            if (bn + len >= sizeof(body))
                return fail(r, "a bracket expression that is too long");
            memcpy(body + bn, s + r->i, len);
            bn += len;
            r->i += len;
            continue;
        }
        if (c == '[' && (s[r->i + 1] == '.' || s[r->i + 1] == '='))
            return fail(r, "collating elements are not supported");
        if (c == '\\') {
            char e = s[r->i + 1];
            r->i += 2;
            if ((add = class_members(e)) != NULL) {
                /* added below */
            } else if (e == 'D' || e == 'W' || e == 'S') {
                return fail(r, "\\D, \\W and \\S are not supported inside brackets");
            } else if (control_escape(e)) {
                one[0] = control_escape(e);
                add = one;
            } else if (e == ']') {
                has_close = true;
                continue;
            } else if (e == '-') {
                has_dash = true;
                continue;
            } else if (e == '^') {
                has_caret = true;
                continue;
            } else if (e == '[') {
                has_open = true; /* placed last: "[." or "[:" would start a POSIX term */
                continue;
            } else if (is_punct(e)) {
                one[0] = e; /* '\' and the rest are literal inside POSIX brackets */
                add = one;
            } else {
                return fail(r, "an unsupported escape inside brackets");
            }
        } else {
            if ((unsigned char)c >= 0x80 || (unsigned char)c < 0x20)
                return fail(r, "only printable ASCII is supported inside brackets");
            if (c == '[' && s[r->i + 1] != '-') {
                has_open = true;
                r->i++;
                continue;
            }
            if (c == '-') {
                /* first or last it is itself; elsewhere RE2 reads a range */
                if (bn && s[r->i + 1] != ']')
                    return fail(r, "a '-' that is not part of a range (escape it)");
                has_dash = true;
                r->i++;
                continue;
            }
            char hi = s[r->i + 1] == '-' ? s[r->i + 2] : 0;
            if (hi && hi != ']') {
                if (hi == '\\' || hi == '[')
                    return fail(r, "a range must end in a plain character");
                if ((unsigned char)hi >= 0x80 || (unsigned char)hi < 0x20 || hi < c)
                    return fail(r, "an invalid range");
                char range[4] = {c, '-', hi, 0};
                if (bn + 3 >= sizeof(body))
                    return fail(r, "a bracket expression that is too long");
                memcpy(body + bn, range, 3);
                bn += 3;
                r->i += 3;
                continue;
            }
            one[0] = c;
            add = one;
            r->i++;
        }
        size_t len = strlen(add);
        if (bn + len >= sizeof(body))
            return fail(r, "a bracket expression that is too long");
        memcpy(body + bn, add, len);
        bn += len;
    }
    if (s[r->i] != ']')
        return fail(r, "a '[' without its ']'");
    r->i++;
    if (!bn && !has_close && !has_dash && !has_caret && !has_open)
        return fail(r, "an empty bracket expression");
    /* POSIX gives these meaning by position: ']' first, '^' anywhere but
     * first, '-' last, '[' where no '.', ':' or '=' follows it. */
    size_t start = 0;
    bool caret = has_caret;
    while (start < bn && body[start] == '^') {
        caret = true;
        start++;
    }
    bool others = has_close || start < bn || has_open;
    if (caret && !neg && !others && !has_dash)
        return put(r, "\\^", 2); /* only a caret: an escaped one outside brackets */
    bool ok = putc_(r, '[') && (!neg || putc_(r, '^')) && (!has_close || putc_(r, ']')) &&
              put(r, body + start, bn - start) && (!has_open || putc_(r, '['));
    if (ok && caret && !neg && !others) {
        ok = put(r, "-^", 2); /* '-' first is itself too */
        has_dash = false;
    } else if (ok && caret) {
        ok = putc_(r, '^');
    }
    if (ok && has_dash)
        ok = putc_(r, '-');
    return ok && putc_(r, ']');
}

/* A quantifier just read: RE2's lazy form follows it with '?'. */
static bool after_quantifier(struct rx *r)
{
    char c = r->s[r->i];
    if (c == '?')
        return fail(r, "lazy quantifiers are not supported");
    if (c == '*' || c == '+' || (c == '{' && r->s[r->i + 1] >= '0' && r->s[r->i + 1] <= '9'))
        return fail(r, "a quantifier after a quantifier");
    return true;
}

/* {n}, {n,}, {n,m} at r->i; false with *is_interval false when it is not one
 * (RE2 then reads '{' as itself). */
static bool interval(struct rx *r, bool *is_interval)
{
    const char *s = r->s;
    size_t j = r->i + 1;
    unsigned long a = 0, b = 0;
    bool has_b = false, comma = false;
    *is_interval = false;
    if (s[j] < '0' || s[j] > '9')
        return true;
    while (s[j] >= '0' && s[j] <= '9' && a < 100000)
        a = a * 10 + (unsigned long)(s[j++] - '0');
    if (s[j] == ',') {
        comma = true;
        j++;
        while (s[j] >= '0' && s[j] <= '9' && b < 100000) {
            b = b * 10 + (unsigned long)(s[j++] - '0');
            has_b = true;
        }
    }
    if (s[j] != '}')
        return true;
    *is_interval = true;
    if (a > 1000 || (has_b && (b > 1000 || b < a)))
        return fail(r, "an invalid repeat count (at most 1000)");
    (void)comma;
    bool ok = put(r, s + r->i, j + 1 - r->i);
    r->i = j + 1;
    return ok;
}

enum rc rx_translate(const char *re, char *out, size_t cap, const char **why)
{
    struct rx r = {.s = re, .out = out, .cap = cap};
    if (cap)
        out[0] = '\0';
    bool ok = re != NULL && cap > 0;
    bool can_repeat = false; /* something to repeat precedes */
    int depth = 0;
    while (ok && re[r.i]) {
        char c = re[r.i];
        if (c == '\\') {
            char e = re[r.i + 1];
            r.i += 2;
            const char *cls = NULL;
            switch (e) {
            case 'd': cls = "[0-9]"; break;
            case 'D': cls = "[^0-9]"; break;
            case 'w': cls = "[0-9A-Za-z_]"; break;
            case 'W': cls = "[^0-9A-Za-z_]"; break;
            case 's': cls = "[\t\n\f\r ]"; break;
            case 'S': cls = "[^\t\n\f\r ]"; break;
            default: break;
            }
            if (cls) {
                ok = put(&r, cls, strlen(cls));
            } else if (control_escape(e)) {
                ok = putc_(&r, control_escape(e));
            } else if (e && is_punct(e)) {
                ok = is_ere_special(e) ? putc_(&r, '\\') && putc_(&r, e) : putc_(&r, e);
            } else {
                ok = fail(&r, e == 'b' || e == 'B' || e == 'A' || e == 'z'
                                  ? "\\b, \\B, \\A and \\z are not supported"
                              : e == 'p' || e == 'P' ? "\\p{...} classes are not supported"
                              : e >= '0' && e <= '9' ? "back-references are not supported"
                                                     : "an unsupported escape");
            }
            can_repeat = true;
        } else if (c == '[') {
            r.i++;
            ok = bracket(&r);
            can_repeat = true;
        } else if (c == '(') {
            if (re[r.i + 1] == '?') {
                if (re[r.i + 2] != ':')
                    ok = fail(&r, "flags, named groups and lookarounds are not supported");
                r.i += 2;
            }
            r.i++;
            depth++;
            ok = ok && putc_(&r, '(');
            can_repeat = false;
        } else if (c == ')') {
            if (--depth < 0)
                ok = fail(&r, "a ')' without its '('");
            r.i++;
            ok = ok && putc_(&r, ')');
            can_repeat = true;
        } else if (c == '*' || c == '+' || c == '?') {
            if (!can_repeat)
                ok = fail(&r, "a quantifier with nothing to repeat");
            r.i++;
            ok = ok && putc_(&r, c) && after_quantifier(&r);
            can_repeat = false;
        } else if (c == '{') {
            bool is_interval;
            ok = interval(&r, &is_interval);
            if (ok && is_interval) {
                if (!can_repeat)
                    ok = fail(&r, "a quantifier with nothing to repeat");
                ok = ok && after_quantifier(&r);
                can_repeat = false;
            } else if (ok) {
                r.i++;
                ok = put(&r, "\\{", 2);
                can_repeat = true;
            }
        } else if (c == '}') {
            r.i++;
            ok = put(&r, "\\}", 2);
            can_repeat = true;
        } else if (c == '|' || c == '^' || c == '$') {
            r.i++;
            ok = putc_(&r, c);
            can_repeat = false;
        } else if ((unsigned char)c >= 0x80) {
            /* One UTF-8 character, grouped so that a quantifier after it
             * repeats the character, as in RE2, not its last byte. */
            size_t len = (unsigned char)c >= 0xf0   ? 4
                         : (unsigned char)c >= 0xe0 ? 3
                         : (unsigned char)c >= 0xc2 ? 2
                                                    : 0;
            for (size_t k = 1; k < len; k++) {
                if (((unsigned char)re[r.i + k] & 0xc0) != 0x80)
                    len = 0;
            }
            if (!len || (unsigned char)c > 0xf4) {
                ok = fail(&r, "invalid UTF-8");
            } else {
                ok = putc_(&r, '(') && put(&r, re + r.i, len) && putc_(&r, ')');
                r.i += len;
            }
            can_repeat = true;
        } else if ((unsigned char)c < 0x20 || c == 0x7f) {
            ok = fail(&r, "a control character (use \\t, \\n, ...)");
        } else {
            r.i++;
            ok = putc_(&r, c);
            can_repeat = true;
        }
    }
    if (ok && depth != 0)
        ok = fail(&r, "a '(' without its ')'");
    if (!ok && cap)
        out[0] = '\0';
    if (why)
        *why = ok ? NULL : (r.why ? r.why : "an invalid pattern");
    return ok ? RC_OK : (r.too_large ? RC_TOO_LARGE : RC_INVALID);
}
