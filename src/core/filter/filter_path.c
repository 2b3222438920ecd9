/* filter_path.c -- resolves field paths of the filter language against the
 * schema (spec §3.4, §3.5, §3.7); see filter_int.h.
 *
 * A path is walked segment by segment with a cursor on "the current table".
 * The cursor has two names for it: its alias in the filter's wrapper subquery
 * (shared LEFT JOINs, keyed by path prefix so equal prefixes share a row) and
 * its alias in the path's own standalone join list (used for the "no value
 * fails" half of multi-valued comparisons and for sort terms). Every hop adds
 * to both. Values read from JSON records (@request.auth, .body) enter the
 * same machinery as parameters, so `@request.auth.team.name` joins "teams"
 * on a bound id. */
#include "core/filter/filter_int.h"

#include <string.h>
#include <strings.h>

#include "core/schema/field_type.h"

struct cursor {
    const struct core_collection *col;
    struct str main;     /* alias in the wrapper scope */
    struct str mm;       /* alias in the standalone scope */
    struct str key;      /* join key of the path so far */
    struct str mm_joins; /* standalone joins so far */
    bool has_hops;
    bool multi;
    bool check_hidden; /* client filter of a non-superuser */
    int hops;
};

enum rc core_fc_split(struct core_fc *g, struct str ident, struct core_fc_segs *out)
{
    memset(out, 0, sizeof(*out));
    size_t i = 0;
    while (i <= ident.len) {
        size_t j = i;
        while (j < ident.len && ident.ptr[j] != '.')
            j++;
        struct str part = {ident.ptr + i, j - i};
        if (out->count == CORE_FC_MAX_SEGS)
            return core_fc_fail(g, "path \"%.*s\" has more than %d segments", FC_S(ident),
                                CORE_FC_MAX_SEGS);
        size_t c = 0;
        while (c < part.len && part.ptr[c] != ':')
            c++;
        out->seg[out->count] = (struct str){part.ptr, c};
        out->mod[out->count] =
            c < part.len ? (struct str){part.ptr + c + 1, part.len - c - 1} : (struct str){"", 0};
        if (c == 0 || (c < part.len && c + 1 == part.len))
            return core_fc_fail(g, "empty segment in \"%.*s\"", FC_S(ident));
        out->count++;
        i = j + 1;
    }
    return RC_OK;
}

static struct str join_key(struct core_fc *g, struct str prefix, struct str seg, const char *sep)
{
    if (!prefix.len)
        return core_fc_fmt(g, "%.*s", FC_S(seg));
    return core_fc_fmt(g, "%.*s%s%.*s", FC_S(prefix), sep, FC_S(seg));
}

static struct str column(struct core_fc *g, struct str alias, const struct core_field *f)
{
    struct str q = core_fc_quote(g, f->name);
    enum store_column_kind k = core_field_column(f);
    /* PostgreSQL's json has no = nor <: its text is compared, as SQLite
     * compares the stored text. */
    if (core_fc_is_pg() &&
        (k == STORE_COLUMN_JSON || k == STORE_COLUMN_JSON_ARRAY || k == STORE_COLUMN_JSON_POINT))
        return core_fc_fmt(g, "(%.*s.%.*s)::text", FC_S(alias), FC_S(q));
    return core_fc_fmt(g, "%.*s.%.*s", FC_S(alias), FC_S(q));
}

static bool is_list_field(const struct core_field *f)
{
    return core_field_kind(f)->is_list;
}

static enum rc check_field(struct core_fc *g, const struct cursor *c, const struct core_field *f)
{
    if (c->check_hidden && (f->is_hidden || core_field_is_secret(c->col, f)))
        return core_fc_fail(g, "non-filterable field \"%s\"", f->name);
    if (f->type == CORE_FIELD_VECTOR) /* bytes: searched with `nearest`, not compared */
        return core_fc_fail(g, "vector field \"%s\" cannot be filtered or sorted", f->name);
    return RC_OK;
}

/* PB >= v0.32: a non-superuser's filter may only reach listable collections. */
static enum rc check_listable(struct core_fc *g, const struct cursor *c,
                              const struct core_collection *target)
{
    if (c->check_hidden && !target->rules[CORE_RULE_LIST])
        return core_fc_fail(g, "collection \"%s\" is not listable", target->name);
    return RC_OK;
}

