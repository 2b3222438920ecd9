/* sqlgen.c -- see sqlgen.h for the SQL shapes. This file turns the AST into
 * SQL: boolean structure, the comparison signs with PocketBase's null/empty
 * rules (tools/search/filter.go resolveEqualExpr), LIKE wrapping, the
 * multi-valued "all values" half, functions, the sort list, and the final
 * renumbering of placeholders. Paths are resolved by filter_path.c and
 * filter_request.c. */
#include "core/filter/sqlgen.h"
#include "store/dialect.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/filter/filter_int.h"
#include "core/filter/filter_parse.h"
#include "store/sql.h"

static const struct core_filter_request no_request;

static void fc_init(struct core_fc *g, const struct core_filter_options *o, struct arena *a,
                    char *err, size_t err_cap)
{
    memset(g, 0, sizeof(*g));
    g->o = o;
    g->req = o->request ? o->request : &no_request;
    g->a = a;
    g->err = err;
    g->err_cap = err_cap;
    g->row = core_fc_quote(g, o->alias ? o->alias : "r");
    g->now_ms = o->now_ms;
    if (!g->now_ms) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        g->now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    if (err_cap)
        err[0] = '\0';
}

/* ---- comparisons ------------------------------------------------------ */

struct str core_fc_equal_sql(struct core_fc *g, bool eq, const struct core_fc_val *l,
                             const struct core_fc_val *r)
{
    /* `!=` is IS NOT: a plain != against a NULL column yields NULL, not true
     * (PostgreSQL's IS takes only NULL, TRUE, FALSE: IS DISTINCT FROM). */
    bool pg = core_fc_is_pg();
    const char *op = eq ? "=" : pg ? "IS DISTINCT FROM" : "IS NOT";
    const char *null_op = eq ? (pg ? "IS NOT DISTINCT FROM" : "IS") : op;
    const char *concat = eq ? "OR" : "AND";
    const char *null_expr = eq ? "IS NULL" : "IS NOT NULL";
    if (l->no_coalesce || r->no_coalesce)
        return core_fc_fmt(g, "%.*s %s %.*s", FC_S(l->sql), null_op, FC_S(r->sql));
    if (l->is_empty && r->is_empty)
        return core_fc_fmt(g, "'' %s ''", op);
    if (l->known_nonempty || r->known_nonempty) {
        struct str ls = l->is_empty ? STR_LIT("''") : l->sql;
        struct str rs = r->is_empty ? STR_LIT("''") : r->sql;
        return core_fc_fmt(g, "%.*s %s %.*s", FC_S(ls), op, FC_S(rs));
    }
    /* Comparing with an empty value: a seekable "a = '' OR a IS NULL". */
    if (l->is_empty)
        return core_fc_fmt(g, "('' %s %.*s %s %.*s %s)", op, FC_S(r->sql), concat, FC_S(r->sql),
                           null_expr);
    if (r->is_empty)
        return core_fc_fmt(g, "(%.*s %s '' %s %.*s %s)", FC_S(l->sql), op, concat, FC_S(l->sql),
                           null_expr);
    return core_fc_fmt(g, "COALESCE(%.*s, '') %s COALESCE(%.*s, '')", FC_S(l->sql), op,
                       FC_S(r->sql));
}

/* True when s has c not preceded by an unescaped backslash. */
static bool has_unescaped(struct str s, char c)
{
    char prev = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == c && prev != '\\')
            return true;
        prev = (s.ptr[i] == '\\' && prev == '\\') ? 0 : s.ptr[i];
    }
    return false;
}

static bool is_like_special(char c)
{
    return c == '\\' || c == '%' || c == '_';
}

/* "%value%" with each not-yet-escaped \ % _ escaped, unless value already has
 * an unescaped % (then it is the pattern as given), as PB's wrapLikeParams;
 * bytes, not runes, since the special characters are ASCII. */
