/* randpat.c -- see randpat.h.
 *
 * One recursive-descent reader serves both jobs. With emit false it only
 * walks the pattern, checking it and computing the longest string it can
 * generate; with emit true it also writes a random match. A quantified atom
 * or an alternation is walked once dry to find its end (and, for an
 * alternation, its branch count), then again from its start for each copy
 * or for the branch drawn. */
#include "base/randpat.h"

#include <stdbool.h>
#include <string.h>

#include "base/secure.h"
#include "base/str.h"

struct rp {
    const char *s;
    size_t i;
    char *out; /* NULL when only checking */
    size_t n;
    int depth;
    const char *why;
};

static bool fail(struct rp *r, const char *why)
{
    if (!r->why)
        r->why = why;
    return false;
}

static bool put(struct rp *r, char c)
{
    if (r->n >= RANDPAT_MAX_OUT)
        return fail(r, "the pattern generates strings longer than 255 characters");
    r->out[r->n++] = c;
    return true;
}

static bool is_meta(char c)
{
    return strchr(".[]{}()*+?|^$\\", c) != NULL;
}

static bool is_punct(char c)
{
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
}

/* Adds the characters of a class escape (\d, \w) to set; false for others. */
static bool class_escape(char c, bool set[128])
{
    if (c == 'd') {
        for (int k = '0'; k <= '9'; k++)
            set[k] = true;
        return true;
    }
    if (c == 'w') {
        for (int k = 0; k < 128; k++)
            set[k] = set[k] || (k >= '0' && k <= '9') || (k >= 'a' && k <= 'z') ||
                     (k >= 'A' && k <= 'Z') || k == '_';
        return true;
    }
    return false;
}

/* The characters of set, in order, into alphabet (128 bytes); their count. */
static size_t alphabet_of(const bool set[128], char alphabet[128])
{
    size_t n = 0;
    for (int k = 0; k < 128; k++) {
        if (set[k])
            alphabet[n++] = (char)k;
    }
    return n;
}

/* Emits count characters drawn from set (one draw of the random pool for
 * them all). */
static bool emit_from(struct rp *r, const bool set[128], size_t count)
{
    char alphabet[128];
    size_t n = alphabet_of(set, alphabet);
    if (!n)
        return fail(r, "an empty character class");
    if (!r->out || !count)
        return true;
    if (count > RANDPAT_MAX_OUT - r->n)
        return fail(r, "the pattern generates strings longer than 255 characters");
    secure_random_string((struct str){alphabet, n}, r->out + r->n, count);
    r->n += count;
    return true;
}

/* [...] after its '[': its characters into set. */
static bool parse_class(struct rp *r, bool set[128])
{
    const char *s = r->s;
    if (s[r->i] == '^')
        return fail(r, "negated character classes are not supported");
    bool first = true;
    while (s[r->i] && (s[r->i] != ']' || first)) {
        first = false;
        unsigned char lo = (unsigned char)s[r->i];
        if (lo >= 127 || lo < ' ')
            return fail(r, "only printable ASCII characters are supported");
        if (lo == '\\') {
            char e = s[r->i + 1];
            if (class_escape(e, set)) {
                r->i += 2;
                continue;
            }
            if (!is_punct(e))
                return fail(r, "an unsupported escape in a character class");
            lo = (unsigned char)e;
            r->i++;
        }
        r->i++;
        if (s[r->i] == '-' && s[r->i + 1] && s[r->i + 1] != ']') {
            unsigned char hi = (unsigned char)s[r->i + 1];
            if (hi == '\\' && is_punct(s[r->i + 2])) {
                hi = (unsigned char)s[r->i + 2];
                r->i++;
            }
            if (hi >= 127 || hi < lo)
                return fail(r, "an invalid range in a character class");
            for (unsigned k = lo; k <= hi; k++)
                set[k] = true;
            r->i += 2;
        } else {
            set[lo] = true;
        }
    }
    if (s[r->i] != ']')
        return fail(r, "a character class without its ']'");
    r->i++;
    return true;
}

static bool char_class(struct rp *r, size_t count)
{
    bool set[128] = {false};
    return parse_class(r, set) && emit_from(r, set, count);
}

static bool alternation(struct rp *r, bool emit, size_t *max);

/* One atom; *max is the longest string it generates. */
static bool atom(struct rp *r, bool emit, size_t *max)
{
    const char *s = r->s;
    char c = s[r->i];
    char *saved = r->out;
    if (!emit)
        r->out = NULL;
    bool ok = true;
    *max = 1;
    if (c == '(') {
        if (++r->depth > RANDPAT_MAX_DEPTH)
            return fail(r, "groups nested too deep");
        r->i++;
        if (s[r->i] == '?') {
            if (s[r->i + 1] != ':')
                return fail(r, "only (?:...) groups are supported");
            r->i += 2;
        }
        ok = alternation(r, emit, max);
        if (ok && s[r->i] != ')')
            ok = fail(r, "a group without its ')'");
        r->i++;
        r->depth--;
    } else if (c == '[') {
        r->i++;
        ok = char_class(r, 1);
    } else if (c == '\\') {
        bool set[128] = {false};
        char e = s[r->i + 1];
        r->i += 2;
        if (class_escape(e, set))
            ok = emit_from(r, set, 1);
        else if (is_punct(e))
            ok = !r->out || put(r, e);
        else
            ok = fail(r, "an unsupported escape");
    } else if ((unsigned char)c >= 127 || (unsigned char)c < ' ') {
        ok = fail(r, "only printable ASCII characters are supported");
    } else if (is_meta(c)) {
        ok = fail(r, c == '.' ? "'.' is not supported (use a character class)"
                              : "a misplaced special character");
    } else {
        r->i++;
        ok = !r->out || put(r, c);
    }
    r->out = saved;
    return ok;
}

