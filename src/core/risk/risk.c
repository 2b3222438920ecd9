/* risk.c -- see risk.h: the models, rules and scores collections, their
 * checks, and the before listener that scores each create. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "base/secure.h"
#include "core/jobs/job.h"
#include "core/jobs/outbox.h"
#include "core/jobs/runner.h"
#include "core/jobs/webhook.h"
#include "core/notify/push.h"
#include "core/risk/risk_int.h"
#include "store/writer.h"

const char core_risk_models_json[] =
    "{\"id\":\"pbc_tarmac_risk_models\",\"name\":\"_riskModels\",\"type\":\"base\","
    "\"listRule\":null,\"viewRule\":null,\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":null,"
    "\"fields\":[{\"name\":\"name\",\"type\":\"text\",\"required\":true,\"max\":100,"
    "\"pattern\":\"^[a-z0-9][a-z0-9_.-]*$\"},"
    "{\"name\":\"collection\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"user\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"amount\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"time\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"location\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"device\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"ip\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"flagField\",\"type\":\"text\",\"max\":255},"
    "{\"name\":\"reviewers\",\"type\":\"text\",\"max\":4096},"
    "{\"name\":\"active\",\"type\":\"bool\"},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}],"
    "\"indexes\":[\"CREATE UNIQUE INDEX idx_risk_models_name ON _riskModels (name)\"]}";

const char core_risk_rules_json[] =
    "{\"id\":\"pbc_tarmac_risk_rules\",\"name\":\"_riskRules\",\"type\":\"base\","
    "\"listRule\":null,\"viewRule\":null,\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":null,"
    "\"fields\":[{\"name\":\"model\",\"type\":\"text\",\"required\":true,\"max\":100},"
    "{\"name\":\"name\",\"type\":\"text\",\"required\":true,\"max\":255},"
    "{\"name\":\"expression\",\"type\":\"text\",\"required\":true,\"max\":4096},"
    "{\"name\":\"score\",\"type\":\"number\",\"min\":-1000,\"max\":1000},"
    "{\"name\":\"action\",\"type\":\"select\",\"required\":true,\"maxSelect\":1,"
    "\"values\":[\"allow\",\"flag\",\"block\"]},"
    "{\"name\":\"active\",\"type\":\"bool\"},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}]}";

const char core_risk_scores_json[] =
    "{\"id\":\"pbc_tarmac_risk_scores\",\"name\":\"_riskScores\",\"type\":\"base\","
    "\"listRule\":null,\"viewRule\":null,\"createRule\":null,\"updateRule\":null,"
    "\"deleteRule\":null,"
    "\"fields\":[{\"name\":\"model\",\"type\":\"text\"},"
    "{\"name\":\"collection\",\"type\":\"text\"},"
    "{\"name\":\"record\",\"type\":\"text\"},"
    "{\"name\":\"user\",\"type\":\"text\"},"
    "{\"name\":\"score\",\"type\":\"number\"},"
    "{\"name\":\"action\",\"type\":\"text\"},"
    "{\"name\":\"reasons\",\"type\":\"json\",\"maxSize\":65536},"
    "{\"name\":\"features\",\"type\":\"json\",\"maxSize\":65536},"
    "{\"name\":\"created\",\"type\":\"autodate\",\"onCreate\":true},"
    "{\"name\":\"updated\",\"type\":\"autodate\",\"onCreate\":true,\"onUpdate\":true}],"
    "\"indexes\":[\"CREATE INDEX idx_risk_scores_record ON _riskScores (collection, record)\"]}";

enum rc core_risk_ddl(struct store_conn *db)
{
    return store_exec(db, "CREATE TABLE IF NOT EXISTS _risk_events (model TEXT NOT NULL, "
                          "\"user\" TEXT NOT NULL, record TEXT NOT NULL, at BIGINT NOT NULL, "
                          "amount DOUBLE PRECISION, lat DOUBLE PRECISION NOT NULL DEFAULT 0, "
                          "lon DOUBLE PRECISION NOT NULL DEFAULT 0, located INTEGER NOT NULL "
                          "DEFAULT 0, device TEXT NOT NULL DEFAULT '', ip TEXT NOT NULL DEFAULT "
                          "''" STORE_ROW_KEY ");"
                          "CREATE INDEX IF NOT EXISTS _risk_events_at ON _risk_events (model, "
                          "\"user\", at);"
                          "CREATE INDEX IF NOT EXISTS _risk_events_device ON _risk_events "
                          "(model, \"user\", device);"
                          "CREATE INDEX IF NOT EXISTS _risk_events_ip ON _risk_events (model, "
                          "\"user\", ip);"
                          "CREATE TABLE IF NOT EXISTS _risk_declined (model TEXT NOT NULL, "
                          "\"user\" TEXT NOT NULL, at BIGINT NOT NULL" STORE_ROW_KEY ");"
                          "CREATE INDEX IF NOT EXISTS _risk_declined_at ON _risk_declined (model, "
                          "\"user\", at);");
}

struct core_risk {
    struct core_job_outbox outbox; /* first: the listener's ctx is the outbox too */
    struct store_writer *writer;   /* the blocked attempts' own writes */
};

