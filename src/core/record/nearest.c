/* nearest.c -- see nearest.h. */
#include "core/record/nearest.h"

#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"
#include "base/log.h"
#include "base/vecmath.h"
#include "core/record/record_expand.h"
#include "core/record/record_int.h"
#include "core/record/record_out.h"
#include "core/record/search.h"
#include "core/record/vector_index.h"
#include "core/schema/field_type.h"
#include "store/sql.h"

bool core_nearest_wanted(const struct core_list_opts *lo)
{
    return lo->nearest.len || lo->to.len || lo->k.len || lo->metric.len || lo->exact.len;
}

static enum rc refuse(struct core_problem *p, const char *param, const char *message)
{
    core_problem_message(p, "Invalid nearest search.");
    core_problem_field(p, param, "validation_invalid_value", message, NULL);
    return RC_INVALID;
}

/* ---- The query vector (its text: nearest_to.c) ------------------------------ */

enum rc core_nearest_vector_of(struct core_request *r, const struct core_collection *c,
                               const struct core_field *f, struct str id, float *qv, size_t dims,
                               struct core_problem *p)
{
    const char *missing = "No such record with a vector in that field (that you may view).";
    struct core_sql_fragment frag;
    if (core_record_view_rule(r, c, c->rules[CORE_RULE_VIEW], 1, &frag, NULL))
        return refuse(p, "to", missing);
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT ");
    store_sql_ident2(&q, STR_LIT("r"), str_from_cstr(f->name));
    store_sql_add(&q, " FROM ");
    store_sql_ident(&q, str_from_cstr(c->name));
    store_sql_add(&q, " \"r\" WHERE \"r\".\"id\" = ");
    store_sql_param(&q);
    if (frag.sql.len) {
        store_sql_add(&q, " AND (");
        store_sql_addn(&q, frag.sql);
        store_sql_add(&q, ")");
    }
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_prepare(&q, r->cw->db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    rc = store_bind_text(st, 1, id);
    if (!rc)
        rc = core_sql_fragment_bind(st, &frag, 1);
    if (!rc)
        rc = store_step(st);
    struct buf bytes;
    buf_init(&bytes, 4 * dims);
    if (!rc)
        rc = store_column_blob(st, 0, &bytes);
    store_done(st);
    if (rc == RC_OK && bytes.len == 4 * dims)
        vecmath_decode((const unsigned char *)bytes.data, dims, qv);
    else if (rc == RC_OK || rc == RC_NOT_FOUND || rc == RC_TOO_LARGE)
        rc = refuse(p, "to", missing);
    buf_cleanup(&bytes);
    return rc;
}

/* ---- Rankings ----------------------------------------------------------- */

/* One candidate of a ranking. */
struct hit {
    float distance; /* the vector ranking's; 0 in the text one */
    uint32_t seq;   /* the text ranking's position */
    struct str id;  /* in r's arena */
};

/* Ids in byte order (a prefix first). */
static int id_cmp(struct str a, struct str b)
{
    int c = memcmp(a.ptr, b.ptr, a.len < b.len ? a.len : b.len);
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

static bool worse(const struct hit *a, const struct hit *b)
{
    if (a->distance != b->distance)
        return a->distance > b->distance;
    /* A tie goes to the smaller id: the same order on either engine,
     * whichever order the scan read the rows in. */
    return id_cmp(a->id, b->id) > 0;
}

/* A max-heap of the best n hits: the worst on top. */
struct best {
    struct hit *h;
    size_t count, cap;
};

static void sift_down(struct best *b, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < b->count && worse(&b->h[l], &b->h[m]))
            m = l;
        if (l + 1 < b->count && worse(&b->h[l + 1], &b->h[m]))
            m = l + 1;
        if (m == i)
            return;
        struct hit t = b->h[i];
        b->h[i] = b->h[m];
        b->h[m] = t;
        i = m;
    }
}

