/* update.c -- see reco.h: the `reco` job kind, one interaction folded into
 * the weights, popularity, norms and co-occurrences, on the writer. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/reco/reco_int.h"
#include "store/writer.h"

/* Past this exponent every value is scaled down to base = now (2^300 is
 * far from a double's limit, squared as norms are: 2^600). */
#define RESCALE_AT 300.0

struct upd {
    const char *rec, *user, *item;
    double w;
    int64_t at;
    bool is_gone; /* the recommender was deleted meanwhile */
};

static enum rc exec_bound(struct store_conn *db, const char *sql, const char *rec, double f)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(db, str_from_cstr(sql), &st);
    if (rc)
        return rc;
    store_bind_double(st, 1, f);
    store_bind_text(st, 2, str_from_cstr(rec));
    rc = store_step(st);
    store_done(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* Scales every value of rec so that base becomes at: weights and
 * popularity by f, norms and co-occurrences (products) by f^2. */
static enum rc rescale(struct store_conn *db, const char *rec, double f, int64_t at)
{
    enum rc rc = exec_bound(db, "UPDATE _reco_user_items SET w = w * ?1 WHERE rec = ?2", rec, f);
    if (!rc)
        rc = exec_bound(db, "UPDATE _reco_items SET pop = pop * ?1, n = n * ?1 * ?1 WHERE rec = ?2",
                        rec, f);
    if (!rc)
        rc = exec_bound(db, "UPDATE _reco_pairs SET co = co * ?1 * ?1 WHERE rec = ?2", rec, f);
    if (!rc)
        rc = exec_bound(db, "UPDATE _reco_state SET base = CAST(?1 AS BIGINT) WHERE rec = ?2", rec,
                        (double)at);
    return rc;
}

/* The decay's factor for u->at: 2^((at - base) / half life), rescaling
 * first when it grows too large. */
static enum rc factor_of(struct store_conn *db, struct upd *u, double *f)
{
    struct store_stmt *st;
    enum rc rc = store_prepare(
        db, STR_LIT("SELECT \"halfLifeDays\" FROM \"_recommenders\" WHERE id = ?1"), &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, str_from_cstr(u->rec));
    rc = store_step(st);
    double days = rc == RC_OK ? store_column_double(st, 0) : 0;
    store_done(st);
    if (rc == RC_NOT_FOUND) {
        u->is_gone = true;
        return RC_OK;
    }
    if (rc)
        return rc;
    double hl = (days > 0 ? days : 30) * 86400000.0;
    rc = store_prepare(db, STR_LIT("SELECT base FROM _reco_state WHERE rec = ?1"), &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, str_from_cstr(u->rec));
    rc = store_step(st);
    int64_t base = rc == RC_OK ? store_column_int64(st, 0) : u->at;
    store_done(st);
    if (rc == RC_NOT_FOUND) {
        rc = store_prepare(db, STR_LIT("INSERT INTO _reco_state (rec, base) VALUES (?1, ?2)"), &st);
        if (rc)
            return rc;
        store_bind_text(st, 1, str_from_cstr(u->rec));
        store_bind_int64(st, 2, base);
        rc = store_step(st);
        store_done(st);
        rc = rc == RC_NOT_FOUND ? RC_OK : rc;
    }
    if (rc)
        return rc;
    double e = (double)(u->at - base) / hl;
    if (e > RESCALE_AT) {
        rc = rescale(db, u->rec, exp2(-e), u->at);
        e = 0;
    }
    *f = exp2(e < -RESCALE_AT ? -RESCALE_AT : e);
    return rc;
}

/* One run of a statement with (rec, x, y, v) bound. */
static enum rc upsert(struct store_stmt *st, const char *rec, const char *x, const char *y,
                      double v)
{
    store_reset(st);
    store_bind_text(st, 1, str_from_cstr(rec));
    store_bind_text(st, 2, str_from_cstr(x));
    store_bind_text(st, 3, str_from_cstr(y));
    store_bind_double(st, 4, v);
    enum rc rc = store_step(st);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

static enum rc apply(struct store_conn *db, void *ctx)
{
    struct upd *u = ctx;
    double f = 1;
    enum rc rc = factor_of(db, u, &f);
    if (rc || u->is_gone)
        return rc;
    double delta = u->w * f;
    struct store_stmt *st;
    rc = store_prepare(db,
                       STR_LIT("SELECT item, w FROM _reco_user_items WHERE rec = ?1 AND "
                               "\"user\" = ?2 ORDER BY w DESC LIMIT 1000"),
                       &st);
    if (rc)
        return rc;
    store_bind_text(st, 1, str_from_cstr(u->rec));
    store_bind_text(st, 2, str_from_cstr(u->user));
    /* Read the user's items first: the writes below would reset the cursor. */
    char(*items)[64] = xcalloc(CORE_RECO_HISTORY, sizeof(*items));
    double *ws = xcalloc(CORE_RECO_HISTORY, sizeof(*ws));
    size_t n = 0;
    double old = 0;
    while ((rc = store_step(st)) == RC_OK) {
        struct str item = store_column_text(st, 0);
        double w = store_column_double(st, 1);
        if (item.len == strlen(u->item) && memcmp(item.ptr, u->item, item.len) == 0)
            old = w;
        else if (n < CORE_RECO_HISTORY && item.len < 64 && w > 0) {
            memcpy(items[n], item.ptr, item.len);
            items[n][item.len] = '\0';
            ws[n++] = w;
        }
    }
    store_done(st);
    rc = rc == RC_NOT_FOUND ? RC_OK : rc;
    double now = old + delta;
    if (now < old * 1e-9 || now < 0)
        now = 0; /* taken back: what rounding leaves is nothing */
    delta = now - old;
    if (!rc && n) {
        rc = store_prepare(db,
                           STR_LIT("INSERT INTO _reco_pairs (rec, a, b, co) VALUES (?1, ?2, ?3, "
                                   "?4) ON CONFLICT (rec, a, b) DO UPDATE SET co = "
                                   "_reco_pairs.co + excluded.co"),
                           &st);
        for (size_t k = 0; !rc && k < n; k++) {
            rc = upsert(st, u->rec, u->item, items[k], delta * ws[k]);
            if (!rc)
                rc = upsert(st, u->rec, items[k], u->item, delta * ws[k]);
        }
        if (st)
            store_done(st);
    }
    xfree(items);
    xfree(ws);
    if (!rc)
        rc = store_prepare(db,
                           STR_LIT("INSERT INTO _reco_items (rec, item, n, pop) VALUES (?1, ?2, "
                                   "?3, ?4) ON CONFLICT (rec, item) DO UPDATE SET n = "
                                   "_reco_items.n + excluded.n, pop = _reco_items.pop + "
                                   "excluded.pop"),
                           &st);
    if (!rc) {
        store_bind_text(st, 1, str_from_cstr(u->rec));
        store_bind_text(st, 2, str_from_cstr(u->item));
        store_bind_double(st, 3, now * now - old * old);
        store_bind_double(st, 4, delta);
        rc = store_step(st);
        store_done(st);
        rc = rc == RC_NOT_FOUND ? RC_OK : rc;
    }
    if (!rc)
        rc = store_prepare(db,
                           now > 0 ? STR_LIT("INSERT INTO _reco_user_items (rec, \"user\", item, "
                                             "w) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (rec, "
                                             "\"user\", item) DO UPDATE SET w = excluded.w")
                                   : STR_LIT("DELETE FROM _reco_user_items WHERE rec = ?1 AND "
                                             "\"user\" = ?2 AND item = ?3 AND ?4 = ?4"),
                           &st);
    if (!rc) {
        rc = upsert(st, u->rec, u->user, u->item, now);
        store_done(st);
    }
    return rc;
}

static const char *reco_check(json_t *payload)
{
    static const char *const keys[] = {"rec", "user", "item"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(payload, keys[i]);
        if (!json_string_length(v) || json_string_length(v) > 63)
            return "payload: {rec, user, item, w, at} of an interaction";
    }
    if (!json_is_number(json_object_get(payload, "w")) ||
        !json_is_integer(json_object_get(payload, "at")))
        return "payload: {rec, user, item, w, at} of an interaction";
    return NULL;
}

static void reco_run(const struct core_job_env *env, const struct core_job *job,
                     struct core_job_result *res)
{
    const char *why = reco_check(job->payload);
    if (why) {
        res->outcome = CORE_JOB_DEAD;
        snprintf(res->error, sizeof(res->error), "%s", why);
        return;
    }
    struct upd u = {.rec = json_string_value(json_object_get(job->payload, "rec")),
                    .user = json_string_value(json_object_get(job->payload, "user")),
                    .item = json_string_value(json_object_get(job->payload, "item")),
                    .w = json_number_value(json_object_get(job->payload, "w")),
                    .at = json_integer_value(json_object_get(job->payload, "at"))};
    enum rc rc = store_writer_run(env->writer, apply, &u);
    if (rc) {
        res->outcome = CORE_JOB_RETRY;
        snprintf(res->error, sizeof(res->error), "the update failed (%s)", rc_name(rc));
        return;
    }
    res->outcome = CORE_JOB_DONE;
    res->error[0] = '\0';
}

const struct core_job_kind core_reco_kind = {
    .name = "reco", .retry = {10, 500, 60 * 1000}, .run = reco_run, .check = reco_check};