struct core_risk *core_risk_new(core_job_schema_fn *schema_of, void *ctx)
{
    struct core_risk *r = xcalloc(1, sizeof(*r));
    core_job_outbox_init(&r->outbox, CORE_RISK_MODELS, schema_of, ctx);
    return r;
}

void core_risk_free(struct core_risk *r)
{
    xfree(r);
}

void core_risk_set_jobs(struct core_risk *r, struct core_jobs *jobs)
{
    r->outbox.jobs = jobs;
}

void core_risk_set_writer(struct core_risk *r, struct store_writer *writer)
{
    r->writer = writer;
}

enum rc core_risk_load(struct core_risk *r, struct store_conn *db)
{
    return core_job_outbox_load(&r->outbox, db);
}

/* ---- checks ------------------------------------------------------------------ */

/* The model's optional fields and the types each may have. */
static const struct {
    const char *key;
    enum core_field_type types[2];
    const char *why;
} optional_fields[] = {
    {"amount", {CORE_FIELD_NUMBER, CORE_FIELD_NUMBER}, "Must be a number field."},
    {"time", {CORE_FIELD_DATE, CORE_FIELD_AUTODATE}, "Must be a date field."},
    {"location", {CORE_FIELD_GEOPOINT, CORE_FIELD_GEOPOINT}, "Must be a geoPoint field."},
    {"device", {CORE_FIELD_TEXT, CORE_FIELD_TEXT}, "Must be a text field."},
    {"ip", {CORE_FIELD_TEXT, CORE_FIELD_TEXT}, "Must be a text field."},
    {"flagField", {CORE_FIELD_BOOL, CORE_FIELD_BOOL}, "Must be a bool field."},
};

static const struct core_collection *scored_collection(const struct core_schema *schema,
                                                       json_t *values)
{
    const char *name = json_string_value(json_object_get(values, "collection"));
    const struct core_collection *c = name ? core_schema_find(schema, str_from_cstr(name)) : NULL;
    return c && c->type != CORE_COLLECTION_VIEW && c->name[0] != '_' ? c : NULL;
}

