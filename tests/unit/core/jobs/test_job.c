/* test_job.c -- unit tests of core/jobs/job.h: the backoff (growth, cap,
 * jitter bounds, Retry-After) and the queue on a real database: enqueue and
 * dedupe, claim order and leases, a stale finish after a reclaim, retries
 * to dead, retry/cancel, pruning, the next due time an idle runner sleeps
 * until. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/secure.h"
#include "core/jobs/job.h"
#include "store/store.h"

static void backoff_grows_and_caps(void **state)
{
    (void)state;
    /* r = 0: the fixed half of each step */
    assert_int_equal(core_job_backoff_ms(1, 1000, 60000, 0, 0.0), 500);
    assert_int_equal(core_job_backoff_ms(2, 1000, 60000, 0, 0.0), 1000);
    assert_int_equal(core_job_backoff_ms(3, 1000, 60000, 0, 0.0), 2000);
    assert_int_equal(core_job_backoff_ms(20, 1000, 60000, 0, 0.0), 30000);
    assert_int_equal(core_job_backoff_ms(1000, 1000, 60000, 0, 0.999999), 59999);
    assert_int_equal(core_job_backoff_ms(0, 1000, 60000, 0, 0.0), 500); /* clamps */
}

static void backoff_jitter_stays_in_bounds(void **state)
{
    (void)state;
    for (int attempt = 1; attempt < 40; attempt++) {
        for (int i = 0; i <= 100; i++) {
            double r = i / 100.0;
            int64_t step = 1000;
            for (int k = 1; k < attempt && step < 3600000; k++)
                step *= 2;
            if (step > 3600000)
                step = 3600000;
            int64_t d = core_job_backoff_ms(attempt, 1000, 3600000, 0, r);
            assert_true(d >= step / 2);
            assert_true(d <= step);
        }
    }
}

static void backoff_honours_retry_after(void **state)
{
    (void)state;
    assert_int_equal(core_job_backoff_ms(1, 1000, 60000, 5000, 0.0), 5000);
    /* a Retry-After past the cap still wins */
    assert_int_equal(core_job_backoff_ms(1, 1000, 60000, 120000, 0.5), 120000);
    /* a shorter one does not shorten the backoff */
    assert_int_equal(core_job_backoff_ms(5, 1000, 60000, 10, 0.0), 8000);
}

/* ---- the queue on a database ---- */

