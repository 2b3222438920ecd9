/* record_read.c -- view and list (see record.h). */
#include "core/record/record.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "core/record/count_cache.h"
#include "core/record/page_cache.h"
#include "core/record/record_expand.h"
#include "core/record/record_int.h"
#include "core/record/record_out.h"
#include "core/record/nearest.h"
#include "core/record/search.h"
#include "store/sql.h"

/* Compiles an API rule (or a client filter) for c, aliased "r"; is_table:
 * "r" is c's own table, near: a cut of its distance boxes, or NULL
 * (core_filter_options). */
static enum rc compile_filter(struct core_request *r, const struct core_collection *c,
                              struct str text, bool is_rule, size_t param_base, bool is_table,
                              struct core_geo_near *near, struct core_sql_fragment *out,
                              struct core_problem *p)
{
    struct core_filter_options fo = {
        .near = near,
        .schema = r->schema,
        .collection = c,
        .alias = "r",
        .request = &r->filter_request,
        .allow_hidden = is_rule || (r->auth && r->auth->is_superuser),
        .param_base = param_base,
        .is_table = is_table,
    };
    char err[256];
    enum rc rc = core_filter_compile(&fo, text, r->arena, out, err, sizeof(err));
    if (rc && p) {
        if (is_rule)
            log_warn("msg=\"rule does not compile\" collection=%s error=\"%s\"", c->name, err);
        else
            core_problem_message(p, err);
    }
    return rc;
}

enum rc core_compile_filter(struct core_request *r, const struct core_collection *c,
                            struct str text, bool is_rule, size_t param_base,
                            struct core_sql_fragment *out, struct core_problem *p)
{
    return compile_filter(r, c, text, is_rule, param_base, false, NULL, out, p);
}

void core_record_select_head(struct store_sql *q, const struct core_collection *c)
{
    store_sql_add(q, "SELECT ");
    core_record_columns(q, c, "r");
    store_sql_add(q, " FROM ");
    store_sql_ident(q, str_from_cstr(c->name));
    store_sql_add(q, " \"r\"");
}

/* Appends " AND (<f's SQL>)" when f has any. */
static void and_fragment(struct store_sql *q, const struct core_sql_fragment *f)
{
    if (!f->sql.len)
        return;
    store_sql_add(q, " AND (");
    store_sql_addn(q, f->sql);
    store_sql_add(q, ")");
}

/* Whether a rule, filter or sort gives the same answer for the same
 * requester while the data is unchanged: its only macros are
 * @request.auth.* (the requester's record: its identity is in the key and
 * its fields are data) and @collection.* (data). Anything else that starts
 * with '@' (other @request data, @random, and the time: @now, @todayStart,
 * @yesterday...) is not; so is an '@' inside a string literal, a miss at
 * worst. */
static bool is_stable_expr(struct str e)
{
    for (const char *at = memchr(e.ptr, '@', e.len); at;
         at = memchr(at + 1, '@', e.len - (size_t)(at + 1 - e.ptr))) {
        struct str rest = {at, e.len - (size_t)(at - e.ptr)};
        if (!str_has_prefix(rest, STR_LIT("@request.auth.")) &&
            !str_has_prefix(rest, STR_LIT("@collection.")))
            return false;
    }
    return true;
}

/* A response cache's key (page_cache.h): what every answer depends on (the
 * schema's version, the collection, the requester), then head (what the
 * caller's numbers are), then each of parts with its length before it. */
static bool cache_key(struct core_request *r, const struct core_collection *c, const char *head,
                      const struct str *parts, size_t n, struct buf *key)
{
    char who[256];
    int k = snprintf(who, sizeof(who), "%llu|%s|%s|%s|%d|", (unsigned long long)r->schema->version,
                     c->id, r->auth && r->auth->collection ? r->auth->collection->id : "",
                     r->auth && r->auth->id ? r->auth->id : "", r->auth && r->auth->is_superuser);
    enum rc rc = buf_append(key, who, (size_t)k);
    if (!rc)
        rc = buf_append_cstr(key, head);
    for (size_t i = 0; i < n && !rc; i++) {
        char len[24];
        k = snprintf(len, sizeof(len), "%zu:", parts[i].len);
        rc = buf_append(key, len, (size_t)k);
        if (!rc)
            rc = buf_append_str(key, parts[i]);
    }
    return rc == RC_OK;
}

enum rc core_record_view_rule(struct core_request *r, const struct core_collection *c,
                              const char *rule, size_t param_base, struct core_sql_fragment *frag,
                              struct core_problem *p)
{
    memset(frag, 0, sizeof(*frag));
    if (core_request_is_superuser(r))
        return RC_OK;
    if (!rule)
        return RC_FORBIDDEN;
    if (rule[0] && core_compile_filter(r, c, str_from_cstr(rule), true, param_base, frag, p))
        return RC_NOT_FOUND;
    return RC_OK;
}

/* The key of a record view in the worker's record cache, as page_key for a
 * list: false when the answer is not cached (an expansion, a rule that is
 * not is_stable_expr, the record a write just made). */