static struct str like_pattern(struct core_fc *g, struct str s)
{
    if (has_unescaped(s, '%'))
        return s;
    char *out = arena_alloc(g->a, 2 * s.len + 3);
    size_t n = 2 * s.len + 2; /* written backwards from the end */
    out[n] = '\0';
    size_t end = n;
    out[--n] = '%';
    bool match = false;
    for (size_t k = s.len; k-- > 0;) {
        char c = s.ptr[k];
        if (match) {
            if (c != '\\')
                out[--n] = '\\';
            match = false;
        } else {
            match = is_like_special(c);
        }
        out[--n] = c;
        if (k == 0 && match)
            out[--n] = '\\';
    }
    out[--n] = '%';
    return (struct str){out + n, end - n};
}

/* A parameter's value as text, as Go's cast.ToString would print it. */
static struct str param_text(struct core_fc *g, const struct core_sql_param *p)
{
    switch (p->type) {
    case CORE_SQL_TEXT: return p->text;
    case CORE_SQL_INT: return core_fc_fmt(g, "%" PRId64, p->i);
    case CORE_SQL_DOUBLE:
        for (int prec = 1; prec <= 17; prec++) {
            struct str s = core_fc_fmt(g, "%.*g", prec, p->d);
            if (strtod(s.ptr, NULL) == p->d)
                return s;
        }
        return core_fc_fmt(g, "%.17g", p->d);
    default: return STR_LIT("");
    }
}

static struct str like_sql(struct core_fc *g, bool neg, const struct core_fc_val *l,
                           const struct core_fc_val *r)
{
    const char *not = neg ? "NOT " : "";
    /* SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE is the same test,
     * on the operand's text in a deterministic collation (a NOCASE column's
     * cannot be matched with a pattern there). */
    struct str lhs = l->sql;
    const char *like = "LIKE";
    if (core_fc_is_pg()) {
        lhs = core_fc_fmt(g, "(%.*s)::text COLLATE \"C\"", FC_S(l->sql));
        like = "ILIKE";
    }
    if (!r->pidx)
        return core_fc_fmt(g, "%.*s %s%s ('%%' || %.*s || '%%') ESCAPE '\\'", FC_S(lhs), not, like,
                           FC_S(r->sql));
    struct str pat = like_pattern(g, param_text(g, &g->params[r->pidx - 1]));
    size_t k = core_fc_param(g, (struct core_sql_param){.type = CORE_SQL_TEXT, .text = pat});
    return core_fc_fmt(g, "%.*s %s%s %s?%zu%s ESCAPE '\\'", FC_S(lhs), not, like,
                       r->lowered ? "LOWER(" : "", k, r->lowered ? ")" : "");
}

/* PostgreSQL: the operands of a comparison with a JSON value (is_json):
 * for LIKE the JSON value's text, for the signs both sides as JSON values
 * (core_fc_json_operand), so each compares as SQLite compares what its
 * json_extract returns. */
static void json_operands(struct core_fc *g, enum core_fop op, struct core_fc_val *l,
                          struct core_fc_val *r)
{
    struct core_fc_val *side[] = {l, r};
    for (size_t i = 0; i < 2; i++) {
        if (op == CORE_FOP_LIKE || op == CORE_FOP_NLIKE) {
            if (side[i]->is_json)
                side[i]->sql = core_fc_json_unwrap(g, side[i]->sql, STORE_JSON_AS_TEXT);
            side[i]->is_json = false;
        } else {
            side[i]->sql = core_fc_json_operand(g, side[i]);
            side[i]->is_json = true;
        }
    }
}

/* Whether v is a parameter bound from a number. */
static bool is_number_param(const struct core_fc *g, const struct core_fc_val *v)
{
    enum core_sql_param_type t = g->params[v->pidx - 1].type;
    return t == CORE_SQL_INT || t == CORE_SQL_DOUBLE;
}