/* A non-superuser's hop into t sees only what t's listRule lets them list:
 * the rule goes into the hop's ON clauses (main_sql and mm_sql end with the
 * ON clause of t's table). The shared join is built once per key. */
static enum rc guard_hop(struct core_fc *g, const struct cursor *c, const struct core_collection *t,
                         struct str key, struct str ja, struct str ma, struct str *main_sql,
                         struct str *mm_sql)
{
    if (!c->check_hidden)
        return RC_OK;
    struct str rule;
    enum rc rc = RC_OK;
    if (!core_fc_find_join(g, key)) {
        rc = core_fc_list_rule(g, t, ja, &rule);
        *main_sql = core_fc_fmt(g, "%.*s%.*s", FC_S(*main_sql), FC_S(rule));
    }
    if (!rc)
        rc = core_fc_list_rule(g, t, ma, &rule);
    *mm_sql = core_fc_fmt(g, "%.*s%.*s", FC_S(*mm_sql), FC_S(rule));
    return rc;
}

/* Moves c onto the table registered (or now registered) under key. */
static enum rc enter(struct core_fc *g, struct cursor *c, struct str key,
                     const struct core_collection *target, struct str main_sql, struct str mm_sql,
                     struct str main_alias, struct str mm_alias, bool multi, size_t tables)
{
    const struct core_fc_join *j = core_fc_find_join(g, key);
    if (j) {
        main_alias = j->alias;
    } else {
        enum rc rc = core_fc_add_join(g, key, main_alias, main_sql, tables);
        if (rc)
            return rc;
    }
    c->mm_joins = core_fc_fmt(g, "%.*s%.*s", FC_S(c->mm_joins), FC_S(mm_sql));
    c->col = target;
    c->main = main_alias;
    c->mm = mm_alias;
    c->key = key;
    c->has_hops = true;
    c->multi = c->multi || multi;
    return RC_OK;
}

/* Follows relation field f whose value is src_main / src_mm in each scope. */
static enum rc hop_relation(struct core_fc *g, struct cursor *c, const struct core_field *f,
                            struct str src_main, struct str src_mm)
{
    const struct core_collection *t =
        core_schema_find_exact(g->o->schema, str_from_cstr(f->collection_id));
    if (!t)
        return core_fc_fail(g, "relation \"%s\" points to a missing collection", f->name);
    if (++c->hops > CORE_FILTER_MAX_HOPS)
        return core_fc_fail(g, "more than %d relation hops", CORE_FILTER_MAX_HOPS);
    enum rc rc = check_listable(g, c, t);
    if (rc)
        return rc;
    bool multi = core_field_is_multi(f);
    struct str key = join_key(g, c->key, str_from_cstr(f->name), ".");
    struct str tq = core_fc_quote(g, t->name);
    struct str ja = core_fc_alias(g, "_j"), ma = core_fc_alias(g, "_m");
    struct str main_sql, mm_sql;
    if (multi) {
        struct str je = core_fc_alias(g, "_j"), me = core_fc_alias(g, "_m");
        struct str nm = core_fc_json_norm(g, src_main), nmm = core_fc_json_norm(g, src_mm);
        main_sql = core_fc_fmt(
            g, " LEFT JOIN %.*s ON TRUE LEFT JOIN %.*s %.*s ON %.*s.\"id\" = %.*s.value",
            FC_S(core_fc_json_each(g, nm, je)), FC_S(tq), FC_S(ja), FC_S(ja), FC_S(je));
        mm_sql = core_fc_fmt(g, " JOIN %.*s ON TRUE JOIN %.*s %.*s ON %.*s.\"id\" = %.*s.value",
                             FC_S(core_fc_json_each(g, nmm, me)), FC_S(tq), FC_S(ma), FC_S(ma),
                             FC_S(me));
    } else {
        main_sql = core_fc_fmt(g, " LEFT JOIN %.*s %.*s ON %.*s.\"id\" = %.*s", FC_S(tq), FC_S(ja),
                               FC_S(ja), FC_S(src_main));
        mm_sql = core_fc_fmt(g, " JOIN %.*s %.*s ON %.*s.\"id\" = %.*s", FC_S(tq), FC_S(ma),
                             FC_S(ma), FC_S(src_mm));
    }
    rc = guard_hop(g, c, t, key, ja, ma, &main_sql, &mm_sql);
    if (rc)
        return rc;
    return enter(g, c, key, t, main_sql, mm_sql, ja, ma, multi, multi ? 2 : 1);
}