static bool view_key(struct core_request *r, const struct core_collection *c, struct str id,
                     const struct core_output_opts *o, struct buf *key)
{
    const char *rule = c->rules[CORE_RULE_VIEW];
    if (!r->cw->records || o->ignore_view_rule || o->expand.len ||
        (rule && !is_stable_expr(str_from_cstr(rule))))
        return false;
    const struct str parts[2] = {o->fields, id};
    return cache_key(r, c, "view|", parts, 2, key);
}

static enum rc view_record(struct core_request *r, const struct core_collection *c, struct str id,
                           const struct core_output_opts *o, struct buf *out,
                           struct core_problem *p);

/* A record by id, from the worker's record cache while the data is
 * unchanged (keyed and checked as a list page, page_cache.h), and only where
 * the version costs no round trip: on PostgreSQL with several instances the
 * version is itself a query, no cheaper than the record's. */
enum rc core_record_view(struct core_request *r, const struct core_collection *c, struct str id,
                         const struct core_output_opts *o, struct buf *out, struct core_problem *p)
{
    struct buf key;
    buf_init(&key, 1 << 16);
    int64_t version = view_key(r, c, id, o, &key) ? store_data_version_local(r->cw->db) : -1;
    struct str cached;
    if (version >= 0 && core_page_cache_get(r->cw->records, buf_str(&key), version, &cached)) {
        buf_cleanup(&key);
        return buf_append_str(out, cached);
    }
    size_t start = out->len;
    enum rc rc = view_record(r, c, id, o, out, p);
    if (!rc && version >= 0)
        core_page_cache_put(r->cw->records, buf_str(&key), version,
                            (struct str){out->data + start, out->len - start});
    buf_cleanup(&key);
    return rc;
}

static enum rc view_record(struct core_request *r, const struct core_collection *c, struct str id,
                           const struct core_output_opts *o, struct buf *out,
                           struct core_problem *p)
{
    const char *rule = o->ignore_view_rule ? "" : c->rules[CORE_RULE_VIEW];
    struct core_sql_fragment frag;
    enum rc rule_rc = core_record_view_rule(r, c, rule, 1, &frag, p);
    if (rule_rc == RC_FORBIDDEN)
        core_problem_message(p, "Only superusers can perform this action.");
    if (rule_rc)
        return rule_rc;
    struct store_stmt *st = NULL;
    struct core_view_stmt *slot = NULL;
    if (!frag.sql.len) {
        slot = &r->cw->views[((uintptr_t)c >> 4) % CORE_VIEW_CACHE];
        if (slot->c == c && slot->schema_version == r->schema->version)
            st = slot->stmt;
    }
    if (!st) {
        struct buf sql;
        buf_init(&sql, 1 << 20);
        struct store_sql q;
        store_sql_begin(&q, &sql);
        core_record_select_head(&q, c);
        store_sql_add(&q, " WHERE \"r\".\"id\" = ");
        store_sql_param(&q); /* ?1, the id; the rule's numbers follow */
        and_fragment(&q, &frag);
        enum rc rc = store_sql_prepare(&q, r->cw->db, &st);
        buf_cleanup(&sql);
        if (rc)
            return rc == RC_INVALID ? RC_INTERNAL : rc;
        if (slot) {
            /* The slot holds its statement between requests: kept, so the
             * bounded statement cache never finalizes it under the slot. */
            if (slot->stmt)
                store_unkeep(slot->stmt);
            store_keep(st);
            slot->c = c;
            slot->schema_version = r->schema->version;
            slot->stmt = st;
        }
    }
    /* id and the rule's texts live past the step: bound borrowed. */
    enum rc rc = store_bind_text(st, 1, id);
    if (!rc)
        rc = core_sql_fragment_bind(st, &frag, 1);
    if (!rc)
        rc = store_step(st);
    if (rc) {
        store_done(st);
        return rc; /* RC_NOT_FOUND: no such record, or hidden by the rule */
    }
    struct core_expand *ex = NULL;
    if (o->expand.len)
        ex = core_expand_parse(r, c, o->expand);
    struct jsonw w;
    jsonw_init(&w, out);
    rc = core_record_write_item(r, c, ex, st, (struct str){"", 0}, o->fields, &w);
    store_done(st);
    if (!rc)
        rc = jsonw_finish(&w);
    if (!rc && core_cost_check(r->cost))
        rc = RC_OVER_BUDGET; /* a cut expansion is not the record's */
    return rc;
}

/* Builds WHERE <search match> AND (rule) AND (filter) into q, compiling
 * both; params go to rule_frag and filter_frag with consecutive numbers
 * after base (the search's, when sq is not NULL, are 1..base). */