static struct str sign_sql(struct core_fc *g, enum core_fop op, const struct core_fc_val *l,
                           const struct core_fc_val *r)
{
    static const char *const ord[] = {
        [CORE_FOP_LT] = "<", [CORE_FOP_LTE] = "<=", [CORE_FOP_GT] = ">", [CORE_FOP_GTE] = ">="};
    struct core_fc_val lj, rj;
    if (l->is_json || r->is_json) {
        lj = *l;
        rj = *r;
        json_operands(g, op, &lj, &rj);
        l = &lj;
        r = &rj;
    }
    switch (op) {
    case CORE_FOP_EQ:
    case CORE_FOP_NEQ: return core_fc_equal_sql(g, op == CORE_FOP_EQ, l, r);
    case CORE_FOP_LIKE:
    case CORE_FOP_NLIKE: return like_sql(g, op == CORE_FOP_NLIKE, l, r);
    default: break;
    }
    /* PostgreSQL types two parameters compared with each other as text
     * ("100" < "5"): numbers (@request.body, @risk values against a
     * number) compare as numbers, as in SQLite. */
    if (l->pidx && r->pidx && !l->is_json && !r->is_json && is_number_param(g, l) &&
        is_number_param(g, r) && store_dialect_current() == STORE_DIALECT_POSTGRES)
        return core_fc_fmt(g, "CAST(%.*s AS NUMERIC) %s CAST(%.*s AS NUMERIC)", FC_S(l->sql),
                           ord[op], FC_S(r->sql));
    return core_fc_fmt(g, "%.*s %s %.*s", FC_S(l->sql), ord[op], FC_S(r->sql));
}

/* The standalone value of a multi-valued operand, as a plain operand. */
static struct core_fc_val mm_operand(const struct core_fc_val *v, struct str sql)
{
    struct core_fc_val m = {.sql = sql, .no_coalesce = v->no_coalesce, .is_json = v->is_json};
    return m;
}

/* ---- operands ---------------------------------------------------------- */

static enum rc resolve_operand(struct core_fc *g, const struct core_foperand *o,
                               struct core_fc_val *out);

static enum rc resolve_func(struct core_fc *g, const struct core_foperand *o,
                            struct core_fc_val *out)
{
    bool geo = str_eq(o->text, STR_LIT("geoDistance"));
    if (!geo && !str_eq(o->text, STR_LIT("strftime")))
        return core_fc_fail(g, "unknown function \"%.*s\"", FC_S(o->text));
    if (geo ? o->arg_count != 4 : o->arg_count < 1)
        return core_fc_fail(g, "wrong number of arguments to %.*s()", FC_S(o->text));
    struct core_fc_val args[CORE_FILTER_MAX_ARGS];
    size_t multi_at = o->arg_count;
    for (size_t i = 0; i < o->arg_count; i++) {
        enum rc rc = resolve_operand(g, &o->args[i], &args[i]);
        if (rc)
            return rc;
        if (args[i].is_multi && (geo || multi_at < o->arg_count)) {
            g->offset = o->args[i].offset;
            return core_fc_fail(g, "multi-valued argument to %.*s()", FC_S(o->text));
        }
        if (args[i].is_multi)
            multi_at = i;
    }
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < o->arg_count; i++) {
        if (args[i].is_json)
            args[i].sql = core_fc_json_unwrap(g, args[i].sql,
                                              geo ? STORE_JSON_AS_NUMBER : STORE_JSON_AS_TEXT);
    }
    if (geo) {
        struct str lon1 = args[0].sql, lat1 = args[1].sql, lon2 = args[2].sql, lat2 = args[3].sql;
        out->no_coalesce = true;
        if (!core_fc_is_pg()) {
            /* the formula below in one call (store/sqlite_func.c) */
            out->sql = core_fc_fmt(g, "tarmac_geo_km(%.*s, %.*s, %.*s, %.*s)", FC_S(lat1),
                                   FC_S(lon1), FC_S(lat2), FC_S(lon2));
            return RC_OK;
        }
        /* Great-circle distance in km (spherical law of cosines, R = 6371),
         * as PB's geoDistance; least() keeps acos() in its domain. */
        out->sql = core_fc_fmt(
            g,
            "(6371 * acos(least(1.0, cos(radians(%.*s)) * cos(radians(%.*s)) * "
            "cos(radians(%.*s) - radians(%.*s)) + sin(radians(%.*s)) * sin(radians(%.*s)))))",
            FC_S(lat1), FC_S(lat2), FC_S(lon2), FC_S(lon1), FC_S(lat1), FC_S(lat2));
        return RC_OK;
    }
    /* strftime(format, time, modifiers...): NULL -> '' (spec §3.8). A
     * multi-valued argument keeps the result multi-valued (§3.7). */
    struct str list = STR_LIT(""), mm_list = STR_LIT("");
    for (size_t i = 0; i < o->arg_count; i++) {
        struct str a = args[i].sql, mm = i == multi_at ? args[i].mm_expr : args[i].sql;
        list = core_fc_fmt(g, "%.*s%s%.*s", FC_S(list), i ? ", " : "", FC_S(a));
        mm_list = core_fc_fmt(g, "%.*s%s%.*s", FC_S(mm_list), i ? ", " : "", FC_S(mm));
    }
    const char *fn = core_fc_is_pg() ? "tarmac_strftime" : "strftime"; /* store/pg.c */
    out->sql = core_fc_fmt(g, "COALESCE(%s(%.*s), '')", fn, FC_S(list));
    if (multi_at < o->arg_count) {
        out->is_multi = out->has_hops = true;
        out->mm_expr = core_fc_fmt(g, "COALESCE(%s(%.*s), '')", fn, FC_S(mm_list));
        out->mm_from = args[multi_at].mm_from;
    }
    return RC_OK;
}