/* True when col has a UNIQUE index on exactly the one column name. The
 * index text is the raw CREATE statement (spec §5.4); names may be quoted
 * with `, " or [ ]. */
static bool has_unique_index(const struct core_collection *col, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < col->index_count; i++) {
        const char *s = col->indexes[i];
        size_t k = 0;
        while (s[k] == ' ')
            k++;
        if (strncasecmp(s + k, "CREATE", 6) != 0)
            continue;
        k += 6;
        while (s[k] == ' ')
            k++;
        if (strncasecmp(s + k, "UNIQUE", 6) != 0)
            continue;
        const char *open = strchr(s, '(');
        const char *close = open ? strchr(open, ')') : NULL;
        if (!open || !close)
            continue;
        const char *p = open + 1;
        while (*p == ' ' || *p == '`' || *p == '"' || *p == '[')
            p++;
        if ((size_t)(close - p) < n || strncmp(p, name, n) != 0)
            continue;
        p += n;
        while (*p == ' ' || *p == '`' || *p == '"' || *p == ']')
            p++;
        if (p == close)
            return true;
    }
    return false;
}

/* Follows the back-relation seg ("comments_via_post") from c; RC_NOT_FOUND
 * when seg does not have that form. */
static enum rc hop_back(struct core_fc *g, struct cursor *c, struct str seg, struct str id_main,
                        struct str id_mm)
{
    size_t at = seg.len;
    for (size_t i = 0; i + 5 <= seg.len; i++) {
        if (memcmp(seg.ptr + i, "_via_", 5) == 0)
            at = i;
    }
    if (at == seg.len || at == 0 || at + 5 == seg.len)
        return RC_NOT_FOUND;
    struct str bname = {seg.ptr, at}, fname = {seg.ptr + at + 5, seg.len - at - 5};
    const struct core_collection *b = core_schema_find_exact(g->o->schema, bname);
    const struct core_field *bf = b ? core_collection_field(b, fname) : NULL;
    if (!bf || core_field_kind(bf)->filter != CORE_FIELD_FILTER_RELATION || !c->col ||
        strcmp(bf->collection_id, c->col->id) != 0)
        return core_fc_fail(g, "invalid back-relation \"%.*s\"", FC_S(seg));
    enum rc rc = check_field(g, c, bf);
    if (!rc)
        rc = check_listable(g, c, b);
    if (rc)
        return rc;
    if (++c->hops > CORE_FILTER_MAX_HOPS)
        return core_fc_fail(g, "more than %d relation hops", CORE_FILTER_MAX_HOPS);
    bool multi_ref = core_field_is_multi(bf);
    bool multi = multi_ref || !has_unique_index(b, bf->name);
    struct str key = join_key(g, c->key, seg, ".");
    struct str bq = core_fc_quote(g, b->name), fq = core_fc_quote(g, bf->name);
    struct str ja = core_fc_alias(g, "_j"), ma = core_fc_alias(g, "_m");
    struct str on_main, on_mm;
    if (multi_ref) {
        struct str fm = core_fc_fmt(g, "%.*s.%.*s", FC_S(ja), FC_S(fq));
        struct str fmm = core_fc_fmt(g, "%.*s.%.*s", FC_S(ma), FC_S(fq));
        on_main = core_fc_fmt(
            g, "%.*s IN (SELECT value FROM %.*s)", FC_S(id_main),
            FC_S(core_fc_json_each(g, core_fc_json_norm(g, fm), core_fc_alias(g, "_e"))));
        on_mm = core_fc_fmt(
            g, "%.*s IN (SELECT value FROM %.*s)", FC_S(id_mm),
            FC_S(core_fc_json_each(g, core_fc_json_norm(g, fmm), core_fc_alias(g, "_e"))));
    } else {
        on_main = core_fc_fmt(g, "%.*s.%.*s = %.*s", FC_S(ja), FC_S(fq), FC_S(id_main));
        on_mm = core_fc_fmt(g, "%.*s.%.*s = %.*s", FC_S(ma), FC_S(fq), FC_S(id_mm));
    }
    struct str main_sql =
        core_fc_fmt(g, " LEFT JOIN %.*s %.*s ON %.*s", FC_S(bq), FC_S(ja), FC_S(on_main));
    struct str mm_sql = core_fc_fmt(g, " JOIN %.*s %.*s ON %.*s", FC_S(bq), FC_S(ma), FC_S(on_mm));
    rc = guard_hop(g, c, b, key, ja, ma, &main_sql, &mm_sql);
    if (rc)
        return rc;
    return enter(g, c, key, b, main_sql, mm_sql, ja, ma, multi, 1);
}