enum rc core_list_where(struct core_request *r, const struct core_collection *c, struct str filter,
                        size_t base, const struct store_search_query *sq,
                        struct core_sql_fragment *rule_frag, struct core_sql_fragment *filter_frag,
                        struct store_sql *q, struct core_problem *p)
{
    const char *rule = c->rules[CORE_RULE_LIST];
    memset(rule_frag, 0, sizeof(*rule_frag));
    memset(filter_frag, 0, sizeof(*filter_frag));
    /* The list reads c's own table: distance filters may use its points' index. */
    if (rule && rule[0] && !core_request_is_superuser(r)) {
        if (compile_filter(r, c, str_from_cstr(rule), true, base, true, NULL, rule_frag, p)) {
            core_problem_message(p, "");
            return RC_NOT_FOUND; /* a rule that does not compile shows nothing */
        }
    }
    if (filter.len) {
        enum rc rc = compile_filter(r, c, filter, false, base + rule_frag->param_count, true, NULL,
                                    filter_frag, p);
        if (rc)
            return RC_INVALID;
    }
    const char *glue = " WHERE ";
    if (sq) {
        store_sql_add(q, glue);
        store_sql_search_match(q, sq, 1);
        glue = " AND ";
    }
    const struct core_sql_fragment *frags[2] = {rule_frag, filter_frag};
    for (int i = 0; i < 2; i++) {
        if (!frags[i]->sql.len)
            continue;
        store_sql_add(q, glue);
        store_sql_add(q, "(");
        store_sql_addn(q, frags[i]->sql);
        store_sql_add(q, ")");
        glue = " AND ";
    }
    return store_sql_end(q);
}

void core_list_write_head(struct jsonw *w, const struct core_list_opts *lo, int64_t total)
{
    jsonw_object_begin(w);
    jsonw_key(w, STR_LIT("page"));
    jsonw_int(w, lo->page);
    jsonw_key(w, STR_LIT("perPage"));
    jsonw_int(w, lo->per_page);
    jsonw_key(w, STR_LIT("totalItems"));
    jsonw_int(w, total);
    jsonw_key(w, STR_LIT("totalPages"));
    jsonw_int(w, total < 0 ? -1 : (total + lo->per_page - 1) / lo->per_page);
    jsonw_key(w, STR_LIT("items"));
    jsonw_array_begin(w);
}

/* The cache key of a count: its SQL and every parameter, unambiguously. */
static enum rc count_key(struct str sql, const struct store_search_query *sq,
                         const struct core_sql_fragment *a, const struct core_sql_fragment *b,
                         struct buf *key)
{
    enum rc rc = buf_append_str(key, sql);
    for (int k = 0; k < 2 && sq && !rc; k++) {
        char tag[40];
        int n = snprintf(tag, sizeof(tag), "|s%zu:", sq->has[k] ? sq->text[k].len : 0);
        rc = buf_append(key, tag, (size_t)n);
        if (!rc)
            rc = buf_append_str(key, buf_str(&sq->text[k]));
    }
    const struct core_sql_fragment *frags[2] = {a, b};
    for (int k = 0; k < 2 && !rc; k++) {
        for (size_t i = 0; i < frags[k]->param_count && !rc; i++) {
            const struct core_sql_param *p = &frags[k]->params[i];
            char tag[40];
            int n = 0;
            switch (p->type) {
            case CORE_SQL_NULL: n = snprintf(tag, sizeof(tag), "|n"); break;
            case CORE_SQL_INT: n = snprintf(tag, sizeof(tag), "|i%lld", (long long)p->i); break;
            case CORE_SQL_DOUBLE: n = snprintf(tag, sizeof(tag), "|d%.17g", p->d); break;
            case CORE_SQL_TEXT: n = snprintf(tag, sizeof(tag), "|t%zu:", p->text.len); break;
            }
            rc = buf_append(key, tag, (size_t)n);
            if (!rc && p->type == CORE_SQL_TEXT)
                rc = buf_append_str(key, p->text);
        }
    }
    return rc;
}

/* version: the store's data version read before the count, or -1 (no
 * caching). from: " FROM <table> "r"" and the search's join; sq: the
 * search whose parameters come first, or NULL. */
static enum rc count_rows(struct core_request *r, struct str from, struct str where,
                          const struct store_search_query *sq,
                          const struct core_sql_fragment *rule_frag,
                          const struct core_sql_fragment *filter_frag, int64_t version,
                          int64_t *total)
{
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT COUNT(*)");
    store_sql_addn(&q, from);
    store_sql_addn(&q, where);
    enum rc rc = store_sql_end(&q);
    struct buf key;
    buf_init(&key, 1 << 21);
    if (!rc && version >= 0 && r->cw->counts &&
        !count_key(buf_str(&sql), sq, rule_frag, filter_frag, &key) &&
        core_count_cache_get(r->cw->counts, buf_str(&key), version, total)) {
        buf_cleanup(&sql);
        buf_cleanup(&key);
        return RC_OK;
    }
    struct store_stmt *st = NULL;
    if (!rc)
        rc = store_prepare(r->cw->db, buf_str(&sql), &st);
    buf_cleanup(&sql);
    if (rc) {
        buf_cleanup(&key);
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    }
    unsigned sp = sq ? store_search_query_params(sq) : 0;
    rc = sq ? store_search_query_bind(st, sq, 1) : RC_OK;
    if (!rc)
        rc = core_sql_fragment_bind(st, rule_frag, sp);
    if (!rc)
        rc = core_sql_fragment_bind(st, filter_frag, sp + rule_frag->param_count);
    if (!rc)
        rc = store_step(st);
    *total = rc == RC_OK ? store_column_int64(st, 0) : 0;
    store_done(st);
    /* The version read before the count: a commit in between makes the
     * entry look older than it is, never newer. */
    if (rc == RC_OK && version >= 0 && r->cw->counts && key.len)
        core_count_cache_put(r->cw->counts, buf_str(&key), version, *total);
    buf_cleanup(&key);
    return rc == RC_NOT_FOUND ? RC_OK : rc; /* no row: the total stays 0 */
}