static enum rc resolve_number(struct core_fc *g, struct str s, struct core_fc_val *out)
{
    /* Integral literals bind as INTEGER so that a TEXT column holding "5"
     * equals 5; others as REAL (PB binds float64 throughout). */
    const char *z = core_fc_fmt(g, "%.*s", FC_S(s)).ptr;
    struct core_sql_param p = {.type = CORE_SQL_DOUBLE};
    if (!memchr(s.ptr, '.', s.len)) {
        char *end;
        errno = 0;
        long long v = strtoll(z, &end, 10);
        if (errno == 0 && *end == '\0') {
            p.type = CORE_SQL_INT;
            p.i = v;
        }
    }
    if (p.type == CORE_SQL_DOUBLE)
        p.d = strtod(z, NULL);
    core_fc_param_val(g, p, out);
    return RC_OK;
}

static enum rc resolve_operand(struct core_fc *g, const struct core_foperand *o,
                               struct core_fc_val *out)
{
    g->offset = o->offset;
    switch (o->kind) {
    case CORE_FOPD_TEXT:
        core_fc_param_val(g, (struct core_sql_param){.type = CORE_SQL_TEXT, .text = o->text}, out);
        return RC_OK;
    case CORE_FOPD_NUMBER: return resolve_number(g, o->text, out);
    case CORE_FOPD_FUNC: return resolve_func(g, o, out);
    case CORE_FOPD_IDENT: break;
    }
    struct str id = o->text;
    if (str_has_prefix(id, STR_LIT("@request.")) || str_eq(id, STR_LIT("@request")))
        return core_fc_resolve_request(g, id, out);
    if (str_has_prefix(id, STR_LIT("@risk.")) && g->req && g->req->risk) {
        struct core_fc_segs segs;
        enum rc rc = core_fc_split(g, id, &segs);
        if (rc)
            return rc;
        if (segs.count != 2 || segs.mod[1].len ||
            !json_object_getn(g->req->risk, segs.seg[1].ptr, segs.seg[1].len))
            return core_fc_fail(g, "unknown risk feature \"%.*s\"", FC_S(id));
        return core_fc_resolve_from_record(g, NULL, g->req->risk, CORE_FC_REC_OTHER, "@risk", &segs,
                                           1, out);
    }
    if (id.ptr[0] == '@' && !str_has_prefix(id, STR_LIT("@collection."))) {
        enum rc rc = core_fc_resolve_macro(g, id, out);
        if (rc == RC_NOT_FOUND)
            return core_fc_fail(g, "unknown identifier \"%.*s\"", FC_S(id));
        return rc;
    }
    enum rc rc = core_fc_resolve_path(g, id, out);
    if (rc != RC_NOT_FOUND)
        return rc;
    if (str_eq_cstr_nocase(id, "true"))
        core_fc_literal("1", out);
    else if (str_eq_cstr_nocase(id, "false"))
        core_fc_literal("0", out);
    else
        core_fc_literal("NULL", out);
    return RC_OK;
}

/* ---- expressions ------------------------------------------------------- */