static void offer(struct best *b, struct arena *a, float d, struct str id)
{
    struct hit x = {d, 0, id}; /* id borrowed for the comparison */
    if (b->count == b->cap && !worse(&b->h[0], &x))
        return;
    x.id = arena_strdup(a, id);
    if (b->count < b->cap) {
        size_t i = b->count++;
        b->h[i] = x;
        while (i && worse(&b->h[i], &b->h[(i - 1) / 2])) {
            struct hit t = b->h[i];
            b->h[i] = b->h[(i - 1) / 2];
            b->h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
        return;
    }
    b->h[0] = x;
    sift_down(b, 0);
}

static int by_rank(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    return worse(x, y) ? 1 : worse(y, x) ? -1 : 0;
}

/* What one list reads: the field, the query and its metric. */
struct query {
    const struct core_collection *c;
    const struct core_field *f;
    int col; /* f's column among c's */
    size_t dims;
    float *qv;
    float qnorm;
    enum vecmath_metric metric;
};

/* The distance of the vector column col of st's row, false when the row
 * has none of the query's length. */
static bool row_distance(const struct query *qy, struct store_stmt *st, int col, struct buf *bytes,
                         float *row, float *d)
{
    buf_reset(bytes);
    if (store_column_blob(st, col, bytes) || bytes->len != 4 * qy->dims)
        return false;
    vecmath_decode((const unsigned char *)bytes->data, qy->dims, row);
    *d = vecmath_distance(qy->metric, qy->qv, qy->qnorm, row, qy->dims);
    return true;
}

/* Appends [WHERE | AND] "r"."id" IN (n placeholders numbered from base + 1)
 * to q, where_at being q's length before its WHERE (if any). */
static void and_id_in(struct store_sql *q, const struct buf *sql, size_t where_at, unsigned base,
                      size_t n)
{
    store_sql_add(q, sql->len > where_at ? " AND " : " WHERE ");
    store_sql_add(q, "\"r\".\"id\" IN (");
    for (size_t i = 0; i < n; i++) {
        if (i)
            store_sql_add(q, ", ");
        store_sql_param_at(q, base + 1 + (unsigned)i);
    }
    store_sql_add(q, ")");
}

/* Rows a scan reads per statement on PostgreSQL, whose client holds a
 * statement's whole result: keyset batches (id > the last, in id order)
 * keep a scan of 100,000 vectors from holding them all at once. SQLite
 * steps through the table without holding rows: one statement. */
#define SCAN_BATCH 2048

/* "SELECT r.id, r.<field> FROM <collection> r": the rows' ids and vectors. */
static void select_id_vector(struct store_sql *q, const struct query *qy)
{
    store_sql_add(q, "SELECT \"r\".\"id\", ");
    store_sql_ident2(q, STR_LIT("r"), str_from_cstr(qy->f->name));
    store_sql_add(q, " FROM ");
    store_sql_ident(q, str_from_cstr(qy->c->name));
    store_sql_add(q, " \"r\"");
}

/* The n nearest rows the list may show (rule and filter) into *out,
 * nearest first: of every row, or of the cand_count rows cands names
 * (an index's candidates) when cands is not NULL. */
static enum rc scan_vectors(struct core_request *r, const struct query *qy, struct str filter,
                            const struct str *cands, size_t cand_count, size_t n, struct hit **out,
                            size_t *count, struct core_problem *p)
{
    *out = NULL;
    *count = 0;
    struct core_sql_fragment rule_frag, filter_frag;
    struct buf sql;
    buf_init(&sql, 1 << 24);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    select_id_vector(&q, qy);
    size_t where_at = sql.len;
    enum rc rc = core_list_where(r, qy->c, filter, 0, NULL, &rule_frag, &filter_frag, &q, p);
    unsigned base = (unsigned)(rule_frag.param_count + filter_frag.param_count);
    if (!rc && cands)
        and_id_in(&q, &sql, where_at, base, cand_count);
    bool is_batched = !cands && store_is_remote(r->cw->db);
    unsigned p_after = base + 1;
    if (!rc && is_batched) {
        store_sql_add(&q, sql.len > where_at ? " AND " : " WHERE ");
        store_sql_add(&q, "\"r\".\"id\" > ");
        store_sql_param_at(&q, p_after);
        store_sql_add(&q, " ORDER BY \"r\".\"id\" LIMIT ");
        store_sql_int(&q, SCAN_BATCH);
    }
    struct store_stmt *st = NULL;
    if (!rc)
        rc = store_sql_prepare(&q, r->cw->db, &st);
    buf_cleanup(&sql);
    if (rc == RC_NOT_FOUND)
        return RC_OK; /* the rule does not compile: nothing to show */
    if (rc)
        return rc == RC_INVALID && !p->message[0] ? RC_INTERNAL : rc;
    rc = core_sql_fragment_bind(st, &rule_frag, 0);
    if (!rc)
        rc = core_sql_fragment_bind(st, &filter_frag, rule_frag.param_count);
    for (size_t i = 0; !rc && cands && i < cand_count; i++)
        rc = store_bind_text(st, (int)(base + 1 + i), cands[i]);
    struct best b = {arena_alloc(r->arena, n * sizeof(struct hit)), 0, n};
    struct buf bytes;
    buf_init(&bytes, 4 * qy->dims);
    float *row = arena_alloc(r->arena, qy->dims * sizeof(float));
    enum rc step = RC_OK;
    struct buf last;
    buf_init(&last, 4096);
    for (bool more = true; more && !rc;) {
        size_t rows = 0;
        if (is_batched)
            rc = store_bind_text_copy(st, (int)p_after, buf_str(&last));
        while (!rc && (step = store_step(st)) == RC_OK) {
            float d;
            rows++;
            if (row_distance(qy, st, 1, &bytes, row, &d))
                offer(&b, r->arena, d, store_column_text(st, 0));
            if (is_batched) {
                buf_reset(&last);
                rc = buf_append_str(&last, store_column_text(st, 0));
            }
            if (!rc && core_cost_check(r->cost))
                rc = RC_OVER_BUDGET;
        }
        more = is_batched && !rc && step == RC_NOT_FOUND && rows == SCAN_BATCH;
        if (more)
            store_reset(st);
    }
    buf_cleanup(&last);
    buf_cleanup(&bytes);
    store_done(st);
    if (!rc && step != RC_NOT_FOUND)
        rc = step;
    if (rc)
        return rc;
    qsort(b.h, b.count, sizeof(*b.h), by_rank);
    *out = b.h;
    *count = b.count;
    return RC_OK;
}

/* How many candidates the index is asked for: a few times the rows
 * wanted, so that the rule and the filter leave enough. */
static size_t candidates_for(size_t n)
{
    size_t c = 4 * n < 100 ? 100 : 4 * n;
    return c > 4000 ? 4000 : c;
}

/* Candidates an exact pass over the copy may hand over at most (ids bound
 * to one statement); past them the table is scanned. */
#define EXACT_MAX_CANDIDATES 8192

static int by_id_at(const void *a, const void *b)
{
    return id_cmp(*(const struct str *)a, *(const struct str *)b);
}

/* Whether the table holds each of the count rows ids names with a vector
 * at exactly the distance dists gives it (the copy's): *same. Read without
 * the rule or the filter (nothing of it is shown): a row they exclude
 * must still be in the table as the copy has it. */
static enum rc copy_matches(struct core_request *r, const struct query *qy, const struct str *ids,
                            const float *dists, size_t count, bool *same)
{
    *same = false;
    struct str *sorted = arena_alloc(r->arena, count * sizeof(*sorted));
    float *by_pos = arena_alloc(r->arena, count * sizeof(*by_pos));
    memcpy(sorted, ids, count * sizeof(*sorted));
    qsort(sorted, count, sizeof(*sorted), by_id_at);
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    select_id_vector(&q, qy);
    and_id_in(&q, &sql, sql.len, 0, count);
    struct store_stmt *st = NULL;
    enum rc rc = store_sql_prepare(&q, r->cw->db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    for (size_t i = 0; !rc && i < count; i++)
        rc = store_bind_text(st, (int)(1 + i), ids[i]);
    /* by_pos[j]: the distance the copy gave sorted[j] */
    for (size_t i = 0; i < count; i++) {
        struct str *at = bsearch(&ids[i], sorted, count, sizeof(*sorted), by_id_at);
        by_pos[at - sorted] = dists[i];
    }
    struct buf bytes;
    buf_init(&bytes, 4 * qy->dims);
    float *row = arena_alloc(r->arena, qy->dims * sizeof(float));
    size_t matched = 0;
    bool differs = false;
    enum rc step = RC_OK;
    while (!rc && !differs && (step = store_step(st)) == RC_OK) {
        struct str id = store_column_text(st, 0);
        struct str *at = bsearch(&id, sorted, count, sizeof(*sorted), by_id_at);
        float d;
        if (!at || !row_distance(qy, st, 1, &bytes, row, &d) ||
            memcmp(&d, &by_pos[at - sorted], sizeof(d)) != 0)
            differs = true;
        else
            matched++;
        if (core_cost_check(r->cost))
            rc = RC_OVER_BUDGET;
    }
    buf_cleanup(&bytes);
    store_done(st);
    if (!rc && !differs && step != RC_NOT_FOUND)
        rc = step;
    *same = !rc && !differs && matched == count;
    return rc;
}

/* The n nearest rows the list may show, exactly, from the field's copy in
 * memory (vector_index.h) when it can stand for the table: *done then.
 *
 * Why it is exact. The copy holds every row's current vector (how that is
 * known: vector_index.h). It hands over the m (2n + 16) ids nearest the query by
 * vecmath_distances, which gives each row the very float vecmath_distance
 * (this file's scan) gives, a tie across the cut refused, so every row
 * left out is strictly farther than every candidate. The candidates are
 * then read back twice: without the rule and the filter, each must be in
 * the table at the copy's distance (else the table is scanned and the copy
 * distrusted until the index thread has checked them: a change that made
 * no event, or a write this list's snapshot predates); with them, the best n that pass
 * (scan_vectors over the ids). If n pass, no row left out could be nearer
 * than they: that is the table's answer. If fewer pass and the copy held
 * more rows than m, m grows (a rule or a filter excludes many of the
 * nearest) up to EXACT_MAX_CANDIDATES, then the table is scanned. */
static enum rc rank_from_copy(struct core_request *r, const struct query *qy, struct str filter,
                              size_t n, struct hit **out, size_t *count, bool *done,
                              struct core_problem *p)
{
    *done = false;
    *out = NULL;
    *count = 0;
    /* Twice the rows wanted, and a few: every candidate is read back, so
     * fewer cost less; a rule or filter that excludes more grows m. */
    for (size_t m = 2 * n + 16;; m *= 8) {
        if (m > EXACT_MAX_CANDIDATES)
            m = EXACT_MAX_CANDIDATES;
        struct str *ids = arena_alloc(r->arena, m * sizeof(*ids));
        float *dists = arena_alloc(r->arena, m * sizeof(*dists));
        size_t got = 0, rows = 0;
        if (core_vectors_exact(r->cw->vectors, qy->c, qy->f, qy->metric, qy->qv, m, r->arena, ids,
                               dists, &got, &rows))
            return RC_OK;
        bool same = false;
        enum rc rc = got ? copy_matches(r, qy, ids, dists, got, &same) : RC_OK;
        if (rc)
            return rc;
        if (got && !same) {
            core_vectors_distrust(r->cw->vectors, qy->c, qy->f, qy->metric, ids, got);
            return RC_OK;
        }
        rc = got ? scan_vectors(r, qy, filter, ids, got, n, out, count, p) : RC_OK;
        if (rc)
            return rc;
        if (*count >= n || got == rows) {
            log_debug("msg=\"exact nearest from the vector copy\" table=%s field=%s "
                      "candidates=%zu rows=%zu",
                      qy->c->name, qy->f->name, got, rows);
            *done = true;
            return RC_OK;
        }
        if (m == EXACT_MAX_CANDIDATES)
            return RC_OK;
    }
}

/* The n nearest rows the list may show: from the approximate index's
 * candidates when is_exact is false and the field's index is ready and
 * large enough (vector_index.h), each verified against the table; else
 * exactly, from the field's copy in memory when it can stand for the table
 * (rank_from_copy), or by a scan of every row of the table (also when
 * fewer than n of the index's candidates pass the rule and the filter). */
static enum rc rank_vectors(struct core_request *r, const struct query *qy, struct str filter,
                            size_t n, bool is_exact, struct hit **out, size_t *count,
                            struct core_problem *p)
{
    /* A view's rows make no record events: an index of one would not follow it. */
    if (qy->c->type != CORE_COLLECTION_VIEW) {
        if (!is_exact) {
            size_t want = candidates_for(n), got = 0;
            struct str *ids = arena_alloc(r->arena, want * sizeof(*ids));
            if (core_vectors_candidates(r->cw->vectors, qy->c, qy->f, qy->metric, qy->qv, want,
                                        r->arena, ids, &got) == RC_OK &&
                got) {
                enum rc rc = scan_vectors(r, qy, filter, ids, got, n, out, count, p);
                if (rc || *count >= n)
                    return rc;
            }
        }
        bool done = false;
        enum rc rc = rank_from_copy(r, qy, filter, n, out, count, &done, p);
        if (rc || done)
            return rc;
    }
    return scan_vectors(r, qy, filter, NULL, 0, n, out, count, p);
}

/* The n most relevant rows of the search s the list may show, best first
 * (seq: their rank). */
static enum rc rank_text(struct core_request *r, const struct core_collection *c, struct str filter,
                         struct core_search *s, size_t n, struct hit **out, size_t *count,
                         struct core_problem *p)
{
    *out = NULL;
    *count = 0;
    enum rc rc = core_list_widen_search(r, c, filter, s);
    if (rc)
        return rc;
    const struct store_search_query *sq = &s->query;
    unsigned sp = store_search_query_params(sq);
    struct core_sql_fragment rule_frag, filter_frag;
    struct buf sql;
    buf_init(&sql, 1 << 20);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    store_sql_add(&q, "SELECT \"r\".\"id\" FROM ");
    store_sql_ident(&q, str_from_cstr(c->name));
    store_sql_add(&q, " \"r\"");
    store_sql_search_join(&q, sq);
    rc = core_list_where(r, c, filter, sp, sq, &rule_frag, &filter_frag, &q, p);
    store_sql_add(&q, " ORDER BY ");
    store_sql_search_rank(&q, sq, 1);
    store_sql_add(&q, ", \"r\".\"rowid\" LIMIT ");
    store_sql_int(&q, (int64_t)n);
    struct store_stmt *st = NULL;
    if (!rc)
        rc = store_sql_prepare(&q, r->cw->db, &st);
    buf_cleanup(&sql);
    if (rc == RC_NOT_FOUND)
        return RC_OK;
    if (rc)
        return rc == RC_INVALID && !p->message[0] ? RC_INTERNAL : rc;
    rc = store_search_query_bind(st, sq, 1);
    if (!rc)
        rc = core_sql_fragment_bind(st, &rule_frag, sp);
    if (!rc)
        rc = core_sql_fragment_bind(st, &filter_frag, sp + rule_frag.param_count);
    struct hit *h = arena_alloc(r->arena, n * sizeof(*h));
    size_t k = 0;
    enum rc step = RC_OK;
    while (!rc && k < n && (step = store_step(st)) == RC_OK) {
        h[k] = (struct hit){0, (uint32_t)k, arena_strdup(r->arena, store_column_text(st, 0))};
        k++;
        if (core_cost_check(r->cost))
            rc = RC_OVER_BUDGET;
    }
    store_done(st);
    if (!rc && step != RC_NOT_FOUND && step != RC_OK)
        rc = step;
    if (rc)
        return rc;
    *out = h;
    *count = k;
    return RC_OK;
}

/* A record of the fused ranking. */
struct fused {
    struct str id;
    double score;
    uint32_t vrank, trank; /* 1-based; 0: not in that ranking */
};

static int by_id(const void *a, const void *b)
{
    const struct fused *x = a, *y = b;
    return id_cmp(x->id, y->id);
}

static int by_score(const void *a, const void *b)
{
    const struct fused *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    uint32_t xv = x->vrank ? x->vrank : UINT32_MAX, yv = y->vrank ? y->vrank : UINT32_MAX;
    if (xv != yv)
        return xv < yv ? -1 : 1;
    uint32_t xt = x->trank ? x->trank : UINT32_MAX, yt = y->trank ? y->trank : UINT32_MAX;
    if (xt != yt)
        return xt < yt ? -1 : 1;
    return by_id(a, b);
}

/* Fuses the two rankings by reciprocal rank into *out (best first). */
static size_t fuse(struct arena *a, const struct hit *v, size_t nv, const struct hit *t, size_t nt,
                   struct fused **out)
{
    struct fused *all = arena_alloc(a, (nv + nt + 1) * sizeof(*all));
    size_t n = 0;
    for (size_t i = 0; i < nv; i++)
        all[n++] = (struct fused){v[i].id, 0, (uint32_t)i + 1, 0};
    for (size_t i = 0; i < nt; i++)
        all[n++] = (struct fused){t[i].id, 0, 0, (uint32_t)i + 1};
    qsort(all, n, sizeof(*all), by_id);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && by_id(&all[m - 1], &all[i]) == 0) {
            if (all[i].vrank)
                all[m - 1].vrank = all[i].vrank;
            if (all[i].trank)
                all[m - 1].trank = all[i].trank;
            continue;
        }
        all[m++] = all[i];
    }
    for (size_t i = 0; i < m; i++) {
        double s = 0;
        if (all[i].vrank)
            s += 1.0 / (CORE_NEAREST_RRF_K + all[i].vrank);
        if (all[i].trank)
            s += 1.0 / (CORE_NEAREST_RRF_K + all[i].trank);
        all[i].score = s;
    }
    qsort(all, m, sizeof(*all), by_score);
    *out = all;
    return m;
}