struct fx {
    char dir[64];
    char path[96];
    struct store_conn *db;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/tarmac-unit-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof(fx->path), "%s/data.db", fx->dir);
    assert_int_equal(store_open(fx->path, STORE_OPEN_WRITE, &fx->db), RC_OK);
    assert_int_equal(core_job_ddl(fx->db), RC_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    store_close(fx->db);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

static void enqueue(struct store_conn *db, const char *key, int prio, int64_t run_at, int max,
                    char id[CORE_JOB_ID_LEN + 1], bool *folded)
{
    struct core_job_spec spec = {.kind = STR_LIT("http"),
                                 .priority = prio,
                                 .run_at_ms = run_at,
                                 .dedupe_key = key ? str_from_cstr(key) : (struct str){0},
                                 .max_attempts = max};
    assert_int_equal(core_job_enqueue(db, &spec, id, folded), RC_OK);
}

static const char *status_of(struct store_conn *db, const char *id)
{
    static char out[32];
    json_t *j = NULL;
    assert_int_equal(core_job_view(db, str_from_cstr(id), &j), RC_OK);
    snprintf(out, sizeof(out), "%s", json_string_value(json_object_get(j, "status")));
    json_decref(j);
    return out;
}

static void unknown_kind_refused(void **state)
{
    struct fx *fx = *state;
    struct core_job_spec spec = {.kind = STR_LIT("nope")};
    char id[CORE_JOB_ID_LEN + 1];
    bool folded;
    assert_int_equal(core_job_enqueue(fx->db, &spec, id, &folded), RC_INVALID);
}

static void dedupe_folds_while_pending(void **state)
{
    struct fx *fx = *state;
    char a[CORE_JOB_ID_LEN + 1], b[CORE_JOB_ID_LEN + 1], c[CORE_JOB_ID_LEN + 1];
    bool folded;
    enqueue(fx->db, "k", 0, 1, 3, a, &folded);
    assert_false(folded);
    enqueue(fx->db, "k", 0, 1, 3, b, &folded);
    assert_true(folded);
    assert_string_equal(a, b);
    /* once claimed (running) it is no longer pending: a new one is queued */
    struct core_job jobs[4];
    size_t n;
    assert_int_equal(core_job_claim(fx->db, 1000, 60000, jobs, 4, &n), RC_OK);
    assert_int_equal(n, 1);
    enqueue(fx->db, "k", 0, 1, 3, c, &folded);
    assert_false(folded);
    assert_string_not_equal(a, c);
    core_job_cleanup(&jobs[0]);
}

static void claim_orders_and_leases(void **state)
{
    struct fx *fx = *state;
    char low[16], high[16], later[16];
    bool folded;
    enqueue(fx->db, NULL, 0, 100, 3, low, &folded);
    enqueue(fx->db, NULL, 9, 200, 3, high, &folded);
    enqueue(fx->db, NULL, 99, 5000, 3, later, &folded); /* not due at 1000 */
    struct core_job jobs[4];
    size_t n;
    assert_int_equal(core_job_claim(fx->db, 1000, 500, jobs, 1, &n), RC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(jobs[0].id, high);
    assert_int_equal(jobs[0].attempts, 1);
    struct core_job first = jobs[0];
    assert_int_equal(core_job_claim(fx->db, 1000, 500, jobs, 4, &n), RC_OK);
    assert_int_equal(n, 1);
    assert_string_equal(jobs[0].id, low);
    core_job_cleanup(&jobs[0]);
    /* nothing else due while the leases hold */
    assert_int_equal(core_job_claim(fx->db, 1400, 500, jobs, 4, &n), RC_OK);
    assert_int_equal(n, 0);
    /* leases expired at 1500: both claimed again, with new tokens */
    assert_int_equal(core_job_claim(fx->db, 1600, 500, jobs, 4, &n), RC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(jobs[0].attempts, 2);
    assert_string_not_equal(jobs[0].token, first.token);
    /* the first runner's outcome is stale now: ignored */
    bool is_stale;
    assert_int_equal(
        core_job_finish(fx->db, &first, CORE_JOB_DONE, 1700, 0, STR_LIT(""), &is_stale), RC_OK);
    assert_true(is_stale);
    assert_string_equal(status_of(fx->db, high), "running");
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(
            core_job_finish(fx->db, &jobs[i], CORE_JOB_DONE, 1700, 0, STR_LIT(""), &is_stale),
            RC_OK);
        assert_false(is_stale);
        core_job_cleanup(&jobs[i]);
    }
    assert_string_equal(status_of(fx->db, high), "done");
    core_job_cleanup(&first);
}

/* A job handed back unrun (RELEASE) is queued again at once, its attempt
 * not counted and its last error kept; a stale token releases nothing. */
static void release_hands_back_unrun(void **state)
{
    struct fx *fx = *state;
    char id[16];
    bool folded, is_stale;
    enqueue(fx->db, NULL, 0, 1, 3, id, &folded);
    struct core_job jobs[1];
    size_t n;
    assert_int_equal(core_job_claim(fx->db, 10, 1000, jobs, 1, &n), RC_OK);
    assert_int_equal(
        core_job_finish(fx->db, &jobs[0], CORE_JOB_RETRY, 20, 30, STR_LIT("HTTP 503"), &is_stale),
        RC_OK);
    core_job_cleanup(&jobs[0]);
    assert_int_equal(core_job_claim(fx->db, 40, 1000, jobs, 1, &n), RC_OK);
    assert_int_equal(jobs[0].attempts, 2);
    assert_int_equal(
        core_job_finish(fx->db, &jobs[0], CORE_JOB_RELEASE, 50, 0, STR_LIT(""), &is_stale), RC_OK);
    assert_false(is_stale);
    assert_string_equal(status_of(fx->db, id), "queued");
    json_t *j = NULL;
    assert_int_equal(core_job_view(fx->db, str_from_cstr(id), &j), RC_OK);
    assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "lastError")), "HTTP 503");
    json_decref(j);
    /* released again with the old token: stale, nothing changes */
    assert_int_equal(
        core_job_finish(fx->db, &jobs[0], CORE_JOB_RELEASE, 60, 0, STR_LIT(""), &is_stale), RC_OK);
    assert_true(is_stale);
    core_job_cleanup(&jobs[0]);
    /* claimable at once, as its second attempt */
    assert_int_equal(core_job_claim(fx->db, 60, 1000, jobs, 1, &n), RC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(jobs[0].attempts, 2);
    core_job_cleanup(&jobs[0]);
}