static enum rc list_page(struct core_request *r, const struct core_collection *c,
                         const struct core_list_opts *lo, const struct core_output_opts *o,
                         int64_t version, struct buf *out, struct core_problem *p,
                         struct core_list_stream **rest);

/* A list response depends on the request only through these (the rule's
 * @request.auth data through the requester's identity, its fields through
 * data_version); a rule, filter or sort that is not is_stable_expr is not
 * cached. */
static bool page_key(struct core_request *r, const struct core_collection *c,
                     const struct core_list_opts *lo, const struct core_output_opts *o,
                     struct buf *key)
{
    const char *rule = c->rules[CORE_RULE_LIST];
    if (rule && !is_stable_expr(str_from_cstr(rule)))
        return false;
    /* A nearest list may come from an index that follows the table a moment
     * behind (record/vector_index.h): an answer cached for this data
     * version would keep that moment's view until the next write. */
    if (core_nearest_wanted(lo))
        return false;
    /* Expanded collections have rules of their own; keep it simple and exact. */
    if (o->expand.len || !is_stable_expr(lo->sort) || !is_stable_expr(lo->filter))
        return false;
    char head[96];
    snprintf(head, sizeof(head), "%lld|%lld|%d|%d|", (long long)lo->page, (long long)lo->per_page,
             lo->skip_total, lo->search_snippet);
    const struct str parts[5] = {lo->filter, lo->sort, o->expand, o->fields, lo->search};
    return cache_key(r, c, head, parts, 5, key);
}

enum rc core_record_list(struct core_request *r, const struct core_collection *c,
                         const struct core_list_opts *lo, const struct core_output_opts *o,
                         struct buf *out, struct core_problem *p, struct core_list_stream **rest)
{
    if (rest)
        *rest = NULL;
    struct buf key;
    buf_init(&key, 1 << 20);
    /* One read of the data version keys both caches: the page's and its
     * count's; read only when one of them can serve (with several
     * instances it is a round trip to PostgreSQL). */
    bool is_keyed = r->cw->pages && page_key(r, c, lo, o, &key);
    int64_t version =
        is_keyed || (r->cw->counts && !lo->skip_total) ? store_data_version(r->cw->db) : -1;
    bool cacheable = version >= 0 && is_keyed;
    struct str cached;
    if (cacheable && core_page_cache_get(r->cw->pages, buf_str(&key), version, &cached)) {
        buf_cleanup(&key);
        return buf_append_str(out, cached);
    }
    size_t out_start = out->len;
    enum rc rc = list_page(r, c, lo, o, version, out, p, rest);
    if (!rc && cacheable && !(rest && *rest))
        core_page_cache_put(r->cw->pages, buf_str(&key), version,
                            (struct str){out->data + out_start, out->len - out_start});
    buf_cleanup(&key);
    return rc;
}

static enum rc list_rows(struct core_request *r, const struct core_collection *c,
                         const struct core_list_opts *lo, const struct core_output_opts *o,
                         int64_t version, struct core_search *search, struct buf *out,
                         struct core_problem *p, struct core_list_stream **rest);

static enum rc list_page(struct core_request *r, const struct core_collection *c,
                         const struct core_list_opts *lo, const struct core_output_opts *o,
                         int64_t version, struct buf *out, struct core_problem *p,
                         struct core_list_stream **rest)
{
    if (!c->rules[CORE_RULE_LIST] && !core_request_is_superuser(r)) {
        core_problem_message(p, "Only superusers can perform this action.");
        return RC_FORBIDDEN;
    }
    if (!core_request_is_superuser(r)) {
        /* spec §2: a plain substring test on the raw parameters, as PocketBase does. */
        const char *which = NULL;
        if (memmem(lo->filter.ptr, lo->filter.len, "@request.", 9) ||
            memmem(lo->sort.ptr, lo->sort.len, "@request.", 9))
            which = "Only superusers can filter by @request.";
        else if (memmem(lo->filter.ptr, lo->filter.len, "@collection.", 12) ||
                 memmem(lo->sort.ptr, lo->sort.len, "@collection.", 12))
            which = "Only superusers can filter by @collection.";
        if (which) {
            core_problem_message(p, which);
            return RC_FORBIDDEN;
        }
    }
    if (core_nearest_wanted(lo))
        return core_nearest_list(r, c, lo, o, out, p);
    if (!lo->search.len)
        return list_rows(r, c, lo, o, version, NULL, out, p, rest);
    struct core_search search;
    enum rc rc = core_search_prepare(r, c, lo->search, &search, p);
    if (!rc) /* no word in it: the list as it is */
        rc = list_rows(r, c, lo, o, version, search.is_empty ? NULL : &search, out, p, rest);
    core_search_cleanup(&search);
    return rc;
}

/* Sets *found when a record of the list (rule and filter as for the page)
 * matches the query one. */
