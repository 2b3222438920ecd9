/* reco.c -- recommendations and similar items (layer: api; core/reco/ does
 * the scoring).
 *
 *   GET /api/collections/{collection}/recommendations
 *       ?limit (1..100, default 10) &filter &user (superusers: anyone's;
 *       others: their own) &includeSeen &expand &fields
 *   GET /api/collections/{collection}/records/{id}/similar
 *       ?limit &filter &expand &fields
 *
 * Both answer {items: [records], scores: [{id, score, source: "similar" |
 * "popular"}]}, best first. The candidates core/reco proposes go through the
 * collection's list (its list rule, the caller's filter, expand and fields)
 * in one query: a record the caller may not list is never proposed, and
 * the records are written as the list writes them. A recommender with a
 * vectorField blends in the items nearest by vector (core/reco/reco.h),
 * read through the same list (`nearest`), so its rule holds there too:
 * source "vector" marks those only that ranking found. */
#include <stdio.h>
#include <string.h>

#include "api/call.h"
#include "api/errors.h"
#include "api/handlers.h"
#include "base/alloc.h"
#include "base/vecmath.h"
#include "core/reco/reco.h"
#include "core/record/nearest.h"
#include "core/record/record.h"
#include "http/req.h"

#define MAX_LIMIT 100
#define CANDIDATES_PER_RESULT 3

static const char *const params[] = {"limit", "filter", "expand", "fields", "user", "includeSeen"};
#define SIMILAR_PARAMS 4 /* the first four: no user, no includeSeen */

/* limit and includeSeen; false with the problem set. */
static bool read_params(struct api_call *c, int64_t *limit, bool *include_seen)
{
    *limit = 10;
    struct str v = api_call_query(c, "limit");
    uint64_t n = 0;
    if (v.len && (!str_to_u64(v, &n) || n < 1 || n > MAX_LIMIT))
        core_problem_field(&c->problem, "limit", "validation_invalid_value",
                           "Must be a whole number from 1 to 100.", NULL);
    else if (v.len)
        *limit = (int64_t)n;
    v = api_call_query(c, "includeSeen");
    *include_seen = str_eq(v, STR_LIT("true")) || str_eq(v, STR_LIT("1"));
    if (v.len && !*include_seen && !str_eq(v, STR_LIT("false")) && !str_eq(v, STR_LIT("0")))
        core_problem_field(&c->problem, "includeSeen", "validation_invalid_value",
                           "Must be true or false.", NULL);
    if (!core_problem_has_fields(&c->problem))
        return true;
    core_problem_message(&c->problem, "Invalid recommendations request.");
    return false;
}

/* The end of the JSON value starting at p (before end), NULL when it is
 * cut short. The list's own output: well-formed. */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;
    bool is_string = false;
    for (; p < end; p++) {
        if (is_string) {
            if (*p == '\\')
                p++;
            else if (*p == '"')
                is_string = false;
            if (!is_string && depth == 0)
                return p + 1;
            continue;
        }
        if (*p == '"')
            is_string = true;
        else if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']') {
            if (depth == 0)
                return p; /* the end of the container around a scalar */
            if (--depth == 0)
                return p + 1;
        } else if (depth == 0 && *p == ',')
            return p;
    }
    return NULL;
}

/* One record of the list's page: where it is and its id. */
struct span {
    const char *at;
    size_t len;
    char id[64];
};

/* The record's top-level "id" (an id holds no escapes) into id, "" when it
 * has none: a walk over the keys, not a parse of the record. */
static void id_of(const char *p, const char *end, char *id, size_t cap)
{
    id[0] = '\0';
    if (p >= end || *p != '{')
        return;
    p++;
    while (p < end && *p == '"') {
        const char *key = p + 1, *key_end = skip_value(p, end);
        if (!key_end || key_end >= end || *key_end != ':')
            return;
        const char *v = key_end + 1, *v_end = skip_value(v, end);
        if (!v_end)
            return;
        if (key_end - key == 3 && memcmp(key, "id\"", 3) == 0 && *v == '"') {
            size_t len = (size_t)(v_end - v) - 2;
            if (len < cap && !memchr(v + 1, '\\', len)) {
                memcpy(id, v + 1, len);
                id[len] = '\0';
            }
            return;
        }
        p = v_end < end && *v_end == ',' ? v_end + 1 : v_end;
    }
}