/* Iterates the items of a select/relation/file value (":each"). */
static enum rc hop_each(struct core_fc *g, struct cursor *c, struct str key, struct str src_main,
                        struct str src_mm, struct str *v_main, struct str *v_mm)
{
    struct str je = core_fc_alias(g, "_j"), me = core_fc_alias(g, "_m");
    struct str main_sql =
        core_fc_fmt(g, " LEFT JOIN %.*s ON TRUE",
                    FC_S(core_fc_json_each(g, core_fc_json_norm(g, src_main), je)));
    struct str mm_sql = core_fc_fmt(g, " JOIN %.*s ON TRUE",
                                    FC_S(core_fc_json_each(g, core_fc_json_norm(g, src_mm), me)));
    const struct core_collection *col = c->col;
    enum rc rc = enter(g, c, key, col, main_sql, mm_sql, je, me, true, 1);
    if (rc)
        return rc;
    *v_main = core_fc_fmt(g, "%.*s.value", FC_S(c->main));
    *v_mm = core_fc_fmt(g, "%.*s.value", FC_S(c->mm));
    return RC_OK;
}

struct mods {
    bool each, length, lower, isset, changed;
};

static enum rc parse_mods(struct core_fc *g, struct str m, struct mods *out)
{
    memset(out, 0, sizeof(*out));
    while (m.len) {
        size_t n = 0;
        while (n < m.len && m.ptr[n] != ':')
            n++;
        struct str one = {m.ptr, n};
        if (str_eq(one, STR_LIT("each")))
            out->each = true;
        else if (str_eq(one, STR_LIT("length")))
            out->length = true;
        else if (str_eq(one, STR_LIT("lower")))
            out->lower = true;
        else if (str_eq(one, STR_LIT("isset")))
            out->isset = true;
        else if (str_eq(one, STR_LIT("changed")))
            out->changed = true;
        else
            return core_fc_fail(g, "unknown modifier \":%.*s\"", FC_S(one));
        m.ptr += n < m.len ? n + 1 : n;
        m.len -= n < m.len ? n + 1 : n;
    }
    if (out->each && out->length)
        return core_fc_fail(g, "modifiers :each and :length together");
    return RC_OK;
}

/* Fills out from the value v_main/v_mm reached through cursor c. */
static void finish(struct core_fc *g, const struct cursor *c, struct str v_main, struct str v_mm,
                   bool lower, struct core_fc_val *out)
{
    memset(out, 0, sizeof(*out));
    if (lower) {
        v_main = core_fc_fmt(g, "LOWER(%.*s)", FC_S(v_main));
        v_mm = core_fc_fmt(g, "LOWER(%.*s)", FC_S(v_mm));
    }
    out->sql = v_main;
    out->has_hops = c->has_hops;
    out->is_multi = c->multi;
    if (c->has_hops) {
        out->mm_expr = v_mm;
        out->mm_from = core_fc_fmt(g, "FROM (SELECT 1) _z%.*s", FC_S(c->mm_joins));
    }
}

/* Fills out from the JSON value at path k (core_fc_json_path) of the JSON
 * text v_main/v_mm reached through cursor c: compared as a JSON value on
 * PostgreSQL, except under :lower, which makes it text (as SQLite's LOWER). */