/* ---- The page ------------------------------------------------------------- */

/* One item of the page, made while its row is read. */
struct slot {
    struct str id;
    double score; /* hybrid only */
    struct buf json;
    bool is_made;
};

/* Reads the page's records by id (rule and filter applied again: a record
 * changed since the ranking and no longer listable is left out) and makes
 * each slot's item. */
static enum rc make_items(struct core_request *r, const struct query *qy, struct str filter,
                          const struct core_output_opts *o, bool is_hybrid, struct slot *slots,
                          size_t n, struct core_problem *p)
{
    struct core_sql_fragment rule_frag, filter_frag;
    struct buf sql;
    buf_init(&sql, 1 << 24);
    struct store_sql q;
    store_sql_begin(&q, &sql);
    core_record_select_head(&q, qy->c);
    size_t where_at = sql.len;
    enum rc rc = core_list_where(r, qy->c, filter, 0, NULL, &rule_frag, &filter_frag, &q, p);
    if (rc)
        return rc == RC_NOT_FOUND ? RC_OK : rc;
    unsigned base = (unsigned)(rule_frag.param_count + filter_frag.param_count);
    and_id_in(&q, &sql, where_at, base, n);
    struct store_stmt *st = NULL;
    rc = store_sql_prepare(&q, r->cw->db, &st);
    buf_cleanup(&sql);
    if (rc)
        return rc == RC_INVALID ? RC_INTERNAL : rc;
    rc = core_sql_fragment_bind(st, &rule_frag, 0);
    if (!rc)
        rc = core_sql_fragment_bind(st, &filter_frag, rule_frag.param_count);
    for (size_t i = 0; !rc && i < n; i++)
        rc = store_bind_text(st, (int)(base + 1 + i), slots[i].id);
    struct core_expand *ex = o->expand.len ? core_expand_parse(r, qy->c, o->expand) : NULL;
    struct buf bytes;
    buf_init(&bytes, 4 * qy->dims);
    float *row = arena_alloc(r->arena, qy->dims * sizeof(float));
    enum rc step = RC_OK;
    while (!rc && (step = store_step(st)) == RC_OK) {
        struct str id = store_column_text(st, 0);
        size_t i = 0;
        while (i < n && !str_eq(slots[i].id, id))
            i++;
        if (i == n || slots[i].is_made)
            continue;
        struct core_item_score score = {.has_distance = true};
        score.is_distance_null = !row_distance(qy, st, qy->col, &bytes, row, &score.distance);
        score.has_score = is_hybrid;
        score.score = slots[i].score;
        struct jsonw w;
        jsonw_init(&w, &slots[i].json);
        rc = core_record_write_scored(r, qy->c, ex, st, (struct str){"", 0}, &score, o->fields, &w);
        if (!rc)
            rc = jsonw_finish(&w);
        slots[i].is_made = rc == RC_OK;
        if (!rc && core_cost_check(r->cost))
            rc = RC_OVER_BUDGET;
    }
    buf_cleanup(&bytes);
    store_done(st);
    if (!rc && step != RC_NOT_FOUND && step != RC_OK)
        rc = step;
    return rc;
}