static enum rc gen_cmp(struct core_fc *g, const struct core_fnode *n, struct str *out)
{
    struct core_fc_val l, r;
    enum rc rc = resolve_operand(g, &n->left, &l);
    if (!rc)
        rc = resolve_operand(g, &n->right, &r);
    if (rc)
        return rc;
    enum core_fop op = core_fop_base(n->op);
    struct str expr = sign_sql(g, op, &l, &r);
    if (!core_fop_is_any(n->op) && (l.is_multi || r.is_multi)) {
        /* "All values": no value may fail (spec §3.7); the match half is
         * expr over the wrapper's shared joins. */
        struct str none;
        if (l.is_multi && r.is_multi) {
            struct core_fc_val lv = mm_operand(&l, STR_LIT("_ml.v"));
            struct core_fc_val rv = mm_operand(&r, STR_LIT("_mr.v"));
            struct str c = sign_sql(g, op, &lv, &rv);
            none = core_fc_fmt(g,
                               "NOT EXISTS (SELECT 1 FROM (SELECT %.*s AS v %.*s) _ml, "
                               "(SELECT %.*s AS v %.*s) _mr WHERE NOT (%.*s))",
                               FC_S(l.mm_expr), FC_S(l.mm_from), FC_S(r.mm_expr), FC_S(r.mm_from),
                               FC_S(c));
        } else if (l.is_multi) {
            struct core_fc_val lv = mm_operand(&l, l.mm_expr);
            struct str c = sign_sql(g, op, &lv, &r);
            none = core_fc_fmt(g, "NOT EXISTS (SELECT 1 %.*s WHERE NOT (%.*s))", FC_S(l.mm_from),
                               FC_S(c));
        } else {
            struct core_fc_val rv = mm_operand(&r, r.mm_expr);
            struct str c = sign_sql(g, op, &l, &rv);
            none = core_fc_fmt(g, "NOT EXISTS (SELECT 1 %.*s WHERE NOT (%.*s))", FC_S(r.mm_from),
                               FC_S(c));
        }
        expr = core_fc_fmt(g, "(%.*s AND %.*s)", FC_S(expr), FC_S(none));
    }
    struct str box = core_fc_geo_box(g, n);
    if (box.len)
        expr = core_fc_fmt(g, "(%.*s AND %.*s)", FC_S(expr), FC_S(box));
    /* A non-superuser only matches emails their owners made visible. */
    if (l.vis.len)
        expr = core_fc_fmt(g, "(%.*s AND %.*s = 1)", FC_S(expr), FC_S(l.vis));
    if (r.vis.len)
        expr = core_fc_fmt(g, "(%.*s AND %.*s = 1)", FC_S(expr), FC_S(r.vis));
    *out = expr;
    return RC_OK;
}

/* Recursion depth is bounded by CORE_FILTER_MAX_DEPTH (AND/OR are n-ary). */
static enum rc gen_node(struct core_fc *g, const struct core_fnode *n, struct str *out)
{
    if (n->kind == CORE_FNODE_CMP)
        return gen_cmp(g, n, out);
    const char *sep = n->kind == CORE_FNODE_AND ? " AND " : " OR ";
    struct str *parts = arena_alloc(g->a, n->count * sizeof(*parts));
    size_t total = 2;
    for (size_t i = 0; i < n->count; i++) {
        enum rc rc = gen_node(g, n->items[i], &parts[i]);
        if (rc)
            return rc;
        total += parts[i].len + strlen(sep);
    }
    char *p = arena_alloc(g->a, total + 1);
    size_t k = 0;
    p[k++] = '(';
    for (size_t i = 0; i < n->count; i++) {
        if (i) {
            memcpy(p + k, sep, strlen(sep));
            k += strlen(sep);
        }
        memcpy(p + k, parts[i].ptr, parts[i].len);
        k += parts[i].len;
    }
    p[k++] = ')';
    p[k] = '\0';
    *out = (struct str){p, k};
    return RC_OK;
}

/* PB >= v0.32 (core/record_field_resolver.go): a non-superuser's filter or
 * sort that hops into collection t only sees t's records that t's listRule
 * lets the requester list. The rule is compiled here as the requester, on
 * the hop's alias, as a rule (hidden fields allowed, no further checks, so
 * this never recurses), and the caller ANDs it into the hop's ON clause: a
 * record the requester may not list looks like a missing one, in the shared
 * joins, the "all values" half and sort subqueries alike. Its own paths get
 * their own EXISTS wrapper; its parameters join g's. A rule that no longer
 * compiles hides every record (fail closed). */
