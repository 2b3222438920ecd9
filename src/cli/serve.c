/* serve.c -- `tarmac serve`: read the flags, build the route table, start the
 * workers, wait for SIGTERM/SIGINT, drain, exit 0. */
#include "cli/cli.h"
#include "cli/metrics_listen.h"
#include "cli/settings.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "api/errors.h"
#include "api/ratelimit.h"
#include "api/realtime.h"
#include "api/records.h"
#include "api/routes.h"
#include "api/worker.h"
#include "core/app.h"
#include "core/backup/backup.h"
#include "core/backup/restore.h"
#include "core/record/vector_index.h"
#include "core/cluster_app.h"
#include "core/logs.h"
#include "core/credential/password.h"
#include "core/files/thumb.h"
#include "core/task.h"
#include "core/hooks/hooks.h"
#include "core/migrate.h"
#include "core/settings_change.h"
#include "api/handlers.h"
#include "base/alloc.h"
#include "base/cidr.h"
#include "base/log.h"
#include "http/cors.h"
#include "http/metrics.h"
#include "http/proxy.h"
#include "http/router.h"
#include "http/server.h"
#include "net/conn.h"
#include "net/logsink.h"
#include "net/mailer.h"
#include "core/jobs/runner.h"
#include "net/worker.h"
#include "store/fault.h"

struct serve_options {
    const char *http;
    const char *dir;
    const char *db;          /* "" = SQLite in dir */
    const char *redis;       /* "" = one instance, nothing shared */
    const char *storage_dir; /* "" = <dir>/storage */
    uint64_t workers;
    uint64_t db_max_conns;
    const char *db_pooler; /* auto, transaction or session */
    const char *log_level;
    const char *log_format;
    bool is_access_log;
    const char *cors;
    const char *rate_limits;
    const char *app_name;
    const char *app_url;
    const char *smtp_host;
    uint64_t smtp_port;
    const char *smtp_username;
    const char *smtp_password;
    const char *smtp_sender;
    const char *smtp_sender_name;
    bool is_smtp_tls_required;
    uint64_t argon2_memory;
    uint64_t argon2_time;
    uint64_t max_body;
    uint64_t max_header;
    uint64_t max_target;
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t body_deadline_ms;
    uint64_t idle_timeout_ms;
    uint64_t write_timeout_ms;
    uint64_t grace_ms;
    uint64_t max_conns; /* MAX_CONNS_AUTO: from the descriptor limit */
    uint64_t max_conns_per_ip;
    uint64_t realtime_idle_ms;
    uint64_t realtime_max_age_ms;
    uint64_t realtime_ping_ms;
    uint64_t batch_max_requests;
    uint64_t batch_timeout_ms;
    uint64_t query_budget_ms;
    uint64_t query_budget_superuser_ms;
    uint64_t vector_index_min_rows;
    uint64_t realtime_budget_ms;
    uint64_t max_expand;
    uint64_t max_expand_bytes;
    uint64_t realtime_max_subs;
    uint64_t realtime_max_subs_ip;
    const char *trusted_proxies;
    const char *proxy_header;
    const char *proxy_ip;
    const char *metrics_addr;
    bool allow_private_network;
    uint64_t logs_max_days;
    const char *logs_min_level;
    bool is_logs_ip;
    bool is_logs_auth_id;
    uint64_t job_runners;
    uint64_t job_retention_ms;
    uint64_t job_lease_ms;
    uint64_t job_http_timeout_ms;
    uint64_t job_poll_ms;
    const char *hooks_dir;
    bool dev;
    uint64_t hooks_budget_ms;
    uint64_t hooks_memory;
    bool is_automigrate;
    const char *migrations_dir;
};

/* --max-conns not given: net_default_max_conns() picks it. */
#define MAX_CONNS_AUTO UINT64_MAX

/* Splits "host:port", "[v6]:port" or ":port". */
static bool split_host_port(const char *s, char *host, size_t host_cap, int *port)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return false;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return false;
        hl = (size_t)(colon - s);
    }
    if (hl >= host_cap)
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    uint64_t p;
    if (!str_to_u64(str_from_cstr(colon + 1), &p) || p > 65535)
        return false;
    *port = (int)p;
    return true;
}

/* A header name: RFC 9110 token characters. */
static bool is_header_name(const char *s)
{
    for (; *s; s++) {
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return false;
    }
    return true;
}

/* Per-process wiring shared by the worker hooks (read-only once workers run). */
struct serve_app {
    struct http_server_config http;
    struct core_app *core;
    unsigned db_conns; /* per worker, on PostgreSQL */
};

static struct api_worker *api_worker(struct net_worker *w)
{
    return w->user;
}

static void hook_start(struct net_worker *w, void *ctx)
{
    struct serve_app *app = ctx;
    struct api_worker *aw = xcalloc(1, sizeof(*aw));
    aw->http = http_server_new(w, &app->http);
    list_init(&aw->rt_conns);
    if (core_worker_init(&aw->core, app->core, w->mailbox) != RC_OK ||
        core_worker_start_tasks(&aw->core, &w->loop, app->db_conns) != RC_OK)
        log_error("msg=\"worker cannot open the database\" worker=%u", w->id);
    core_cluster_app_attach(&aw->core, w->id, &w->loop, w->mailbox);
    if (aw->core.tasks) /* writer replies and the like wait as tasks too */
        net_mailbox_set_runner(w->mailbox, core_task_run_mail, aw->core.tasks);
    w->user = aw;
}

static void hook_conn(struct net_worker *w, struct net_conn *c, void *ctx)
{
    (void)ctx;
    http_server_take_conn(api_worker(w)->http, c);
}

static void hook_tick(struct net_worker *w, void *ctx)
{
    (void)ctx;
    http_server_tick(api_worker(w)->http);
    api_realtime_tick(api_worker(w), uv_now(&w->loop));
}

static void hook_stop(struct net_worker *w, void *ctx)
{
    (void)ctx;
    core_worker_stop(&api_worker(w)->core);
    http_server_drain(api_worker(w)->http);
}

static bool hook_is_busy(struct net_worker *w, void *ctx)
{
    (void)ctx;
    struct api_worker *aw = api_worker(w);
    return http_server_is_busy(aw->http) || core_worker_is_busy(&aw->core) ||
           api_worker_is_busy(aw);
}

static void hook_iteration_end(struct net_worker *w, void *ctx)
{
    (void)ctx;
    struct api_worker *aw = api_worker(w);
    if (aw) {
        core_cost_leave_any(&aw->core);
        core_worker_end_read(&aw->core);
    }
}

static void hook_exit(struct net_worker *w, void *ctx)
{
    (void)ctx;
    struct api_worker *aw = api_worker(w);
    net_mailbox_set_runner(w->mailbox, NULL, NULL); /* the tasks go below */
    core_cluster_app_detach(&aw->core);
    http_server_free(aw->http);
    api_hooks_worker_cleanup(aw);
    core_worker_cleanup(&aw->core);
    xfree(aw);
    w->user = NULL;
}

/* The trusted proxies the workers read (http/proxy.h's slot), replaced whole
 * when the settings change (on the writer thread, core_app_swap_settings);
 * replaced configurations stay until the process ends, as a worker may
 * still read one. */
struct proxy_slots {
    struct http_proxy_slot slot;
    _Atomic(const struct cidr_list *) exempt; /* the per-IP connection cap's */
    struct http_proxy_config **all;
    size_t count;
};