/* A quantifier after an atom: its bounds, {1,1} when there is none. */
static bool quantifier(struct rp *r, size_t *lo, size_t *hi)
{
    const char *s = r->s;
    *lo = *hi = 1;
    char c = s[r->i];
    if (c == '?' || c == '*' || c == '+') {
        *lo = c == '+' ? 1 : 0;
        *hi = c == '?' ? 1 : RANDPAT_MAX_REPEAT;
        r->i++;
    } else if (c == '{') {
        size_t i = r->i + 1, a = 0, b;
        if (s[i] < '0' || s[i] > '9')
            return fail(r, "a '{' without a count");
        while (s[i] >= '0' && s[i] <= '9' && a <= RANDPAT_MAX_OUT)
            a = a * 10 + (size_t)(s[i++] - '0');
        b = a;
        if (s[i] == ',') {
            i++;
            if (s[i] < '0' || s[i] > '9')
                return fail(r, "open-ended counts {n,} are not supported");
            b = 0;
            while (s[i] >= '0' && s[i] <= '9' && b <= RANDPAT_MAX_OUT)
                b = b * 10 + (size_t)(s[i++] - '0');
        }
        if (s[i] != '}' || b < a)
            return fail(r, "an invalid count");
        *lo = a;
        *hi = b;
        r->i = i + 1;
    } else {
        return true;
    }
    c = s[r->i];
    if (c == '?' || c == '*' || c == '+' || c == '{')
        return fail(r, "a quantifier after a quantifier");
    return true;
}

static bool ends_sequence(char c)
{
    return c == '\0' || c == '|' || c == ')';
}

static bool sequence(struct rp *r, bool emit, size_t *max)
{
    *max = 0;
    while (!ends_sequence(r->s[r->i])) {
        char c = r->s[r->i];
        if ((c == '^' && r->i == 0) || (c == '$' && r->s[r->i + 1] == '\0')) {
            r->i++; /* anchors: every generated string is whole */
            continue;
        }
        size_t start = r->i, one;
        if (!atom(r, false, &one))
            return false;
        size_t lo, hi;
        if (!quantifier(r, &lo, &hi))
            return false;
        size_t end = r->i;
        if (hi && one > RANDPAT_MAX_OUT / hi)
            return fail(r, "the pattern generates strings longer than 255 characters");
        *max += hi * one;
        if (*max > RANDPAT_MAX_OUT)
            return fail(r, "the pattern generates strings longer than 255 characters");
        if (emit && r->out) {
            size_t count = lo + secure_random_uniform((uint32_t)(hi - lo + 1));
            bool set[128] = {false};
            if (r->s[start] == '[') {
                /* A class repeated: its alphabet once, its characters in one draw
                 * (a record id's [a-z0-9]{15}). */
                r->i = start + 1;
                if (!parse_class(r, set) || !emit_from(r, set, count))
                    return false;
                r->i = end;
                continue;
            }
            for (size_t k = 0; k < count; k++) {
                r->i = start;
                if (!atom(r, true, &one))
                    return false;
            }
            r->i = end;
        }
    }
    return true;
}

static bool alternation(struct rp *r, bool emit, size_t *max)
{
    size_t start = r->i, branches = 0;
    *max = 0;
    for (;;) {
        size_t m;
        if (!sequence(r, false, &m))
            return false;
        branches++;
        if (m > *max)
            *max = m;
        if (r->s[r->i] != '|')
            break;
        r->i++;
    }
    if (!emit || !r->out)
        return true;
    size_t pick = secure_random_uniform((uint32_t)branches);
    r->i = start;
    for (size_t b = 0; b < branches; b++) {
        size_t m;
        if (!sequence(r, b == pick, &m))
            return false;
        if (r->s[r->i] == '|')
            r->i++;
    }
    return true;
}

static enum rc run(const char *pattern, char *out, size_t *len, const char **why)
{
    struct rp r = {.s = pattern, .out = out};
    size_t max;
    bool ok = pattern && alternation(&r, out != NULL, &max);
    if (ok && pattern[r.i] != '\0')
        ok = fail(&r, "a ')' without its '('");
    if (out)
        out[ok ? r.n : 0] = '\0';
    if (len)
        *len = ok ? r.n : 0;
    if (why)
        *why = ok ? NULL : (r.why ? r.why : "an invalid pattern");
    return ok ? RC_OK : RC_INVALID;
}

enum rc randpat_check(const char *pattern, const char **why)
{
    return run(pattern, NULL, NULL, why);
}

enum rc randpat_generate(const char *pattern, char *out, size_t *len)
{
    if (randpat_check(pattern, NULL) != RC_OK) {
        out[0] = '\0';
        *len = 0;
        return RC_INVALID;
    }
    return run(pattern, out, len, NULL);
}
