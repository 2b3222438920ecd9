/* filter_parse.c -- see filter_parse.h. Recursive descent with one token of
 * lookahead. AND/OR chains become one n-ary node each (a && b && c is one AND
 * of three), so the tree is only as deep as the parentheses and the code
 * generator's recursion is bounded by CORE_FILTER_MAX_DEPTH too. */
#include "core/filter/filter_parse.h"

#include <stdio.h>
#include <string.h>

struct parser {
    struct core_flexer lx;
    struct core_ftoken tok; /* the current token */
    struct arena *a;
    size_t exprs;
    char *err;
    size_t err_cap;
};

static enum rc advance(struct parser *p)
{
    return core_flex_next(&p->lx, &p->tok, p->err, p->err_cap);
}

/* Describes the current token for an error message. */
static void describe(const struct core_ftoken *t, char *out, size_t cap)
{
    switch (t->kind) {
    case CORE_FTOK_EOF: snprintf(out, cap, "end of filter"); break;
    case CORE_FTOK_TEXT: snprintf(out, cap, "text"); break;
    case CORE_FTOK_IDENT:
    case CORE_FTOK_NUMBER:
        snprintf(out, cap, "%s \"%.*s\"", t->kind == CORE_FTOK_IDENT ? "identifier" : "number",
                 (int)(t->text.len > 40 ? 40 : t->text.len), t->text.ptr);
        break;
    default: snprintf(out, cap, "'%.*s'", (int)t->text.len, t->text.ptr); break;
    }
}

static enum rc unexpected(struct parser *p, const char *wanted)
{
    char what[64];
    describe(&p->tok, what, sizeof(what));
    if (wanted)
        snprintf(p->err, p->err_cap, "expected %s, got %s at offset %zu", wanted, what,
                 p->tok.offset);
    else
        snprintf(p->err, p->err_cap, "unexpected %s at offset %zu", what, p->tok.offset);
    return RC_INVALID;
}

static enum rc parse_operand(struct parser *p, int fdepth, struct core_foperand *o)
{
    memset(o, 0, sizeof(*o));
    o->offset = p->tok.offset;
    o->text = p->tok.text;
    switch (p->tok.kind) {
    case CORE_FTOK_TEXT: o->kind = CORE_FOPD_TEXT; return advance(p);
    case CORE_FTOK_NUMBER: o->kind = CORE_FOPD_NUMBER; return advance(p);
    case CORE_FTOK_IDENT: break;
    default: return unexpected(p, "an operand");
    }
    if (!p->tok.is_call) {
        o->kind = CORE_FOPD_IDENT;
        return advance(p);
    }
    o->kind = CORE_FOPD_FUNC;
    if (fdepth >= CORE_FILTER_MAX_FUNC_DEPTH) {
        snprintf(p->err, p->err_cap, "functions nested deeper than %d at offset %zu",
                 CORE_FILTER_MAX_FUNC_DEPTH, o->offset);
        return RC_INVALID;
    }
    enum rc rc = advance(p); /* the name */
    if (!rc)
        rc = advance(p); /* the '(' (is_call guarantees it) */
    if (rc)
        return rc;
    struct core_foperand args[CORE_FILTER_MAX_ARGS];
    size_t n = 0;
    if (p->tok.kind != CORE_FTOK_RPAREN) {
        for (;;) {
            if (n == CORE_FILTER_MAX_ARGS) {
                snprintf(p->err, p->err_cap, "more than %d function arguments at offset %zu",
                         CORE_FILTER_MAX_ARGS, p->tok.offset);
                return RC_INVALID;
            }
            rc = parse_operand(p, fdepth + 1, &args[n++]);
            if (rc)
                return rc;
            if (p->tok.kind != CORE_FTOK_COMMA)
                break;
            rc = advance(p);
            if (rc)
                return rc;
        }
    }
    if (p->tok.kind != CORE_FTOK_RPAREN)
        return unexpected(p, "',' or ')'");
    if (n) {
        o->args = arena_alloc(p->a, n * sizeof(*o->args));
        memcpy(o->args, args, n * sizeof(*o->args));
    }
    o->arg_count = n;
    return advance(p);
}

static enum rc parse_or(struct parser *p, int depth, struct core_fnode **out);

