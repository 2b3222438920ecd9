/* query.c -- see reco.h: candidates for a user or an item, best first. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "core/reco/reco_int.h"

/* Candidates being scored: id -> score (a JSON real) in scores. */
struct pool {
    json_t *scores;
    json_t *skip; /* ids never to propose: the user's own, the item itself */
};

static void add(struct pool *p, struct str id, double v)
{
    char key[64];
    if (id.len >= sizeof(key))
        return;
    memcpy(key, id.ptr, id.len);
    key[id.len] = '\0';
    if (json_object_get(p->skip, key))
        return;
    json_t *cur = json_object_get(p->scores, key);
    json_object_set_new(p->scores, key, json_real(json_real_value(cur) + v));
}

/* How much of the similarity's normalisation falls on the seed (a) and
 * how much on the candidate (b): co / (n(a)^ALPHA n(b)^(1 - ALPHA)), the
 * asymmetric cosine (0.5 is the cosine). 0.5 divides a popular candidate
 * down so far that the items people actually go on to use rank low: on
 * Debian's package index (bench/reco_eval.py, 1,500 packages, hit rate@10)
 * 0.5 scored 0.267, 0.7 0.321, 0.85 0.355, 0.95 0.369, against 0.224 for
 * the most popular; 0.85 keeps a popular candidate from dominating. */
#define ALPHA 0.85

/* Adds seed's neighbours, each weighted by weight * similarity; na is the
 * seed's norm. */