/* Ids start with the time they were made: later ids sort after earlier ones. */
static void ids_grow_with_time(void **state)
{
    struct fx *fx = *state;
    char prev[16] = "", id[16];
    bool folded;
    for (int i = 0; i < 50; i++) {
        enqueue(fx->db, NULL, 0, 1, 3, id, &folded);
        assert_int_equal(strlen(id), CORE_JOB_ID_LEN);
        if (i % 10 == 0)
            usleep(2000);
        /* the time part never goes back; within one ms the random part may */
        assert_true(memcmp(prev, id, CORE_JOB_ID_TIME_LEN) <= 0);
        memcpy(prev, id, sizeof(id));
    }
}

static void retries_until_dead(void **state)
{
    struct fx *fx = *state;
    char id[16];
    bool folded, is_stale;
    enqueue(fx->db, NULL, 0, 1, 2, id, &folded);
    struct core_job jobs[1];
    size_t n;
    assert_int_equal(core_job_claim(fx->db, 10, 1000, jobs, 1, &n), RC_OK);
    assert_int_equal(
        core_job_finish(fx->db, &jobs[0], CORE_JOB_RETRY, 20, 500, STR_LIT("HTTP 503"), &is_stale),
        RC_OK);
    core_job_cleanup(&jobs[0]);
    assert_string_equal(status_of(fx->db, id), "failed");
    /* not due before its runAt */
    assert_int_equal(core_job_claim(fx->db, 499, 1000, jobs, 1, &n), RC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(core_job_claim(fx->db, 500, 1000, jobs, 1, &n), RC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(jobs[0].attempts, 2);
    assert_int_equal(
        core_job_finish(fx->db, &jobs[0], CORE_JOB_RETRY, 600, 900, STR_LIT("again"), &is_stale),
        RC_OK);
    core_job_cleanup(&jobs[0]);
    assert_string_equal(status_of(fx->db, id), "dead"); /* out of attempts: kept */
    assert_int_equal(core_job_claim(fx->db, 100000, 1000, jobs, 1, &n), RC_OK);
    assert_int_equal(n, 0);
    /* retry puts it back; cancel takes it out; a second cancel conflicts */
    assert_int_equal(core_job_retry(fx->db, str_from_cstr(id), 700), RC_OK);
    assert_string_equal(status_of(fx->db, id), "queued");
    assert_int_equal(core_job_retry(fx->db, str_from_cstr(id), 700), RC_CONFLICT);
    assert_int_equal(core_job_cancel(fx->db, str_from_cstr(id), 800), RC_OK);
    assert_int_equal(core_job_cancel(fx->db, str_from_cstr(id), 800), RC_CONFLICT);
    assert_int_equal(core_job_cancel(fx->db, STR_LIT("missingmissingm"), 800), RC_NOT_FOUND);
}

static void prune_keeps_pending_and_recent(void **state)
{
    struct fx *fx = *state;
    char a[16], b[16], c[16];
    bool folded, is_stale;
    enqueue(fx->db, NULL, 0, 1, 3, a, &folded);
    enqueue(fx->db, NULL, 0, 1, 3, b, &folded);
    enqueue(fx->db, NULL, 0, 1000000, 3, c, &folded);
    struct core_job jobs[2];
    size_t n;
    assert_int_equal(core_job_claim(fx->db, 10, 1000, jobs, 2, &n), RC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(
        core_job_finish(fx->db, &jobs[0], CORE_JOB_DONE, 100, 0, STR_LIT(""), &is_stale), RC_OK);
    assert_int_equal(
        core_job_finish(fx->db, &jobs[1], CORE_JOB_DONE, 5000, 0, STR_LIT(""), &is_stale), RC_OK);
    int64_t pruned;
    assert_int_equal(core_job_prune(fx->db, 1000, &pruned), RC_OK);
    assert_int_equal(pruned, 1);
    json_t *j = NULL;
    assert_int_equal(core_job_view(fx->db, str_from_cstr(jobs[0].id), &j), RC_NOT_FOUND);
    assert_int_equal(core_job_view(fx->db, str_from_cstr(jobs[1].id), &j), RC_OK);
    json_decref(j);
    assert_string_equal(status_of(fx->db, c), "queued");
    core_job_cleanup(&jobs[0]);
    core_job_cleanup(&jobs[1]);
}

static void next_due_is_the_earliest_claimable(void **state)
{
    struct fx *fx = *state;
    int64_t at;
    assert_int_equal(core_job_next_due(fx->db, &at), RC_OK);
    assert_int_equal(at, -1); /* nothing pending */
    char a[16], b[16];
    bool folded, is_stale;
    enqueue(fx->db, NULL, 0, 5000, 3, a, &folded);
    enqueue(fx->db, NULL, 0, 3000, 3, b, &folded);
    assert_int_equal(core_job_next_due(fx->db, &at), RC_OK);
    assert_int_equal(at, 3000); /* the earlier runAt */
    struct core_job jobs[1];
    size_t n;
    assert_int_equal(core_job_claim(fx->db, 3000, 1000, jobs, 1, &n), RC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(core_job_next_due(fx->db, &at), RC_OK);
    assert_int_equal(at, 4001); /* b's lease (3000 + 1000) expires first */
    assert_int_equal(
        core_job_finish(fx->db, &jobs[0], CORE_JOB_RETRY, 3100, 7000, STR_LIT("x"), &is_stale),
        RC_OK);
    core_job_cleanup(&jobs[0]);
    assert_int_equal(core_job_next_due(fx->db, &at), RC_OK);
    assert_int_equal(at, 5000); /* a, before b's retry at 7000 */
    assert_int_equal(core_job_cancel(fx->db, str_from_cstr(a), 3200), RC_OK);
    assert_int_equal(core_job_next_due(fx->db, &at), RC_OK);
    assert_int_equal(at, 7000); /* the failed job's retry */
    assert_int_equal(core_job_cancel(fx->db, str_from_cstr(b), 3300), RC_OK);
    assert_int_equal(core_job_next_due(fx->db, &at), RC_OK);
    assert_int_equal(at, -1); /* canceled jobs are not pending */
}

int main(void)
{
    secure_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_grows_and_caps),
        cmocka_unit_test(backoff_jitter_stays_in_bounds),
        cmocka_unit_test(backoff_honours_retry_after),
        cmocka_unit_test_setup_teardown(unknown_kind_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(dedupe_folds_while_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(claim_orders_and_leases, setup, teardown),
        cmocka_unit_test_setup_teardown(retries_until_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(release_hands_back_unrun, setup, teardown),
        cmocka_unit_test_setup_teardown(ids_grow_with_time, setup, teardown),
        cmocka_unit_test_setup_teardown(prune_keeps_pending_and_recent, setup, teardown),
        cmocka_unit_test_setup_teardown(next_due_is_the_earliest_claimable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
