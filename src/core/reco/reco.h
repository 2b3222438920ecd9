/* reco.h -- recommendations from the app's own interactions (layer: core,
 * core/reco/, after notify/ in core's folder order).
 *
 * A record of the system collection `_recommenders` (superusers) declares a
 * collection as interactions: `interactions` (its name), `user` (its
 * relation to an auth collection), `item` (its single relation to the
 * items), `kind` (optional: a field whose value names the interaction),
 * `weights` ({kind: weight}, e.g. {"view": 1, "like": 3, "purchase": 10};
 * a kind not listed weighs 1, none without `kind`), `halfLifeDays` (how
 * fast an interaction fades, default 30) and `active`. One active
 * recommender per items collection.
 *
 * Each interaction written (created, or deleted: taken back) enqueues, in
 * its transaction, a `reco` job that updates, on the writer:
 *   - the user's weight of the item, w(u,i) (forward decay: a weight
 *     counts 2^((t - base) / halfLife), so older ones fade without
 *     rewriting them; all values are scaled down together when the
 *     exponent grows large);
 *   - the item's popularity pop(i) = sum over users of w(u,i), and its
 *     norm n(i) = sum over users of w(u,i)^2;
 *   - co-occurrence co(i,j) = sum over users of w(u,i) w(u,j) with each
 *     other item j of the user (their heaviest CORE_RECO_HISTORY).
 * Similarity is the asymmetric cosine co(i,j) / (n(i)^0.85 n(j)^0.15)
 * (query.c): an item everyone touches does not come out similar to
 * everything, yet the items people go on to use are not divided away.
 *
 * With `vectorField` (a vector field of the items), each answer blends in
 * the items nearest by that vector (cosine, through the items' list: api/
 * reco.c): to the item for similar items; to the mean of the user's
 * heaviest items' vectors (each scaled to length 1) for a user. The two
 * rankings are fused by reciprocal rank, the vector one's share
 * `vectorWeight` (0 or unset: CORE_RECO_VECTOR_WEIGHT), so an item nobody
 * has touched yet is found by what it is like.
 *
 * Recommendations for a user: each candidate j scores the sum over the
 * user's heaviest items i of (w(u,i) / max w) * sim(i,j); items the user
 * has are left out unless asked; too few (a new user, a new item) are
 * filled from the most popular. Similar items for an item: its neighbours
 * by sim, then the most popular. Rules and filters are the caller's (api/
 * reco.c runs the items' list with them). */
#ifndef TARMAC_CORE_RECO_RECO_H
#define TARMAC_CORE_RECO_RECO_H

#include <jansson.h>
#include <stdbool.h>

#include "base/rc.h"
#include "core/event/event.h"
#include "core/jobs/registry.h"
#include "core/problem.h"
#include "core/schema/collection.h"
#include "store/store.h"

#define CORE_RECO_COLLECTION "_recommenders"
#define CORE_RECO_HISTORY 200   /* a user's items an update pairs with */
#define CORE_RECO_SEEDS 20      /* a user's items recommendations start from */
#define CORE_RECO_NEIGHBOURS 50 /* neighbours read per item */
#define CORE_RECO_VECTOR_WEIGHT 0.5

extern const char core_reco_collection_json[];
extern const struct core_job_kind core_reco_kind;

/* The tables (both engines); start-up. */
enum rc core_reco_ddl(struct store_conn *db);

/* The recommender whose interactions' item relation points to items. */
struct core_reco {
    char id[32];
    const struct core_collection *interactions;
    const struct core_collection *items;
    const char *vector_field; /* the items' vector field blended in; NULL: none */
    double vector_weight;     /* its share of the fusion, (0, 1] */
};
/* RC_NOT_FOUND when no active recommender serves items. */
enum rc core_reco_find(struct store_conn *db, const struct core_schema *schema,
                       const struct core_collection *items, struct core_reco *out);

struct core_reco_candidate {
    char id[64];
    double score;
    bool is_popular; /* from the popularity fill, not similarity */
    bool is_vector;  /* from the vector ranking alone */
};

/* A user's items (their heaviest CORE_RECO_USER_ITEMS), heaviest first,
 * score the user's weight: what core_reco_for_user read, for a caller
 * that blends in another ranking. */
#define CORE_RECO_USER_ITEMS 1000
struct core_reco_mine {
    struct core_reco_candidate items[CORE_RECO_USER_ITEMS];
    size_t n;
};

/* Up to max candidates for user (NULL or "": a guest, popularity only), best
 * first, into out (*n of them); the user's own items are left out unless
 * include_seen. mine (NULL: not wanted) gets the user's items. */
enum rc core_reco_for_user(struct store_conn *db, const struct core_reco *r, const char *user,
                           bool include_seen, struct core_reco_candidate *out, size_t max,
                           size_t *n, struct core_reco_mine *mine);
/* Up to max items similar to item, best first (item itself left out). */
enum rc core_reco_similar(struct store_conn *db, const struct core_reco *r, const char *item,
                          struct core_reco_candidate *out, size_t max, size_t *n);

/* The listener: checks `_recommenders` records before they are written and
 * enqueues a `reco` job per interaction written (in its transaction). */
struct core_recos;
struct core_recos *core_recos_new(core_job_schema_fn *schema_of, void *ctx);
void core_recos_free(struct core_recos *r);
struct core_jobs;
void core_recos_set_jobs(struct core_recos *r, struct core_jobs *jobs);
/* Sets whether any recommender may exist, from the table (start-up). */
enum rc core_recos_load(struct core_recos *r, struct store_conn *db);
struct core_event_listener core_recos_listener(struct core_recos *r);

#endif
