/* recommender.c -- see reco.h: `_recommenders`, its checks, and the
 * listener that turns each interaction written into a `reco` job. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "core/jobs/job.h"
#include "core/jobs/outbox.h"
#include "core/jobs/runner.h"
#include "core/reco/reco.h"
#include "core/reco/reco_int.h"

const char core_reco_collection_json[] =
    "{\"id\":\"pbc_tarmac_recommenders\",\"name\":\"_recommenders\",\"type\":\"base\","
    "\"listRule\":null,\"viewRule\":null,\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":null,"
    "\"fields\":[{\"name\":\"name\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"interactions\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"user\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"item\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"kind\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"weights\",\"type\":\"json\",\"maxSize\":4096},"
    "{\"name\":\"halfLifeDays\",\"type\":\"number\",\"min\":0,\"max\":3650},"
    "{\"name\":\"active\",\"type\":\"bool\"},"
    "{\"name\":\"vectorField\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"vectorWeight\",\"type\":\"number\",\"min\":0,\"max\":1},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}],"
    "\"indexes\":[\"CREATE UNIQUE INDEX idx_recommenders_name ON _recommenders (name)\"]}";

enum rc core_reco_ddl(struct store_conn *db)
{
    return store_exec(db, "CREATE TABLE IF NOT EXISTS _reco_state (rec TEXT PRIMARY KEY NOT "
                          "NULL, base BIGINT NOT NULL" STORE_ROW_KEY ");"
                          "CREATE TABLE IF NOT EXISTS _reco_user_items (rec TEXT NOT NULL, "
                          "\"user\" TEXT NOT NULL, item TEXT NOT NULL, w DOUBLE PRECISION NOT "
                          "NULL, PRIMARY KEY (rec, \"user\", item)" STORE_ROW_KEY ");"
                          "CREATE INDEX IF NOT EXISTS _reco_user_items_w ON _reco_user_items "
                          "(rec, \"user\", w);"
                          "CREATE TABLE IF NOT EXISTS _reco_items (rec TEXT NOT NULL, item TEXT "
                          "NOT NULL, n DOUBLE PRECISION NOT NULL, pop DOUBLE PRECISION NOT NULL, "
                          "PRIMARY KEY (rec, item)" STORE_ROW_KEY ");"
                          "CREATE INDEX IF NOT EXISTS _reco_items_pop ON _reco_items (rec, pop);"
                          /* covering: a candidate's norm without a visit to its row */
                          "CREATE INDEX IF NOT EXISTS _reco_items_n ON _reco_items (rec, item, n);"
                          "CREATE TABLE IF NOT EXISTS _reco_pairs (rec TEXT NOT NULL, a TEXT NOT "
                          "NULL, b TEXT NOT NULL, co DOUBLE PRECISION NOT NULL, PRIMARY KEY "
                          "(rec, a, b)" STORE_ROW_KEY ");"
                          /* covering: a seed's strongest neighbours read from the index alone
                           * (it replaces _reco_pairs_co, which lacked b) */
                          "DROP INDEX IF EXISTS _reco_pairs_co;"
                          "CREATE INDEX IF NOT EXISTS _reco_pairs_cob ON _reco_pairs (rec, a, co, "
                          "b);");
}

/* ---- a recommender's definition ------------------------------------------- */

/* The collection field name of c points to with a single relation; NULL
 * when it is none. */
static const struct core_collection *
relation_target(const struct core_schema *schema, const struct core_collection *c, const char *name)
{
    const struct core_field *f = name ? core_collection_field(c, str_from_cstr(name)) : NULL;
    if (!f || f->type != CORE_FIELD_RELATION || f->max_select > 1 || !f->collection_id)
        return NULL;
    return core_schema_find(schema, str_from_cstr(f->collection_id));
}