static enum rc neighbours(struct store_stmt *st, const char *rec, struct str seed, double na,
                          double weight, struct pool *p)
{
    if (!(na > 0))
        return RC_OK;
    store_reset(st);
    store_bind_text(st, 1, str_from_cstr(rec));
    store_bind_text(st, 2, seed);
    double seed_part = weight / pow(na, ALPHA);
    enum rc rc;
    while ((rc = store_step(st)) == RC_OK) {
        double co = store_column_double(st, 1), nb = store_column_double(st, 2);
        if (co > 0 && nb > 0)
            add(p, store_column_text(st, 0), seed_part * co / pow(nb, 1 - ALPHA));
    }
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* A seed's 50 strongest neighbours with their norms: both joins are read
 * from covering indexes (_reco_pairs_cob, _reco_items_n). */
static enum rc prepare_neighbours(struct store_conn *db, struct store_stmt **st)
{
    return store_prepare(db,
                         STR_LIT("SELECT p.b, p.co, ib.n FROM _reco_pairs p JOIN _reco_items ib ON "
                                 "ib.rec = p.rec AND ib.item = p.b WHERE p.rec = ?1 AND p.a = ?2 "
                                 "AND p.co > 0 ORDER BY p.co DESC LIMIT 50"),
                         st);
}

/* An item's norm; 0 when it has none. */
static enum rc norm_of(struct store_conn *db, const char *rec, const char *item, double *n)
{
    struct store_stmt *st;
    *n = 0;
    enum rc rc =
        store_prepare(db, STR_LIT("SELECT n FROM _reco_items WHERE rec = ?1 AND item = ?2"), &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, str_from_cstr(rec));
    store_bind_text(st, 2, str_from_cstr(item));
    rc = store_step(st);
    if (rc == RC_OK)
        *n = store_column_double(st, 0);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

static int by_score(const void *a, const void *b)
{
    const struct core_reco_candidate *x = a, *y = b;
    if (x->is_popular != y->is_popular)
        return x->is_popular ? 1 : -1;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* The pool's best, then the most popular not there yet, into out. */
static enum rc finish(struct store_conn *db, const char *rec, struct pool *p,
                      struct core_reco_candidate *out, size_t max, size_t *n)
{
    *n = 0;
    size_t count = json_object_size(p->scores);
    struct core_reco_candidate *all = xcalloc(count ? count : 1, sizeof(*all));
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(p->scores, key, v)
    {
        snprintf(all[k].id, sizeof(all[k].id), "%s", key);
        all[k++].score = json_real_value(v);
    }
    qsort(all, k, sizeof(*all), by_score);
    for (size_t i = 0; i < k && *n < max; i++)
        out[(*n)++] = all[i];
    xfree(all);
    if (*n >= max)
        return RC_OK;
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("SELECT item, pop FROM _reco_items WHERE rec = ?1 AND pop "
                                       "> 0 ORDER BY pop DESC, item LIMIT ?2"),
                               &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, str_from_cstr(rec));
    store_bind_int64(st, 2, (int64_t)(max + json_object_size(p->skip) + k));
    while (*n < max && (rc = store_step(st)) == RC_OK) {
        struct str id = store_column_text(st, 0);
        char key2[64];
        if (id.len >= sizeof(key2))
            continue;
        memcpy(key2, id.ptr, id.len);
        key2[id.len] = '\0';
        if (json_object_get(p->skip, key2) || json_object_get(p->scores, key2))
            continue;
        struct core_reco_candidate *c = &out[(*n)++];
        snprintf(c->id, sizeof(c->id), "%s", key2);
        c->score = store_column_double(st, 1);
        c->is_popular = true;
    }
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

enum rc core_reco_for_user(struct store_conn *db, const struct core_reco *r, const char *user,
                           bool include_seen, struct core_reco_candidate *out, size_t max,
                           size_t *n, struct core_reco_mine *mine)
{
    struct pool p = {.scores = json_object(), .skip = json_object()};
    enum rc rc = RC_OK;
    if (user && user[0]) {
        /* the user's items, heaviest first: the first ones seed, all are skipped */
        struct store_stmt *items = NULL, *st = NULL;
        /* with each item's norm: the seeds' come with them */
        rc = store_prepare(db,
                           STR_LIT("SELECT u.item, u.w, i.n FROM _reco_user_items u LEFT JOIN "
                                   "_reco_items i ON i.rec = u.rec AND i.item = u.item WHERE "
                                   "u.rec = ?1 AND u.\"user\" = ?2 ORDER BY u.w DESC, u.item "
                                   "LIMIT ?3"),
                           &items);
        json_t *seeds = json_object(); /* item -> [weight, norm] */
        double top = 0;
        if (!rc) {
            store_bind_text(items, 1, str_from_cstr(r->id));
            store_bind_text(items, 2, str_from_cstr(user));
            store_bind_int64(items, 3, CORE_RECO_USER_ITEMS);
            while ((rc = store_step(items)) == RC_OK) {
                struct str item = store_column_text(items, 0);
                double w = store_column_double(items, 1);
                char key[64];
                if (item.len >= sizeof(key))
                    continue;
                memcpy(key, item.ptr, item.len);
                key[item.len] = '\0';
                if (mine && w > 0 && mine->n < CORE_RECO_USER_ITEMS) {
                    struct core_reco_candidate *m = &mine->items[mine->n++];
                    memset(m, 0, sizeof(*m));
                    memcpy(m->id, key, item.len + 1);
                    m->score = w;
                }
                if (!include_seen)
                    json_object_set_new(p.skip, key, json_true());
                if (json_object_size(seeds) < CORE_RECO_SEEDS && w > 0) {
                    top = top > w ? top : w;
                    json_object_set_new(seeds, key,
                                        json_pack("[f,f]", w, store_column_double(items, 2)));
                }
            }
            store_done(items);
            rc = rc == RC_NOT_FOUND ? RC_OK : rc;
        }
        if (!rc && json_object_size(seeds))
            rc = prepare_neighbours(db, &st);
        const char *key;
        json_t *w;
        json_object_foreach(seeds, key, w)
        {
            if (!rc)
                rc =
                    neighbours(st, r->id, str_from_cstr(key), json_real_value(json_array_get(w, 1)),
                               json_real_value(json_array_get(w, 0)) / top, &p);
        }
        if (st)
            store_done(st);
        json_decref(seeds);
    }
    if (!rc)
        rc = finish(db, r->id, &p, out, max, n);
    json_decref(p.scores);
    json_decref(p.skip);
    return rc;
}

enum rc core_reco_similar(struct store_conn *db, const struct core_reco *r, const char *item,
                          struct core_reco_candidate *out, size_t max, size_t *n)
{
    struct pool p = {.scores = json_object(), .skip = json_object()};
    json_object_set_new(p.skip, item, json_true());
    struct store_stmt *st = NULL;
    double na;
    enum rc rc = norm_of(db, r->id, item, &na);
    if (!rc)
        rc = prepare_neighbours(db, &st);
    if (!rc)
        rc = neighbours(st, r->id, str_from_cstr(item), na, 1, &p);
    if (st)
        store_done(st);
    if (!rc)
        rc = finish(db, r->id, &p, out, max, n);
    json_decref(p.scores);
    json_decref(p.skip);
    return rc;
}
