/* runner.c -- see runner.h. */
#include "core/jobs/runner.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/log.h"
#include "base/secure.h"
#include "core/jobs/job.h"
#include "core/jobs/registry.h"
#include "core/jobs/schedule.h"
#include "net/http_out.h"
#include "store/store.h"

/* A claim takes up to this many jobs: the HTTP ones among them go out at
 * once, the others run one after another (see run_batch). */
#define CLAIM_MAX 64
#define PRUNE_EVERY_MS (60 * 1000)
#define SCHEDULE_EVERY_MS 1000
/* After a claim or a look at the schedules failed (a PostgreSQL server that
 * went away), the next try comes this soon rather than a whole poll later:
 * jobs that fell due meanwhile run once the database is back. */
#define RETRY_AFTER_FAILURE_MS 1000

struct core_jobs {
    const char *db_path;
    struct store_writer *writer;
    struct core_jobs_host host;
    struct core_webhooks *webhooks; /* what may enqueue on commit (the wake listener) */
    struct core_jobs_config cfg;
    pthread_t *threads;
    size_t thread_count;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool is_stopping;
    uint64_t wakes; /* bumped by core_jobs_wake */
};

struct runner {
    struct core_jobs *j;
    size_t index;
};

void core_jobs_config_defaults(struct core_jobs_config *cfg)
{
    *cfg = (struct core_jobs_config){.runners = 2,
                                     .lease_ms = CORE_JOBS_DEFAULT_LEASE_MS,
                                     .retention_ms = CORE_JOBS_DEFAULT_RETENTION_MS,
                                     .http_timeout_ms = 10000,
                                     .poll_ms = CORE_JOBS_DEFAULT_POLL_MS};
}

struct core_jobs *core_jobs_new(const char *db_path, struct store_writer *writer,
                                const struct core_jobs_host *host)
{
    struct core_jobs *j = xcalloc(1, sizeof(*j));
    j->db_path = db_path;
    j->writer = writer;
    if (host)
        j->host = *host;
    core_jobs_config_defaults(&j->cfg);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cond, NULL);
    return j;
}

void core_jobs_wake(struct core_jobs *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    j->wakes++;
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->mu);
}

static bool wake_wants(void *ctx, const struct core_collection *c)
{
    struct core_jobs *j = ctx;
    return strcmp(c->name, CORE_SCHEDULES_COLLECTION) == 0 ||
           core_webhooks_may_enqueue(j->webhooks, c);
}

static void wake_on_commit(void *ctx, struct core_event *ev)
{
    (void)ev; /* the bus hands only the events wake_wants asked for */
    core_jobs_wake(ctx);
}

struct core_event_listener core_jobs_wake_listener(struct core_jobs *j, struct core_webhooks *w)
{
    j->webhooks = w;
    return (struct core_event_listener){.wants = wake_wants, .on_commit = wake_on_commit, .ctx = j};
}

/* Sleeps until woken after seen, stopped, or ms passed. False when stopping. */
static bool sleep_until_woken(struct core_jobs *j, uint64_t seen, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&j->mu);
    while (!j->is_stopping && j->wakes == seen) {
        if (pthread_cond_timedwait(&j->cond, &j->mu, &ts) != 0)
            break;
    }
    bool go_on = !j->is_stopping;
    pthread_mutex_unlock(&j->mu);
    return go_on;
}

/* The claim, as a writer job (re-runnable: it starts from nothing). */
struct claim {
    struct core_jobs *j;
    struct core_job jobs[CLAIM_MAX];
    size_t n;
};

static enum rc claim_apply(struct store_conn *db, void *ctx)
{
    struct claim *c = ctx;
    for (size_t i = 0; i < c->n; i++)
        core_job_cleanup(&c->jobs[i]);
    c->n = 0;
    return core_job_claim(db, chrono_real_ms(), c->j->cfg.lease_ms, c->jobs, CLAIM_MAX, &c->n);
}

struct finish {
    struct core_job *jobs;
    struct core_job_result *results;
    int64_t *next_run;
    size_t n;
};

static enum rc finish_apply(struct store_conn *db, void *ctx)
{
    struct finish *f = ctx;
    int64_t now = chrono_real_ms();
    for (size_t i = 0; i < f->n; i++) {
        bool is_stale;
        enum rc rc = core_job_finish(db, &f->jobs[i], f->results[i].outcome, now, f->next_run[i],
                                     str_from_cstr(f->results[i].error), &is_stale);
        if (rc)
            return rc;
        if (is_stale)
            log_warn("msg=\"job outcome dropped: its lease expired and it was claimed again\" "
                     "job=%s kind=%s",
                     f->jobs[i].id, f->jobs[i].kind);
    }
    return RC_OK;
}