enum rc reco_def_resolve(const struct core_schema *schema, json_t *values, struct reco_def *d,
                         struct core_problem *p)
{
    memset(d, 0, sizeof(*d));
    const char *name = json_string_value(json_object_get(values, "interactions"));
    d->interactions = name ? core_schema_find(schema, str_from_cstr(name)) : NULL;
    if (!d->interactions || d->interactions->type == CORE_COLLECTION_VIEW ||
        d->interactions->name[0] == '_') {
        d->interactions = NULL;
        core_problem_field(p, "interactions", "validation_invalid_value",
                           "No such collection (a base or auth collection of the app).", NULL);
        return RC_INVALID;
    }
    const struct core_collection *users = relation_target(
        schema, d->interactions, json_string_value(json_object_get(values, "user")));
    if (!users || users->type != CORE_COLLECTION_AUTH)
        core_problem_field(p, "user", "validation_invalid_value",
                           "Must be a single relation of the interactions to an auth collection.",
                           NULL);
    d->items = relation_target(schema, d->interactions,
                               json_string_value(json_object_get(values, "item")));
    if (!d->items || d->items->type == CORE_COLLECTION_VIEW)
        core_problem_field(p, "item", "validation_invalid_value",
                           "Must be a single relation of the interactions to the items.", NULL);
    const char *kind = json_string_value(json_object_get(values, "kind"));
    if (kind && kind[0] && !core_collection_field(d->interactions, str_from_cstr(kind)))
        core_problem_field(p, "kind", "validation_invalid_value", "No such field.", NULL);
    json_t *weights = json_object_get(values, "weights");
    bool is_ok = !weights || json_is_null(weights) || json_is_object(weights);
    const char *k;
    json_t *v;
    json_object_foreach(json_is_object(weights) ? weights : NULL, k, v)
    {
        is_ok = is_ok && json_is_number(v) && json_number_value(v) >= -1000 &&
                json_number_value(v) <= 1000;
    }
    if (!is_ok)
        core_problem_field(p, "weights", "validation_invalid_value",
                           "Must be an object of kind -> a weight from -1000 to 1000.", NULL);
    const char *vf = json_string_value(json_object_get(values, "vectorField"));
    if (vf && vf[0] && d->items) {
        const struct core_field *f = core_collection_field(d->items, str_from_cstr(vf));
        if (!f || f->type != CORE_FIELD_VECTOR)
            core_problem_field(p, "vectorField", "validation_invalid_value",
                               "Must be a vector field of the items.", NULL);
    }
    double days = json_number_value(json_object_get(values, "halfLifeDays"));
    d->half_life_ms = (int64_t)((days > 0 ? days : 30) * 86400000.0);
    if (d->half_life_ms < 3600000)
        core_problem_field(p, "halfLifeDays", "validation_invalid_value",
                           "Must be at least an hour (1/24).", NULL);
    return core_problem_has_fields(p) ? RC_INVALID : RC_OK;
}

/* No other active recommender may serve the same items. */
static enum rc check_unique(struct store_conn *db, const struct core_schema *schema, json_t *values,
                            const struct core_collection *items, struct core_problem *p)
{
    if (!json_is_true(json_object_get(values, "active")))
        return RC_OK;
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("SELECT interactions, item FROM \"_recommenders\" WHERE "
                                       "active = 1 AND id != ?1"),
                               &st);
    if (rc)
        return rc == RC_INVALID ? RC_OK : rc;
    const char *id = json_string_value(json_object_get(values, "id"));
    store_bind_text(st, 1, str_from_cstr(id ? id : ""));
    while ((rc = store_step(st)) == RC_OK) {
        struct str in = store_column_text(st, 0), item = store_column_text(st, 1);
        const struct core_collection *c = core_schema_find(schema, in);
        char *name = xstrndup(item.ptr, item.len);
        const struct core_collection *t = c ? relation_target(schema, c, name) : NULL;
        xfree(name);
        if (t == items) {
            core_problem_field(p, "item", "validation_not_unique",
                               "Another active recommender serves these items.", NULL);
            rc = RC_INVALID;
            break;
        }
    }
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