/* Checks the options into qy and *k. */
static enum rc read_options(struct core_request *r, const struct core_collection *c,
                            const struct core_list_opts *lo, struct query *qy, size_t *k,
                            struct str *ref, bool *is_exact, struct core_problem *p)
{
    if (!lo->nearest.len) {
        const char *which = lo->to.len      ? "to"
                            : lo->k.len     ? "k"
                            : lo->exact.len ? "exact"
                                            : "metric";
        return refuse(p, which, "Give `nearest` (a vector field) with it.");
    }
    const struct core_field *f = core_collection_field(c, lo->nearest);
    if (!f || f->type != CORE_FIELD_VECTOR || f->dimensions < 1 ||
        (f->is_hidden && !core_request_is_superuser(r)))
        return refuse(p, "nearest", "Not a vector field of the collection.");
    qy->c = c;
    qy->f = f;
    qy->col = (int)(f - c->fields);
    qy->dims = (size_t)f->dimensions;
    if (!lo->to.len)
        return refuse(p, "to", "Give the vector to compare with: a JSON array or @record:ID.");
    *k = CORE_NEAREST_DEFAULT_K;
    uint64_t v = 0;
    if (lo->k.len && (!str_to_u64(lo->k, &v) || v < 1 || v > CORE_NEAREST_MAX_K))
        return refuse(p, "k", "Must be a whole number from 1 to 1000.");
    if (lo->k.len)
        *k = (size_t)v;
    qy->metric = VECMATH_COSINE;
    if (lo->metric.len && !vecmath_metric_parse(lo->metric.ptr, lo->metric.len, &qy->metric))
        return refuse(p, "metric", "Must be cosine, dot or l2.");
    if (lo->sort.len)
        return refuse(p, "sort",
                      "A nearest list is ordered by distance (or by fused rank with "
                      "search): leave sort out.");
    if (lo->search_snippet)
        return refuse(p, "searchSnippet", "Snippets are not available with nearest.");
    if (lo->exact.len) {
        bool yes = str_eq(lo->exact, STR_LIT("true")) || str_eq(lo->exact, STR_LIT("1"));
        if (!yes && !str_eq(lo->exact, STR_LIT("false")) && !str_eq(lo->exact, STR_LIT("0")))
            return refuse(p, "exact", "Must be a boolean.");
        *is_exact = yes;
    }
    qy->qv = arena_alloc(r->arena, qy->dims * sizeof(float));
    const char *why = NULL;
    if (core_nearest_parse_to(lo->to, qy->dims, qy->qv, ref, &why))
        return refuse(p, "to", why);
    return RC_OK;
}