/* The records of page (the list's JSON) into spans (*n, at most max). */
static void records_of(struct str page, struct span *spans, size_t max, size_t *n)
{
    *n = 0;
    const char *end = page.ptr + page.len;
    const char *p = memmem(page.ptr, page.len, "\"items\":[", 9);
    if (!p)
        return;
    p += 9;
    while (p < end && *p != ']' && *n < max) {
        const char *next = skip_value(p, end);
        if (!next)
            return;
        struct span *s = &spans[(*n)++];
        s->at = p;
        s->len = (size_t)(next - p);
        id_of(p, next, s->id, sizeof(s->id));
        p = next;
        if (p < end && *p == ',')
            p++;
    }
}

/* Lists the candidates through col's list (rule, filter, expand, fields)
 * and writes the answer: the listed ones in the candidates' order, up to
 * limit. */
static enum rc answer(struct api_call *c, const struct core_collection *col,
                      const struct core_reco_candidate *cands, size_t n, int64_t limit)
{
    struct buf filter;
    buf_init(&filter, 1 << 16);
    buf_append_cstr(&filter, "(");
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (strpbrk(cands[i].id, "\"\\"))
            continue; /* not an id the filter's string can hold as is */
        buf_append_cstr(&filter, used++ ? " || id = \"" : "id = \"");
        buf_append_cstr(&filter, cands[i].id);
        buf_append_cstr(&filter, "\"");
    }
    struct str user_filter = api_call_query(c, "filter");
    if (!used)
        buf_append_cstr(&filter, "id = \"\" && id != \"\"");
    buf_append_cstr(&filter, ")");
    if (user_filter.len) {
        buf_append_cstr(&filter, " && (");
        buf_append(&filter, user_filter.ptr, user_filter.len);
        buf_append_cstr(&filter, ")");
    }
    struct core_list_opts lo = {.page = 1,
                                .per_page = used ? (int64_t)used : 1,
                                .skip_total = true,
                                .filter = buf_str(&filter),
                                .sort = STR_LIT("")};
    struct core_output_opts o = {0};
    api_call_output_opts(c, &o);
    /* the order needs each record's id */
    if (o.fields.len && !memmem(o.fields.ptr, o.fields.len, "*", 1)) {
        char *f = arena_alloc(c->req->arena, o.fields.len + 4);
        memcpy(f, o.fields.ptr, o.fields.len);
        memcpy(f + o.fields.len, ",id", 4);
        o.fields = (struct str){f, o.fields.len + 3};
    }
    if (user_filter.len || (col->rules[CORE_RULE_LIST] && col->rules[CORE_RULE_LIST][0]))
        api_call_request_data(c, "default");
    struct buf page;
    buf_init(&page, (size_t)1 << 30);
    struct core_list_stream *rest = NULL;
    enum rc rc = core_record_list(&c->core, col, &lo, &o, &page, &c->problem, &rest);
    bool is_done = rest == NULL;
    while (!rc && !is_done)
        rc = core_list_stream_next(rest, &page, &is_done);
    core_list_stream_free(rest);
    buf_cleanup(&filter);
    rc = api_call_cost_rc(c, rc);
    if (rc) {
        buf_cleanup(&page);
        return api_call_fail(c, rc);
    }
    size_t m = 0;
    struct span *spans = xcalloc(used ? used : 1, sizeof(*spans));
    records_of(buf_str(&page), spans, used, &m);
    http_resp_start(c->req, 200, "application/json");
    struct buf *out = http_resp_body(c->req);
    buf_append_cstr(out, "{\"items\":[");
    json_t *scores = json_array();
    int64_t written = 0;
    for (size_t i = 0; i < n && written < limit; i++) {
        for (size_t k = 0; k < m; k++) {
            if (!spans[k].len || strcmp(spans[k].id, cands[i].id) != 0)
                continue;
            if (written++)
                buf_append_cstr(out, ",");
            buf_append(out, spans[k].at, spans[k].len);
            spans[k].len = 0;
            json_array_append_new(scores, json_pack("{s:s, s:f, s:s}", "id", cands[i].id, "score",
                                                    cands[i].score, "source",
                                                    cands[i].is_popular  ? "popular"
                                                    : cands[i].is_vector ? "vector"
                                                                         : "similar"));
            break;
        }
    }
    buf_append_cstr(out, "],\"scores\":");
    char *s = json_dumps(scores, JSON_COMPACT | JSON_REAL_PRECISION(6));
    buf_append_cstr(out, s ? s : "[]");
    xfree(s);
    buf_append_cstr(out, "}");
    json_decref(scores);
    xfree(spans);
    buf_cleanup(&page);
    return RC_OK;
}