enum rc core_reco_find(struct store_conn *db, const struct core_schema *schema,
                       const struct core_collection *items, struct core_reco *out)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("SELECT id, interactions, item, \"vectorField\", "
                                       "\"vectorWeight\" FROM \"_recommenders\" WHERE active = 1 "
                                       "ORDER BY id"),
                               &st);
    if (rc)
        return rc == RC_INVALID ? RC_NOT_FOUND : rc;
    while ((rc = store_step(st)) == RC_OK) {
        struct str id = store_column_text(st, 0), in = store_column_text(st, 1);
        struct str item = store_column_text(st, 2);
        const struct core_collection *c = core_schema_find(schema, in);
        char *name = xstrndup(item.ptr, item.len);
        const struct core_collection *t = c ? relation_target(schema, c, name) : NULL;
        xfree(name);
        if (t == items && id.len < sizeof(out->id)) {
            memcpy(out->id, id.ptr, id.len);
            out->id[id.len] = '\0';
            out->interactions = c;
            out->items = t;
            /* blending: a vector field the items still have */
            struct str vf = store_column_text(st, 3);
            out->vector_field = NULL;
            for (size_t i = 0; vf.len && i < t->field_count; i++) {
                if (t->fields[i].type == CORE_FIELD_VECTOR &&
                    str_eq(vf, str_from_cstr(t->fields[i].name)))
                    out->vector_field = t->fields[i].name;
            }
            double w = store_column_double(st, 4);
            out->vector_weight = w > 0 && w <= 1 ? w : CORE_RECO_VECTOR_WEIGHT;
            break;
        }
    }
    store_done(st);
    return rc;
}

/* ---- the listener ------------------------------------------------------------ */

struct core_recos {
    struct core_job_outbox outbox; /* first: the listener's ctx is the outbox too */
};

struct core_recos *core_recos_new(core_job_schema_fn *schema_of, void *ctx)
{
    struct core_recos *r = xcalloc(1, sizeof(*r));
    core_job_outbox_init(&r->outbox, CORE_RECO_COLLECTION, schema_of, ctx);
    return r;
}

void core_recos_free(struct core_recos *r)
{
    xfree(r);
}

void core_recos_set_jobs(struct core_recos *r, struct core_jobs *jobs)
{
    r->outbox.jobs = jobs;
}

enum rc core_recos_load(struct core_recos *r, struct store_conn *db)
{
    return core_job_outbox_load(&r->outbox, db);
}

static bool is_recommenders(const struct core_collection *c)
{
    return strcmp(c->name, CORE_RECO_COLLECTION) == 0;
}

/* A weight of kind from weights (1 when not listed). */
static double weight_of(const char *weights_json, json_t *kind)
{
    if (!kind || !weights_json[0])
        return 1;
    json_t *w = json_loads(weights_json, 0, NULL);
    json_t *v = json_is_string(kind) ? json_object_get(w, json_string_value(kind)) : NULL;
    double out = json_is_number(v) ? json_number_value(v) : 1;
    json_decref(w);
    return out;
}

/* Enqueues the update of one interaction (sign +1 written, -1 taken back). */
static enum rc enqueue(struct core_recos *r, struct store_conn *db, const char *rec, json_t *values,
                       const char *user_field, const char *item_field, const char *kind_field,
                       const char *weights, int sign)
{
    const char *user = json_string_value(json_object_get(values, user_field));
    const char *item = json_string_value(json_object_get(values, item_field));
    if (!user || !user[0] || !item || !item[0])
        return RC_OK;
    double w = weight_of(weights, kind_field[0] ? json_object_get(values, kind_field) : NULL);
    if (w == 0)
        return RC_OK;
    /* a deletion takes back the weight its creation gave, at its time */
    int64_t at = chrono_real_ms();
    const char *created = json_string_value(json_object_get(values, "created"));
    int64_t created_ms;
    if (sign < 0 && created && chrono_parse_db_ms(created, &created_ms))
        at = created_ms;
    json_t *payload = json_pack("{s:s, s:s, s:s, s:f, s:I}", "rec", rec, "user", user, "item", item,
                                "w", sign * w, "at", (json_int_t)at);
    struct core_job_spec spec = {.kind = STR_LIT("reco"), .payload = payload};
    char id[CORE_JOB_ID_LEN + 1];
    bool is_folded;
    enum rc rc = core_job_enqueue(db, &spec, id, &is_folded);
    json_decref(payload);
    core_job_outbox_enqueued(&r->outbox);
    return rc;
}