/* A batch's outcomes and the next batch's claim in one transaction: one
 * commit (one fsync) per batch instead of two. next NULL: no claim (the
 * runner is stopping). */
struct finish_claim {
    struct finish f;
    struct claim *next;
};

static enum rc finish_claim_apply(struct store_conn *db, void *ctx)
{
    struct finish_claim *fc = ctx;
    enum rc rc = finish_apply(db, &fc->f);
    /* A failed claim must not take the outcomes down with it (the jobs would
     * run again when their leases expire): what it took commits and is run,
     * what it did not is claimed on the next turn. */
    if (!rc && fc->next && claim_apply(db, fc->next) != RC_OK)
        log_warn("msg=\"job claim failed; the outcomes are kept\" claimed=%zu", fc->next->n);
    return rc;
}

struct prune {
    int64_t before;
    int64_t n;
};

static enum rc prune_apply(struct store_conn *db, void *ctx)
{
    struct prune *p = ctx;
    return core_job_prune(db, p->before, &p->n);
}

/* The kind of job, or NULL with res filled (dead) when it cannot run. */
static const struct core_job_kind *kind_to_run(struct core_job *job, struct core_job_result *res)
{
    memset(res, 0, sizeof(*res));
    const struct core_job_kind *k = core_job_kind_find(str_from_cstr(job->kind));
    if (!k) {
        res->outcome = CORE_JOB_DEAD;
        snprintf(res->error, sizeof(res->error), "unknown job kind");
        return NULL;
    }
    if (job->attempts > job->max_attempts) {
        /* claimed again after its lease expired, past its attempts */
        res->outcome = CORE_JOB_DEAD;
        snprintf(res->error, sizeof(res->error), "lease expired on the last attempt");
        return NULL;
    }
    if (!k->raw_payload && !job->payload) {
        job->payload = json_loadb(job->payload_text ? job->payload_text : "{}",
                                  job->payload_text ? job->payload_len : 2, 0, NULL);
        if (!json_is_object(job->payload)) {
            json_decref(job->payload);
            job->payload = json_object();
        }
    }
    return k;
}

/* After an attempt: when to try again (0: not again) and the log line. */
static void attempt_done(const struct core_job_kind *k, const struct core_job *job,
                         struct core_job_result *res, int64_t *next_run)
{
    *next_run = res->outcome == CORE_JOB_RETRY && k ? core_job_retry_at(k, job->attempts, res) : 0;
    if (res->outcome != CORE_JOB_DONE)
        log_info("msg=\"job attempt failed\" job=%s kind=%s attempt=%d/%d error=\"%s\"", job->id,
                 job->kind, job->attempts, job->max_attempts, res->error);
}

/* Runs a claimed batch. The jobs whose attempt is one HTTP request
 * (prepare/complete kinds) go out at once, each with its own timeout,
 * which --job-lease is warned to be well above; then the others run in
 * turn. One of those whose turn comes after half its lease is handed back
 * unrun (CORE_JOB_RELEASE), so a batch of slow jobs cannot outlive its
 * lease and have its tail run twice. */
static void run_batch(const struct core_job_env *env, int64_t lease_ms, struct core_job *jobs,
                      size_t n, struct core_job_result *results, int64_t *next_run)
{
    const struct core_job_kind *kinds[CLAIM_MAX];
    struct core_job_call *calls = xcalloc(n, sizeof(*calls));
    const struct net_http_out_req *reqs[CLAIM_MAX];
    struct net_http_out_resp *resps[CLAIM_MAX];
    size_t idx[CLAIM_MAX], ncalls = 0;
    for (size_t i = 0; i < n; i++) {
        kinds[i] = kind_to_run(&jobs[i], &results[i]);
        if (!kinds[i] || !kinds[i]->prepare)
            continue;
        struct core_job_call *c = &calls[ncalls];
        if (!kinds[i]->prepare(env, &jobs[i], c, &results[i])) {
            core_job_call_cleanup(c);
            memset(c, 0, sizeof(*c));
            continue;
        }
        reqs[ncalls] = &c->req;
        resps[ncalls] = &c->resp;
        idx[ncalls++] = i;
    }
    net_http_out_send_many(reqs, resps, ncalls);
    for (size_t k = 0; k < ncalls; k++) {
        size_t i = idx[k];
        kinds[i]->complete(env, &jobs[i], &calls[k], &results[i]);
        core_job_call_cleanup(&calls[k]);
    }
    xfree(calls);
    for (size_t i = 0; i < n; i++) {
        if (kinds[i] && !kinds[i]->prepare) {
            if (chrono_real_ms() - jobs[i].claimed_ms > lease_ms / 2) {
                results[i].outcome = CORE_JOB_RELEASE;
                continue;
            }
            kinds[i]->run(env, &jobs[i], &results[i]);
        }
        if (results[i].outcome != CORE_JOB_RELEASE)
            attempt_done(kinds[i], &jobs[i], &results[i], &next_run[i]);
        else
            next_run[i] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        bool is_first_of_kind = kinds[i] && kinds[i]->batch_end;
        for (size_t k = 0; k < i && is_first_of_kind; k++)
            is_first_of_kind = kinds[k] != kinds[i];
        if (is_first_of_kind)
            kinds[i]->batch_end();
    }
}