/* ---- blending with the vector ranking -------------------------------------- */

/* Reciprocal rank fusion's constant, as the hybrid search's. */
#define RRF_K 60

static int by_fused(const void *a, const void *b)
{
    const struct core_reco_candidate *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Up to max ids of the records of col nearest `to` by r's vector field,
 * nearest first, through the items' list (its rule, the caller's filter),
 * leaving out those in skip (NULL: none). A list that fails (the item has
 * no vector, a filter the list refuses: the main list answers that) gives
 * no ranking; only running out of memory is an error. */
static enum rc vector_ranking(struct api_call *c, const struct core_collection *col,
                              const struct core_reco *r, struct str to, json_t *skip,
                              struct core_reco_candidate *out, size_t max, size_t *n)
{
    *n = 0;
    char k[16];
    size_t want = max + (skip ? json_object_size(skip) : 0);
    want = want > 1000 ? 1000 : want;
    snprintf(k, sizeof(k), "%zu", want);
    struct core_list_opts lo = {.page = 1,
                                .per_page = (int64_t)want,
                                .skip_total = true,
                                .filter = api_call_query(c, "filter"),
                                .sort = STR_LIT(""),
                                .nearest = str_from_cstr(r->vector_field),
                                .to = to,
                                .k = str_from_cstr(k)};
    struct core_output_opts o = {.fields = STR_LIT("id")};
    struct core_problem problem;
    core_problem_init(&problem);
    struct buf page;
    buf_init(&page, (size_t)1 << 30);
    struct core_list_stream *rest = NULL;
    enum rc rc = core_record_list(&c->core, col, &lo, &o, &page, &problem, &rest);
    bool is_done = rest == NULL;
    while (!rc && !is_done)
        rc = core_list_stream_next(rest, &page, &is_done);
    core_list_stream_free(rest);
    core_problem_cleanup(&problem);
    if (rc) {
        buf_cleanup(&page);
        return rc == RC_NOMEM ? rc : RC_OK;
    }
    size_t m = 0;
    struct span *spans = xcalloc(want ? want : 1, sizeof(*spans));
    records_of(buf_str(&page), spans, want, &m);
    for (size_t i = 0; i < m && *n < max; i++) {
        if (!spans[i].id[0] || (skip && json_object_get(skip, spans[i].id)))
            continue;
        struct core_reco_candidate *cand = &out[(*n)++];
        memset(cand, 0, sizeof(*cand));
        snprintf(cand->id, sizeof(cand->id), "%s", spans[i].id);
        cand->is_vector = true;
    }
    xfree(spans);
    buf_cleanup(&page);
    return RC_OK;
}

/* The mean of the vectors of the user's heaviest items (each scaled to
 * length 1, weighted by the user's weight; those the user may no longer
 * view left out) as a JSON array into to; false when none has one. */
static bool profile_vector(struct api_call *c, const struct core_reco *r,
                           const struct core_reco_candidate *mine, size_t n, struct buf *to)
{
    const struct core_field *f = core_collection_field(r->items, str_from_cstr(r->vector_field));
    size_t dims = f && f->dimensions > 0 ? (size_t)f->dimensions : 0;
    if (!dims)
        return false;
    double *sum = xcalloc(dims, sizeof(*sum));
    float *v = xcalloc(dims, sizeof(*v));
    bool has_any = false;
    for (size_t i = 0; i < n && i < CORE_RECO_SEEDS; i++) {
        struct core_problem scratch;
        core_problem_init(&scratch);
        enum rc rc = core_nearest_vector_of(&c->core, r->items, f, str_from_cstr(mine[i].id), v,
                                            dims, &scratch);
        core_problem_cleanup(&scratch);
        double len = rc ? 0 : vecmath_norm(v, dims);
        if (len > 0) {
            has_any = true;
            for (size_t d = 0; d < dims; d++)
                sum[d] += mine[i].score * v[d] / len;
        }
    }
    if (has_any) {
        buf_append_cstr(to, "[");
        for (size_t d = 0; d < dims; d++) {
            char num[32];
            snprintf(num, sizeof(num), "%s%.9g", d ? "," : "", sum[d]);
            buf_append_cstr(to, num);
        }
        buf_append_cstr(to, "]");
    }
    xfree(v);
    xfree(sum);
    return has_any;
}