static enum rc any_match(struct core_request *r, const struct core_collection *c, struct str filter,
                         const struct store_search_query *one, bool *found)
{
    *found = false;
    unsigned sp = store_search_query_params(one);
    struct core_sql_fragment rule_frag, filter_frag;
    struct core_problem scratch;
    core_problem_init(&scratch);
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT 1 FROM ");
    store_sql_ident(&q, str_from_cstr(c->name));
    store_sql_add(&q, " \"r\"");
    store_sql_search_join(&q, one);
    enum rc rc = core_list_where(r, c, filter, sp, one, &rule_frag, &filter_frag, &q, &scratch);
    core_problem_cleanup(&scratch);
    store_sql_add(&q, " LIMIT 1");
    struct store_stmt *st = NULL;
    if (!rc)
        rc = store_sql_prepare(&q, r->cw->db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    rc = store_search_query_bind(st, one, 1);
    if (!rc)
        rc = core_sql_fragment_bind(st, &rule_frag, sp);
    if (!rc)
        rc = core_sql_fragment_bind(st, &filter_frag, sp + rule_frag.param_count);
    if (!rc)
        rc = store_step(st);
    store_done(st);
    *found = rc == RC_OK;
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* Typo tolerance (record/search.h): each word of five letters or more
 * that matches no record of the list as its requester sees it also takes
 * the indexed words one edit away. */
enum rc core_list_widen_search(struct core_request *r, const struct core_collection *c,
                               struct str filter, struct core_search *s)
{
    for (size_t i = 0; i < s->term_count; i++) {
        if (!core_search_can_widen(s, i))
            continue;
        struct store_search_query one;
        enum rc rc = core_search_term_query(s, i, &one);
        bool found = false;
        if (!rc)
            rc = any_match(r, c, filter, &one, &found);
        store_search_query_cleanup(&one);
        if (!rc && !found)
            rc = core_search_widen(r, s, i);
        if (rc)
            return rc;
    }
    return RC_OK;
}

/* ---- Nearest first --------------------------------------------------------

 * A page sorted by one geoDistance, nearest first, under a filter that
 * bounds that distance ("couriers within 3 km, the 10 nearest") reads every
 * row of the filter's box: 900 rows of 1,000,000 points for 3 km, where the
 * page needs 10. So the box is cut first (to an eighth of its radius, then
 * a third): when the page's last row is still within the cut radius, every
 * row the cut left out is farther than it, and the page is the same;
 * otherwise the whole box. Only without totals (skipTotal): a count reads
 * the whole box anyway. Ties in distance go by rowid, so that pages with
 * and without a cut agree. */

#define NEAR_MAX_ROWS 10000 /* page x perPage past this: no cut */

/* The sort's term when it is one geoDistance, nearest first (its ties then
 * go by rowid), else an empty str. */
static struct str near_sort(const struct core_list_opts *lo, const struct store_search_query *sq)
{
    struct str t = str_trim_ows(lo->sort), none = {"", 0};
    if (sq)
        return none;
    if (t.len && t.ptr[0] == '+')
        t = str_trim_ows((struct str){t.ptr + 1, t.len - 1});
    static const char head[] = "geoDistance(";
    if (t.len < sizeof(head) || memcmp(t.ptr, head, sizeof(head) - 1) != 0 ||
        t.ptr[t.len - 1] != ')')
        return none;
    int depth = 0;
    for (size_t i = sizeof(head) - 2; i < t.len; i++) {
        depth += t.ptr[i] == '(' ? 1 : t.ptr[i] == ')' ? -1 : 0;
        if (depth == 0 && i + 1 < t.len)
            return none; /* another term after it */
    }
    return t;
}

/* The sort's term when the page may be read from a cut box, else "". */
static struct str near_term(const struct core_list_opts *lo, const struct store_search_query *sq)
{
    struct str none = {"", 0};
    if (!lo->skip_total || !lo->filter.len || lo->page < 1 ||
        lo->page > NEAR_MAX_ROWS / (lo->per_page > 0 ? lo->per_page : 1))
        return none;
    return near_sort(lo, sq);
}

/* Whether a cut to km leaves the page as it is: the row at the page's end
 * is there and within km. The statement is the page's (from, where,
 * order_by: "<distance> ASC"; the filter's parameters those of the cut). */
static bool near_holds(struct core_request *r, const struct core_list_opts *lo, struct str from,
                       struct str where, struct str order_by,
                       const struct core_sql_fragment *rule_frag,
                       const struct core_sql_fragment *filter_frag,
                       const struct core_sql_fragment *sort_params, double km)
{
    static const char asc[] = " ASC";
    if (order_by.len < sizeof(asc) ||
        memcmp(order_by.ptr + order_by.len - (sizeof(asc) - 1), asc, sizeof(asc) - 1) != 0)
        return false;
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT ");
    store_sql_addn(&q, (struct str){order_by.ptr, order_by.len - (sizeof(asc) - 1)});
    store_sql_addn(&q, from);
    store_sql_addn(&q, where);
    store_sql_add(&q, " ORDER BY ");
    store_sql_addn(&q, order_by);
    store_sql_add(&q, ", \"r\".rowid LIMIT 1 OFFSET ");
    store_sql_int(&q, (lo->page * lo->per_page) - 1);
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_end(&q);
    if (!rc)
        rc = store_prepare(r->cw->db, buf_str(&sql), &st);
    buf_cleanup(&sql);
    if (!rc)
        rc = core_sql_fragment_bind(st, rule_frag, 0);
    if (!rc)
        rc = core_sql_fragment_bind(st, filter_frag, rule_frag->param_count);
    if (!rc)
        rc = core_sql_fragment_bind(st, sort_params,
                                    rule_frag->param_count + filter_frag->param_count);
    bool holds = !rc && store_step(st) == RC_OK && store_column_type(st, 0) != STORE_TYPE_NULL &&
                 store_column_double(st, 0) <= km;
    if (st)
        store_done(st);
    return holds;
}

/* Cuts the filter's box when the page stays the same (above): *filter_frag
 * is then the cut filter's (the same SQL, other box corners). The rule is
 * compiled once, by the page. */
static void near_cut(struct core_request *r, const struct core_collection *c,
                     const struct core_list_opts *lo, struct str term, struct str from,
                     struct str where, struct str order_by,
                     const struct core_sql_fragment *rule_frag,
                     struct core_sql_fragment *filter_frag,
                     const struct core_sql_fragment *sort_params)
{
    static const double fractions[] = {1.0 / 8, 1.0 / 3};
    for (size_t i = 0; i < sizeof(fractions) / sizeof(fractions[0]); i++) {
        struct core_geo_near near = {term, fractions[i], 0};
        struct core_sql_fragment ff;
        if (compile_filter(r, c, lo->filter, false, rule_frag->param_count, true, &near, &ff,
                           NULL) ||
            near.km <= 0 || !str_eq(ff.sql, filter_frag->sql))
            return; /* no box of the sort's point: nothing to cut */
        if (near_holds(r, lo, from, where, order_by, rule_frag, &ff, sort_params, near.km)) {
            *filter_frag = ff;
            return;
        }
    }
}

/* The page: SELECT <record columns>[, <snippets>] FROM <table> "r"
 * [JOIN <search index>] WHERE [<match> AND] (rule) AND (filter)
 * [ORDER BY <sort>[, <relevance>]] LIMIT OFFSET; the search's parameters
 * first, then the rule's, the filter's, the sort's, LIMIT and OFFSET. */
static enum rc list_rows(struct core_request *r, const struct core_collection *c,
                         const struct core_list_opts *lo, const struct core_output_opts *o,
                         int64_t version, struct core_search *search, struct buf *out,
                         struct core_problem *p, struct core_list_stream **rest)
{
    size_t out_start = out->len;
    const struct store_search_query *sq = search ? &search->query : NULL;
    size_t sp = sq ? store_search_query_params(sq) : 0;
    struct core_sql_fragment rule_frag, filter_frag, sort_params = {0};
    struct buf where;
    buf_init(&where, 1 << 20);
    struct store_sql wq;
    store_sql_begin(&wq, &where);
    enum rc rc = core_list_where(r, c, lo->filter, sp, sq, &rule_frag, &filter_frag, &wq, p);
    struct str order_by = {"", 0};
    size_t nparams = sp + rule_frag.param_count + filter_frag.param_count;
    if (!rc && lo->sort.len) {
        struct core_filter_options fo = {
            .schema = r->schema,
            .collection = c,
            .alias = "r",
            .request = &r->filter_request,
            .allow_hidden = core_request_is_superuser(r),
            .param_base = nparams,
        };
        char err[256];
        if (core_sort_compile(&fo, lo->sort, r->arena, &order_by, &sort_params, err, sizeof(err))) {
            core_problem_message(p, err);
            rc = RC_INVALID;
        }
        nparams += sort_params.param_count;
    }
    if (rc == RC_NOT_FOUND) {
        rc = RC_OK; /* the list rule does not compile: an empty page */
        buf_reset(&where);
        buf_append_cstr(&where, " WHERE 0");
        memset(&rule_frag, 0, sizeof(rule_frag));
        memset(&filter_frag, 0, sizeof(filter_frag));
        nparams = sort_params.param_count = 0;
        order_by = (struct str){"", 0};
        search = NULL;
        sq = NULL;
        sp = 0;
    }
    if (!rc && search)
        rc = core_list_widen_search(r, c, lo->filter, search);
    bool has_snippets = search && lo->search_snippet;
    struct buf from;
    buf_init(&from, 1 << 16);
    struct store_sql fq;
    store_sql_begin(&fq, &from);
    store_sql_add(&fq, " FROM ");
    store_sql_ident(&fq, str_from_cstr(c->name));
    store_sql_add(&fq, " \"r\"");
    if (sq)
        store_sql_search_join(&fq, sq);
    if (!rc)
        rc = store_sql_end(&fq);
    struct str near = rc ? (struct str){"", 0} : near_term(lo, sq);
    if (near.len && order_by.len)
        near_cut(r, c, lo, near, buf_str(&from), buf_str(&where), order_by, &rule_frag,
                 &filter_frag, &sort_params);
    int64_t total = -1;
    if (!rc && !lo->skip_total)
        rc = count_rows(r, buf_str(&from), buf_str(&where), sq, &rule_frag, &filter_frag, version,
                        &total);
    /* LIMIT and OFFSET follow the fragments' parameters; the snippets'
     * own (if any) comes last, out of the way of the WHERE the count shares. */
    unsigned p_limit = (unsigned)nparams + 1, p_offset = (unsigned)nparams + 2;
    unsigned p_snippets = (unsigned)nparams + 3;
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT ");
    core_record_columns(&q, c, "r");
    for (size_t i = 0; has_snippets && i < search->ix.count; i++) {
        store_sql_add(&q, ", ");
        store_sql_search_snippet(&q, sq, 1, p_snippets, i);
    }
    if (!rc && sq && !order_by.len && !has_snippets && q.dialect == STORE_DIALECT_SQLITE) {
        /* By relevance alone: the ranking picks the page's rowids from the
         * index alone (joined to the table only for a rule or a filter),
         * and only the page's rows are read -- not every match's row read
         * and carried through the sort (a prefix such as "li" matches half
         * a collection). The same order: relevance, then rowid. */
        bool is_bare = !rule_frag.sql.len && !filter_frag.sql.len;
        store_sql_add(&q, " FROM ");
        store_sql_ident(&q, str_from_cstr(c->name));
        store_sql_add(&q, " \"r\" JOIN (SELECT ");
        if (is_bare) {
            store_search_add_rowid(&q, sq);
        } else {
            store_sql_add(&q, "\"r\".rowid");
        }
        store_sql_add(&q, " AS \"_rid\", ");
        store_sql_search_rank(&q, sq, 1);
        store_sql_add(&q, " AS \"_rank\" ");
        if (is_bare) {
            store_sql_add(&q, "FROM ");
            store_search_add_table(&q, sq);
        } else {
            store_sql_addn(&q, buf_str(&from));
        }
        store_sql_addn(&q, buf_str(&where));
        store_sql_add(&q, " ORDER BY \"_rank\", \"_rid\" LIMIT ");
        store_sql_param_at(&q, p_limit);
        store_sql_add(&q, " OFFSET ");
        store_sql_param_at(&q, p_offset);
        store_sql_add(&q, ") \"_top\" ON \"r\".rowid = \"_top\".\"_rid\" ORDER BY "
                          "\"_top\".\"_rank\", \"_top\".\"_rid\"");
    } else {
        store_sql_addn(&q, buf_str(&from));
        store_sql_addn(&q, buf_str(&where));
        if (order_by.len || sq)
            store_sql_add(&q, " ORDER BY ");
        if (order_by.len)
            store_sql_addn(&q, order_by);
        if (sq) {
            /* Relevance, or what breaks the sort's ties; then insertion order,
             * so pages never overlap. */
            if (order_by.len)
                store_sql_add(&q, ", ");
            store_sql_search_rank(&q, sq, 1);
            store_sql_add(&q, ", \"r\".\"rowid\"");
        } else if (order_by.len && near_sort(lo, sq).len) {
            store_sql_add(&q, ", \"r\".rowid");
        }
        store_sql_add(&q, " LIMIT ");
        store_sql_param_at(&q, p_limit);
        store_sql_add(&q, " OFFSET ");
        store_sql_param_at(&q, p_offset);
    }
    struct store_stmt *st = NULL;
    if (!rc)
        rc = store_sql_end(&q);
    if (!rc) {
        rc = store_prepare(r->cw->db, buf_str(&sql), &st);
        if (rc == RC_INVALID)
            rc = RC_INTERNAL;
    }
    buf_cleanup(&sql);
    buf_cleanup(&where);
    buf_cleanup(&from);
    if (rc)
        return rc;
    rc = sq ? store_search_query_bind(st, sq, 1) : RC_OK;
    if (!rc)
        rc = core_sql_fragment_bind(st, &rule_frag, sp);
    if (!rc)
        rc = core_sql_fragment_bind(st, &filter_frag, sp + rule_frag.param_count);
    if (!rc)
        rc = core_sql_fragment_bind(st, &sort_params,
                                    sp + rule_frag.param_count + filter_frag.param_count);
    if (!rc)
        rc = store_bind_int64(st, (int)p_limit, lo->per_page);
    if (!rc)
        rc = store_bind_int64(st, (int)p_offset, (lo->page - 1) * lo->per_page);
    if (!rc && has_snippets)
        rc = store_search_query_bind_snippets(st, sq, p_snippets);
    if (rc) {
        store_done(st);
        return rc;
    }

    struct core_expand *ex = o->expand.len ? core_expand_parse(r, c, o->expand) : NULL;
    struct jsonw w;
    jsonw_init(&w, out);
    core_list_write_head(&w, lo, total);
    int id_col = -1;
    for (size_t i = 0; i < c->field_count; i++) {
        if (strcmp(c->fields[i].name, "id") == 0)
            id_col = (int)i;
    }
    struct buf snippet;
    buf_init(&snippet, (size_t)1 << 26);
    enum rc step;
    while ((step = store_step(st)) == RC_OK) {
        buf_reset(&snippet);
        if (has_snippets)
            rc = core_search_snippet(search, st, (int)c->field_count, &snippet);
        if (!rc)
            rc = core_record_write_item(r, c, ex, st, buf_str(&snippet), o->fields, &w);
        if (!rc && core_cost_check(r->cost))
            rc = RC_OVER_BUDGET;
        if (rc)
            break;
        if (rest && id_col >= 0 && out->len - out_start >= CORE_LIST_STREAM_AT) {
            /* Large: the rest goes out as the reader takes it (item 4 of
             * issue #20: a reader that never reads pinned whole pages). */
            rc = core_list_stream_new(r, c, lo->filter, o, ex, &w, st, id_col,
                                      has_snippets ? search : NULL, (int)c->field_count, rest);
            step = RC_NOT_FOUND;
            break;
        }
    }
    buf_cleanup(&snippet);
    store_done(st);
    if (rc)
        return rc;
    if (step != RC_NOT_FOUND)
        return step;
    if (rest && *rest)
        return RC_OK;
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    return jsonw_finish(&w);
}

/* The members a list adds to an item: "@snippet", "@distance", "@score". */
static void write_extras(struct jsonw *w, struct str snippet, const struct core_item_score *score)
{
    if (snippet.len) {
        jsonw_key(w, STR_LIT("@snippet"));
        jsonw_raw(w, snippet);
    }
    if (score && score->has_distance) {
        jsonw_key(w, STR_LIT("@distance"));
        if (score->is_distance_null)
            jsonw_null(w);
        else
            jsonw_float(w, score->distance);
    }
    if (score && score->has_score) {
        jsonw_key(w, STR_LIT("@score"));
        jsonw_double(w, score->score);
    }
}

enum rc core_record_write_item(struct core_request *r, const struct core_collection *c,
                               const struct core_expand *ex, struct store_stmt *st,
                               struct str snippet, struct str fields, struct jsonw *w)
{
    return core_record_write_scored(r, c, ex, st, snippet, NULL, fields, w);
}

enum rc core_record_write_scored(struct core_request *r, const struct core_collection *c,
                                 const struct core_expand *ex, struct store_stmt *st,
                                 struct str snippet, const struct core_item_score *score,
                                 struct str fields, struct jsonw *w)
{
    if (!fields.len) {
        core_record_write_open(w, c, st, 0, r->auth);
        if (ex)
            core_expand_write(r, c, ex, st, 0, w);
        write_extras(w, snippet, score);
        jsonw_object_end(w);
        return RC_OK;
    }
    /* Each record is pruned on its own (what `fields` does to a page's
     * items), so a page never has to be parsed back whole. */
    struct buf item;
    buf_init(&item, (size_t)1 << 34);
    struct jsonw iw;
    jsonw_init(&iw, &item);
    core_record_write_picked(&iw, c, st, 0, r->auth, fields);
    /* expand even when the picker drops it: its caps count what a request
     * asks to expand, whatever it keeps */
    if (ex)
        core_expand_write(r, c, ex, st, 0, &iw);
    write_extras(&iw, snippet, score);
    jsonw_object_end(&iw);
    enum rc rc = jsonw_finish(&iw);
    if (!rc)
        rc = core_fields_apply(&item, fields, false);
    if (!rc)
        jsonw_raw(w, buf_str(&item));
    buf_cleanup(&item);
    return rc;
}

enum rc core_record_load(struct store_conn *db, const struct core_collection *c, struct str id,
                         json_t **out)
{
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    core_record_select_head(&q, c);
    store_sql_add(&q, " WHERE \"r\".\"id\" = ");
    struct store_stmt *st;
    enum rc rc = core_record_step_id(db, &q, id, &st);
    buf_cleanup(&sql);
    if (rc == RC_OK) {
        json_t *o = json_object();
        for (size_t i = 0; i < c->field_count; i++)
            json_object_set_new(o, c->fields[i].name,
                                core_record_column_json(&c->fields[i], st, (int)i));
        *out = o;
    }
    if (st)
        store_done(st);
    return rc;
}

enum rc core_record_find(struct store_conn *db, const struct core_collection *c, struct str id)
{
    struct buf sql;
    buf_init(&sql, 4096);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT 1 FROM ");
    store_sql_ident(&q, str_from_cstr(c->name));
    store_sql_add(&q, " WHERE \"id\" = ");
    struct store_stmt *st;
    enum rc rc = core_record_step_id(db, &q, id, &st);
    buf_cleanup(&sql);
    if (st)
        store_done(st);
    return rc;
}

enum rc core_record_first_id(struct store_conn *db, struct core_request *r,
                             const struct core_collection *c, struct str filter, char **id_out,
                             struct core_problem *p)
{
    struct core_sql_fragment f = {0};
    if (filter.len && core_compile_filter(r, c, filter, false, 0, &f, p) != RC_OK) {
        if (!p->message[0])
            core_problem_message(p, "Invalid filter.");
        return RC_INVALID;
    }
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT \"r\".\"id\" FROM ");
    store_sql_ident(&q, str_from_cstr(c->name));
    store_sql_add(&q, " \"r\"");
    if (f.sql.len) {
        store_sql_add(&q, " WHERE (");
        store_sql_addn(&q, f.sql);
        store_sql_add(&q, ")");
    }
    store_sql_add(&q, " LIMIT 1");
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_prepare(&q, db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    rc = core_sql_fragment_bind(st, &f, 0);
    if (!rc)
        rc = store_step(st);
    if (rc == RC_OK) {
        struct str id = store_column_text(st, 0);
        *id_out = xstrndup(id.ptr, id.len);
    }
    store_done(st);
    return rc;
}