static enum rc write_page(const struct core_list_opts *lo, size_t total, const struct slot *slots,
                          size_t n, struct buf *out)
{
    int64_t shown = lo->skip_total ? -1 : (int64_t)total;
    struct jsonw w;
    jsonw_init(&w, out);
    core_list_write_head(&w, lo, shown);
    for (size_t i = 0; i < n; i++) {
        if (slots[i].is_made)
            jsonw_raw(&w, buf_str(&slots[i].json));
    }
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    return jsonw_finish(&w);
}

enum rc core_nearest_list(struct core_request *r, const struct core_collection *c,
                          const struct core_list_opts *lo, const struct core_output_opts *o,
                          struct buf *out, struct core_problem *p)
{
    struct query qy = {0};
    size_t k = 0;
    struct str ref = {"", 0};
    bool is_exact = false;
    enum rc rc = read_options(r, c, lo, &qy, &k, &ref, &is_exact, p);
    if (!rc && ref.len)
        rc = core_nearest_vector_of(r, c, qy.f, ref, qy.qv, qy.dims, p);
    if (rc)
        return rc;
    qy.qnorm = vecmath_norm(qy.qv, qy.dims);

    struct core_search search;
    bool is_hybrid = false;
    if (lo->search.len) {
        rc = core_search_prepare(r, c, lo->search, &search, p);
        is_hybrid = !rc && !search.is_empty;
        if (rc || !is_hybrid) {
            core_search_cleanup(&search);
            if (rc)
                return rc;
        }
    }
    size_t depth = is_hybrid ? CORE_NEAREST_FUSE_DEPTH : k;
    struct hit *vh = NULL, *th = NULL;
    size_t nv = 0, nt = 0;
    rc = rank_vectors(r, &qy, lo->filter, depth, is_exact, &vh, &nv, p);
    if (!rc && is_hybrid)
        rc = rank_text(r, c, lo->filter, &search, depth, &th, &nt, p);
    if (is_hybrid)
        core_search_cleanup(&search);
    if (rc)
        return rc;

    /* The ranking, cut at k; then the page within it. */
    struct fused *fz = NULL;
    size_t total = is_hybrid ? fuse(r->arena, vh, nv, th, nt, &fz) : nv;
    if (total > k)
        total = k;
    size_t start = (size_t)((lo->page - 1) * lo->per_page);
    size_t n = start < total ? total - start : 0;
    if (n > (size_t)lo->per_page)
        n = (size_t)lo->per_page;
    struct slot *slots = arena_alloc(r->arena, (n + 1) * sizeof(*slots));
    for (size_t i = 0; i < n; i++) {
        slots[i] = (struct slot){.id = is_hybrid ? fz[start + i].id : vh[start + i].id};
        slots[i].score = is_hybrid ? fz[start + i].score : 0;
        buf_init(&slots[i].json, (size_t)1 << 30);
    }
    if (n)
        rc = make_items(r, &qy, lo->filter, o, is_hybrid, slots, n, p);
    if (!rc)
        rc = write_page(lo, total, slots, n, out);
    for (size_t i = 0; i < n; i++)
        buf_cleanup(&slots[i].json);
    return rc;
}