/* How soon a claim or a look at the schedules that failed is tried again. */
static int64_t retry_ms(const struct core_jobs *j)
{
    return j->cfg.poll_ms < RETRY_AFTER_FAILURE_MS ? j->cfg.poll_ms : RETRY_AFTER_FAILURE_MS;
}

/* How long an idle runner sleeps: until the next job is due (a delayed
 * job, a retry, an expired lease), the next prune or schedule slot, and at
 * most the poll interval. A new job needs no poll: the commit that enqueues
 * it, and the API's enqueue, wake the runners (core_jobs_wake). The poll
 * only catches what this process did not write (another instance sharing
 * the table); after a failed claim the runner tries again within
 * RETRY_AFTER_FAILURE_MS. */
static int64_t idle_ms(struct core_jobs *j, struct store_conn *db, enum rc claim_rc,
                       int64_t next_prune, int64_t next_schedules)
{
    int64_t now = chrono_real_ms(), due = -1;
    int64_t until = now + (claim_rc ? retry_ms(j) : j->cfg.poll_ms);
    if (!claim_rc && core_job_next_due(db, &due) == RC_OK && due >= 0 && due < until)
        until = due;
    if (j->cfg.retention_ms > 0 && next_prune < until)
        until = next_prune;
    if (next_schedules < until)
        until = next_schedules;
    return until > now ? until - now : 1;
}