static enum rc parse_term(struct parser *p, int depth, struct core_fnode **out)
{
    enum rc rc;
    if (p->tok.kind == CORE_FTOK_LPAREN) {
        size_t open_at = p->tok.offset;
        if (depth >= CORE_FILTER_MAX_DEPTH) {
            snprintf(p->err, p->err_cap, "parentheses nested deeper than %d at offset %zu",
                     CORE_FILTER_MAX_DEPTH, open_at);
            return RC_INVALID;
        }
        rc = advance(p);
        if (!rc)
            rc = parse_or(p, depth + 1, out);
        if (rc)
            return rc;
        if (p->tok.kind != CORE_FTOK_RPAREN) {
            char what[64];
            describe(&p->tok, what, sizeof(what));
            snprintf(p->err, p->err_cap, "expected ')' closing '(' at offset %zu, got %s at %zu",
                     open_at, what, p->tok.offset);
            return RC_INVALID;
        }
        return advance(p);
    }
    struct core_fnode *n = arena_alloc(p->a, sizeof(*n));
    memset(n, 0, sizeof(*n));
    n->kind = CORE_FNODE_CMP;
    n->offset = p->tok.offset;
    if (p->tok.kind == CORE_FTOK_EOF || p->tok.kind == CORE_FTOK_RPAREN ||
        p->tok.kind == CORE_FTOK_AND || p->tok.kind == CORE_FTOK_OR)
        return unexpected(p, "an expression");
    rc = parse_operand(p, 0, &n->left);
    if (rc)
        return rc;
    if (p->tok.kind != CORE_FTOK_SIGN)
        return unexpected(p, "a comparison operator");
    n->op = p->tok.op;
    rc = advance(p);
    if (!rc)
        rc = parse_operand(p, 0, &n->right);
    if (rc)
        return rc;
    if (++p->exprs > CORE_FILTER_MAX_EXPRS) {
        snprintf(p->err, p->err_cap, "more than %d comparisons at offset %zu",
                 CORE_FILTER_MAX_EXPRS, n->offset);
        return RC_INVALID;
    }
    *out = n;
    return RC_OK;
}

/* Parses sub { join sub } where sub is parse_term (AND) or parse_and (OR). */
static enum rc parse_chain(struct parser *p, int depth, enum core_ftok join,
                           enum core_fnode_kind kind, struct core_fnode **out)
{
    struct core_fnode *first;
    enum rc rc = join == CORE_FTOK_AND
                     ? parse_term(p, depth, &first)
                     : parse_chain(p, depth, CORE_FTOK_AND, CORE_FNODE_AND, &first);
    if (rc)
        return rc;
    if (p->tok.kind != join) {
        *out = first;
        return RC_OK;
    }
    /* Collected in a growing arena array; chains are short in practice. */
    size_t cap = 4, n = 0;
    struct core_fnode **items = arena_alloc(p->a, cap * sizeof(*items));
    items[n++] = first;
    size_t offset = first->offset;
    while (p->tok.kind == join) {
        rc = advance(p);
        if (rc)
            return rc;
        struct core_fnode *next;
        rc = join == CORE_FTOK_AND ? parse_term(p, depth, &next)
                                   : parse_chain(p, depth, CORE_FTOK_AND, CORE_FNODE_AND, &next);
        if (rc)
            return rc;
        if (n == cap) {
            struct core_fnode **bigger = arena_alloc(p->a, 2 * cap * sizeof(*items));
            memcpy(bigger, items, n * sizeof(*items));
            items = bigger;
            cap *= 2;
        }
        items[n++] = next;
    }
    struct core_fnode *node = arena_alloc(p->a, sizeof(*node));
    memset(node, 0, sizeof(*node));
    node->kind = kind;
    node->offset = offset;
    node->items = items;
    node->count = n;
    *out = node;
    return RC_OK;
}

static enum rc parse_or(struct parser *p, int depth, struct core_fnode **out)
{
    return parse_chain(p, depth, CORE_FTOK_OR, CORE_FNODE_OR, out);
}

enum rc core_filter_parse_operand(struct str text, struct arena *a, struct core_foperand *out,
                                  char *err, size_t err_cap)
{
    struct parser p = {.a = a, .err = err, .err_cap = err_cap};
    if (err_cap)
        err[0] = '\0';
    if (text.len > CORE_FILTER_MAX_LEN) {
        snprintf(err, err_cap, "longer than %d bytes", CORE_FILTER_MAX_LEN);
        return RC_INVALID;
    }
    core_flex_init(&p.lx, text, a);
    enum rc rc = advance(&p);
    if (!rc)
        rc = parse_operand(&p, 0, out);
    if (!rc && p.tok.kind != CORE_FTOK_EOF)
        rc = unexpected(&p, NULL);
    return rc;
}

enum rc core_filter_parse(struct str filter, struct arena *a, struct core_fnode **out, char *err,
                          size_t err_cap)
{
    struct parser p = {.a = a, .err = err, .err_cap = err_cap};
    if (err_cap)
        err[0] = '\0';
    if (filter.len > CORE_FILTER_MAX_LEN) {
        snprintf(err, err_cap, "filter longer than %d bytes", CORE_FILTER_MAX_LEN);
        return RC_INVALID;
    }
    core_flex_init(&p.lx, filter, a);
    enum rc rc = advance(&p);
    if (rc)
        return rc;
    if (p.tok.kind == CORE_FTOK_EOF) {
        snprintf(err, err_cap, "empty filter expression");
        return RC_INVALID;
    }
    rc = parse_or(&p, 0, out);
    if (rc)
        return rc;
    if (p.tok.kind != CORE_FTOK_EOF)
        return unexpected(&p, NULL);
    return RC_OK;
}