static enum rc check_model(const struct core_schema *schema, json_t *values, struct core_problem *p)
{
    const struct core_collection *c = scored_collection(schema, values);
    if (!c) {
        core_problem_field(p, "collection", "validation_invalid_value",
                           "No such collection (a base or auth collection of the app).", NULL);
        return RC_INVALID;
    }
    const char *user = json_string_value(json_object_get(values, "user"));
    const struct core_field *uf = user ? core_collection_field(c, str_from_cstr(user)) : NULL;
    const struct core_collection *users =
        uf && uf->type == CORE_FIELD_RELATION && uf->max_select <= 1 && uf->collection_id
            ? core_schema_find(schema, str_from_cstr(uf->collection_id))
            : NULL;
    if (!users || users->type != CORE_COLLECTION_AUTH)
        core_problem_field(p, "user", "validation_invalid_value",
                           "Must be a single relation to an auth collection.", NULL);
    for (size_t i = 0; i < sizeof(optional_fields) / sizeof(optional_fields[0]); i++) {
        const char *name = json_string_value(json_object_get(values, optional_fields[i].key));
        if (!name || !name[0])
            continue;
        const struct core_field *f = core_collection_field(c, str_from_cstr(name));
        if (!f ||
            (f->type != optional_fields[i].types[0] && f->type != optional_fields[i].types[1]))
            core_problem_field(p, optional_fields[i].key, "validation_invalid_value",
                               optional_fields[i].why, NULL);
    }
    const char *reviewers = json_string_value(json_object_get(values, "reviewers"));
    char err[256];
    if (reviewers && reviewers[0] && core_notify_filter_check(schema, reviewers, err, sizeof(err)))
        core_problem_field(p, "reviewers", "validation_invalid_filter", err, NULL);
    return core_problem_has_fields(p) ? RC_INVALID : RC_OK;
}

/* The collection of the model named name; NULL when there is none. */
static const struct core_collection *
model_collection(struct store_conn *db, const struct core_schema *schema, const char *name)
{
    struct store_stmt *st;
    if (!name ||
        store_prepare(db, STR_LIT("SELECT collection FROM \"_riskModels\" WHERE name = ?1"), &st))
        return NULL;
    store_bind_text(st, 1, str_from_cstr(name));
    const struct core_collection *c = NULL;
    if (store_step(st) == RC_OK)
        c = core_schema_find(schema, store_column_text(st, 0));
    store_done(st);
    return c;
}

static enum rc check_rule(struct store_conn *db, const struct core_schema *schema, json_t *values,
                          struct core_problem *p)
{
    const struct core_collection *c =
        model_collection(db, schema, json_string_value(json_object_get(values, "model")));
    if (!c) {
        core_problem_field(p, "model", "validation_invalid_value", "No model of that name.", NULL);
        return RC_INVALID;
    }
    const char *expr = json_string_value(json_object_get(values, "expression"));
    struct core_filter_request req = {.context = "default", .method = "POST"};
    req.risk = risk_features_blank();
    enum rc rc = core_webhook_filter_check_as(schema, c, &req, str_from_cstr(expr ? expr : ""),
                                              "expression", p);
    json_decref(req.risk);
    if (rc)
        return rc;
    return core_problem_has_fields(p) ? RC_INVALID : RC_OK;
}

/* ---- scoring ----------------------------------------------------------------- */

struct model {
    char *id, *name, *user, *amount, *time, *location, *device, *ip, *flag, *reviewers;
};

static void model_free(struct model *m)
{
    char **all[] = {&m->id,       &m->name,   &m->user, &m->amount, &m->time,
                    &m->location, &m->device, &m->ip,   &m->flag,   &m->reviewers};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        xfree(*all[i]);
}

static char *col_dup(struct store_stmt *st, int i)
{
    struct str v = store_column_text(st, i);
    return xstrndup(v.ptr, v.len);
}

static const char *text_of(json_t *values, const char *field)
{
    const char *v = field[0] ? json_string_value(json_object_get(values, field)) : NULL;
    return v ? v : "";
}

/* The write's input for model m from values (the record about to be written). */
static void input_of(const struct model *m, json_t *values, struct risk_input *in)
{
    memset(in, 0, sizeof(*in));
    in->model = m->name;
    in->user = text_of(values, m->user);
    in->record = text_of(values, "id");
    in->t = chrono_real_ms();
    int64_t t;
    const char *when = text_of(values, m->time);
    if (when[0] && chrono_parse_db_ms(when, &t))
        in->t = t;
    json_t *amount = m->amount[0] ? json_object_get(values, m->amount) : NULL;
    in->has_amount = json_is_number(amount);
    in->amount = json_number_value(amount);
    json_t *loc = m->location[0] ? json_object_get(values, m->location) : NULL;
    in->has_location = json_is_object(loc) && json_is_number(json_object_get(loc, "lat")) &&
                       json_is_number(json_object_get(loc, "lon")) &&
                       !(json_number_value(json_object_get(loc, "lat")) == 0 &&
                         json_number_value(json_object_get(loc, "lon")) == 0);
    in->lat = json_number_value(json_object_get(loc, "lat"));
    in->lon = json_number_value(json_object_get(loc, "lon"));
    in->device = text_of(values, m->device);
    in->ip = text_of(values, m->ip);
}

