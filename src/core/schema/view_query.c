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
    struct tok first[5];
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
    if (it->count < 5)
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

/* A token that can name a table or a column: a quoted name, or a word that
 * is neither a number nor a literal keyword. */
static bool is_name_tok(struct tok t)
{
    if (t.type == TOK_QUOTED)
        return t.len >= 2;
    if (t.type != TOK_WORD || (t.ptr[0] >= '0' && t.ptr[0] <= '9'))
        return false;
    static const char *const literals[] = {"NULL",         "TRUE",         "FALSE",
                                           "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP"};
    for (size_t i = 0; i < sizeof(literals) / sizeof(literals[0]); i++) {
        if (is_kw(t, literals[i]))
            return false;
    }
    return true;
}

/* A name token without its quotes. */
static struct str unquoted(struct tok t)
{
    if (t.type == TOK_QUOTED || t.type == TOK_STRING)
        return (struct str){t.ptr + 1, t.len >= 2 ? t.len - 2 : 0};
    return (struct str){t.ptr, t.len};
}

/* Whether tokens first[from..n) are at most an alias: nothing, a name, or AS and a name. */
static bool only_alias(const struct tok *t, size_t from, size_t n)
{
    return n == from || (n == from + 1 && is_alias_tok(t[from])) ||
           (n == from + 2 && is_kw(t[from], "AS") && is_alias_tok(t[from + 1]));
}

/* "col" or "t.col", and at most an alias: the reference into out. */
static void plain_reference(const struct item *it, struct core_view_item *out)
{
    size_t n = it->count;
    if (n > 5 || !is_name_tok(it->first[0]))
        return;
    if (n >= 3 && is_punct(it->first[1], '.') && is_name_tok(it->first[2]) &&
        only_alias(it->first, 3, n)) {
        out->qualifier = unquoted(it->first[0]);
        out->column = unquoted(it->first[2]);
    } else if (only_alias(it->first, 1, n)) {
        out->column = unquoted(it->first[0]);
    }
}

static struct core_view_item item_finish(const struct item *it)
{
    struct core_view_item out = {CORE_VIEW_ITEM_OTHER, "", {"", 0}, {"", 0}};
    plain_reference(it, &out);
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

/* Moves lx past the first SELECT outside parentheses (a WITH clause's are
 * inside them); false when there is none. */
static bool find_select(struct lexer *lx)
{
    int depth = 0;
    for (;;) {
        struct tok t = next_tok(lx);
        if (t.type == TOK_END)
            return false;
        if (is_punct(t, '('))
            depth++;
        else if (is_punct(t, ')') && --depth < 0)
            return false;
        else if (depth == 0 && is_kw(t, "VALUES"))
            return false;
        else if (depth == 0 && is_kw(t, "SELECT"))
            return true;
    }
}

/* Moves lx past the parentheses whose '(' was just read; false at the end. */
static bool skip_parens(struct lexer *lx)
{
    for (int depth = 1; depth > 0;) {
        struct tok t = next_tok(lx);
        if (t.type == TOK_END)
            return false;
        if (is_punct(t, '('))
            depth++;
        else if (is_punct(t, ')'))
            depth--;
    }
    return true;
}

long core_view_select_items(struct str sql, struct core_view_item *items, size_t max)
{
    struct lexer lx = {sql.ptr, sql.ptr + sql.len};
    int depth = 0;
    struct tok t;
    if (!find_select(&lx))
        return -1;
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

/* A word that ends the FROM clause. */
static bool ends_from(struct tok t)
{
    return is_punct(t, ';') || is_punct(t, ')') ||
           (ends_list(t) && !is_kw(t, "FROM")); /* WHERE, GROUP, ..., UNION */
}

/* A word that cannot be a table's alias: what may follow a table name. */
static bool is_from_keyword(struct tok t)
{
    static const char *const kws[] = {"ON",    "USING",     "JOIN",   "LEFT",    "RIGHT",   "INNER",
                                      "CROSS", "OUTER",     "FULL",   "NATURAL", "INDEXED", "NOT",
                                      "WHERE", "GROUP",     "HAVING", "WINDOW",  "ORDER",   "LIMIT",
                                      "UNION", "INTERSECT", "EXCEPT"};
    for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
        if (is_kw(t, kws[i]))
            return true;
    }
    return false;
}

size_t core_view_sources(struct str sql, struct core_view_source *sources, size_t max)
{
    struct lexer lx = {sql.ptr, sql.ptr + sql.len};
    if (!find_select(&lx))
        return 0;
    struct tok t;
    /* To the FROM of this SELECT. */
    for (;;) {
        t = next_tok(&lx);
        if (t.type == TOK_END || ends_from(t))
            return 0;
        if (is_punct(t, '(') && !skip_parens(&lx))
            return 0;
        if (is_kw(t, "FROM"))
            break;
    }
    size_t n = 0;
    for (;;) {
        /* One table: name, or schema.name, then at most [AS] alias. */
        struct core_view_source src = {{"", 0}, {"", 0}};
        bool is_table = false;
        t = next_tok(&lx);
        if (is_name_tok(t) && !is_from_keyword(t)) {
            src.name = unquoted(t);
            t = next_tok(&lx);
            if (is_punct(t, '.')) {
                t = next_tok(&lx);
                if (is_name_tok(t))
                    src.name = unquoted(t);
                t = next_tok(&lx);
            }
            is_table = !is_punct(t, '('); /* json_each(...): a function */
        }
        if (is_punct(t, '(')) {
            if (!skip_parens(&lx))
                return n;
            t = next_tok(&lx);
        }
        src.alias = src.name;
        if (is_kw(t, "AS")) {
            t = next_tok(&lx);
            if (is_name_tok(t))
                src.alias = unquoted(t);
            t = next_tok(&lx);
        } else if (is_name_tok(t) && !is_from_keyword(t)) {
            src.alias = unquoted(t);
            t = next_tok(&lx);
        }
        if (is_table) {
            if (n < max)
                sources[n] = src;
            n++;
        }
        /* To the next table: after a ',' or a JOIN. */
        for (;; t = next_tok(&lx)) {
            if (t.type == TOK_END || ends_from(t))
                return n;
            if (is_punct(t, '(') && !skip_parens(&lx))
                return n;
            if (is_punct(t, ',') || is_kw(t, "JOIN"))
                break;
        }
    }
}