static void json_value(struct core_fc *g, const struct cursor *c, struct str v_main,
                       struct str v_mm, size_t k, bool lower, struct core_fc_val *out)
{
    v_main = core_fc_json_value(g, v_main, k);
    v_mm = core_fc_json_value(g, v_mm, k);
    bool pg = core_fc_is_pg();
    if (pg && lower) {
        v_main = core_fc_json_unwrap(g, v_main, STORE_JSON_AS_TEXT);
        v_mm = core_fc_json_unwrap(g, v_mm, STORE_JSON_AS_TEXT);
    }
    finish(g, c, v_main, v_mm, lower, out);
    out->no_coalesce = true;
    out->is_json = pg && !lower;
}

/* The value of field f of c's table (or of the record value src when c is
 * not on a table yet), with the modifiers of the last segment. */
static enum rc field_value(struct core_fc *g, struct cursor *c, const struct core_field *f,
                           struct str src_main, struct str src_mm, struct str modtext,
                           struct core_fc_val *out)
{
    struct mods m;
    enum rc rc = parse_mods(g, modtext, &m);
    if (rc)
        return rc;
    struct str v_main = src_main, v_mm = src_mm;
    if (is_list_field(f) && m.length) {
        v_main = core_fc_fmt(g, "json_array_length(%.*s)", FC_S(core_fc_json_norm(g, src_main)));
        v_mm = core_fc_fmt(g, "json_array_length(%.*s)", FC_S(core_fc_json_norm(g, src_mm)));
    } else if (is_list_field(f) && m.each && core_field_is_multi(f)) {
        struct str key = join_key(g, c->key, str_from_cstr(f->name), c->key.len ? "." : "");
        key = core_fc_fmt(g, "%.*s:each", FC_S(key));
        rc = hop_each(g, c, key, src_main, src_mm, &v_main, &v_mm);
        if (rc)
            return rc;
    }
    if (core_field_kind(f)->filter == CORE_FIELD_FILTER_JSON && !is_list_field(f)) {
        /* PB reads a json field through json_extract(col, '$'): the JSON
         * value, not its text, and without '' == NULL coalescing. */
        json_value(g, c, src_main, src_mm, core_fc_json_path(g, NULL, 0), m.lower, out);
    } else {
        finish(g, c, v_main, v_mm, m.lower, out);
    }
    if (c->check_hidden && c->col && c->col->type == CORE_COLLECTION_AUTH &&
        strcmp(f->name, "email") == 0)
        out->vis = core_fc_fmt(g, "%.*s.\"emailVisibility\"", FC_S(c->main));
    return RC_OK;
}

/* Walks s->seg[i..] from the table under c. */
static enum rc walk(struct core_fc *g, struct cursor *c, const struct core_fc_segs *s, size_t i,
                    struct core_fc_val *out)
{
    for (; i < s->count; i++) {
        struct str seg = s->seg[i];
        bool last = i + 1 == s->count;
        if (!last && s->mod[i].len)
            return core_fc_fail(g, "modifier on a middle segment \"%.*s\"", FC_S(seg));
        const struct core_field *f = core_collection_field(c->col, seg);
        if (!f) {
            struct str id_main = core_fc_fmt(g, "%.*s.\"id\"", FC_S(c->main));
            struct str id_mm = core_fc_fmt(g, "%.*s.\"id\"", FC_S(c->mm));
            enum rc rc = hop_back(g, c, seg, id_main, id_mm);
            if (rc == RC_NOT_FOUND)
                return core_fc_fail(g, "unknown field \"%.*s\"", FC_S(seg));
            if (rc)
                return rc;
            if (last) {
                struct mods m;
                rc = parse_mods(g, s->mod[i], &m);
                if (rc)
                    return rc;
                finish(g, c, core_fc_fmt(g, "%.*s.\"id\"", FC_S(c->main)),
                       core_fc_fmt(g, "%.*s.\"id\"", FC_S(c->mm)), m.lower, out);
                return RC_OK;
            }
            continue;
        }
        enum rc rc = check_field(g, c, f);
        if (rc)
            return rc;
        struct str v_main = column(g, c->main, f), v_mm = column(g, c->mm, f);
        if (last)
            return field_value(g, c, f, v_main, v_mm, s->mod[i], out);
        enum core_field_filter reads = core_field_kind(f)->filter;
        if (reads == CORE_FIELD_FILTER_RELATION) {
            /* rel.id on a single relation is the column itself: no join. */
            if (!core_field_is_multi(f) && i + 2 == s->count &&
                str_eq(s->seg[i + 1], STR_LIT("id")))
                return field_value(g, c, f, v_main, v_mm, s->mod[i + 1], out);
            rc = hop_relation(g, c, f, v_main, v_mm);
            if (rc)
                return rc;
            continue;
        }
        if (reads == CORE_FIELD_FILTER_JSON || reads == CORE_FIELD_FILTER_POINT) {
            if (reads == CORE_FIELD_FILTER_POINT &&
                (i + 2 != s->count || (!str_eq(s->seg[i + 1], STR_LIT("lon")) &&
                                       !str_eq(s->seg[i + 1], STR_LIT("lat")))))
                return core_fc_fail(g, "geoPoint field \"%s\" has only .lon and .lat", f->name);
            struct mods m;
            rc = parse_mods(g, s->mod[s->count - 1], &m);
            if (rc)
                return rc;
            size_t k = core_fc_json_path(g, s->seg + i + 1, s->count - i - 1);
            json_value(g, c, v_main, v_mm, k, m.lower, out);
            return RC_OK;
        }
        return core_fc_fail(g, "field \"%s\" has no sub-fields", f->name);
    }
    return core_fc_fail(g, "incomplete path");
}