enum action { ALLOW_DEFAULT, FLAG, BLOCK, ALLOW_LISTED };

/* Runs the model's active rules over values: *score, *action, and reasons
 * [{rule, score, action}] of those that matched. */
static enum rc run_rules(struct store_conn *db, const struct core_schema *schema,
                         const struct core_collection *c, const struct model *m, json_t *values,
                         json_t *features, double *score, enum action *action, json_t *reasons)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("SELECT name, expression, score, action FROM "
                                       "\"_riskRules\" WHERE active = 1 AND model = ?1 ORDER BY "
                                       "id"),
                               &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, str_from_cstr(m->name));
    json_t *rules = json_array();
    while ((rc = store_step(st)) == RC_OK && json_array_size(rules) < 200) {
        struct str name = store_column_text(st, 0), expr = store_column_text(st, 1),
                   act = store_column_text(st, 3);
        json_array_append_new(rules,
                              json_pack("{s:s%, s:s%, s:f, s:s%}", "name", name.ptr, name.len,
                                        "expr", expr.ptr, expr.len, "score",
                                        store_column_double(st, 2), "action", act.ptr, act.len));
    }
    store_done(st);
    rc = rc == RC_NOT_FOUND || rc == RC_OK ? RC_OK : rc;
    struct core_filter_request req = {.context = "default", .method = "POST", .risk = features};
    bool has_block = false, has_flag = false, has_allow = false;
    size_t n = json_array_size(rules), i;
    struct str *exprs = xcalloc(n ? n : 1, sizeof(*exprs));
    bool *matched = xcalloc(n ? n : 1, sizeof(*matched));
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        exprs[i] = str_from_cstr(json_string_value(json_object_get(r, "expr")));
    }
    /* every rule in one statement over the record */
    if (!rc)
        rc = core_webhook_values_match(db, schema, c, values, &req, exprs, n, matched);
    json_array_foreach(rules, i, r)
    {
        if (rc || !matched[i])
            continue;
        const char *act = json_string_value(json_object_get(r, "action"));
        double s = json_real_value(json_object_get(r, "score"));
        *score += s;
        has_block = has_block || strcmp(act, "block") == 0;
        has_flag = has_flag || strcmp(act, "flag") == 0;
        has_allow = has_allow || strcmp(act, "allow") == 0;
        json_array_append_new(reasons,
                              json_pack("{s:O, s:f, s:s}", "rule", json_object_get(r, "name"),
                                        "score", s, "action", act));
    }
    xfree(exprs);
    xfree(matched);
    json_decref(rules);
    *action = has_allow ? ALLOW_LISTED : has_block ? BLOCK : has_flag ? FLAG : ALLOW_DEFAULT;
    return rc;
}

static enum rc store_score(struct store_conn *db, const struct model *m,
                           const struct core_collection *c, const struct risk_input *in,
                           double score, const char *action, json_t *reasons, json_t *features)
{
    char id[16], now[32];
    secure_random_id(id, 15);
    id[15] = '\0';
    chrono_format_db_ms(chrono_real_ms(), now);
    char *r = json_dumps(reasons, JSON_COMPACT), *f = json_dumps(features, JSON_COMPACT);
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("INSERT INTO \"_riskScores\" (id, model, collection, "
                                       "record, \"user\", score, action, reasons, features, "
                                       "created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                                       "?9, ?10, ?10)"),
                               &st);
    if (!rc) {
        store_bind_text(st, 1, str_from_cstr(id));
        store_bind_text(st, 2, str_from_cstr(m->name));
        store_bind_text(st, 3, str_from_cstr(c->name));
        store_bind_text(st, 4, str_from_cstr(in->record));
        store_bind_text(st, 5, str_from_cstr(in->user));
        store_bind_double(st, 6, score);
        store_bind_text(st, 7, str_from_cstr(action));
        store_bind_text(st, 8, str_from_cstr(r ? r : "[]"));
        store_bind_text(st, 9, str_from_cstr(f ? f : "{}"));
        store_bind_text(st, 10, str_from_cstr(now));
        rc = store_step(st);
        store_done(st);
        rc = rc == RC_NOT_FOUND ? RC_OK : rc;
    }
    xfree(r);
    xfree(f);
    return rc;
}

