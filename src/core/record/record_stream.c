/* record_stream.c -- the rest of a large page, written as the reader takes it
 * (see record.h, core_list_stream).
 *
 * A page is written straight from its SELECT while it is small. Past
 * CORE_LIST_STREAM_AT bytes the SELECT is read to its end for the ids of the
 * rows it still holds (cheap: a page has at most 1000), and the stream
 * writes those rows later, a piece of about CORE_LIST_PIECE bytes whenever
 * the connection has sent the previous one. Holding the SELECT open instead
 * would keep its read snapshot for as long as the reader dawdles, and a
 * pinned snapshot stops WAL checkpoints, so the WAL grows without bound.
 *
 * The ids are read by a measuring pass that makes every remaining record
 * (and its expansion) and drops it: the request's limits are checked in
 * full before the head is sent, so a page too expensive is a clean 400, not
 * a body cut short. A streamed page thus costs twice the work past its first
 * MiB; pages that large are rare in an app, and the reader's memory is what
 * they buy.
 *
 * Each piece then reads its rows anew, in the read transaction of the loop
 * iteration it runs in, with the page's list rule and filter applied again:
 * a record changed since the page was chosen is written as it is now, and
 * one deleted, or no longer allowed or matching, is left out (the page then
 * holds fewer items than totalItems implies). The stream owns copies of
 * everything the request lent (requester, @request data, filter, expand
 * tree): the request's arena is gone once the head is out. */
#include "core/record/record_int.h"

#include <string.h>

#include "base/alloc.h"
#include "core/record/search.h"
#include "store/sql.h"
#include "store/store.h"

struct core_list_stream {
    struct core_worker *cw;
    const struct core_schema *schema; /* snapshots live until the app closes */
    const struct core_collection *c;
    struct arena arena;    /* ids, texts and the expand tree: the stream's life */
    struct arena scratch;  /* one piece's compiled rule and filter */
    struct core_auth auth; /* holds its own reference to the record */
    struct core_filter_request filter_request; /* query and headers: own references */
    struct str filter;
    struct str fields;
    struct core_expand *ex; /* NULL: no expand */
    struct str *ids;        /* the rows still to write, in page order */
    struct str *snippets;   /* their search snippets (made by the measuring pass), or NULL */
    size_t id_count;
    size_t next;
    struct jsonw w; /* the page's writer: object and items array open */
    struct core_cost cost;
};

/* A request as the stream's pieces make it. */
static struct core_request piece_request(struct core_list_stream *s, struct arena *a)
{
    return (struct core_request){
        .cw = s->cw,
        .schema = s->schema,
        .arena = a,
        .auth = &s->auth,
        .filter_request = s->filter_request,
        .cost = &s->cost,
    };
}

enum rc core_list_stream_new(struct core_request *r, const struct core_collection *c,
                             struct str filter, const struct core_output_opts *o,
                             const struct core_expand *ex, const struct jsonw *w,
                             struct store_stmt *st, int id_col, const struct core_search *search,
                             int snippet_col, struct core_list_stream **out)
{
    *out = NULL;
    struct str *ids = NULL, *snippets = NULL;
    size_t n = 0;
    size_t cap = 0;
    enum rc step = RC_NOT_FOUND;
    struct arena a;
    arena_init(&a, 16384);
    /* The measuring pass: every remaining record is made and dropped, so a
     * limit is passed here, before the head goes out, rather than in the
     * middle of the body (a client cannot tell a cut body from a whole one:
     * the JS SDK reads a 200 whose JSON does not parse as an empty result). */
    struct buf scratch, snippet;
    buf_init(&scratch, (size_t)1 << 34);
    buf_init(&snippet, (size_t)1 << 26);
    enum rc rc = RC_OK;
    while (!rc && (step = store_step(st)) == RC_OK) {
        buf_reset(&scratch);
        buf_reset(&snippet);
        struct jsonw sw;
        jsonw_init(&sw, &scratch);
        /* The snippet needs the search's statement: made now, kept for the
         * piece (which reads the row again by id). */
        if (search)
            rc = core_search_snippet(search, st, snippet_col, &snippet);
        if (!rc)
            rc = core_record_write_item(r, c, ex, st, buf_str(&snippet), o->fields, &sw);
        if (!rc)
            rc = jsonw_finish(&sw);
        if (!rc && core_cost_check(r->cost))
            rc = RC_OVER_BUDGET;
        if (rc)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            ids = xrealloc(ids, cap * sizeof(*ids));
            if (search)
                snippets = xrealloc(snippets, cap * sizeof(*snippets));
        }
        if (search)
            snippets[n] = arena_strdup(&a, buf_str(&snippet));
        ids[n++] = arena_strdup(&a, store_column_text(st, id_col));
    }
    buf_cleanup(&scratch);
    buf_cleanup(&snippet);
    if (!rc && step != RC_NOT_FOUND)
        rc = step;
    if (rc || n == 0) {
        xfree(ids);
        xfree(snippets);
        arena_cleanup(&a);
        return rc;
    }
    struct core_list_stream *s = xcalloc(1, sizeof(*s));
    s->arena = a;
    arena_init(&s->scratch, 16384);
    s->cw = r->cw;
    s->schema = r->schema;
    s->c = c;
    s->ids = arena_alloc(&s->arena, n * sizeof(*ids));
    memcpy(s->ids, ids, n * sizeof(*ids));
    s->id_count = n;
    xfree(ids);
    if (snippets) {
        s->snippets = arena_alloc(&s->arena, n * sizeof(*snippets));
        memcpy(s->snippets, snippets, n * sizeof(*snippets));
        xfree(snippets);
    }
    if (r->auth)
        s->auth = *r->auth;
    json_incref(s->auth.record);
    s->filter_request = r->filter_request;
    s->filter_request.auth = s->auth.record;
    s->filter_request.body = NULL;
    json_incref(s->filter_request.query);
    json_incref(s->filter_request.headers);
    s->filter = arena_strdup(&s->arena, filter);
    s->fields = arena_strdup(&s->arena, o->fields);
    s->w = *w;
    /* The pieces make again what the measuring pass made within the limits:
     * they get the same limits afresh, which only data changed meanwhile
     * (or a busier machine) can make them pass. */
    if (r->cost) {
        s->cost = *r->cost;
        budget_init(&s->cost.time, r->cost->time.limit_ns);
        s->cost.expanded = 0;
        s->cost.expanded_bytes = 0;
    }
    if (o->expand.len) {
        struct core_request pr = piece_request(s, &s->arena);
        s->ex = core_expand_parse(&pr, c, arena_strdup(&s->arena, o->expand));
    }
    *out = s;
    return RC_OK;
}