static char *col_dup(struct store_stmt *st, int i)
{
    struct str v = store_column_text(st, i);
    return xstrndup(v.ptr, v.len);
}

struct rec_row {
    char *id, *user, *item, *kind, *weights;
};

static enum rc on_change(void *ctx, struct store_conn *db, const struct core_event *ev)
{
    struct core_recos *r = ctx;
    if (is_recommenders(ev->c))
        atomic_store(&r->outbox.may_have, true);
    if (ev->c->name[0] == '_')
        return RC_OK;
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("SELECT id, \"user\", item, kind, weights FROM "
                                       "\"_recommenders\" WHERE active = 1 AND "
                                       "(interactions = ?1 OR interactions = ?2)"),
                               &st);
    if (rc)
        return rc == RC_INVALID ? RC_OK : rc;
    store_bind_text(st, 1, str_from_cstr(ev->c->name));
    store_bind_text(st, 2, str_from_cstr(ev->c->id));
    struct rec_row rows[8];
    size_t n = 0;
    while (n < 8 && (rc = store_step(st)) == RC_OK) {
        rows[n] = (struct rec_row){col_dup(st, 0), col_dup(st, 1), col_dup(st, 2), col_dup(st, 3),
                                   col_dup(st, 4)};
        n++;
    }
    store_done(st);
    rc = rc == RC_NOT_FOUND || rc == RC_OK ? RC_OK : rc;
    for (size_t i = 0; i < n; i++) {
        struct rec_row *w = &rows[i];
        bool is_moved = ev->action == CORE_EVENT_UPDATE && ev->previous &&
                        (!json_equal(json_object_get(ev->values, w->user),
                                     json_object_get(ev->previous, w->user)) ||
                         !json_equal(json_object_get(ev->values, w->item),
                                     json_object_get(ev->previous, w->item)) ||
                         (w->kind[0] && !json_equal(json_object_get(ev->values, w->kind),
                                                    json_object_get(ev->previous, w->kind))));
        if (!rc && (ev->action == CORE_EVENT_DELETE || is_moved))
            rc = enqueue(r, db, w->id, is_moved ? ev->previous : ev->values, w->user, w->item,
                         w->kind, w->weights, -1);
        if (!rc && (ev->action == CORE_EVENT_CREATE || is_moved))
            rc = enqueue(r, db, w->id, ev->values, w->user, w->item, w->kind, w->weights, 1);
        xfree(w->id);
        xfree(w->user);
        xfree(w->item);
        xfree(w->kind);
        xfree(w->weights);
    }
    return rc;
}

static enum rc before(void *ctx, struct store_conn *db, enum core_event_action action,
                      const struct core_collection *c, json_t *values, json_t *current,
                      struct core_problem *p)
{
    struct core_recos *r = ctx;
    (void)current;
    if (action == CORE_EVENT_DELETE || !is_recommenders(c))
        return RC_OK;
    const struct core_schema *schema = core_job_outbox_schema(&r->outbox);
    struct reco_def d;
    enum rc rc = reco_def_resolve(schema, values, &d, p);
    if (!rc)
        rc = check_unique(db, schema, values, d.items, p);
    if (rc == RC_INVALID)
        core_problem_message(p, "Failed to save the recommender.");
    return rc;
}

struct core_event_listener core_recos_listener(struct core_recos *r)
{
    return (struct core_event_listener){.wants = core_job_outbox_wants,
                                        .wants_before = core_job_outbox_wants_config,
                                        .in_tx = on_change,
                                        .before = before,
                                        .committed = core_job_outbox_committed,
                                        .on_remote = core_job_outbox_on_remote,
                                        .ctx = r};
}