static void apply_proxy_settings(const struct core_settings *s, void *ctx)
{
    struct proxy_slots *p = ctx;
    struct http_proxy_config *c = xcalloc(1, sizeof(*c));
    size_t n = s->proxy.proxies.count;
    c->trusted.nets = xcalloc(n ? n : 1, sizeof(*c->trusted.nets));
    if (n)
        memcpy(c->trusted.nets, s->proxy.proxies.nets, n * sizeof(*c->trusted.nets));
    c->trusted.count = n;
    snprintf(c->header, sizeof(c->header), "%s", s->proxy.header);
    c->is_leftmost = s->proxy.is_leftmost;
    p->all = xrealloc(p->all, (p->count + 1) * sizeof(*p->all));
    p->all[p->count++] = c;
    atomic_store_explicit(&p->slot.current, c, memory_order_release);
    atomic_store_explicit(&p->exempt, &c->trusted, memory_order_release);
}

static void logs_config_of(const struct core_settings *s, struct core_logs_config *c)
{
    c->max_days = s->logs.max_days;
    c->min_level = s->logs.min_level;
    c->log_ip = s->logs.is_ip;
    c->log_auth_id = s->logs.is_auth_id;
}

/* core_app's on_settings: what serve keeps outside core follows a change. */
static void apply_settings(const struct core_settings *s, void *ctx)
{
    apply_proxy_settings(s, ctx);
    struct core_logs_config logs;
    logs_config_of(s, &logs);
    core_logs_configure(&logs);
}

static void proxy_slots_cleanup(struct proxy_slots *p)
{
    for (size_t i = 0; i < p->count; i++) {
        cidr_list_cleanup(&p->all[i]->trusted);
        xfree(p->all[i]);
    }
    xfree(p->all);
    p->all = NULL;
    p->count = 0;
}

struct signal_state {
    uv_signal_t term;
    uv_signal_t intr;
    uv_signal_t hup;
    uv_fs_event_t watch; /* --dev: the hooks folder */
    uv_timer_t settle;   /* a reload waits for a burst of changes to end */
    bool is_watching;
    struct core_app *core;
    struct net_workers *workers;
    struct cli_metrics_listener *metrics; /* --metrics-addr; NULL when off */
    /* A staged restore asks for a restart (core_backups_restart, on a
     * worker): the async wakes this loop, which stops the server as for
     * SIGTERM; then the restore is committed and the process runs again. */
    uv_async_t restart;
    pthread_mutex_t restart_mu;
    bool is_restart_closed; /* under restart_mu: no more uv_async_send */
    bool is_restarting;
};

static void reload_scripts(struct signal_state *st)
{
    char err[512];
    if (core_hooks_reload(st->core->hooks, err, sizeof(err)) != RC_OK) {
        log_error("msg=\"scripts not reloaded: the running ones stay\" error=\"%s\"", err);
    } else {
        log_info("msg=\"scripts reloaded\"");
        core_cluster_app_hooks_reloaded(st->core); /* --redis: the other instances too */
    }
}

/* SIGHUP: the scripts load again; when they fail, the running ones stay. */
static void on_hangup(uv_signal_t *h, int signum)
{
    (void)signum;
    reload_scripts(h->data);
}

/* --dev: a script changed. An editor's save is several events (a temporary
 * file, a rename): the reload runs once they have been quiet for 150 ms. */
static void on_settled(uv_timer_t *t)
{
    reload_scripts(t->data);
}

static void on_hooks_change(uv_fs_event_t *h, const char *name, int events, int status)
{
    (void)events;
    struct signal_state *st = h->data;
    size_t n = name ? strlen(name) : 0;
    if (status == 0 && name && (n < 4 || strcmp(name + n - 4, ".lua") != 0))
        return;
    uv_timer_start(&st->settle, on_settled, 150, 0);
}

static void watch_scripts(uv_loop_t *loop, struct signal_state *st, const char *dir)
{
    uv_fs_event_init(loop, &st->watch);
    uv_timer_init(loop, &st->settle);
    st->watch.data = st;
    st->settle.data = st;
    st->is_watching = true;
    int rc = uv_fs_event_start(&st->watch, on_hooks_change, dir, 0);
    if (rc)
        log_warn("msg=\"--dev: the scripts folder is not watched\" dir=%s error=\"%s\"", dir,
                 uv_strerror(rc));
    else
        log_info("msg=\"--dev: scripts reload when a .lua file changes\" dir=%s", dir);
}