/* Fuses the co-occurrence candidates (cands[0..*n), similar ones first,
 * then the popular fill) with the vector ranking vec[0..nv) by reciprocal
 * rank, the vector ranking's share w, back into cands (up to max): fused
 * ones best first, then the popular fill not among them. */
static void fuse(struct core_reco_candidate *cands, size_t *n, size_t max,
                 const struct core_reco_candidate *vec, size_t nv, double w)
{
    size_t total = *n + nv, k = 0;
    struct core_reco_candidate *all = xcalloc(total ? total : 1, sizeof(*all));
    json_t *at = json_object(); /* id -> index in all */
    size_t rank = 0;
    for (size_t i = 0; i < *n; i++) {
        if (cands[i].is_popular)
            continue;
        all[k] = cands[i];
        all[k].score = (1 - w) / (RRF_K + (double)++rank);
        json_object_set_new(at, all[k].id, json_integer((json_int_t)k));
        k++;
    }
    for (size_t i = 0; i < nv; i++) {
        double s = w / (RRF_K + (double)(i + 1));
        json_t *j = json_object_get(at, vec[i].id);
        if (j) {
            all[json_integer_value(j)].score += s;
            continue;
        }
        all[k] = vec[i];
        all[k].score = s;
        json_object_set_new(at, all[k].id, json_integer((json_int_t)k));
        k++;
    }
    qsort(all, k, sizeof(*all), by_fused);
    size_t out = 0;
    struct core_reco_candidate *popular = xcalloc(*n ? *n : 1, sizeof(*popular));
    size_t np = 0;
    for (size_t i = 0; i < *n; i++) {
        if (cands[i].is_popular && !json_object_get(at, cands[i].id))
            popular[np++] = cands[i];
    }
    for (size_t i = 0; i < k && out < max; i++)
        cands[out++] = all[i];
    for (size_t i = 0; i < np && out < max; i++)
        cands[out++] = popular[i];
    *n = out;
    json_decref(at);
    xfree(all);
    xfree(popular);
}

/* The start both endpoints share: the collection, its recommender, the
 * parameters. RC_OK or the error is written. */
static enum rc start(struct api_call *c, size_t n_params, const struct core_collection **col,
                     struct core_reco *r, int64_t *limit, bool *include_seen)
{
    if (api_call_collection_or_fail(c, "Missing collection context.", col))
        return RC_INVALID;
    if (!api_call_only_query(c, params, n_params,
                             n_params == SIMILAR_PARAMS
                                 ? "Not a parameter of similar items (limit, filter, expand, "
                                   "fields)."
                                 : "Not a parameter of recommendations (limit, filter, expand, "
                                   "fields, user, includeSeen).") ||
        !read_params(c, limit, include_seen)) {
        api_call_fail(c, RC_INVALID);
        return RC_INVALID;
    }
    enum rc rc = core_reco_find(c->aw->core.db, c->core.schema, *col, r);
    if (rc == RC_NOT_FOUND) {
        api_error_write(c->req, 404, "No active recommender serves this collection.");
        return rc;
    }
    if (rc)
        api_call_fail(c, rc);
    return rc;
}

/* A user's candidates fused with the items nearest the user's profile
 * vector, made from mine (the user's items core_reco_for_user read; left
 * out unless include_seen). */
