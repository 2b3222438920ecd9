/* json_decode.c -- see json_decode.h. A recursive descent over the text;
 * each value is pushed as soon as it is read, strings through a
 * luaL_Buffer, so a refusal of the cap unwinds with nothing to free. The
 * text was checked to be UTF-8 once, up front, so string runs are copied
 * as they are. */
#include "core/hooks/json_decode.h"

#include <lauxlib.h>
#include <math.h>
#include <string.h>

#include "base/utf8.h"
#include "core/hooks/json.h"

#define NUMBER_TEXT_MAX 400 /* bytes of one number (its digits are not limited by JSON) */

struct parser {
    lua_State *L;
    const char *start;
    const char *p; /* next byte */
    const char *end;
};

static void fail(struct parser *ps, const char *what)
{
    luaL_error(ps->L, "tarmac.json.decode: %s at byte %d", what, (int)(ps->p - ps->start));
}

static void skip_space(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool take(struct parser *ps, char c)
{
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == c) {
        ps->p++;
        return true;
    }
    return false;
}

static void parse_value(struct parser *ps, int depth);

/* The four hex digits after "\u"; -1 when they are not. */
static long read_hex4(struct parser *ps)
{
    if (ps->end - ps->p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = str_hex_value(ps->p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    ps->p += 4;
    return v;
}

/* After a '\': one escape into b. */
static void parse_escape(struct parser *ps, luaL_Buffer *b)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    if (ps->p >= ps->end)
        fail(ps, "unfinished string");
    const char *at = strchr(from, *ps->p);
    if (*ps->p && at) {
        luaL_addchar(b, to[at - from]);
        ps->p++;
        return;
    }
    if (*ps->p != 'u')
        fail(ps, "invalid escape");
    ps->p++;
    long cp = read_hex4(ps);
    if (cp < 0)
        fail(ps, "invalid \\u escape");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        fail(ps, "lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = -1;
        if (ps->end - ps->p >= 2 && ps->p[0] == '\\' && ps->p[1] == 'u') {
            ps->p += 2;
            lo = read_hex4(ps);
        }
        if (lo < 0xDC00 || lo > 0xDFFF)
            fail(ps, "lone high surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    char out[4];
    size_t n = utf8_encode((uint32_t)cp, out);
    luaL_addlstring(b, out, n);
}

/* After the opening quote: pushes the string. */
static void parse_string(struct parser *ps)
{
    luaL_Buffer b;
    luaL_buffinit(ps->L, &b);
    for (;;) {
        const char *run = ps->p;
        while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && (unsigned char)*ps->p >= 0x20)
            ps->p++;
        luaL_addlstring(&b, run, (size_t)(ps->p - run));
        if (ps->p >= ps->end)
            fail(ps, "unfinished string");
        char c = *ps->p++;
        if (c == '"')
            break;
        if (c != '\\') {
            ps->p--;
            fail(ps, "control character in a string");
        }
        parse_escape(ps, &b);
    }
    luaL_pushresult(&b);
}

static bool is_digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

static void parse_number(struct parser *ps)
{
    const char *s = ps->p;
    const char *p = s;
    if (p < ps->end && *p == '-')
        p++;
    if (!is_digit(p, ps->end))
        fail(ps, "invalid value");
    if (*p == '0')
        p++;
    else
        while (is_digit(p, ps->end))
            p++;
    if (p < ps->end && *p == '.') {
        p++;
        if (!is_digit(p, ps->end)) {
            ps->p = p;
            fail(ps, "invalid number");
        }
        while (is_digit(p, ps->end))
            p++;
    }
    if (p < ps->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < ps->end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(p, ps->end)) {
            ps->p = p;
            fail(ps, "invalid number");
        }
        while (is_digit(p, ps->end))
            p++;
    }
    size_t len = (size_t)(p - s);
    if (len > NUMBER_TEXT_MAX)
        fail(ps, "number too long");
    char text[NUMBER_TEXT_MAX + 1];
    memcpy(text, s, len);
    text[len] = '\0';
    /* Lua's own conversion: an integer when it fits in 64 bits, else a
     * float; independent of the C locale's decimal point. */
    if (lua_stringtonumber(ps->L, text) != len + 1)
        fail(ps, "invalid number");
    if (!lua_isinteger(ps->L, -1) && !isfinite(lua_tonumber(ps->L, -1)))
        fail(ps, "number out of range");
    ps->p = p;
}

static void parse_literal(struct parser *ps, const char *word, size_t len)
{
    if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0)
        fail(ps, "invalid value");
    ps->p += len;
}

static void parse_array(struct parser *ps, int depth)
{
    lua_State *L = ps->L;
    lua_newtable(L);
    core_hooks_mark_array(L, -1);
    if (take(ps, ']'))
        return;
    for (lua_Integer i = 1;; i++) {
        parse_value(ps, depth + 1);
        lua_rawseti(L, -2, i);
        if (take(ps, ']'))
            return;
        if (!take(ps, ','))
            fail(ps, "',' or ']' expected");
    }
}

static void parse_object(struct parser *ps, int depth)
{
    lua_State *L = ps->L;
    lua_newtable(L);
    if (take(ps, '}'))
        return;
    for (;;) {
        if (!take(ps, '"'))
            fail(ps, "a string key expected");
        parse_string(ps);
        if (!take(ps, ':'))
            fail(ps, "':' expected");
        parse_value(ps, depth + 1);
        lua_rawset(L, -3);
        if (take(ps, '}'))
            return;
        if (!take(ps, ','))
            fail(ps, "',' or '}' expected");
    }
}

static void parse_value(struct parser *ps, int depth)
{
    luaL_checkstack(ps->L, 4, "tarmac.json.decode");
    skip_space(ps);
    if (ps->p >= ps->end)
        fail(ps, "unexpected end of text");
    char c = *ps->p;
    if ((c == '[' || c == '{') && depth >= CORE_HOOKS_JSON_DEPTH_MAX)
        fail(ps, "nested deeper than 64");
    switch (c) {
    case '[':
        ps->p++;
        parse_array(ps, depth);
        break;
    case '{':
        ps->p++;
        parse_object(ps, depth);
        break;
    case '"':
        ps->p++;
        parse_string(ps);
        break;
    case 't':
        parse_literal(ps, "true", 4);
        lua_pushboolean(ps->L, 1);
        break;
    case 'f':
        parse_literal(ps, "false", 5);
        lua_pushboolean(ps->L, 0);
        break;
    case 'n':
        parse_literal(ps, "null", 4);
        core_hooks_push_null(ps->L);
        break;
    default: parse_number(ps); break;
    }
}

void core_hooks_json_decode(lua_State *L, struct str text)
{
    struct parser ps = {L, text.ptr, text.ptr, text.ptr + text.len};
    if (!utf8_is_valid(text.ptr, text.len))
        luaL_error(L, "tarmac.json.decode: not UTF-8 text");
    parse_value(&ps, 0);
    skip_space(&ps);
    if (ps.p != ps.end)
        fail(&ps, "text after the value");
}