static enum rc resolve_collection(struct core_fc *g, const struct core_fc_segs *s, struct cursor *c,
                                  struct core_fc_val *out)
{
    if (s->count < 3)
        return core_fc_fail(g, "@collection needs a collection and a field");
    const struct core_collection *t = core_schema_find(g->o->schema, s->seg[1]);
    if (!t)
        return core_fc_fail(g, "unknown collection \"%.*s\"", FC_S(s->seg[1]));
    enum rc rc = check_listable(g, c, t);
    if (rc)
        return rc;
    struct str key = core_fc_fmt(g, "@collection.%s:%.*s", t->name, FC_S(s->mod[1]));
    struct str tq = core_fc_quote(g, t->name);
    struct str ja = core_fc_alias(g, "_j"), ma = core_fc_alias(g, "_m");
    struct str main_sql = core_fc_fmt(g, " LEFT JOIN %.*s %.*s ON TRUE", FC_S(tq), FC_S(ja));
    struct str mm_sql = core_fc_fmt(g, " JOIN %.*s %.*s ON TRUE", FC_S(tq), FC_S(ma));
    rc = guard_hop(g, c, t, key, ja, ma, &main_sql, &mm_sql);
    if (!rc)
        rc = enter(g, c, key, t, main_sql, mm_sql, ja, ma, true, 1);
    if (rc)
        return rc;
    return walk(g, c, s, 2, out);
}

enum rc core_fc_resolve_path(struct core_fc *g, struct str ident, struct core_fc_val *out)
{
    struct core_fc_segs s;
    enum rc rc = core_fc_split(g, ident, &s);
    if (rc)
        return rc;
    struct cursor c = {
        .col = g->o->collection, .main = g->row, .mm = g->row, .check_hidden = !g->o->allow_hidden};
    if (str_eq(s.seg[0], STR_LIT("@collection")))
        return resolve_collection(g, &s, &c, out);
    if (s.seg[0].ptr[0] == '@' || s.seg[0].ptr[0] == '#')
        return core_fc_fail(g, "unknown identifier \"%.*s\"", FC_S(ident));
    if (s.count == 1 && !s.mod[0].len && !core_collection_field(c.col, s.seg[0]) &&
        (str_eq_cstr_nocase(s.seg[0], "true") || str_eq_cstr_nocase(s.seg[0], "false") ||
         str_eq_cstr_nocase(s.seg[0], "null")))
        return RC_NOT_FOUND;
    return walk(g, &c, &s, 0, out);
}