static enum rc blend_for_user(struct api_call *c, const struct core_collection *col,
                              const struct core_reco *r, const struct core_reco_mine *mine,
                              bool include_seen, struct core_reco_candidate *cands, size_t max,
                              size_t *n)
{
    enum rc rc = RC_OK;
    struct buf to;
    buf_init(&to, (size_t)1 << 20);
    if (mine->n && profile_vector(c, r, mine->items, mine->n, &to)) {
        json_t *skip = json_object();
        for (size_t i = 0; !include_seen && i < mine->n; i++)
            json_object_set_new(skip, mine->items[i].id, json_true());
        struct core_reco_candidate *vec = xcalloc(max, sizeof(*vec));
        size_t nv = 0;
        rc = vector_ranking(c, col, r, buf_str(&to), skip, vec, max, &nv);
        if (!rc)
            fuse(cands, n, max, vec, nv, r->vector_weight);
        xfree(vec);
        json_decref(skip);
    }
    buf_cleanup(&to);
    return rc;
}

enum rc api_reco_recommendations(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    struct core_reco r;
    int64_t limit;
    bool include_seen;
    if (start(c, 6, &col, &r, &limit, &include_seen))
        return RC_OK;
    struct str asked = api_call_query(c, "user");
    const char *user = c->auth.id;
    if (asked.len) {
        if (!c->auth.is_superuser && !(user && str_eq(asked, str_from_cstr(user)))) {
            api_error_write(req, 403,
                            "Only superusers may ask for another user's "
                            "recommendations.");
            return RC_OK;
        }
        char *u = arena_alloc(req->arena, asked.len + 1);
        memcpy(u, asked.ptr, asked.len);
        u[asked.len] = '\0';
        user = u;
    } else if (c->auth.is_superuser) {
        user = NULL; /* a superuser is no shopper: the popular */
    }
    size_t max = (size_t)limit * CANDIDATES_PER_RESULT, n = 0;
    struct core_reco_candidate *cands = xcalloc(max, sizeof(*cands));
    /* the user's items are read once: for the seeds and for the profile vector */
    struct core_reco_mine *mine = r.vector_field ? xcalloc(1, sizeof(*mine)) : NULL;
    enum rc rc = core_reco_for_user(c->aw->core.db, &r, user, include_seen, cands, max, &n, mine);
    if (!rc && mine)
        rc = blend_for_user(c, col, &r, mine, include_seen, cands, max, &n);
    xfree(mine);
    if (!rc)
        rc = answer(c, col, cands, n, limit);
    else
        api_call_fail(c, rc);
    xfree(cands);
    return RC_OK;
}

enum rc api_reco_similar(struct http_req *req, void *ctx)
{
    (void)ctx;
    struct api_call *c = api_call_new(req);
    const struct core_collection *col;
    struct core_reco r;
    int64_t limit;
    bool include_seen;
    if (start(c, SIMILAR_PARAMS, &col, &r, &limit, &include_seen))
        return RC_OK;
    struct str id = http_req_param(req, "id");
    char item[64];
    if (!id.len || id.len >= sizeof(item))
        return api_call_fail(c, RC_NOT_FOUND);
    memcpy(item, id.ptr, id.len);
    item[id.len] = '\0';
    /* the item itself must be one the caller may view: its neighbours
     * would tell of it otherwise */
    struct core_output_opts vo = {0};
    struct buf seen;
    buf_init(&seen, (size_t)1 << 30);
    if (col->rules[CORE_RULE_VIEW] && col->rules[CORE_RULE_VIEW][0])
        api_call_request_data(c, "default");
    enum rc vr = core_record_view(&c->core, col, id, &vo, &seen, &c->problem);
    buf_cleanup(&seen);
    if (vr)
        return api_call_fail(c, vr);
    size_t max = (size_t)limit * CANDIDATES_PER_RESULT, n = 0;
    struct core_reco_candidate *cands = xcalloc(max, sizeof(*cands));
    enum rc rc = core_reco_similar(c->aw->core.db, &r, item, cands, max, &n);
    if (!rc && r.vector_field) {
        char to[96];
        snprintf(to, sizeof(to), "@record:%s", item);
        json_t *skip = json_object();
        json_object_set_new(skip, item, json_true());
        struct core_reco_candidate *vec = xcalloc(max, sizeof(*vec));
        size_t nv = 0;
        rc = vector_ranking(c, col, &r, str_from_cstr(to), skip, vec, max, &nv);
        if (!rc)
            fuse(cands, &n, max, vec, nv, r.vector_weight);
        xfree(vec);
        json_decref(skip);
    }
    if (!rc)
        rc = answer(c, col, cands, n, limit);
    else
        api_call_fail(c, rc);
    xfree(cands);
    return RC_OK;
}