void core_list_stream_free(struct core_list_stream *s)
{
    if (!s)
        return;
    json_decref(s->auth.record);
    json_decref(s->filter_request.query);
    json_decref(s->filter_request.headers);
    arena_cleanup(&s->scratch);
    arena_cleanup(&s->arena);
    xfree(s);
}

/* SELECT <columns> FROM "<c>" "r" WHERE "r"."id" = ?1 AND (rule) AND (filter),
 * the list rule skipped for superusers as on the page; RC_NOT_FOUND when the
 * rule does not compile (the page showed nothing then, so no row can come). */
static enum rc piece_statement(struct core_list_stream *s, struct core_request *r,
                               struct store_stmt **out, struct core_sql_fragment *rule,
                               struct core_sql_fragment *filter)
{
    const char *text = s->c->rules[CORE_RULE_LIST];
    bool is_superuser = s->auth.is_superuser;
    memset(rule, 0, sizeof(*rule));
    memset(filter, 0, sizeof(*filter));
    if (text && text[0] && !is_superuser &&
        core_compile_filter(r, s->c, str_from_cstr(text), true, 1, rule, NULL))
        return RC_NOT_FOUND;
    if (s->filter.len &&
        core_compile_filter(r, s->c, s->filter, false, 1 + rule->param_count, filter, NULL))
        return RC_NOT_FOUND;
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    core_record_select_head(&q, s->c);
    store_sql_add(&q, " WHERE \"r\".\"id\" = ");
    store_sql_param(&q); /* ?1, the id; the fragments' numbers follow */
    const struct core_sql_fragment *frags[2] = {rule, filter};
    for (int i = 0; i < 2; i++) {
        if (!frags[i]->sql.len)
            continue;
        store_sql_add(&q, " AND (");
        store_sql_addn(&q, frags[i]->sql);
        store_sql_add(&q, ")");
    }
    enum rc rc = store_sql_end(&q);
    if (!rc)
        rc = store_prepare(s->cw->db, buf_str(&sql), out);
    buf_cleanup(&sql);
    return rc == RC_INVALID ? RC_INTERNAL : rc;
}

enum rc core_list_stream_next(struct core_list_stream *s, struct buf *out, bool *is_done)
{
    *is_done = false;
    core_worker_begin_read(s->cw);
    core_cost_enter(s->cw, &s->cost);
    struct core_request r = piece_request(s, &s->scratch);
    struct store_stmt *st = NULL;
    struct core_sql_fragment rule, filter;
    enum rc rc = piece_statement(s, &r, &st, &rule, &filter);
    if (rc == RC_NOT_FOUND) {
        rc = RC_OK;
        s->next = s->id_count; /* nothing more can pass */
    }
    s->w.out = out;
    size_t start = out->len;
    while (!rc && s->next < s->id_count &&
           (out->len == start || out->len - start < CORE_LIST_PIECE)) {
        /* The id (in the stream's arena) and the fragments' texts (in the
         * scratch arena) outlive the step: bound borrowed. */
        struct str snippet = s->snippets ? s->snippets[s->next] : (struct str){"", 0};
        struct str id = s->ids[s->next++];
        rc = store_bind_text(st, 1, id);
        if (!rc)
            rc = core_sql_fragment_bind(st, &rule, 1);
        if (!rc)
            rc = core_sql_fragment_bind(st, &filter, 1 + rule.param_count);
        enum rc step = rc ? rc : store_step(st);
        if (step == RC_OK)
            rc = core_record_write_item(&r, s->c, s->ex, st, snippet, s->fields, &s->w);
        else if (step != RC_NOT_FOUND)
            rc = step;
        store_reset(st);
        if (!rc && core_cost_check(&s->cost))
            rc = RC_OVER_BUDGET;
    }
    if (st)
        store_done(st);
    if (!rc && s->next == s->id_count) {
        jsonw_array_end(&s->w);
        jsonw_object_end(&s->w);
        rc = jsonw_finish(&s->w);
        *is_done = true;
    }
    if (!rc)
        rc = s->w.err;
    core_cost_leave(s->cw, &s->cost);
    arena_reset(&s->scratch);
    return rc;
}

const char *core_list_stream_message(const struct core_list_stream *s)
{
    return core_cost_message(&s->cost);
}