enum rc core_fc_list_rule(struct core_fc *g, const struct core_collection *t, struct str alias,
                          struct str *out)
{
    *out = STR_LIT("");
    const char *rule = t->rules[CORE_RULE_LIST];
    if (g->o->allow_hidden || !rule || !rule[0])
        return RC_OK;
    struct core_filter_options o = *g->o;
    o.collection = t;
    o.allow_hidden = true;
    struct core_fc saved = *g;
    g->o = &o;
    g->row = alias;
    g->joins = NULL;
    g->join_count = g->join_cap = g->table_count = 0;
    struct core_fnode *root;
    struct str expr;
    enum rc rc = core_filter_parse(str_from_cstr(rule), g->a, &root, g->err, g->err_cap);
    if (!rc)
        rc = gen_node(g, root, &expr);
    if (!rc && g->join_count) {
        struct str joins = STR_LIT("");
        for (size_t i = 0; i < g->join_count; i++)
            joins = core_fc_fmt(g, "%.*s%.*s", FC_S(joins), FC_S(g->joins[i].sql));
        struct str z = core_fc_alias(g, "_j");
        expr = core_fc_fmt(g, "EXISTS (SELECT 1 FROM (SELECT 1) %.*s%.*s WHERE %.*s)", FC_S(z),
                           FC_S(joins), FC_S(expr));
    }
    /* Keep what the rule added to the shared state (parameters, aliases). */
    saved.params = g->params;
    saved.param_count = g->param_count;
    saved.param_cap = g->param_cap;
    saved.next_alias = g->next_alias;
    *g = saved;
    if (g->err_cap)
        g->err[0] = '\0';
    *out = rc ? STR_LIT(" AND 0") : core_fc_fmt(g, " AND (%.*s)", FC_S(expr));
    return RC_OK;
}

/* From a quote at s[i], the index just past the quoted run (a doubled quote
 * inside is two runs back to back); i itself when s[i] is not a quote.
 * Schema names are quoted identifiers and could hold a '?'. */
static size_t skip_quoted(struct str s, size_t i)
{
    while (i < s.len && (s.ptr[i] == '"' || s.ptr[i] == '\'')) {
        char q = s.ptr[i++];
        while (i < s.len && s.ptr[i] != q)
            i++;
        i++;
    }
    return i < s.len ? i : s.len;
}

/* Rewrites the internal ?N of sql to base+1, base+2, ... in order of first
 * use, in the dialect's placeholder form (store/sql.h), and keeps only the
 * parameters used. Outside quotes only placeholders hold a '?': every value
 * is a parameter, never a literal. RC_NOMEM, or RC_OK. */
static enum rc renumber(struct core_fc *g, struct str sql, size_t base, struct str *out_sql,
                        struct core_sql_param **out_params, size_t *out_count)
{
    size_t *map = arena_alloc(g->a, (g->param_count + 1) * sizeof(*map));
    memset(map, 0, (g->param_count + 1) * sizeof(*map));
    struct core_sql_param *params =
        arena_alloc(g->a, (g->param_count ? g->param_count : 1) * sizeof(*params));
    size_t used = 0, extra = 0;
    for (size_t i = 0; i < sql.len; i++) {
        i = skip_quoted(sql, i);
        if (i >= sql.len || sql.ptr[i] != '?')
            continue;
        size_t k = 0, j = i + 1;
        while (j < sql.len && sql.ptr[j] >= '0' && sql.ptr[j] <= '9')
            k = k * 10 + (size_t)(sql.ptr[j++] - '0');
        if (k == 0 || k > g->param_count)
            abort(); /* generated SQL is broken: a compiler bug, never input */
        if (!map[k]) {
            map[k] = ++used;
            params[used - 1] = g->params[k - 1];
        }
        extra += 24; /* a placeholder is a sign and at most 20 digits */
    }
    struct buf b;
    buf_init(&b, sql.len + extra);
    struct store_sql q;
    store_sql_begin(&q, &b);
    store_sql_fail(&q, buf_reserve(&b, sql.len + extra)); /* one allocation */
    for (size_t i = 0; i < sql.len;) {
        size_t from = i;
        while (i < sql.len && sql.ptr[i] != '?') {
            size_t past = skip_quoted(sql, i);
            i = past > i ? past : i + 1;
        }
        store_sql_addn(&q, (struct str){sql.ptr + from, i - from});
        if (i >= sql.len)
            break;
        size_t k = 0, j = i + 1;
        while (j < sql.len && sql.ptr[j] >= '0' && sql.ptr[j] <= '9')
            k = k * 10 + (size_t)(sql.ptr[j++] - '0');
        store_sql_param_at(&q, (unsigned)(base + map[k]));
        i = j;
    }
    enum rc rc = store_sql_end(&q);
    if (!rc) {
        *out_sql = arena_strdup(g->a, buf_str(&b));
        *out_params = used ? params : NULL;
        *out_count = used;
    }
    buf_cleanup(&b);
    return rc;
}