/* A flag: the reviewers are told (inbox and push) through a notify job. */
static enum rc tell_reviewers(struct core_risk *k, struct store_conn *db, const struct model *m,
                              const struct core_collection *c, const struct risk_input *in,
                              double score, json_t *reasons)
{
    if (!m->reviewers[0])
        return RC_OK;
    char title[300], body[600] = "";
    snprintf(title, sizeof(title), "Review needed: %s %s", c->name, in->record);
    size_t at = (size_t)snprintf(body, sizeof(body), "Risk score %g:", score);
    size_t i;
    json_t *r;
    json_array_foreach(reasons, i, r)
    {
        if (at < sizeof(body))
            at += (size_t)snprintf(body + at, sizeof(body) - at, "%s %s", i ? "," : "",
                                   json_string_value(json_object_get(r, "rule")));
    }
    json_t *payload =
        json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:[s, s], s:s}", "filter", m->reviewers, "title",
                  title, "body", body, "data", "collection", c->name, "record", in->record,
                  "channels", "inbox", "push", "category", "risk");
    if (!payload || core_notify_check(payload)) {
        json_decref(payload);
        return RC_OK; /* a body cut mid-character: nobody told, the flag stays */
    }
    struct core_job_spec spec = {.kind = STR_LIT("notify"), .payload = payload};
    char id[CORE_JOB_ID_LEN + 1];
    bool is_folded;
    enum rc rc = core_job_enqueue(db, &spec, id, &is_folded);
    json_decref(payload);
    core_job_outbox_enqueued(&k->outbox);
    return rc;
}

/* A blocked attempt, written after the transaction that refused it. */
struct declined {
    char *model, *user;
    int64_t t;
};

static enum rc declined_apply(struct store_conn *db, void *ctx)
{
    struct declined *d = ctx;
    return risk_add_declined(db, d->model, d->user, d->t);
}

static void declined_done(enum rc rc, void *ctx)
{
    struct declined *d = ctx;
    if (rc)
        log_warn("msg=\"blocked attempt not recorded\" model=%s user=%s err=\"%s\"", d->model,
                 d->user, rc_name(rc));
    xfree(d->model);
    xfree(d->user);
    xfree(d);
}

/* Queues the attempt's own write behind the transaction that is refusing
 * it (writer thread: the writer's queue is FIFO, so a later write of the
 * same user, queued after this, sees it). */
static void record_declined(struct core_risk *k, const struct risk_input *in)
{
    if (!k->writer)
        return;
    struct declined *d = xcalloc(1, sizeof(*d));
    d->model = xstrdup(in->model);
    d->user = xstrdup(in->user);
    d->t = in->t;
    store_writer_submit(k->writer, NULL, declined_apply, declined_done, d);
}

static enum rc score_one(struct core_risk *k, struct store_conn *db,
                         const struct core_schema *schema, const struct core_collection *c,
                         const struct model *m, json_t *values, struct core_problem *p)
{
    struct risk_input in;
    input_of(m, values, &in);
    if (!in.user[0])
        return RC_OK; /* nobody's write: nothing to compare it with */
    json_t *features = NULL, *reasons = json_array();
    enum rc rc = risk_features(db, &in, &features);
    double score = 0;
    enum action action = ALLOW_DEFAULT;
    if (!rc)
        rc = run_rules(db, schema, c, m, values, features, &score, &action, reasons);
    if (!rc && action == BLOCK) {
        log_info("msg=\"write blocked by risk rules\" model=%s collection=%s user=%s score=%g",
                 m->name, c->name, in.user, score);
        core_problem_message(p, "The request was declined.");
        record_declined(k, &in);
        rc = RC_INVALID;
    }
    if (!rc)
        rc = risk_add_event(db, &in);
    if (!rc)
        rc =
            store_score(db, m, c, &in, score, action == FLAG ? "flag" : "allow", reasons, features);
    if (!rc && action == FLAG) {
        if (m->flag[0])
            json_object_set_new(values, m->flag, json_true());
        rc = tell_reviewers(k, db, m, c, &in, score, reasons);
    }
    json_decref(features);
    json_decref(reasons);
    return rc;
}