/* Reads s->seg[from..] out of the JSON value v. */
static json_t *json_walk(json_t *v, const struct core_fc_segs *s, size_t from)
{
    for (size_t i = from; v && i < s->count; i++) {
        uint64_t ix;
        if (json_is_object(v))
            v = json_object_getn(v, s->seg[i].ptr, s->seg[i].len);
        else if (json_is_array(v) && str_to_u64(s->seg[i], &ix))
            v = ix < json_array_size(v) ? json_array_get(v, (size_t)ix) : NULL;
        else
            v = NULL;
    }
    return v;
}

enum rc core_fc_resolve_from_record(struct core_fc *g, const struct core_collection *col,
                                    json_t *rec, enum core_fc_rec kind, const char *prefix,
                                    const struct core_fc_segs *s, size_t first,
                                    struct core_fc_val *out)
{
    for (size_t i = first; i + 1 < s->count; i++) {
        if (s->mod[i].len)
            return core_fc_fail(g, "modifier on a middle segment \"%.*s\"", FC_S(s->seg[i]));
    }
    struct str seg = s->seg[first];
    bool last = first + 1 == s->count;
    const struct core_field *f = col ? core_collection_field(col, seg) : NULL;
    json_t *v = json_is_object(rec) ? json_object_getn(rec, seg.ptr, seg.len) : NULL;
    struct core_sql_param p = core_fc_json_param(g, v);
    if (kind == CORE_FC_REC_AUTH && last && col && rec) {
        if (str_eq(seg, STR_LIT("collectionId")))
            p = (struct core_sql_param){.type = CORE_SQL_TEXT, .text = str_from_cstr(col->id)};
        else if (str_eq(seg, STR_LIT("collectionName")))
            p = (struct core_sql_param){.type = CORE_SQL_TEXT, .text = str_from_cstr(col->name)};
    }
    struct cursor c = {
        .col = col, .key = str_from_cstr(prefix), .check_hidden = !g->o->allow_hidden};
    if (!last && f && core_field_kind(f)->filter == CORE_FIELD_FILTER_RELATION && rec) {
        core_fc_param_val(g, p, out);
        struct str src = out->sql;
        if (!core_field_is_multi(f) && first + 2 == s->count &&
            str_eq(s->seg[first + 1], STR_LIT("id"))) {
            first++;
        } else {
            enum rc rc = hop_relation(g, &c, f, src, src);
            if (rc)
                return rc;
            return walk(g, &c, s, first + 1, out);
        }
        last = true;
    } else if (!last) {
        /* Not a relation: a path into the JSON value (or NULL). */
        p = core_fc_json_param(g, json_walk(v, s, first + 1));
        v = json_walk(v, s, first + 1);
    }
    struct mods m;
    enum rc rc = parse_mods(g, s->mod[s->count - 1], &m);
    if (rc)
        return rc;
    if (m.isset) {
        core_fc_literal(v ? "1" : "0", out);
        return RC_OK;
    }
    if (m.changed) {
        if (kind != CORE_FC_REC_BODY || !f || s->count != first + 1)
            return core_fc_fail(g, ":changed applies to @request.body.<field> only");
        if (!v) {
            core_fc_literal("0", out);
            return RC_OK;
        }
        struct core_fc_val body, stored;
        core_fc_param_val(g, p, &body);
        memset(&stored, 0, sizeof(stored));
        stored.sql = column(g, g->row, f);
        struct str ne = core_fc_equal_sql(g, false, &body, &stored);
        memset(out, 0, sizeof(*out));
        out->sql = core_fc_fmt(g, "(CASE WHEN %.*s THEN 1 ELSE 0 END)", FC_S(ne));
        return RC_OK;
    }
    if ((m.each || m.length) && kind == CORE_FC_REC_BODY && (!f || !is_list_field(f)))
        return core_fc_fail(g, ":each/:length need a select, relation or file field");
    core_fc_param_val(g, p, out);
    if (!f || !is_list_field(f) || s->count != first + 1 || (!m.length && !m.each)) {
        if (m.lower) {
            out->sql = core_fc_fmt(g, "LOWER(%.*s)", FC_S(out->sql));
            out->lowered = true;
        }
        return RC_OK;
    }
    struct str src = out->sql;
    return field_value(g, &c, f, src, src, s->mod[s->count - 1], out);
}