enum rc core_filter_compile(const struct core_filter_options *o, struct str filter, struct arena *a,
                            struct core_sql_fragment *out, char *err, size_t err_cap)
{
    memset(out, 0, sizeof(*out));
    if (err_cap)
        err[0] = '\0';
    if (filter.len == 0) {
        out->sql = STR_LIT("TRUE");
        return RC_OK;
    }
    struct core_fnode *root;
    enum rc rc = core_filter_parse(filter, a, &root, err, err_cap);
    if (rc)
        return rc;
    struct core_fc g;
    fc_init(&g, o, a, err, err_cap);
    struct str expr;
    rc = gen_node(&g, root, &expr);
    if (rc)
        return rc;
    if (g.join_count) {
        struct str joins = STR_LIT("");
        for (size_t i = 0; i < g.join_count; i++)
            joins = core_fc_fmt(&g, "%.*s%.*s", FC_S(joins), FC_S(g.joins[i].sql));
        expr = core_fc_fmt(&g, "EXISTS (SELECT 1 FROM (SELECT 1) _j0%.*s WHERE %.*s)", FC_S(joins),
                           FC_S(expr));
    }
    return renumber(&g, expr, o->param_base, &out->sql, &out->params, &out->param_count);
}

/* ---- sort ---------------------------------------------------------------- */

static bool is_sort_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static enum rc sort_term(struct core_fc *g, struct str term, struct str *out)
{
    bool desc = false;
    if (term.ptr[0] == '-' || term.ptr[0] == '+') {
        desc = term.ptr[0] == '-';
        term.ptr++;
        term.len--;
    }
    if (str_eq(term, STR_LIT("@random"))) {
        *out = STR_LIT("RANDOM()");
        return RC_OK;
    }
    const char *dir = desc ? "DESC" : "ASC";
    if (str_eq(term, STR_LIT("@rowid"))) {
        if (g->o->collection->type == CORE_COLLECTION_VIEW)
            return core_fc_fail(g, "@rowid cannot sort a view collection");
        *out = core_fc_fmt(g, "%.*s.rowid %s", FC_S(g->row), dir);
        return RC_OK;
    }
    if (memchr(term.ptr, '(', term.len)) {
        /* A function of the record (beyond PocketBase): nearest first with
         * geoDistance(loc.lon, loc.lat, 12.5, 41.9). One value per record:
         * no path through a relation. */
        struct core_foperand fo;
        struct core_fc_val v;
        enum rc rc = core_filter_parse_operand(term, g->a, &fo, g->err, g->err_cap);
        if (rc)
            return rc;
        if (fo.kind != CORE_FOPD_FUNC)
            return core_fc_fail(g, "invalid sort term \"%.*s\"", FC_S(term));
        rc = resolve_operand(g, &fo, &v);
        if (rc)
            return rc;
        if (v.has_hops || v.is_multi || g->join_count)
            return core_fc_fail(g, "a sort function reads only the record's own fields");
        *out = core_fc_fmt(g, "%.*s %s", FC_S(v.sql), dir);
        return RC_OK;
    }
    /* The term must be exactly one identifier token. */
    struct core_flexer lx;
    struct core_ftoken t, end;
    core_flex_init(&lx, term, g->a);
    enum rc rc = core_flex_next(&lx, &t, g->err, g->err_cap);
    if (!rc)
        rc = core_flex_next(&lx, &end, g->err, g->err_cap);
    if (rc)
        return rc;
    if (t.kind != CORE_FTOK_IDENT || t.offset != 0 || end.kind != CORE_FTOK_EOF || t.is_call ||
        t.text.ptr[0] == '@')
        return core_fc_fail(g, "invalid sort term \"%.*s\"", FC_S(term));
    struct core_fc_val v;
    rc = core_fc_resolve_path(g, term, &v);
    if (rc == RC_NOT_FOUND)
        return core_fc_fail(g, "invalid sort term \"%.*s\"", FC_S(term));
    if (rc)
        return rc;
    struct str expr = v.sql;
    if (v.has_hops) {
        /* A scalar subquery over the path's own joins; for several values
         * the first in the requested order, as a DISTINCT join would give. */
        if (v.is_multi && v.is_json) /* PostgreSQL has no min(jsonb) */
            expr = core_fc_fmt(g, "(SELECT %.*s AS v %.*s ORDER BY v %s NULLS LAST LIMIT 1)",
                               FC_S(v.mm_expr), FC_S(v.mm_from), dir);
        else if (v.is_multi)
            expr = core_fc_fmt(g, "(SELECT %s(%.*s) %.*s)", desc ? "MAX" : "MIN", FC_S(v.mm_expr),
                               FC_S(v.mm_from));
        else
            expr = core_fc_fmt(g, "(SELECT %.*s %.*s)", FC_S(v.mm_expr), FC_S(v.mm_from));
    }
    *out = core_fc_fmt(g, "%.*s %s", FC_S(expr), dir);
    return RC_OK;
}

