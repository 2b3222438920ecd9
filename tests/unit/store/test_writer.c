/* test_writer.c -- the writer thread: group commit, per-job rollback,
 * durability of acknowledged jobs (read back through a second connection),
 * and what it answers when the disk fails (store/fault.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "db_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/log.h"
#include "store/fault.h"
#include "store/sqlite.h"
#include "store/writer.h"

static int setup(void **state)
{
    (void)state;
    db_file_init("writer");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    db_file_remove();
    return 0;
}

static enum rc create_table(struct store_conn *db, void *ctx)
{
    (void)ctx;
    return store_exec(db, "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
}

struct insert {
    int id;
    const char *value; /* NULL violates NOT NULL */
    enum rc result;
    uv_mutex_t *lock;
    int *done_count;
};

static enum rc insert_row(struct store_conn *db, void *ctx)
{
    struct insert *in = ctx;
    struct store_stmt *st;
    enum rc rc = store_prepare(db, STR_LIT("INSERT INTO t (id, v) VALUES (?1, ?2)"), &st);
    if (rc)
        return rc;
    sqlite3_bind_int(store_sqlite_stmt(st), 1, in->id);
    if (in->value)
        sqlite3_bind_text(store_sqlite_stmt(st), 2, in->value, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(store_sqlite_stmt(st), 2);
    int s = sqlite3_step(store_sqlite_stmt(st));
    store_done(st);
    return s == SQLITE_DONE ? RC_OK : store_sqlite_rc(s);
}

static void insert_done(enum rc rc, void *ctx)
{
    struct insert *in = ctx;
    uv_mutex_lock(in->lock);
    in->result = rc;
    (*in->done_count)++;
    uv_mutex_unlock(in->lock);
}

static int count_rows(const char *where)
{
    struct store_conn *rd;
    assert_int_equal(store_open(db_path, STORE_OPEN_READ, &rd), RC_OK);
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM t %s", where);
    struct store_stmt *st;
    assert_int_equal(store_prepare(rd, str_from_cstr(sql), &st), RC_OK);
    assert_int_equal(sqlite3_step(store_sqlite_stmt(st)), SQLITE_ROW);
    int n = sqlite3_column_int(store_sqlite_stmt(st), 0);
    store_done(st);
    store_close(rd);
    return n;
}

/* A job that meets "busy" (a serialization failure) busy_left times, then
 * inserts its row. */
struct busy_job {
    struct insert in;
    int busy_left;
    int runs;
};

static enum rc busy_then_insert(struct store_conn *db, void *ctx)
{
    struct busy_job *b = ctx;
    b->runs++;
    enum rc rc = insert_row(db, &b->in); /* written, then rolled back when busy */
    if (rc)
        return rc;
    if (b->busy_left > 0) {
        b->busy_left--;
        return RC_BUSY;
    }
    return RC_OK;
}

static void test_writer_runs_a_busy_job_again(void **state)
{
    (void)state;
    struct store_writer *w;
    assert_int_equal(store_writer_start(db_path, &w), RC_OK);
    assert_int_equal(store_writer_run(w, create_table, NULL), RC_OK);
    uv_mutex_t lock;
    uv_mutex_init(&lock);
    int done = 0;
    struct busy_job twice = {.in = {1, "a", RC_INTERNAL, &lock, &done}, .busy_left = 2};
    struct busy_job always = {.in = {2, "b", RC_INTERNAL, &lock, &done}, .busy_left = 100};
    store_writer_submit(w, NULL, busy_then_insert, insert_done, &twice);
    store_writer_submit(w, NULL, busy_then_insert, insert_done, &always);
    store_writer_stop(w);
    assert_int_equal(done, 2);
    assert_int_equal(twice.in.result, RC_OK);
    assert_int_equal(twice.runs, 3);
    assert_int_equal(always.in.result, RC_BUSY); /* bounded: 1 + 3 runs */
    assert_int_equal(always.runs, 4);
    assert_int_equal(count_rows("WHERE id = 1"), 1);
    assert_int_equal(count_rows("WHERE id = 2"), 0);
    uv_mutex_destroy(&lock);
}

static void test_writer_commits_every_queued_job(void **state)
{
    (void)state;
    struct store_writer *w;
    assert_int_equal(store_writer_start(db_path, &w), RC_OK);
    assert_int_equal(store_writer_run(w, create_table, NULL), RC_OK);
    enum { N = 2000 };
    static struct insert jobs[N];
    uv_mutex_t lock;
    uv_mutex_init(&lock);
    int done = 0;
    for (int i = 0; i < N; i++) {
        jobs[i] = (struct insert){.id = i + 1, .value = "x", .lock = &lock, .done_count = &done};
        store_writer_submit(w, NULL, insert_row, insert_done, &jobs[i]);
    }
    store_writer_stop(w); /* runs what is queued first */
    assert_int_equal(done, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(jobs[i].result, RC_OK);
    assert_int_equal(count_rows(""), N);
    uv_mutex_destroy(&lock);
}

static void test_writer_failing_job_rolls_back_only_itself(void **state)
{
    (void)state;
    struct store_writer *w;
    assert_int_equal(store_writer_start(db_path, &w), RC_OK);
    assert_int_equal(store_writer_run(w, create_table, NULL), RC_OK);
    uv_mutex_t lock;
    uv_mutex_init(&lock);
    int done = 0;
    struct insert a = {.id = 1, .value = "a", .lock = &lock, .done_count = &done};
    struct insert bad = {.id = 2, .value = NULL, .lock = &lock, .done_count = &done};
    struct insert dup = {.id = 1, .value = "dup", .lock = &lock, .done_count = &done};
    struct insert c = {.id = 3, .value = "c", .lock = &lock, .done_count = &done};
    store_writer_submit(w, NULL, insert_row, insert_done, &a);
    store_writer_submit(w, NULL, insert_row, insert_done, &bad);
    store_writer_submit(w, NULL, insert_row, insert_done, &dup);
    store_writer_submit(w, NULL, insert_row, insert_done, &c);
    store_writer_stop(w);
    assert_int_equal(done, 4);
    assert_int_equal(a.result, RC_OK);
    assert_int_equal(bad.result, RC_CONFLICT);
    assert_int_equal(dup.result, RC_CONFLICT);
    assert_int_equal(c.result, RC_OK);
    assert_int_equal(count_rows(""), 2);
    assert_int_equal(count_rows("WHERE id = 1 AND v = 'a'"), 1);
    uv_mutex_destroy(&lock);
}

/* ---- faults --------------------------------------------------------------
 * The writer's connection goes through the fault VFS; the table holds enough
 * large rows, and the writer's page cache is small enough, that a job's own
 * statements read and spill pages: a fault lands inside a job (where SQLite
 * rolls the whole transaction back) as well as in BEGIN and COMMIT. */

enum { FAULT_GROUP = 8, FAULT_FILL = 1500 };

static enum rc prepare_faulty_table(struct store_conn *db, void *ctx)
{
    (void)ctx;
    enum rc rc = store_exec(db, "PRAGMA cache_size = 10;"
                                "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, "
                                "v TEXT NOT NULL)");
    struct store_stmt *st;
    if (!rc)
        rc = store_prepare(db, STR_LIT("INSERT INTO t (id, v) VALUES (?1, ?2)"), &st);
    char pad[900];
    memset(pad, 'p', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int i = 0; i < FAULT_FILL && !rc; i++) {
        /* spread over the key space so later inserts touch many pages */
        sqlite3_bind_int(store_sqlite_stmt(st), 1, 1000000 + i * 997);
        sqlite3_bind_text(store_sqlite_stmt(st), 2, pad, -1, SQLITE_STATIC);
        int step = sqlite3_step(store_sqlite_stmt(st));
        sqlite3_reset(store_sqlite_stmt(st));
        if (step != SQLITE_DONE)
            rc = store_sqlite_rc(step);
    }
    if (!rc)
        store_done(st);
    return rc;
}

/* Holds the writer thread until released, so the jobs queued meanwhile run
 * as one group. */
struct gate {
    uv_sem_t entered;
    uv_sem_t released;
};

static enum rc wait_at_gate(struct store_conn *db, void *ctx)
{
    (void)db;
    struct gate *g = ctx;
    uv_sem_post(&g->entered);
    uv_sem_wait(&g->released);
    return RC_OK;
}

static void gate_passed(enum rc rc, void *ctx)
{
    (void)rc;
    (void)ctx;
}

static uint64_t commits_of(struct store_writer *w)
{
    struct store_writer_stats st;
    store_writer_stats(w, &st);
    return st.commits;
}

/* Submits a row's insert, sleeps ms, submits another's, waits for both. */
static void two_inserts(struct store_writer *w, int id, int ms)
{
    uv_mutex_t lock;
    uv_mutex_init(&lock);
    int done = 0;
    struct insert a = {.id = id, .value = "a", .lock = &lock, .done_count = &done};
    struct insert b = {.id = id + 1, .value = "b", .lock = &lock, .done_count = &done};
    store_writer_submit(w, NULL, insert_row, insert_done, &a);
    usleep((useconds_t)ms * 1000);
    store_writer_submit(w, NULL, insert_row, insert_done, &b);
    for (;;) {
        uv_mutex_lock(&lock);
        int n = done;
        uv_mutex_unlock(&lock);
        if (n == 2)
            break;
        usleep(1000);
    }
    assert_int_equal(a.result, RC_OK);
    assert_int_equal(b.result, RC_OK);
    uv_mutex_destroy(&lock);
}

/* Under load (the group before was two jobs) a write that arrives within
 * the gather step of another commits with it; after a group of one, the
 * next write is not held (the steps here are long so that a loaded machine
 * does not change the outcome). */
static void test_writer_gathers_under_load_only(void **state)
{
    (void)state;
    struct store_writer *w;
    assert_int_equal(store_writer_start(db_path, &w), RC_OK);
    store_writer_set_gather(w, 3000 * 1000, 400 * 1000);
    assert_int_equal(store_writer_run(w, create_table, NULL), RC_OK);
    /* A group of two: queued while a gate holds the writer. */
    struct gate g;
    uv_sem_init(&g.entered, 0);
    uv_sem_init(&g.released, 0);
    store_writer_submit(w, NULL, wait_at_gate, gate_passed, &g);
    uv_sem_wait(&g.entered);
    uint64_t before = commits_of(w);
    uv_mutex_t lock;
    uv_mutex_init(&lock);
    int done = 0;
    struct insert x1 = {.id = 1, .value = "x", .lock = &lock, .done_count = &done};
    struct insert x2 = {.id = 2, .value = "x", .lock = &lock, .done_count = &done};
    store_writer_submit(w, NULL, insert_row, insert_done, &x1);
    store_writer_submit(w, NULL, insert_row, insert_done, &x2);
    uv_sem_post(&g.released);
    while (commits_of(w) < before + 2)
        usleep(1000);
    /* Gathered: the second arrives 50 ms after the first, one commit. */
    before = commits_of(w);
    two_inserts(w, 10, 50);
    assert_int_equal(commits_of(w) - before, 1);
    /* Alone: gathered too (the group before was two), a group of one. */
    assert_int_equal(
        store_writer_run(
            w, insert_row,
            &(struct insert){.id = 20, .value = "y", .lock = &lock, .done_count = &done}),
        RC_OK);
    /* After a group of one nothing is held: two commits. */
    before = commits_of(w);
    two_inserts(w, 30, 50);
    assert_int_equal(commits_of(w) - before, 2);
    store_writer_stop(w);
    assert_int_equal(count_rows(""), 7);
    uv_mutex_destroy(&lock);
    uv_sem_destroy(&g.entered);
    uv_sem_destroy(&g.released);
}

struct faulty_insert {
    struct insert in;
    char value[600];
};

static enum rc insert_faulty_row(struct store_conn *db, void *ctx)
{
    struct faulty_insert *fi = ctx;
    struct store_stmt *st;
    /* a read first, as record jobs check rules and relations before writing */
    enum rc rc = store_prepare(
        db, STR_LIT("SELECT length(v) FROM t WHERE id < ?1 ORDER BY id DESC LIMIT 1"), &st);
    if (rc)
        return rc;
    sqlite3_bind_int(store_sqlite_stmt(st), 1, fi->in.id);
    int step = sqlite3_step(store_sqlite_stmt(st));
    store_done(st);
    if (step != SQLITE_ROW)
        return store_sqlite_rc(step);
    return insert_row(db, &fi->in);
}

struct fault_tally {
    int acked;
    int failed;
    int acked_lost;     /* acknowledged, not in the table: what must never happen */
    int failed_present; /* answered failed, in the table: neither */
};

/* Queues FAULT_GROUP inserts with ids from first_id as one group and waits
 * for every answer, then reads each row back through a fresh connection. */
static void run_fault_round(struct store_writer *w, const struct store_fault_plan *plan,
                            int first_id, struct fault_tally *t, uint64_t *fired)
{
    struct gate g;
    uv_sem_init(&g.entered, 0);
    uv_sem_init(&g.released, 0);
    store_writer_submit(w, NULL, wait_at_gate, gate_passed, &g);
    uv_sem_wait(&g.entered);
    uv_mutex_t lock;
    uv_mutex_init(&lock);
    int done = 0;
    static struct faulty_insert jobs[FAULT_GROUP];
    for (int i = 0; i < FAULT_GROUP; i++) {
        /* ids between the filled ones: every insert lands on another page */
        jobs[i].in = (struct insert){.id = 1000000 + ((first_id + i) * 7919) % (FAULT_FILL * 997),
                                     .lock = &lock,
                                     .done_count = &done,
                                     .result = RC_INTERNAL};
        if ((jobs[i].in.id - 1000000) % 997 == 0)
            jobs[i].in.id++;
        jobs[i].in.value = jobs[i].value;
        memset(jobs[i].value, 'a' + i % 26, sizeof(jobs[i].value) - 1);
        jobs[i].value[sizeof(jobs[i].value) - 1] = '\0';
        store_writer_submit(w, NULL, insert_faulty_row, insert_done, &jobs[i]);
    }
    store_fault_arm(plan);
    uv_sem_post(&g.released);
    for (;;) {
        uv_mutex_lock(&lock);
        int n = done;
        uv_mutex_unlock(&lock);
        if (n == FAULT_GROUP)
            break;
        usleep(200);
    }
    *fired += store_fault_disarm();
    struct store_conn *rd;
    assert_int_equal(store_open(db_path, STORE_OPEN_READ, &rd), RC_OK);
    struct store_stmt *st;
    assert_int_equal(store_prepare(rd, STR_LIT("SELECT 1 FROM t WHERE id = ?1"), &st), RC_OK);
    for (int i = 0; i < FAULT_GROUP; i++) {
        sqlite3_bind_int(store_sqlite_stmt(st), 1, jobs[i].in.id);
        int step = sqlite3_step(store_sqlite_stmt(st));
        assert_true(step == SQLITE_ROW || step == SQLITE_DONE);
        bool is_present = step == SQLITE_ROW;
        store_done(st);
        if (jobs[i].in.result == RC_OK) {
            t->acked++;
            t->acked_lost += !is_present;
        } else {
            t->failed++;
            t->failed_present += is_present;
        }
    }
    store_close(rd);
    uv_mutex_destroy(&lock);
    uv_sem_destroy(&g.entered);
    uv_sem_destroy(&g.released);
}

/* Removes the rows a round wrote, so the next round's ids are free again. */
static enum rc delete_round(struct store_conn *db, void *ctx)
{
    (void)ctx;
    return store_exec(db, "DELETE FROM t WHERE (id - 1000000) % 997 != 0");
}

static int integrity_ok(void)
{
    struct store_conn *rd;
    assert_int_equal(store_open(db_path, STORE_OPEN_READ, &rd), RC_OK);
    struct store_stmt *st;
    assert_int_equal(store_prepare(rd, STR_LIT("PRAGMA integrity_check"), &st), RC_OK);
    assert_int_equal(sqlite3_step(store_sqlite_stmt(st)), SQLITE_ROW);
    int ok = strcmp((const char *)sqlite3_column_text(store_sqlite_stmt(st), 0), "ok") == 0;
    store_done(st);
    store_close(rd);
    return ok;
}

static struct store_writer *start_faulty_writer(void)
{
    assert_int_equal(store_fault_install(), RC_OK);
    struct store_writer *w;
    assert_int_equal(store_writer_start(db_path, &w), RC_OK);
    assert_int_equal(store_writer_run(w, prepare_faulty_table, NULL), RC_OK);
    return w;
}

/* As SQLite's fault tests: fail the 1st counted read or write of a round,
 * then the 2nd, ... until a round ends without the fault firing. */
static void test_writer_answers_match_the_disk_when_any_one_io_fails(void **state)
{
    (void)state;
    struct store_writer *w = start_faulty_writer();
    struct fault_tally t = {0};
    uint64_t fired = 0;
    int rounds = 0;
    for (uint64_t nth = 1;; nth++) {
        struct store_fault_plan plan = {.ops = STORE_FAULT_READ | STORE_FAULT_WRITE, .nth = nth};
        uint64_t before = fired;
        run_fault_round(w, &plan, (int)nth * FAULT_GROUP, &t, &fired);
        assert_int_equal(store_writer_run(w, delete_round, NULL), RC_OK);
        rounds++;
        if (fired == before)
            break;
        assert_true(nth < 5000);
    }
    store_writer_stop(w);
    print_message("%d rounds: %d acknowledged, %d failed; %d acknowledged lost, %d failed "
                  "present\n",
                  rounds, t.acked, t.failed, t.acked_lost, t.failed_present);
    assert_true(rounds > 20); /* the faults did land inside the work */
    assert_true(t.failed > 0);
    assert_int_equal(t.acked_lost, 0);
    assert_int_equal(t.failed_present, 0);
    assert_true(integrity_ok());
}

/* Reads and writes failing at 3% (seeded, so repeatable), as a dying disk. */
static void test_writer_never_acknowledges_a_lost_write_under_random_io_faults(void **state)
{
    (void)state;
    struct store_writer *w = start_faulty_writer();
    struct fault_tally t = {0};
    uint64_t fired = 0;
    for (int round = 0; round < 60; round++) {
        struct store_fault_plan plan = {.ops = STORE_FAULT_READ | STORE_FAULT_WRITE,
                                        .rate_ppm = 30000,
                                        .seed = (uint64_t)round + 1};
        run_fault_round(w, &plan, round * FAULT_GROUP, &t, &fired);
        assert_int_equal(store_writer_run(w, delete_round, NULL), RC_OK);
    }
    store_writer_stop(w);
    print_message("%llu faults: %d acknowledged, %d failed; %d acknowledged lost, %d failed "
                  "present\n",
                  (unsigned long long)fired, t.acked, t.failed, t.acked_lost, t.failed_present);
    assert_true(fired > 0);
    assert_true(t.acked > 0);
    assert_int_equal(t.acked_lost, 0);
    assert_int_equal(t.failed_present, 0);
    assert_true(integrity_ok());
}

static void test_fault_spec_parses(void **state)
{
    (void)state;
    struct store_fault_plan p;
    assert_int_equal(store_fault_parse(STR_LIT("rate=0.03,seed=7,ops=rws"), &p), RC_OK);
    assert_int_equal(p.rate_ppm, 30000);
    assert_int_equal(p.seed, 7);
    assert_int_equal(p.ops, STORE_FAULT_READ | STORE_FAULT_WRITE | STORE_FAULT_SYNC);
    assert_int_equal(store_fault_parse(STR_LIT("nth=3"), &p), RC_OK);
    assert_int_equal(p.nth, 3);
    assert_int_equal(p.ops, STORE_FAULT_READ | STORE_FAULT_WRITE);
    assert_int_equal(store_fault_parse(STR_LIT("rate=1"), &p), RC_OK);
    assert_int_equal(p.rate_ppm, 1000000);
    assert_int_equal(store_fault_parse(STR_LIT(""), &p), RC_INVALID);
    assert_int_equal(store_fault_parse(STR_LIT("rate=2"), &p), RC_INVALID);
    assert_int_equal(store_fault_parse(STR_LIT("rate=0.03,ops=x"), &p), RC_INVALID);
    assert_int_equal(store_fault_parse(STR_LIT("rate=0.03,"), &p), RC_INVALID);
    assert_int_equal(store_fault_parse(STR_LIT("speed=3"), &p), RC_INVALID);
}

static void test_sqlite_cache_returns_the_same_statement(void **state)
{
    (void)state;
    struct store_conn *db;
    assert_int_equal(store_open(db_path, STORE_OPEN_WRITE, &db), RC_OK);
    struct store_stmt *a, *b;
    assert_int_equal(store_prepare(db, STR_LIT("SELECT 1"), &a), RC_OK);
    store_done(a);
    assert_int_equal(store_prepare(db, STR_LIT("SELECT 1"), &b), RC_OK);
    assert_ptr_equal(a, b);
    /* Enough distinct statements to make the cache grow (release build). */
    int n = STORE_STMT_CACHE_MAX > 300 ? 300 : STORE_STMT_CACHE_MAX - 4; /* no flush */
    for (int i = 0; i < n; i++) {
        char sql[32];
        snprintf(sql, sizeof(sql), "SELECT %d", i);
        struct store_stmt *s;
        assert_int_equal(store_prepare(db, str_from_cstr(sql), &s), RC_OK);
        assert_int_equal(sqlite3_step(store_sqlite_stmt(s)), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(store_sqlite_stmt(s), 0), i);
        store_done(s);
    }
    assert_int_equal(store_prepare(db, STR_LIT("SELECT 1"), &b), RC_OK);
    assert_ptr_equal(a, b);
    struct store_stmt *bad;
    assert_int_equal(store_prepare(db, STR_LIT("SELEKT nonsense"), &bad), RC_INVALID);
    store_close(db);
}

static void test_sqlite_cache_is_bounded_and_keeps_statements_in_use(void **state)
{
    (void)state;
    struct store_conn *db;
    assert_int_equal(store_open(db_path, STORE_OPEN_WRITE, &db), RC_OK);
    /* Held across the flush (as a streamed page holds its statement). */
    struct store_stmt *held;
    assert_int_equal(store_prepare(db, STR_LIT("SELECT ?1 * 2"), &held), RC_OK);
    assert_int_equal(store_bind_int64(held, 1, 21), RC_OK);
    for (int i = 0; i < STORE_STMT_CACHE_MAX + 200; i++) {
        char sql[48];
        snprintf(sql, sizeof(sql), "SELECT %d AS distinct_shape", i);
        struct store_stmt *s;
        assert_int_equal(store_prepare(db, str_from_cstr(sql), &s), RC_OK);
        assert_int_equal(store_step(s), RC_OK);
        assert_int_equal(store_column_int64(s, 0), i);
        store_done(s);
        assert_true(store_stmt_cache_size(db) <= STORE_STMT_CACHE_MAX);
    }
    /* a flush happened (each text was new) and the held statement survived it */
    assert_true(store_stmt_cache_size(db) < STORE_STMT_CACHE_MAX);
    assert_int_equal(store_step(held), RC_OK);
    assert_int_equal(store_column_int64(held, 0), 42);
    store_done(held);
    struct store_stmt *again;
    assert_int_equal(store_prepare(db, STR_LIT("SELECT ?1 * 2"), &again), RC_OK);
    assert_ptr_equal(again, held); /* still cached */
    store_done(again);
    store_close(db);
}

static void test_read_connection_refuses_writes(void **state)
{
    (void)state;
    struct store_writer *w;
    assert_int_equal(store_writer_start(db_path, &w), RC_OK);
    assert_int_equal(store_writer_run(w, create_table, NULL), RC_OK);
    store_writer_stop(w);
    struct store_conn *rd;
    assert_int_equal(store_open(db_path, STORE_OPEN_READ, &rd), RC_OK);
    assert_int_not_equal(store_exec(rd, "INSERT INTO t (id, v) VALUES (9, 'x')"), RC_OK);
    store_close(rd);
}

int main(void)
{
    log_set_level(LOG_ERROR); /* the fault tests make the writer warn on purpose */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writer_commits_every_queued_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_runs_a_busy_job_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_gathers_under_load_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_failing_job_rolls_back_only_itself, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_cache_is_bounded_and_keeps_statements_in_use,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_cache_returns_the_same_statement, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_read_connection_refuses_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_answers_match_the_disk_when_any_one_io_fails,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_writer_never_acknowledges_a_lost_write_under_random_io_faults, setup, teardown),
        cmocka_unit_test(test_fault_spec_parses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