static void stop_serving(struct signal_state *st)
{
    net_workers_stop(st->workers);
    cli_metrics_close(st->metrics);
    st->metrics = NULL;
    uv_close((uv_handle_t *)&st->term, NULL);
    uv_close((uv_handle_t *)&st->intr, NULL);
    uv_close((uv_handle_t *)&st->hup, NULL);
    if (st->is_watching) {
        uv_close((uv_handle_t *)&st->watch, NULL);
        uv_close((uv_handle_t *)&st->settle, NULL);
    }
    pthread_mutex_lock(&st->restart_mu);
    st->is_restart_closed = true;
    uv_close((uv_handle_t *)&st->restart, NULL);
    pthread_mutex_unlock(&st->restart_mu);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct signal_state *st = h->data;
    log_info("msg=\"stopping\" signal=%s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    stop_serving(st);
}

static void on_restart(uv_async_t *h)
{
    struct signal_state *st = h->data;
    if (st->is_restart_closed)
        return;
    log_info("msg=\"stopping to apply the restore, then starting again\"");
    st->is_restarting = true;
    stop_serving(st);
}

/* core_backups_on_restart's callback: any thread. */
static void request_restart(void *ctx)
{
    struct signal_state *st = ctx;
    pthread_mutex_lock(&st->restart_mu);
    if (!st->is_restart_closed)
        uv_async_send(&st->restart);
    pthread_mutex_unlock(&st->restart_mu);
}

/* After a restore was staged and the server stopped: commits it with the
 * database closed (core/backup/restore.h), then runs this binary again with
 * the same arguments, as PocketBase restarts itself -- plus the address it
 * was listening on when it picked a free port (port 0), so clients find it
 * again. The directory's lock is held until the exec (it is close-on-exec;
 * the new process takes it again). A commit that fails before its commit
 * point leaves the data as it was; after it, the new process's start
 * finishes it. Returns only when the exec failed. */
static int restart_after_restore(int argc, char **argv, const char *dir, const char *target,
                                 const char *host, int port, bool was_port_zero)
{
    char err[600];
    if (core_restore_commit(dir, target, err, sizeof(err)) != RC_OK)
        log_error("msg=\"the restore was not applied\" error=\"%s\"", err);
    else
        log_info("msg=\"restore applied\" dir=%s", dir);
    char http[300];
    bool is_v6 = strchr(host, ':') != NULL;
    snprintf(http, sizeof(http), "--http=%s%s%s:%d", is_v6 ? "[" : "", host[0] ? host : "0.0.0.0",
             is_v6 ? "]" : "", port);
    char **args = xcalloc((size_t)argc + 3, sizeof(char *));
    int n = 0;
    args[n++] = program_invocation_name;
    for (int i = 0; i < argc; i++)
        args[n++] = argv[i];
    if (was_port_zero)
        args[n++] = http;
    args[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    setenv("TARMAC_RESTORED", "1", 1); /* the new process tells other instances (--redis) */
    execv("/proc/self/exe", args);
    fprintf(stderr, "tarmac serve: cannot run again after the restore: %s\n", strerror(errno));
    xfree(args);
    return CLI_EXIT_FAILURE;
}

static void log_applied(const char *file, bool is_up, void *ctx)
{
    (void)is_up;
    (void)ctx;
    log_info("msg=\"migration applied\" file=%s", file);
}

/* --automigrate: the pending migrations, before anything serves; without
 * it, a line saying how many wait. */
static int migrate_at_start(struct core_app *core, const struct serve_options *o)
{
    char dir[4096];
    if (o->migrations_dir[0])
        snprintf(dir, sizeof(dir), "%s", o->migrations_dir);
    else
        snprintf(dir, sizeof(dir), "%s/../tarmac_migrations", o->dir);
    if (!o->is_automigrate) {
        long pending = core_migrate_pending(core, dir);
        if (pending > 0)
            log_info("msg=\"migrations pending: tarmac migrate up, or serve --automigrate\" "
                     "dir=%s count=%ld",
                     dir, pending);
        return CLI_EXIT_OK;
    }
    char err[1536];
    size_t done = 0;
    if (core_migrate_up(core, dir, 0, log_applied, NULL, &done, err, sizeof(err)) != RC_OK) {
        fprintf(stderr, "tarmac serve: --automigrate: %s\n", err);
        return CLI_EXIT_FAILURE;
    }
    if (done)
        log_info("msg=\"migrations applied\" dir=%s count=%zu", dir, done);
    return CLI_EXIT_OK;
}

int cli_serve(int argc, char **argv)
{
    struct serve_options o = {
        .http = "127.0.0.1:8090",
        .dir = "./tarmac_data",
        .db = "",
        .redis = "",
        .workers = 0,
        .log_level = "info",
        .log_format = "text",
        .is_access_log = true,
        .cors = "*",
        .rate_limits = "",
        .app_name = "tarmac",
        .app_url = "",
        .smtp_host = "",
        .smtp_username = "",
        .smtp_password = "",
        .smtp_sender = "no-reply@example.com",
        .smtp_sender_name = "",
        .argon2_memory = 19456u * 1024u,
        .argon2_time = 2,
        .max_body = 32u << 20,
        .max_header = 64u << 10,
        .max_target = 8u << 10,
        .header_timeout_ms = 10000,
        .body_timeout_ms = 30000,
        .body_deadline_ms = 5 * 60 * 1000,
        .idle_timeout_ms = 60000,
        .write_timeout_ms = 30000,
        .grace_ms = 10000,
        .max_conns = MAX_CONNS_AUTO,
        .max_conns_per_ip = 256,
        .realtime_idle_ms = 5 * 60 * 1000,
        .realtime_max_age_ms = 0, /* off: PocketBase has no such limit */
        .realtime_ping_ms = 25 * 1000,
        .batch_max_requests = 50,
        .batch_timeout_ms = 3000,
        .trusted_proxies = "",
        .proxy_header = "X-Forwarded-For",
        .proxy_ip = "rightmost",
        .metrics_addr = "",
    };
    struct cli_settings_flags sf = {0};
    struct proxy_slots proxies = {0};
    struct core_limits limits_default;
    core_limits_defaults(&limits_default);
    o.query_budget_ms = limits_default.budget_ns / 1000000;
    o.query_budget_superuser_ms = limits_default.superuser_budget_ns / 1000000;
    o.vector_index_min_rows = CORE_VECTORS_DEFAULT_MIN_ROWS;
    o.realtime_budget_ms = limits_default.realtime_budget_ns / 1000000;
    o.max_expand = limits_default.max_expand;
    o.max_expand_bytes = limits_default.max_expand_bytes;
    o.realtime_max_subs = limits_default.realtime_max_subs;
    o.realtime_max_subs_ip = limits_default.realtime_max_subs_ip;
    struct core_jobs_config jobs_default;
    core_jobs_config_defaults(&jobs_default);
    o.job_runners = jobs_default.runners;
    o.job_retention_ms = (uint64_t)jobs_default.retention_ms;
    o.job_lease_ms = (uint64_t)jobs_default.lease_ms;
    o.job_http_timeout_ms = (uint64_t)jobs_default.http_timeout_ms;
    o.job_poll_ms = (uint64_t)jobs_default.poll_ms;
    o.hooks_dir = "";
    o.storage_dir = "";
    o.db_pooler = "auto";
    o.hooks_budget_ms = 250;
    o.hooks_memory = 64u << 20;
    o.migrations_dir = "";
    struct core_logs_config logs_default;
    core_logs_config_defaults(&logs_default);
    o.logs_max_days = (uint64_t)logs_default.max_days;
    o.logs_min_level = "0";
    o.is_logs_ip = logs_default.log_ip;
    o.is_logs_auth_id = logs_default.log_auth_id;
    const struct cli_flag flags[] = {
        {"http", CLI_FLAG_STRING, &o.http, "ADDR",
         "listen address host:port (default 127.0.0.1:8090; port 0 picks a free one)"},
        {"dir", CLI_FLAG_STRING, &o.dir, "DIR", "data directory (default ./tarmac_data)"},
        {"db", CLI_FLAG_STRING, &o.db, "URL",
         "the database: empty = SQLite in the data directory (default); a PostgreSQL URL "
         "(postgresql://user:pass@host:5432/app?sslmode=require) = PostgreSQL 15+"},
        {"redis", CLI_FLAG_STRING, &o.redis, "URL",
         "Redis shared by several instances on one PostgreSQL database (realtime, rate limits, "
         "schema and settings changes): redis://[:password@]host:6379/0 or "
         "unix:///path/redis.sock; required when more than one instance serves a database "
         "(default none: this instance is the only one)"},
        {"storage-dir", CLI_FLAG_STRING, &o.storage_dir, "DIR",
         "uploaded files and their thumbnails: a directory every instance of a deployment "
         "shares (a mounted volume, NFS); made when missing (default DIR/storage)"},
        {"db-max-conns", CLI_FLAG_UINT, &o.db_max_conns, "N",
         "PostgreSQL connections of each worker's pool (default: 64 / workers, 2 to 8)"},
        {"db-pooler", CLI_FLAG_STRING, &o.db_pooler, "MODE",
         "what is between tarmac and PostgreSQL: transaction = a pooler that shares server "
         "sessions between transactions (PgBouncer's pool_mode = transaction: nothing is kept "
         "on a session), session = a server session per connection (PostgreSQL itself, "
         "pool_mode = session), auto = asked at start (default auto)"},
        {"workers", CLI_FLAG_UINT, &o.workers, "N",
         "worker threads, one loop each (default: CPUs available)"},
        {"log-level", CLI_FLAG_STRING, &o.log_level, "LEVEL",
         "debug, info, warn or error (default info)"},
        {"log-format", CLI_FLAG_STRING, &o.log_format, "FORMAT",
         "text (key=value lines, default) or json (one object per line, the same keys)"},
        {"access-log", CLI_FLAG_BOOL, &o.is_access_log, "BOOL",
         "one log line per request at info level (default true)"},
        {"logs-max-days", CLI_FLAG_UINT, &o.logs_max_days, "N",
         "days the request log (GET /api/logs, <dir>/auxiliary.db) keeps entries; "
         "0 = no request log (default 5)",
         &sf.given.logs_max_days},
        {"logs-min-level", CLI_FLAG_STRING, &o.logs_min_level, "LEVEL",
         "lowest level kept in the request log: -4 debug, 0 info, 4 warn, 8 error (default 0)",
         &sf.given.logs_min_level},
        {"logs-ip", CLI_FLAG_BOOL, &o.is_logs_ip, "BOOL",
         "keep the client's IP in the request log (default true)", &sf.given.logs_ip},
        {"logs-auth-id", CLI_FLAG_BOOL, &o.is_logs_auth_id, "BOOL",
         "keep the requester's id in the request log (default false)", &sf.given.logs_auth_id},
        {"cors", CLI_FLAG_STRING, &o.cors, "ORIGINS",
         "allowed origins, comma-separated, or * (default *)"},
        {"rate-limits", CLI_FLAG_STRING, &o.rate_limits, "RULES",
         "e.g. auth-ip=1000/10s,auth-identity=20/60s,/api/=300/10s (0 turns one off)",
         &sf.given.rate_limits},
        {"app-name", CLI_FLAG_STRING, &o.app_name, "NAME", "in mail subjects (default tarmac)",
         &sf.given.app_name},
        {"app-url", CLI_FLAG_STRING, &o.app_url, "URL",
         "base of the links in mails (default http://<--http>)", &sf.given.app_url},
        {"smtp-host", CLI_FLAG_STRING, &o.smtp_host, "HOST",
         "SMTP server; without it mails are written to the log", &sf.given.smtp_host},
        {"smtp-port", CLI_FLAG_UINT, &o.smtp_port, "PORT", "SMTP port (default 587, 465 for TLS)",
         &sf.given.smtp_port},
        {"smtp-username", CLI_FLAG_STRING, &o.smtp_username, "USER", "SMTP AUTH user",
         &sf.given.smtp_username},
        {"smtp-password", CLI_FLAG_STRING, &o.smtp_password, "PASS", "SMTP AUTH password",
         &sf.given.smtp_password},
        {"smtp-sender", CLI_FLAG_STRING, &o.smtp_sender, "ADDR", "From address",
         &sf.given.smtp_sender},
        {"smtp-sender-name", CLI_FLAG_STRING, &o.smtp_sender_name, "NAME", "From name",
         &sf.given.smtp_sender_name},
        {"smtp-tls", CLI_FLAG_BOOL, &o.is_smtp_tls_required, "BOOL",
         "require STARTTLS (default: used when offered)"},
        {"argon2-memory", CLI_FLAG_SIZE, &o.argon2_memory, "SIZE",
         "argon2id memory per password hash (default 19MiB, OWASP's minimum)"},
        {"argon2-time", CLI_FLAG_UINT, &o.argon2_time, "N", "argon2id passes (default 2)"},
        {"max-body", CLI_FLAG_SIZE, &o.max_body, "SIZE", "largest request body (default 32MiB)"},
        {"max-header", CLI_FLAG_SIZE, &o.max_header, "SIZE",
         "largest request head (default 64KiB)"},
        {"max-target", CLI_FLAG_SIZE, &o.max_target, "SIZE",
         "longest request target (default 8KiB)"},
        {"header-timeout", CLI_FLAG_DURATION, &o.header_timeout_ms, "DUR",
         "time to send a request head (default 10s)"},
        {"body-timeout", CLI_FLAG_DURATION, &o.body_timeout_ms, "DUR",
         "longest pause inside a request body (default 30s)"},
        {"body-deadline", CLI_FLAG_DURATION, &o.body_deadline_ms, "DUR",
         "longest time for a whole request body, 408 after; 0 = no limit (default 5m)"},
        {"idle-timeout", CLI_FLAG_DURATION, &o.idle_timeout_ms, "DUR",
         "keep-alive wait for the next request (default 60s)"},
        {"write-timeout", CLI_FLAG_DURATION, &o.write_timeout_ms, "DUR",
         "longest stall of a response write (default 30s)"},
        {"grace", CLI_FLAG_DURATION, &o.grace_ms, "DUR",
         "on SIGTERM, time for in-flight requests (default 10s)"},
        {"max-conns", CLI_FLAG_UINT, &o.max_conns, "N",
         "most connections open at once, then accepting waits; 0 = no cap "
         "(default: from the descriptor limit, logged at start)"},
        {"max-conns-per-ip", CLI_FLAG_UINT, &o.max_conns_per_ip, "N",
         "most connections from one IPv4 address or IPv6 /64, more are closed at once; "
         "0 = no cap (default 256)"},
        {"realtime-idle", CLI_FLAG_DURATION, &o.realtime_idle_ms, "DUR",
         "close a realtime stream without a message this long (default 5m)"},
        {"realtime-max-age", CLI_FLAG_DURATION, &o.realtime_max_age_ms, "DUR",
         "close any realtime stream this old (default 0 = never)"},
        {"realtime-ping", CLI_FLAG_DURATION, &o.realtime_ping_ms, "DUR",
         "keep-alive on a quiet realtime stream (default 25s)"},
        {"batch-max-requests", CLI_FLAG_UINT, &o.batch_max_requests, "N",
         "most requests in one POST /api/batch; 0 turns batches off (default 50)",
         &sf.given.batch_max_requests},
        {"batch-timeout", CLI_FLAG_DURATION, &o.batch_timeout_ms, "DUR",
         "a batch not done by then fails and rolls back; 0 = no limit (default 3s)",
         &sf.given.batch_timeout},
        {"query-budget", CLI_FLAG_DURATION, &o.query_budget_ms, "DUR",
         "worker time one request of a guest or user may take (SQL and JSON), else 400; "
         "0 = no limit (default 1s)"},
        {"query-budget-superuser", CLI_FLAG_DURATION, &o.query_budget_superuser_ms, "DUR",
         "the same for a superuser's request (default 5s)"},
        {"vector-index-min-rows", CLI_FLAG_UINT, &o.vector_index_min_rows, "N",
         "nearest lists use a vector field's approximate index (HNSW) from this many vectors "
         "on; fewer are scanned exactly (default 10000)"},
        {"realtime-budget", CLI_FLAG_DURATION, &o.realtime_budget_ms, "DUR",
         "worker time one event's rule checks may take for the realtime clients of one IP; "
         "0 = no limit (default 100ms)"},
        {"max-expand", CLI_FLAG_UINT, &o.max_expand, "N",
         "records expand may add to one response, else 400; 0 = no cap (default 10000)"},
        {"max-expand-bytes", CLI_FLAG_SIZE, &o.max_expand_bytes, "SIZE",
         "their size as stored, per response; 0 = no cap (default 32MiB)"},
        {"realtime-max-subs", CLI_FLAG_UINT, &o.realtime_max_subs, "N",
         "subscriptions of one realtime client, 1..1000 (default 1000)"},
        {"realtime-max-subs-ip", CLI_FLAG_UINT, &o.realtime_max_subs_ip, "N",
         "subscriptions of all the realtime clients of one IP; 0 = no cap (default 2000)"},
        {"trusted-proxies", CLI_FLAG_STRING, &o.trusted_proxies, "CIDRS",
         "reverse proxies whose --proxy-header names the client, e.g. 10.0.0.0/8,::1 "
         "(default none: the TCP peer is the client)",
         &sf.given.trusted_proxies},
        {"proxy-header", CLI_FLAG_STRING, &o.proxy_header, "NAME",
         "where a trusted proxy puts the client's address: X-Forwarded-For, X-Real-IP, "
         "CF-Connecting-IP, ... (default X-Forwarded-For)",
         &sf.given.proxy_header},
        {"proxy-ip", CLI_FLAG_STRING, &o.proxy_ip, "WHICH",
         "rightmost: the last address not a trusted proxy (safe); leftmost: the first, "
         "for proxies that overwrite the header (default rightmost)",
         &sf.given.proxy_ip},
        {"metrics-addr", CLI_FLAG_STRING, &o.metrics_addr, "ADDR",
         "also serve GET /metrics (Prometheus, no auth) on this host:port "
         "(default off; /api/metrics needs a superuser)"},
        {"allow-private-network", CLI_FLAG_BOOL, &o.allow_private_network, "BOOL",
         "let webhook and http jobs and OAuth2 pictures reach loopback, private and "
         "link-local addresses (default false)"},
        {"job-runners", CLI_FLAG_UINT, &o.job_runners, "N",
         "threads that run background jobs; 0 = none (default 2)"},
        {"job-retention", CLI_FLAG_DURATION, &o.job_retention_ms, "DUR",
         "keep finished jobs this long; 0 = forever (default 7d = 168h)"},
        {"job-lease", CLI_FLAG_DURATION, &o.job_lease_ms, "DUR",
         "a claimed job is claimed again when its runner has not finished it by then "
         "(default 5m)"},
        {"job-http-timeout", CLI_FLAG_DURATION, &o.job_http_timeout_ms, "DUR",
         "timeout of one webhook or http job request (default 10s)"},
        {"job-poll", CLI_FLAG_DURATION, &o.job_poll_ms, "DUR",
         "longest sleep of an idle runner (default 1m): commits and enqueues wake it, and it "
         "sleeps only until the next delayed job, retry or expired lease"},
        {"hooks-dir", CLI_FLAG_STRING, &o.hooks_dir, "DIR",
         "the Lua scripts (*.lua): routes and record hooks; SIGHUP reloads them "
         "(default DIR/../tarmac_hooks)"},
        {"dev", CLI_FLAG_BOOL, &o.dev, "BOOL",
         "development: reload the scripts when a .lua file of --hooks-dir changes "
         "(default false)"},
        {"hooks-budget", CLI_FLAG_DURATION, &o.hooks_budget_ms, "DUR",
         "CPU time one script call may take before it is stopped (default 250ms)"},
        {"hooks-memory", CLI_FLAG_SIZE, &o.hooks_memory, "SIZE",
         "memory one thread's scripts may hold (default 64MiB)"},
        {"automigrate", CLI_FLAG_BOOL, &o.is_automigrate, "BOOL",
         "apply the pending migrations before serving; one that fails stops the start "
         "(default false)"},
        {"migrations-dir", CLI_FLAG_STRING, &o.migrations_dir, "DIR",
         "the migration files (tarmac migrate; default DIR/../tarmac_migrations)"},
    };
    const int nflags = (int)(sizeof(flags) / sizeof(flags[0]));
    bool wants_help = false;
    int code = cli_parse_flags("serve", flags, nflags, argc - 1, argv + 1, &wants_help);
    if (code)
        return code;
    if (wants_help) {
        printf("Usage: tarmac serve [flags]\n\nStarts the HTTP server.\n\nFlags:\n");
        cli_print_flags(flags, nflags);
        return CLI_EXIT_OK;
    }
    enum log_level level;
    if (!log_level_parse(o.log_level, &level)) {
        fprintf(stderr, "tarmac serve: invalid --log-level \"%s\" (debug, info, warn, error)\n",
                o.log_level);
        return CLI_EXIT_USAGE;
    }
    enum log_format log_fmt;
    if (!log_format_parse(o.log_format, &log_fmt)) {
        fprintf(stderr, "tarmac serve: invalid --log-format \"%s\" (text, json)\n", o.log_format);
        return CLI_EXIT_USAGE;
    }
    /* --redis: checked before anything opens (exit 1, the password never shown). */
    struct store_redis_target redis_target = {0};
    if (o.redis[0]) {
        char why[400];
        if (store_redis_parse_url(o.redis, &redis_target, why, sizeof(why)) != RC_OK) {
            fprintf(stderr, "tarmac serve: %s\n", why);
            return CLI_EXIT_FAILURE;
        }
        if (!o.db[0]) {
            fprintf(stderr, "tarmac serve: --redis needs --db (PostgreSQL): instances cannot "
                            "share an SQLite data directory\n");
            return CLI_EXIT_FAILURE;
        }
    }
    char host[256];
    int port;
    if (!split_host_port(o.http, host, sizeof(host), &port)) {
        fprintf(stderr, "tarmac serve: invalid --http \"%s\" (expected host:port)\n", o.http);
        return CLI_EXIT_USAGE;
    }
    char metrics_host[256];
    int metrics_port = 0;
    if (o.metrics_addr[0] &&
        !split_host_port(o.metrics_addr, metrics_host, sizeof(metrics_host), &metrics_port)) {
        fprintf(stderr, "tarmac serve: invalid --metrics-addr \"%s\" (expected host:port)\n",
                o.metrics_addr);
        return CLI_EXIT_USAGE;
    }
    if (o.workers > 1024) {
        fprintf(stderr, "tarmac serve: --workers must be at most 1024\n");
        return CLI_EXIT_USAGE;
    }
    if (strcmp(o.db_pooler, "auto") != 0 && strcmp(o.db_pooler, "transaction") != 0 &&
        strcmp(o.db_pooler, "session") != 0) {
        fprintf(stderr, "tarmac serve: --db-pooler must be auto, transaction or session\n");
        return CLI_EXIT_USAGE;
    }
    if (o.db_max_conns > 256) {
        fprintf(stderr, "tarmac serve: --db-max-conns must be at most 256\n");
        return CLI_EXIT_USAGE;
    }
    char *level_end = NULL;
    long logs_min_level = strtol(o.logs_min_level, &level_end, 10);
    if (!o.logs_min_level[0] || *level_end || logs_min_level < -100 || logs_min_level > 100 ||
        o.logs_max_days > 100000) {
        fprintf(stderr, "tarmac serve: --logs-min-level must be an integer (-4 debug, 0 info, "
                        "4 warn, 8 error), --logs-max-days at most 100000\n");
        return CLI_EXIT_USAGE;
    }
    if (o.max_target < 64 || o.max_header < 256 || o.max_target > o.max_header) {
        fprintf(stderr,
                "tarmac serve: need 64 <= --max-target <= --max-header, --max-header >= 256\n");
        return CLI_EXIT_USAGE;
    }
    if (o.max_header > (1u << 20) - 65536) {
        fprintf(stderr, "tarmac serve: --max-header must be below 960KiB\n");
        return CLI_EXIT_USAGE;
    }
    if (o.realtime_max_subs < 1 || o.realtime_max_subs > CORE_RT_MAX_SUBS) {
        fprintf(stderr, "tarmac serve: --realtime-max-subs must be 1..%d\n", CORE_RT_MAX_SUBS);
        return CLI_EXIT_USAGE;
    }
    if (o.query_budget_ms > UINT64_MAX / 1000000 ||
        o.query_budget_superuser_ms > UINT64_MAX / 1000000 ||
        o.realtime_budget_ms > UINT64_MAX / 1000000) {
        fprintf(stderr, "tarmac serve: a budget is too large\n");
        return CLI_EXIT_USAGE;
    }
    if (!o.header_timeout_ms || !o.body_timeout_ms || !o.idle_timeout_ms || !o.write_timeout_ms) {
        fprintf(stderr, "tarmac serve: timeouts must be greater than zero\n");
        return CLI_EXIT_USAGE;
    }
    struct api_limits limits;
    core_ratelimit_defaults(&limits.cfg);
    if (o.rate_limits[0] && core_ratelimit_parse(o.rate_limits, &limits.cfg) != RC_OK) {
        fprintf(stderr, "tarmac serve: invalid --rate-limits \"%s\" (LABEL=N/DURATION,...)\n",
                o.rate_limits);
        return CLI_EXIT_USAGE;
    }
    /* Test hook (store/fault.h): the writer's reads and writes fail on purpose. */
    const char *faults = getenv("TARMAC_TEST_IO_FAULTS");
    struct store_fault_plan fault_plan = {0};
    bool has_faults = faults && faults[0];
    if (has_faults && (store_fault_parse(str_from_cstr(faults), &fault_plan) != RC_OK ||
                       store_fault_install() != RC_OK)) {
        fprintf(stderr, "tarmac serve: invalid TARMAC_TEST_IO_FAULTS \"%s\" (rate=0.03,seed=N)\n",
                faults);
        return CLI_EXIT_USAGE;
    }
    struct http_cors cors;
    if (http_cors_parse(&cors, o.cors) != RC_OK) {
        fprintf(stderr, "tarmac serve: invalid --cors \"%s\" (* or scheme://host[:port],...)\n",
                o.cors);
        return CLI_EXIT_USAGE;
    }
    struct http_proxy_config proxy = {.is_leftmost = strcmp(o.proxy_ip, "leftmost") == 0};
    struct str bad_cidr = {0};
    size_t header_len = strlen(o.proxy_header);
    if (!cidr_list_parse(str_from_cstr(o.trusted_proxies), &proxy.trusted, &bad_cidr)) {
        fprintf(stderr, "tarmac serve: invalid --trusted-proxies entry \"%.*s\" (CIDR or IP)\n",
                (int)bad_cidr.len, bad_cidr.ptr);
        http_cors_cleanup(&cors);
        return CLI_EXIT_USAGE;
    }
    if ((!proxy.is_leftmost && strcmp(o.proxy_ip, "rightmost") != 0) || header_len == 0 ||
        header_len >= sizeof(proxy.header) || !is_header_name(o.proxy_header)) {
        fprintf(stderr, "tarmac serve: --proxy-ip must be leftmost or rightmost and "
                        "--proxy-header a header name\n");
        cidr_list_cleanup(&proxy.trusted);
        http_cors_cleanup(&cors);
        return CLI_EXIT_USAGE;
    }
    /* Checked only: the settings (cli/settings.h) carry them to the workers. */
    cidr_list_cleanup(&proxy.trusted);
    log_set_level(level);
    log_set_format(log_fmt);
    unsigned nworkers = o.workers ? (unsigned)o.workers : net_cpu_count();

    if (core_thumb_init(argv[0]) != RC_OK) {
        fprintf(stderr, "tarmac serve: cannot start libvips\n");
        http_cors_cleanup(&cors);
        return CLI_EXIT_FAILURE;
    }
    if (core_app_lock_dir(o.dir) != RC_OK) {
        fprintf(stderr,
                "tarmac serve: the data directory \"%s\" is in use by another tarmac serve\n",
                o.dir);
        http_cors_cleanup(&cors);
        return CLI_EXIT_FAILURE;
    }
    /* --db-pooler: a flag beside the question asked at start (auto), as a
     * busy transaction pooler may hand the probe's third connection another
     * idle session and pass for a server: the operator who knows says so.
     * transaction trusts the operator (pooled mode costs a parse per
     * statement, nothing breaks on a server); session is checked, and a
     * shared session refused, before anything is read or written, since
     * named statements on a shared session fail at random later. */
    if (o.db[0] && strcmp(o.db_pooler, "transaction") == 0) {
        store_set_sessions(STORE_SESSIONS_SHARED);
    } else if (o.db[0]) {
        char pool_why[300];
        bool is_shared = false;
        enum rc pool_rc = store_check_sessions(o.db, &is_shared, pool_why, sizeof(pool_why));
        if (pool_rc == RC_INVALID || (is_shared && strcmp(o.db_pooler, "session") == 0)) {
            fprintf(stderr, "tarmac serve: --db: %s; %s (docs/scaling.md)\n", pool_why,
                    pool_rc == RC_INVALID
                        ? "use pool_mode = transaction or session, or connect to PostgreSQL "
                          "directly"
                        : "--db-pooler=session needs a session per connection: use "
                          "--db-pooler=transaction (or auto) with pool_mode = transaction");
            http_cors_cleanup(&cors);
            return CLI_EXIT_FAILURE;
        }
        if (pool_rc == RC_OK)
            store_set_sessions(is_shared ? STORE_SESSIONS_SHARED : STORE_SESSIONS_OWN);
    }
    struct core_app *core = NULL;
    if (core_app_open(o.dir, o.db, &core) != RC_OK) {
        if (o.db && *o.db)
            fprintf(stderr, "tarmac serve: cannot open the database (see the log above)\n");
        else
            fprintf(stderr,
                    "tarmac serve: cannot open the data directory \"%s\" (see the log above)\n",
                    o.dir);
        http_cors_cleanup(&cors);
        return CLI_EXIT_FAILURE;
    }
    if (o.storage_dir[0]) {
        struct stat sd;
        if ((mkdir(o.storage_dir, 0755) != 0 && errno != EEXIST) || stat(o.storage_dir, &sd) != 0 ||
            !S_ISDIR(sd.st_mode) || access(o.storage_dir, R_OK | W_OK | X_OK) != 0) {
            fprintf(stderr,
                    "tarmac serve: --storage-dir \"%s\" is not a directory this process "
                    "can write\n",
                    o.storage_dir);
            core_app_close(core);
            http_cors_cleanup(&cors);
            return CLI_EXIT_FAILURE;
        }
        core_app_set_storage_dir(core, o.storage_dir);
    }
    if (o.redis[0]) {
        core_cluster_app_start(core, &redis_target, nworkers);
        /* Run again by restart_after_restore: the others must hear of it. */
        const char *restored = getenv("TARMAC_RESTORED");
        if (restored && strcmp(restored, "1") == 0)
            core_cluster_app_restored(core);
    } else if (o.db[0]) {
        log_warn("msg=\"PostgreSQL without --redis: this must be the only instance serving this "
                 "database (several need --redis, see docs/scaling.md)\"");
    }
    unsetenv("TARMAC_RESTORED");
    struct net_mailer_config mcfg = {
        .host = o.smtp_host,
        .port = (int)o.smtp_port,
        .username = o.smtp_username,
        .password = o.smtp_password,
        .sender_address = o.smtp_sender,
        .sender_name = o.smtp_sender_name,
        .is_tls_required = o.is_smtp_tls_required,
        .is_smtps = o.smtp_port == 465,
    };
    struct net_mailer *mailer = NULL;
    if (o.smtp_port > 65535 || net_mailer_start(&mcfg, &mailer) != RC_OK) {
        fprintf(stderr, "tarmac serve: invalid SMTP settings (--smtp-*)\n");
        core_app_close(core);
        http_cors_cleanup(&cors);
        return CLI_EXIT_USAGE;
    }
    core->mailer = mailer;
    struct core_password_params pw = {.m_kib = (uint32_t)(o.argon2_memory / 1024),
                                      .t = (uint32_t)o.argon2_time};
    if (o.argon2_memory / 1024 > UINT32_MAX || o.argon2_time > UINT32_MAX ||
        !core_password_params_are_valid(pw)) {
        fprintf(stderr, "tarmac serve: --argon2-memory must be 8KiB..1GiB, --argon2-time 1..64\n");
        net_mailer_stop(mailer, NULL);
        core_app_close(core);
        http_cors_cleanup(&cors);
        return CLI_EXIT_USAGE;
    }
    core->password_m_kib = pw.m_kib;
    core->allow_private_network = o.allow_private_network;
    core_vectors_set_min_rows(core->vectors, (size_t)o.vector_index_min_rows);
    core->password_t = pw.t;
    core->limits = (struct core_limits){
        .budget_ns = o.query_budget_ms * 1000000,
        .superuser_budget_ns = o.query_budget_superuser_ms * 1000000,
        .realtime_budget_ns = o.realtime_budget_ms * 1000000,
        .max_expand = o.max_expand,
        .max_expand_bytes = o.max_expand_bytes,
        .realtime_max_subs = o.realtime_max_subs,
        .realtime_max_subs_ip = o.realtime_max_subs_ip,
    };
    if (migrate_at_start(core, &o) != CLI_EXIT_OK) {
        net_mailer_stop(mailer, NULL);
        core_app_close(core);
        http_cors_cleanup(&cors);
        return CLI_EXIT_FAILURE;
    }
    struct core_jobs_config jcfg = {
        .runners = (size_t)o.job_runners,
        .allow_private_network = o.allow_private_network,
        .lease_ms = (int64_t)o.job_lease_ms,
        .retention_ms = (int64_t)o.job_retention_ms,
        .http_timeout_ms = (int64_t)o.job_http_timeout_ms,
        .poll_ms = (int64_t)o.job_poll_ms,
        .mailer = mailer,
    };
    char hooks_dir[4096];
    if (o.hooks_dir[0])
        snprintf(hooks_dir, sizeof(hooks_dir), "%s", o.hooks_dir);
    else
        snprintf(hooks_dir, sizeof(hooks_dir), "%s/../tarmac_hooks", o.dir);
    struct core_hooks_config hcfg = {.dir = hooks_dir,
                                     .memory_max = (size_t)o.hooks_memory,
                                     .budget_ns = o.hooks_budget_ms * 1000000,
                                     .allow_private_network = o.allow_private_network};
    char hooks_err[512];
    if (!o.hooks_budget_ms || o.hooks_memory < (1u << 20) ||
        core_app_start_hooks(core, &hcfg, hooks_err, sizeof(hooks_err)) != RC_OK) {
        if (!o.hooks_budget_ms || o.hooks_memory < (1u << 20))
            fprintf(stderr,
                    "tarmac serve: --hooks-budget must be > 0 and --hooks-memory >= 1MiB\n");
        else
            fprintf(stderr, "tarmac serve: the scripts of %s do not load: %s\n", hooks_dir,
                    hooks_err);
        net_mailer_stop(mailer, NULL);
        core_app_close(core);
        http_cors_cleanup(&cors);
        return CLI_EXIT_USAGE;
    }
    /* The C extensions linked into this binary (make EXT=...; none in a
     * plain build): their hooks hear changes after the scripts' do. */
    if (core_app_start_ext(core, hooks_err, sizeof(hooks_err)) != RC_OK) {
        fprintf(stderr, "tarmac serve: %s\n", hooks_err);
        net_mailer_stop(mailer, NULL);
        core_app_close(core);
        http_cors_cleanup(&cors);
        return CLI_EXIT_USAGE;
    }
    api_ext_start();
    /* Before the runners start: their handlers read it (report mails). The
     * proxy slot follows the settings from the first snapshot on. */
    sf.http = o.http;
    sf.app_name = o.app_name;
    sf.app_url = o.app_url;
    sf.smtp_host = o.smtp_host;
    sf.smtp_port = o.smtp_port;
    sf.smtp_username = o.smtp_username;
    sf.smtp_password = o.smtp_password;
    sf.smtp_sender = o.smtp_sender;
    sf.smtp_sender_name = o.smtp_sender_name;
    sf.is_smtp_tls_required = o.is_smtp_tls_required;
    sf.batch_max_requests = o.batch_max_requests;
    sf.batch_timeout_ms = o.batch_timeout_ms;
    sf.rate_limits = o.rate_limits;
    sf.rate_limit_cfg = &limits.cfg;
    sf.trusted_proxies = o.trusted_proxies;
    sf.proxy_header = o.proxy_header;
    sf.proxy_ip = o.proxy_ip;
    sf.logs_max_days = o.logs_max_days;
    sf.logs_min_level = logs_min_level;
    sf.is_logs_ip = o.is_logs_ip;
    sf.is_logs_auth_id = o.is_logs_auth_id;
    struct core_settings_base base = {0};
    cli_settings_base(&sf, &base);
    core->on_settings = apply_settings;
    core->on_settings_ctx = &proxies;
    char settings_err[512];
    if (core_settings_start(core, &base, settings_err, sizeof(settings_err)) != RC_OK) {
        fprintf(stderr, "tarmac serve: %s\n", settings_err);
        core_settings_base_cleanup(&base);
        net_mailer_stop(mailer, NULL);
        core_app_close(core);
        http_cors_cleanup(&cors);
        proxy_slots_cleanup(&proxies);
        return CLI_EXIT_FAILURE;
    }
    core_jobs_start(core->jobs, &jcfg);
    signal(SIGPIPE, SIG_IGN); /* a peer that went away is an error return, not a death */
    uint64_t fd_limit = net_raise_fd_limit();
    uint64_t safe_max_conns = net_default_max_conns(fd_limit, nworkers);
    uint64_t max_conns = o.max_conns == MAX_CONNS_AUTO ? safe_max_conns : o.max_conns;
    if (max_conns == 0 || max_conns > safe_max_conns)
        log_warn("msg=\"--max-conns lets connections take the descriptors the server needs; "
                 "accepting pauses when they run out\" max_conns=%llu fd_limit=%llu suggested=%llu",
                 (unsigned long long)max_conns, (unsigned long long)fd_limit,
                 (unsigned long long)safe_max_conns);

    int *fds = xcalloc(nworkers, sizeof(int));
    int bound_port = 0;
    const char *err = NULL;
    if (net_workers_listen(host, port, nworkers, fds, &bound_port, &err) != RC_OK) {
        fprintf(stderr, "tarmac serve: cannot listen on %s: %s\n", o.http, err);
        xfree(fds);
        core_app_close(core);
        net_mailer_stop(mailer, NULL);
        http_cors_cleanup(&cors);
        proxy_slots_cleanup(&proxies);
        return CLI_EXIT_FAILURE;
    }

    /* The request log's options are the settings' (flags lock them). */
    struct core_logs_config logs_cfg;
    logs_config_of(core_app_settings(core), &logs_cfg);
    /* Tests shorten a day to see entries pruned (TARMAC_TEST_LOGS_DAY_MS). */
    const char *day_env = getenv("TARMAC_TEST_LOGS_DAY_MS");
    if (core_logs_open(o.dir, &logs_cfg, day_env ? strtoll(day_env, NULL, 10) : 0) != RC_OK)
        log_warn("msg=\"no request log: auxiliary.db cannot be used\" dir=%s", o.dir);
    api_realtime_configure(&(struct api_realtime_config){
        .idle_ms = o.realtime_idle_ms,
        .max_age_ms = o.realtime_max_age_ms,
        .ping_ms = o.realtime_ping_ms,
    });
    limits.store = core_ratelimit_memory_store();
    limits.cluster = core->cluster; /* --redis: counted for every instance */
    struct http_router *router = http_router_new();
    api_routes_register(router, &limits);
    unsigned db_conns = o.db_max_conns ? (unsigned)o.db_max_conns : 64 / nworkers;
    if (!o.db_max_conns)
        db_conns = db_conns < 2 ? 2 : db_conns > 8 ? 8 : db_conns;
    struct serve_app app = {
        .core = core,
        .db_conns = db_conns,
        .http =
            {
                .limits = {.max_target = o.max_target, .max_header_bytes = o.max_header},
                .max_body = o.max_body,
                .header_timeout_ms = o.header_timeout_ms,
                .body_timeout_ms = o.body_timeout_ms,
                .body_deadline_ms = o.body_deadline_ms,
                .idle_timeout_ms = o.idle_timeout_ms,
                .router = router,
                .fallback = api_ext_fallback,
                .cors = &cors,
                .write_error = api_error_write,
                .status_of = api_error_status,
                .invoke = api_invoke,
                .admit = api_ratelimit_admit,
                .admit_ctx = &limits,
                .is_access_log = o.is_access_log && log_enabled(LOG_INFO),
                .on_response = api_logs_on_response,
                .proxy = &proxies.slot,
            },
    };
    /* Timeouts are checked on a tick; a tenth of the shortest keeps them close. */
    uint64_t shortest = o.header_timeout_ms;
    if (o.body_timeout_ms < shortest)
        shortest = o.body_timeout_ms;
    if (o.idle_timeout_ms < shortest)
        shortest = o.idle_timeout_ms;
    if (o.body_deadline_ms && o.body_deadline_ms < shortest)
        shortest = o.body_deadline_ms;
    struct net_worker_config wcfg = {
        .count = nworkers,
        .tick_ms = shortest / 10 < 10 ? 10 : (shortest / 10 > 1000 ? 1000 : shortest / 10),
        .write_timeout_ms = o.write_timeout_ms,
        .grace_ms = o.grace_ms,
        .max_conns = max_conns,
        .max_conns_per_ip = o.max_conns_per_ip,
        .per_ip_exempt = &proxies.exempt,
    };
    struct net_worker_hooks hooks = {
        .on_start = hook_start,
        .on_conn = hook_conn,
        .on_tick = hook_tick,
        .on_stop = hook_stop,
        .on_exit = hook_exit,
        .is_busy = hook_is_busy,
        .on_iteration_end = hook_iteration_end,
        .ctx = &app,
    };

    net_logsink_start();
    uv_loop_t main_loop;
    uv_loop_init(&main_loop);
    struct signal_state sig = {0};
    uv_signal_init(&main_loop, &sig.term);
    uv_signal_init(&main_loop, &sig.intr);
    uv_signal_init(&main_loop, &sig.hup);
    sig.term.data = &sig;
    sig.intr.data = &sig;
    sig.hup.data = &sig;
    sig.core = core;
    /* Handlers first, then workers, then the start-up line: once a script sees
     * the line, the port accepts and a SIGTERM is a clean stop. */
    uv_signal_start(&sig.term, on_signal, SIGTERM);
    uv_signal_start(&sig.intr, on_signal, SIGINT);
    uv_signal_start(&sig.hup, on_hangup, SIGHUP);
    pthread_mutex_init(&sig.restart_mu, NULL);
    uv_async_init(&main_loop, &sig.restart, on_restart);
    sig.restart.data = &sig;
    core_backups_on_restart(core->backups, request_restart, &sig);
    if (o.dev)
        watch_scripts(&main_loop, &sig, hooks_dir);
    sig.workers = net_workers_start(&wcfg, &hooks, fds);
    if (o.metrics_addr[0] &&
        cli_metrics_listen(&main_loop, metrics_host[0] ? metrics_host : "0.0.0.0", metrics_port,
                           router, core, &sig.metrics) != RC_OK)
        log_error("msg=\"metrics listener not started\" addr=%s", o.metrics_addr);

    const char *shown_host = host[0] ? host : "0.0.0.0";
    bool is_v6 = strchr(shown_host, ':') != NULL;
    printf("tarmac %s: server started at http://%s%s%s:%d\n", TARMAC_VERSION, is_v6 ? "[" : "",
           shown_host, is_v6 ? "]" : "", bound_port);
    printf("  REST API: http://%s%s%s:%d/api/\n", is_v6 ? "[" : "", shown_host, is_v6 ? "]" : "",
           bound_port);
    if (sig.metrics)
        printf("  Metrics: http://%s:%d/metrics\n", metrics_host[0] ? metrics_host : "0.0.0.0",
               cli_metrics_port(sig.metrics));
    fflush(stdout);
    log_info("msg=\"server started\" addr=%s port=%d workers=%u dir=%s fd_limit=%llu "
             "max_conns=%llu max_conns_per_ip=%llu trusted_proxies=%zu",
             shown_host, bound_port, nworkers, o.dir, (unsigned long long)fd_limit,
             (unsigned long long)max_conns, (unsigned long long)o.max_conns_per_ip,
             core_app_settings(core)->proxy.proxies.count);
    if (has_faults) {
        store_fault_arm(&fault_plan);
        log_warn("msg=\"TARMAC_TEST_IO_FAULTS: the database's reads and writes fail on purpose\" "
                 "spec=\"%s\"",
                 faults);
    }
    if (core_app_superuser_count(core) == 0) {
        printf("  No superuser yet: create one with\n    tarmac superuser upsert EMAIL PASSWORD "
               "--dir=%s\n",
               o.dir);
        fflush(stdout);
    }
    uv_run(&main_loop, UV_RUN_DEFAULT);
    net_workers_join(sig.workers);
    pthread_mutex_destroy(&sig.restart_mu);
    char restore_target[4096];
    snprintf(restore_target, sizeof(restore_target), "%s", core->db_path);
    uv_loop_close(&main_loop);
    if (has_faults)
        log_warn("msg=\"I/O faults injected\" count=%llu",
                 (unsigned long long)store_fault_disarm());
    log_info("msg=\"stopped\"");
    net_logsink_stop();

    core_logs_close();    /* the workers are gone: nothing records any more */
    core_app_close(core); /* workers are gone: nothing sends mail any more */
    /* After the offload pool (closed with the app), the last user of libvips. */
    core_thumb_shutdown();
    net_mailer_stop(mailer, NULL);
    limits.store.release(limits.store.ctx);
    http_metrics_free_all();
    http_router_free(router);
    api_ext_stop();
    http_cors_cleanup(&cors);
    proxy_slots_cleanup(&proxies);
    xfree(fds);
    if (sig.is_restarting)
        return restart_after_restore(argc, argv, o.dir, restore_target, host, bound_port,
                                     port == 0);
    return CLI_EXIT_OK;
}