static enum rc score_write(struct core_risk *k, struct store_conn *db,
                           const struct core_collection *c, json_t *values, struct core_problem *p)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db,
                               STR_LIT("SELECT id, name, \"user\", amount, time, location, "
                                       "device, ip, \"flagField\", reviewers FROM "
                                       "\"_riskModels\" WHERE active = 1 AND (collection = ?1 OR "
                                       "collection = ?2) ORDER BY id"),
                               &st);
    if (rc)
        return rc == RC_INVALID ? RC_OK : rc;
    store_bind_text(st, 1, str_from_cstr(c->name));
    store_bind_text(st, 2, str_from_cstr(c->id));
    struct model models[4];
    size_t n = 0;
    while (n < 4 && (rc = store_step(st)) == RC_OK) {
        struct model *m = &models[n++];
        m->id = col_dup(st, 0);
        m->name = col_dup(st, 1);
        m->user = col_dup(st, 2);
        m->amount = col_dup(st, 3);
        m->time = col_dup(st, 4);
        m->location = col_dup(st, 5);
        m->device = col_dup(st, 6);
        m->ip = col_dup(st, 7);
        m->flag = col_dup(st, 8);
        m->reviewers = col_dup(st, 9);
    }
    store_done(st);
    rc = rc == RC_NOT_FOUND || rc == RC_OK ? RC_OK : rc;
    const struct core_schema *schema = core_job_outbox_schema(&k->outbox);
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            rc = score_one(k, db, schema, c, &models[i], values, p);
        model_free(&models[i]);
    }
    return rc;
}

/* ---- the listener ------------------------------------------------------------- */

static bool is_named(const struct core_collection *c, const char *name)
{
    return strcmp(c->name, name) == 0;
}

static bool wants(void *ctx, const struct core_collection *c)
{
    (void)ctx;
    (void)c;
    return false; /* no events: before only */
}

static bool wants_before(void *ctx, const struct core_collection *c)
{
    struct core_risk *k = ctx;
    return is_named(c, CORE_RISK_MODELS) || is_named(c, CORE_RISK_RULES) ||
           (c->name[0] != '_' && atomic_load_explicit(&k->outbox.may_have, memory_order_relaxed));
}

static enum rc before(void *ctx, struct store_conn *db, enum core_event_action action,
                      const struct core_collection *c, json_t *values, json_t *current,
                      struct core_problem *p)
{
    struct core_risk *k = ctx;
    (void)current;
    if (action == CORE_EVENT_DELETE)
        return RC_OK;
    const struct core_schema *schema = core_job_outbox_schema(&k->outbox);
    enum rc rc = RC_OK;
    if (is_named(c, CORE_RISK_MODELS)) {
        atomic_store(&k->outbox.may_have, true);
        rc = check_model(schema, values, p);
    } else if (is_named(c, CORE_RISK_RULES)) {
        rc = check_rule(db, schema, values, p);
    } else if (action == CORE_EVENT_CREATE) {
        return score_write(k, db, c, values, p);
    }
    if (rc == RC_INVALID)
        core_problem_message(p, is_named(c, CORE_RISK_MODELS) ? "Failed to save the model."
                                                              : "Failed to save the rule.");
    return rc;
}

struct core_event_listener core_risk_listener(struct core_risk *k)
{
    return (struct core_event_listener){.wants = wants,
                                        .wants_before = wants_before,
                                        .before = before,
                                        .committed = core_job_outbox_committed,
                                        .on_remote = core_job_outbox_on_remote,
                                        .ctx = k};
}
