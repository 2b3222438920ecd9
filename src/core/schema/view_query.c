/* view_query.c -- see view_query.h. */
#include "core/schema/view_query.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

enum tok_type { TOK_END, TOK_WORD, TOK_QUOTED, TOK_STRING, TOK_PUNCT };

struct tok {
    enum tok_type type;
    const char *ptr;
    size_t len;
};

struct lexer {
    const char *p, *end;
};

static bool is_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c >= 0x80;
}

/* Past a quoted run opened at p (its closing character close; doubled, it
 * stands for itself): the end of the text when it is never closed. */
static const char *past_quoted(const char *p, const char *end, char close)
{
    for (p++; p < end; p++) {
        if (*p != close)
            continue;
        if (close != ']' && p + 1 < end && p[1] == close) {
            p++;
            continue;
        }
        return p + 1;
    }
    return end;
}

static struct tok next_tok(struct lexer *lx)
{
    const char *p = lx->p, *end = lx->end;
    for (;;) {
        while (p < end &&
               (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v'))
            p++;
        if (p + 1 < end && p[0] == '-' && p[1] == '-') {
            while (p < end && *p != '\n')
                p++;
            continue;
        }
        if (p + 1 < end && p[0] == '/' && p[1] == '*') {
            const char *close = NULL;
            for (const char *q = p + 2; q + 1 < end; q++) {
                if (q[0] == '*' && q[1] == '/') {
                    close = q + 2;
                    break;
                }
            }
            p = close ? close : end;
            continue;
        }
        break;
    }
    struct tok t = {TOK_END, p, 0};
    if (p >= end) {
        lx->p = end;
        return t;
    }
    const char *q = p + 1;
    switch (*p) {
    case '\'':
        t.type = TOK_STRING;
        q = past_quoted(p, end, '\'');
        break;
    case '"':
    case '`':
        t.type = TOK_QUOTED;
        q = past_quoted(p, end, *p);
        break;
    case '[':
        t.type = TOK_QUOTED;
        q = past_quoted(p, end, ']');
        break;
    default:
        if (is_word_char((unsigned char)*p)) {
            t.type = TOK_WORD;
            while (q < end && is_word_char((unsigned char)*q))
                q++;
        } else {
            t.type = TOK_PUNCT;
        }
    }
    t.len = (size_t)(q - p);
    lx->p = q;
    return t;
}

static bool is_kw(struct tok t, const char *kw)
{
    return t.type == TOK_WORD && t.len == strlen(kw) && strncasecmp(t.ptr, kw, t.len) == 0;
}

static bool is_punct(struct tok t, char c)
{
    return t.type == TOK_PUNCT && t.ptr[0] == c;
}

/* A word that ends the select list at depth 0. */
static bool ends_list(struct tok t)
{
    static const char *const kws[] = {"FROM",  "WHERE", "GROUP", "HAVING",    "WINDOW",
                                      "ORDER", "LIMIT", "UNION", "INTERSECT", "EXCEPT"};
    for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
        if (is_kw(t, kws[i]))
            return true;
    }
    return false;
}

/* One select-list item as it is read, token by token. */
struct item {
    size_t count; /* its tokens so far */
    struct tok first[3];
    enum core_view_item_kind call; /* COUNT, TOTAL or CAST once "name(" was read; else OTHER */
    int call_depth;                /* the depth inside the call's parentheses */
    bool is_call_closed;
    size_t after; /* tokens after the call's ')' */
    struct tok after_tok[2];
    bool in_type;       /* after the cast's last AS */
    size_t type_tokens; /* tokens since that AS */
    struct tok type;
};

static void item_add(struct item *it, struct tok t, int depth_before, int item_depth)
{
    if (it->count < 3)
        it->first[it->count] = t;
    it->count++;
    if (it->count == 2 && is_punct(t, '(') && it->first[0].type == TOK_WORD) {
        if (is_kw(it->first[0], "count"))
            it->call = CORE_VIEW_ITEM_COUNT;
        else if (is_kw(it->first[0], "total"))
            it->call = CORE_VIEW_ITEM_TOTAL;
        else if (is_kw(it->first[0], "cast"))
            it->call = CORE_VIEW_ITEM_CAST;
        it->call_depth = item_depth + 1;
        return;
    }
    if (it->call == CORE_VIEW_ITEM_OTHER || it->count < 2)
        return;
    if (it->is_call_closed) {
        if (it->after < 2)
            it->after_tok[it->after] = t;
        it->after++;
        return;
    }
    if (is_punct(t, ')') && depth_before == it->call_depth) {
        it->is_call_closed = true;
        return;
    }
    if (is_kw(t, "AS") && depth_before == it->call_depth) {
        it->in_type = true;
        it->type_tokens = 0;
        return;
    }
    if (it->in_type) {
        if (it->type_tokens == 0)
            it->type = t;
        it->type_tokens++;
    }
}

static bool is_alias_tok(struct tok t)
{
    return t.type == TOK_QUOTED || t.type == TOK_STRING || t.type == TOK_WORD;
}

static struct core_view_item item_finish(const struct item *it)
{
    struct core_view_item out = {CORE_VIEW_ITEM_OTHER, ""};
    if ((it->count == 1 && is_punct(it->first[0], '*')) ||
        (it->count == 3 && is_punct(it->first[1], '.') && is_punct(it->first[2], '*'))) {
        out.kind = CORE_VIEW_ITEM_WILDCARD;
        return out;
    }
    if (it->call == CORE_VIEW_ITEM_COUNT || it->call == CORE_VIEW_ITEM_TOTAL) {
        /* PocketBase looks at the start of the expression only. */
        out.kind = it->call;
        return out;
    }
    if (it->call != CORE_VIEW_ITEM_CAST || !it->is_call_closed)
        return out;
    bool alias_only =
        it->after == 0 || (it->after == 1 && is_alias_tok(it->after_tok[0])) ||
        (it->after == 2 && is_kw(it->after_tok[0], "AS") && is_alias_tok(it->after_tok[1]));
    if (!alias_only)
        return out;
    out.kind = CORE_VIEW_ITEM_CAST;
    if (it->type_tokens == 1 && it->type.type == TOK_WORD && it->type.len < sizeof(out.cast_type)) {
        for (size_t i = 0; i < it->type.len; i++) {
            char c = it->type.ptr[i];
            out.cast_type[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
        }
        out.cast_type[it->type.len] = '\0';
    }
    return out;
}

long core_view_select_items(struct str sql, struct core_view_item *items, size_t max)
{
    struct lexer lx = {sql.ptr, sql.ptr + sql.len};
    int depth = 0;
    struct tok t;
    /* The first SELECT outside parentheses (a WITH clause's are inside them). */
    for (;;) {
        t = next_tok(&lx);
        if (t.type == TOK_END)
            return -1;
        if (is_punct(t, '('))
            depth++;
        else if (is_punct(t, ')') && --depth < 0)
            return -1;
        else if (depth == 0 && is_kw(t, "VALUES"))
            return -1;
        else if (depth == 0 && is_kw(t, "SELECT"))
            break;
    }
    t = next_tok(&lx);
    if (is_kw(t, "DISTINCT") || is_kw(t, "ALL"))
        t = next_tok(&lx);
    long n = 0;
    struct item it;
    memset(&it, 0, sizeof(it));
    for (;; t = next_tok(&lx)) {
        bool is_end = t.type == TOK_END || (depth == 0 && (ends_list(t) || is_punct(t, ',') ||
                                                           is_punct(t, ')') || is_punct(t, ';')));
        if (is_end) {
            if (depth != 0)
                return -1; /* the text ended inside parentheses */
            if (it.count) {
                if ((size_t)n < max)
                    items[n] = item_finish(&it);
                n++;
            }
            memset(&it, 0, sizeof(it));
            if (!is_punct(t, ','))
                return n;
            continue;
        }
        int before = depth;
        if (is_punct(t, '('))
            depth++;
        else if (is_punct(t, ')'))
            depth--;
        item_add(&it, t, before, 0);
    }
}
