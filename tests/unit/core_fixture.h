/* core_fixture.h -- a real app over a temporary data directory, for the unit
 * tests of core modules that need the database (schema changes, record
 * reads and writes, realtime). Everything goes through core's and store's
 * own functions: schema changes through core_schema_submit() (waited for),
 * rows through the writer (core_record_run), reads through a store read
 * connection. Include after <cmocka.h>. */
#ifndef TARMAC_TESTS_CORE_FIXTURE_H
#define TARMAC_TESTS_CORE_FIXTURE_H

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/secure.h"
#include "core/app.h"
#include "core/record/record_write.h"
#include "core/schema_change.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    struct core_app *app;
};

static inline int fixture_rm_entry(const char *path, const struct stat *st, int flag,
                                   struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A fresh data directory (with _superusers and users) and its app. */
static inline void fixture_open(struct fixture *fx)
{
    log_set_level(LOG_ERROR);               /* expected failures log warnings */
    assert_int_equal(secure_init(), RC_OK); /* what main() does first */
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/tarmac-unit-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    assert_int_equal(core_app_open(fx->dir, NULL, &fx->app), RC_OK);
    /* Hashes in tests: argon2id's smallest cost, not the server's. */
    fx->app->password_m_kib = 64;
    fx->app->password_t = 1;
}

/* Closes the app and opens the same directory again (what a restart loads). */
static inline void fixture_reopen(struct fixture *fx)
{
    core_app_close(fx->app);
    fx->app = NULL;
    assert_int_equal(core_app_open(fx->dir, NULL, &fx->app), RC_OK);
}

static inline void fixture_close(struct fixture *fx)
{
    core_app_close(fx->app);
    fx->app = NULL;
    nftw(fx->dir, fixture_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline const struct core_collection *fixture_collection(struct core_app *app,
                                                               const char *name)
{
    return core_schema_find_exact(core_app_schema(app), str_from_cstr(name));
}

/* ---- schema changes, waited for ----------------------------------------- */

struct fixture_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool is_done;
};

static inline void fixture_schema_done(struct core_schema_job *job)
{
    struct fixture_wait *w = job->ctx;
    pthread_mutex_lock(&w->mu);
    w->is_done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Submits a schema change (input: collection JSON text or NULL; target: the
 * collection's id or NULL) and waits for it; returns its rc. The caller
 * cleans job up with core_schema_job_cleanup(). */
static inline enum rc fixture_schema(struct core_app *app, enum core_schema_op op,
                                     const char *input, const char *target,
                                     struct core_schema_job *job)
{
    memset(job, 0, sizeof(*job));
    core_problem_init(&job->problem);
    job->op = op;
    if (input) {
        json_error_t err;
        job->input = json_loads(input, 0, &err);
        if (!job->input)
            fail_msg("bad test JSON: %s: %s", err.text, input);
    }
    job->target_id = target ? xstrdup(target) : NULL;
    struct fixture_wait w = {.is_done = false};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    job->done = fixture_schema_done;
    job->ctx = &w;
    core_schema_submit(app, NULL, job);
    pthread_mutex_lock(&w.mu);
    while (!w.is_done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    return job->rc;
}

/* A schema change that must succeed; returns the collection's id (owned). */
static inline char *fixture_schema_ok(struct core_app *app, enum core_schema_op op,
                                      const char *input, const char *target)
{
    struct core_schema_job job;
    enum rc rc = fixture_schema(app, op, input, target, &job);
    if (rc != RC_OK) {
        char *d = job.problem.data ? json_dumps(job.problem.data, JSON_COMPACT) : NULL;
        fail_msg("schema change: rc %d, \"%s\", %s", rc, job.problem.message, d ? d : "");
    }
    char *id = job.result_id ? xstrdup(job.result_id) : NULL;
    core_schema_job_cleanup(&job);
    return id;
}

/* ---- rows ----------------------------------------------------------------- */

/* Writes values (JSON text, every field not given is bound as empty) as a
 * new row of collection name through the writer, with no input checks: test
 * data. Returns the write's rc. */
static inline enum rc fixture_insert(struct core_app *app, const char *name, const char *values)
{
    const struct core_collection *c = fixture_collection(app, name);
    assert_non_null(c);
    json_error_t err;
    json_t *v = json_loads(values, 0, &err);
    if (!v)
        fail_msg("bad test JSON: %s: %s", err.text, values);
    struct core_write_job job = {.kind = CORE_WRITE_CREATE,
                                 .schema = core_app_schema(app),
                                 .c = c,
                                 .id = xstrdup(json_string_value(json_object_get(v, "id"))),
                                 .values = v};
    core_problem_init(&job.problem);
    enum rc rc = core_record_run(app->writer, &job);
    core_write_job_cleanup(&job);
    return rc;
}

/* The stored record id of collection name as JSON (every field), or NULL
 * when it is absent. Reads through a connection of its own. */
static inline json_t *fixture_load(struct core_app *app, const char *name, const char *id)
{
    const struct core_collection *c = fixture_collection(app, name);
    assert_non_null(c);
    struct store_conn *db;
    assert_int_equal(store_open(app->db_path, STORE_OPEN_READ, &db), RC_OK);
    json_t *out = NULL;
    enum rc rc = core_record_load(db, c, str_from_cstr(id), &out);
    store_close(db);
    if (rc == RC_NOT_FOUND)
        return NULL;
    assert_int_equal(rc, RC_OK);
    return out;
}

/* True when the database has a table, view or index named name. */
static inline bool fixture_has_object(struct core_app *app, const char *name)
{
    struct store_conn *db;
    assert_int_equal(store_open(app->db_path, STORE_OPEN_READ, &db), RC_OK);
    bool has = false;
    assert_int_equal(store_has_object(db, str_from_cstr(name), &has), RC_OK);
    store_close(db);
    return has;
}

/* The integer the one-row query sql answers; -1 when it does not prepare
 * (a missing table or column). */
static inline int64_t fixture_query_int(struct core_app *app, const char *sql)
{
    struct store_conn *db;
    assert_int_equal(store_open(app->db_path, STORE_OPEN_READ, &db), RC_OK);
    struct store_stmt *st;
    int64_t n = -1;
    if (store_prepare(db, str_from_cstr(sql), &st) == RC_OK) {
        assert_int_equal(store_step(st), RC_OK);
        n = store_column_int64(st, 0);
        store_done(st);
    }
    store_close(db);
    return n;
}

#endif