enum rc core_sort_compile(const struct core_filter_options *o, struct str sort, struct arena *a,
                          struct str *order_by, struct core_sql_fragment *params_out, char *err,
                          size_t err_cap)
{
    memset(params_out, 0, sizeof(*params_out));
    *order_by = STR_LIT("");
    struct core_fc g;
    fc_init(&g, o, a, err, err_cap);
    struct str list = STR_LIT("");
    size_t terms = 0, i = 0;
    while (i <= sort.len) {
        /* Terms end at a comma outside parentheses and quotes (a function's
         * arguments are its own). */
        size_t j = i;
        int depth = 0;
        char quote = 0;
        while (j < sort.len && (depth > 0 || quote || sort.ptr[j] != ',')) {
            char ch = sort.ptr[j];
            if (quote)
                quote = ch == quote ? 0 : quote;
            else if (ch == '\'' || ch == '"')
                quote = ch;
            else if (ch == '(')
                depth++;
            else if (ch == ')' && depth > 0)
                depth--;
            j++;
        }
        struct str term = {sort.ptr + i, j - i};
        g.offset = i;
        while (term.len && is_sort_space(term.ptr[0])) {
            term.ptr++;
            term.len--;
            g.offset++;
        }
        while (term.len && is_sort_space(term.ptr[term.len - 1]))
            term.len--;
        if (!term.len || (term.len == 1 && (term.ptr[0] == '-' || term.ptr[0] == '+')))
            return core_fc_fail(&g, "empty sort term");
        if (term.len > CORE_SORT_MAX_TERM_LEN)
            return core_fc_fail(&g, "sort term longer than %d", CORE_SORT_MAX_TERM_LEN);
        if (++terms > CORE_SORT_MAX_TERMS)
            return core_fc_fail(&g, "more than %d sort terms", CORE_SORT_MAX_TERMS);
        struct str one = STR_LIT("");
        enum rc rc = sort_term(&g, term, &one);
        if (rc)
            return rc;
        g.join_count = g.table_count = 0; /* sort terms never use the shared joins */
        list = core_fc_fmt(&g, "%.*s%s%.*s", FC_S(list), terms > 1 ? ", " : "", FC_S(one));
        i = j + 1;
    }
    enum rc rc =
        renumber(&g, list, o->param_base, order_by, &params_out->params, &params_out->param_count);
    params_out->sql = *order_by;
    return rc;
}