static void *runner_main(void *arg)
{
    struct runner *r = arg;
    struct core_jobs *j = r->j;
    pthread_setname_np(pthread_self(), "tarmac-jobs");
    struct store_conn *db = NULL;
    if (store_open(j->db_path, STORE_OPEN_READ, &db) != RC_OK) {
        log_error("msg=\"job runner cannot open the database\" runner=%zu", r->index);
        xfree(r);
        return NULL;
    }
    struct core_job_env env = {.db = db,
                               .writer = j->writer,
                               .allow_private_network = j->cfg.allow_private_network,
                               .http_timeout_ms = j->cfg.http_timeout_ms,
                               .mailer = j->cfg.mailer,
                               .schema = j->host.schema,
                               .schema_ctx = j->host.schema_ctx,
                               .dir = j->host.dir,
                               .app_url = j->host.app_url,
                               .settings = j->host.settings,
                               .events = j->host.events,
                               .storage = j->host.storage};
    bool is_first = r->index == 0; /* runner 0 also prunes and fires schedules */
    int64_t next_prune = is_first ? chrono_real_ms() : INT64_MAX;
    int64_t next_schedules = is_first ? 0 : INT64_MAX, last_look = 0;
    uint64_t looked_at_wakes = 0;
    unsigned claim_failures = 0, schedule_failures = 0; /* in a row */
    /* Two claims, used in turn: the batch in hand and the next one, which
     * the commit of the batch's outcomes claims. */
    struct claim *claims[2] = {xcalloc(1, sizeof(struct claim)), xcalloc(1, sizeof(struct claim))};
    claims[0]->j = claims[1]->j = j;
    size_t cur = 0;
    struct claim *c = claims[cur];
    for (;;) {
        pthread_mutex_lock(&j->mu);
        uint64_t seen = j->wakes;
        bool is_stopping = j->is_stopping;
        pthread_mutex_unlock(&j->mu);
        if (is_stopping && c->n == 0)
            break; /* a batch claimed with the last outcomes is run first */
        /* A commit since the last look may have added or changed a schedule:
         * look again, at most once a SCHEDULE_EVERY_MS. */
        if (is_first && seen != looked_at_wakes && next_schedules > last_look + SCHEDULE_EVERY_MS)
            next_schedules = last_look + SCHEDULE_EVERY_MS;
        if (is_first && j->cfg.retention_ms > 0 && chrono_real_ms() >= next_prune) {
            struct prune p = {.before = chrono_real_ms() - j->cfg.retention_ms};
            if (store_writer_run(j->writer, prune_apply, &p) == RC_OK && p.n)
                log_info("msg=\"finished jobs pruned\" count=%lld", (long long)p.n);
            next_prune = chrono_real_ms() + PRUNE_EVERY_MS;
        }
        if (chrono_real_ms() >= next_schedules) {
            size_t fired = 0;
            int64_t next_slot = -1;
            last_look = chrono_real_ms();
            looked_at_wakes = seen;
            enum rc src = core_schedules_tick(db, j->writer, last_look, &fired, &next_slot);
            if (src && !schedule_failures++)
                log_warn("msg=\"schedules not looked at\" rc=%s", rc_name(src));
            if (!src)
                schedule_failures = 0;
            if (fired)
                log_info("msg=\"schedules fired\" count=%zu", fired);
            next_schedules = src             ? last_look + retry_ms(j)
                             : next_slot < 0 ? last_look + j->cfg.poll_ms
                                             : next_slot;
        }
        enum rc rc = RC_OK;
        if (c->n == 0)
            rc = store_writer_run(j->writer, claim_apply, c);
        if (!rc && claim_failures) {
            log_info("msg=\"job claims work again\" failed=%u", claim_failures);
            claim_failures = 0;
        }
        if (rc || c->n == 0) {
            if (rc) {
                if (!claim_failures++) /* once, not every retry while the database is away */
                    log_warn("msg=\"job claim failed\" rc=%s", rc_name(rc));
                for (size_t i = 0; i < c->n; i++) /* rolled back: none of them is ours */
                    core_job_cleanup(&c->jobs[i]);
                c->n = 0;
            }
            if (!sleep_until_woken(j, seen, idle_ms(j, db, rc, next_prune, next_schedules)))
                break;
            continue;
        }
        struct core_job_result results[CLAIM_MAX];
        int64_t next_run[CLAIM_MAX];
        run_batch(&env, j->cfg.lease_ms, c->jobs, c->n, results, next_run);
        pthread_mutex_lock(&j->mu);
        bool is_stopping_now = j->is_stopping;
        pthread_mutex_unlock(&j->mu);
        struct claim *next = claims[1 - cur];
        struct finish_claim fc = {
            .f = {.jobs = c->jobs, .results = results, .next_run = next_run, .n = c->n},
            .next = is_stopping_now ? NULL : next};
        rc = store_writer_run(j->writer, finish_claim_apply, &fc);
        if (rc) {
            log_error("msg=\"job outcomes not recorded: the leases will expire\" rc=%s",
                      rc_name(rc));
            for (size_t i = 0; i < next->n; i++) /* rolled back with the outcomes */
                core_job_cleanup(&next->jobs[i]);
            next->n = 0;
        }
        for (size_t i = 0; i < c->n; i++)
            core_job_cleanup(&c->jobs[i]);
        c->n = 0;
        cur = 1 - cur;
        c = claims[cur];
    }
    for (size_t k = 0; k < 2; k++) {
        /* Claimed and not run (a stop between batches): their leases expire
         * and another runner, or the next start, takes them. */
        for (size_t i = 0; i < claims[k]->n; i++)
            core_job_cleanup(&claims[k]->jobs[i]);
        xfree(claims[k]);
    }
    store_close(db);
    xfree(r);
    return NULL;
}

void core_jobs_start(struct core_jobs *j, const struct core_jobs_config *cfg)
{
    j->cfg = *cfg;
    if (j->cfg.poll_ms <= 0)
        j->cfg.poll_ms = CORE_JOBS_DEFAULT_POLL_MS;
    if (j->cfg.lease_ms <= 0)
        j->cfg.lease_ms = CORE_JOBS_DEFAULT_LEASE_MS;
    if (j->cfg.lease_ms <= 2 * j->cfg.http_timeout_ms)
        log_warn("msg=\"--job-lease is not well above --job-http-timeout: a slow delivery may be "
                 "claimed again and sent twice\" lease_ms=%lld http_timeout_ms=%lld",
                 (long long)j->cfg.lease_ms, (long long)j->cfg.http_timeout_ms);
    net_http_out_global_init();
    j->threads = xcalloc(cfg->runners ? cfg->runners : 1, sizeof(*j->threads));
    for (size_t i = 0; i < cfg->runners; i++) {
        struct runner *r = xcalloc(1, sizeof(*r));
        r->j = j;
        r->index = i;
        if (pthread_create(&j->threads[j->thread_count], NULL, runner_main, r) != 0) {
            xfree(r);
            log_error("msg=\"job runner thread not started\" runner=%zu", i);
            continue;
        }
        j->thread_count++;
    }
}

void core_jobs_free(struct core_jobs *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    j->is_stopping = true;
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->mu);
    for (size_t i = 0; i < j->thread_count; i++)
        pthread_join(j->threads[i], NULL);
    xfree(j->threads);
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->mu);
    xfree(j);
}
