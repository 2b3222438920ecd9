/* redis.c -- see redis.h.
 *
 * hiredis 0.14 (Debian 12) has no connect or command timeouts and resolves
 * host names with a blocking getaddrinfo, so this file adds the three:
 * names are resolved on libuv's pool and hiredis is handed an address; a
 * timer bounds the connect and the setup (AUTH, SELECT, PING or SUBSCRIBE);
 * each command carries a deadline, checked by one timer per connection.
 *
 * Who frees what: hiredis owns its context and runs every callback still
 * registered with a NULL reply when the context goes (a break, or our
 * redisAsyncFree). A command's `struct pending` is hiredis's privdata and is
 * freed by that last callback; when its deadline passed first, the caller
 * was answered already (cb set to NULL) and only the memory is left to
 * free. r->ac is cleared before any free, so a callback can tell a context
 * that is going from the current one. */
#include "store/redis.h"

#include <arpa/inet.h>
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/secure.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* From the connect call to "up" (connected, authenticated, ready). */
#define SETUP_MS 2000
/* Replies overdue this long: the server is stuck (paused, hung); the
 * connection is made again, which also fails what still waits. */
#define STUCK_MS 2000

enum state { ST_IDLE, ST_RESOLVING, ST_CONNECTING, ST_UP, ST_CLOSED };
enum reported { REPORTED_NONE, REPORTED_UP, REPORTED_DOWN };

struct pending {
    struct store_redis *r;
    store_redis_reply_fn *cb; /* NULL: nobody waits (or no longer) */
    void *ctx;
    uint64_t deadline;   /* uv_now */
    unsigned generation; /* of the context it was sent on */
    bool is_waiting;     /* in r's list: not answered yet */
    bool is_overdue;     /* answered by its deadline; counted in r->overdue */
    struct pending *prev, *next;
};

enum setup_step { SETUP_AUTH, SETUP_SELECT, SETUP_PING };
static const char *const setup_names[] = {"AUTH", "SELECT", "PING"};

struct store_redis {
    uv_loop_t *loop;
    struct store_redis_config cfg;
    char **channels;
    char name[16];
    redisAsyncContext *ac; /* the current context; NULL between attempts */
    enum state state;
    enum reported reported;
    bool has_been_up;
    uv_timer_t retry;    /* the next attempt, or the setup's deadline */
    uv_timer_t deadline; /* the first waiting command's deadline */
    uv_getaddrinfo_t *gai;
    unsigned open_handles;
    uint64_t backoff_ms;
    size_t subscribed;            /* channels confirmed on the current context */
    struct pending *first, *last; /* waiting commands, oldest first */
    size_t overdue;               /* answered by their deadline, reply not in yet */
    uint64_t overdue_since;
    unsigned generation; /* contexts made so far */
    uint64_t timeouts;   /* metrics: relaxed atomics (base/metrics.h) */
    uint64_t reconnects;
    char last_error[400]; /* logged once per kind of failure */
};

/* -------------------------------------------------------------------------
 * Replies
 * ------------------------------------------------------------------------- */

static const redisReply *rep(const struct store_redis_reply *r)
{
    return (const redisReply *)r;
}

enum store_redis_type store_redis_reply_type(const struct store_redis_reply *r)
{
    switch (rep(r)->type) {
    case REDIS_REPLY_STRING: return STORE_REDIS_STRING;
    case REDIS_REPLY_ARRAY: return STORE_REDIS_ARRAY;
    case REDIS_REPLY_INTEGER: return STORE_REDIS_INTEGER;
    case REDIS_REPLY_STATUS: return STORE_REDIS_STATUS;
    case REDIS_REPLY_ERROR: return STORE_REDIS_ERROR;
    default: return STORE_REDIS_NIL;
    }
}

long long store_redis_reply_integer(const struct store_redis_reply *r)
{
    return rep(r)->type == REDIS_REPLY_INTEGER ? rep(r)->integer : 0;
}

struct str store_redis_reply_str(const struct store_redis_reply *r)
{
    int t = rep(r)->type;
    if (t != REDIS_REPLY_STRING && t != REDIS_REPLY_STATUS && t != REDIS_REPLY_ERROR)
        return (struct str){"", 0};
    return (struct str){rep(r)->str, rep(r)->len};
}

size_t store_redis_reply_count(const struct store_redis_reply *r)
{
    return rep(r)->type == REDIS_REPLY_ARRAY ? rep(r)->elements : 0;
}

const struct store_redis_reply *store_redis_reply_at(const struct store_redis_reply *r, size_t i)
{
    if (rep(r)->type != REDIS_REPLY_ARRAY || i >= rep(r)->elements)
        return NULL;
    return (const struct store_redis_reply *)rep(r)->element[i];
}

/* -------------------------------------------------------------------------
 * State
 * ------------------------------------------------------------------------- */

static void report(struct store_redis *r, bool is_up)
{
    enum reported now = is_up ? REPORTED_UP : REPORTED_DOWN;
    if (r->reported == now)
        return;
    r->reported = now;
    if (is_up) {
        log_debug("msg=\"redis connection up\" conn=%s", r->name);
        r->last_error[0] = '\0';
    }
    if (r->cfg.on_state)
        r->cfg.on_state(r->cfg.ctx, is_up, r->last_error);
}

/* Keeps why for the state callback; logs it (debug) once until the
 * connection comes up: a server down for an hour must not write a line per
 * attempt. */
static void note_failure(struct store_redis *r, const char *why)
{
    if (strncmp(r->last_error, why, sizeof(r->last_error) - 1) == 0)
        return;
    snprintf(r->last_error, sizeof(r->last_error), "%s", why);
    log_debug("msg=\"redis connection failed; retrying\" conn=%s error=\"%s\"", r->name, why);
}

static void start_attempt(struct store_redis *r);
static void drop(struct store_redis *r);

static void on_retry(uv_timer_t *t)
{
    struct store_redis *r = t->data;
    if (r->state == ST_IDLE)
        start_attempt(r);
    else if (r->state == ST_RESOLVING || r->state == ST_CONNECTING) {
        /* The setup's deadline. A resolution cannot be cancelled once on the
         * pool: its answer finds the attempt over (state no longer RESOLVING). */
        note_failure(r, r->state == ST_RESOLVING ? "host name not resolved in time"
                                                 : "no answer to the connection's setup");
        drop(r);
    }
}

/* Schedules the next attempt after the current pause, then lengthens it. */
static void schedule_retry(struct store_redis *r)
{
    if (r->state == ST_CLOSED)
        return;
    r->state = ST_IDLE;
    uint64_t pause = r->backoff_ms;
    uint64_t jitter = secure_random_uniform((uint32_t)(pause / 4 + 1));
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
    uv_timer_start(&r->retry, on_retry, pause + jitter, 0);
}

static void unlink_pending(struct store_redis *r, struct pending *p);

/* Answers every waiting command with NULL (their context is going). */
static void fail_waiting(struct store_redis *r)
{
    while (r->first) {
        struct pending *p = r->first;
        unlink_pending(r, p);
        p->is_waiting = false;
        store_redis_reply_fn *cb = p->cb;
        p->cb = NULL; /* hiredis still holds p: its last callback frees it */
        if (cb)
            cb(p->ctx, NULL);
    }
}

/* Ends the current context (if any), fails what waits on it, reports the
 * connection down and schedules the next attempt. */
static void drop(struct store_redis *r)
{
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    r->subscribed = 0;
    r->generation++; /* late callbacks of ac no longer count as this one's */
    r->overdue = 0;
    uv_timer_stop(&r->deadline);
    fail_waiting(r);
    if (ac)
        redisAsyncFree(ac); /* its callbacks see r->ac != ac; deferred inside one */
    report(r, false);
    schedule_retry(r);
}

static void now_up(struct store_redis *r)
{
    r->state = ST_UP;
    uv_timer_stop(&r->retry);
    r->backoff_ms = BACKOFF_MIN_MS;
    if (r->has_been_up)
        metrics_add(&r->reconnects, 1);
    r->has_been_up = true;
    report(r, true);
}

/* -------------------------------------------------------------------------
 * Commands and their deadlines
 * ------------------------------------------------------------------------- */

static void unlink_pending(struct store_redis *r, struct pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        r->first = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        r->last = p->prev;
    p->prev = p->next = NULL;
}

static void arm_deadline(struct store_redis *r);

static void on_deadline(uv_timer_t *t)
{
    struct store_redis *r = t->data;
    uint64_t now = uv_now(r->loop);
    while (r->first && r->first->deadline <= now) {
        struct pending *p = r->first;
        unlink_pending(r, p);
        p->is_waiting = false;
        p->is_overdue = true;
        store_redis_reply_fn *cb = p->cb;
        p->cb = NULL; /* hiredis still holds p: its late reply only frees it */
        if (r->overdue++ == 0)
            r->overdue_since = now;
        metrics_add(&r->timeouts, 1);
        if (cb)
            cb(p->ctx, NULL);
    }
    if (r->overdue && now - r->overdue_since >= STUCK_MS && r->ac) {
        note_failure(r, "replies stopped coming (server paused or stuck)");
        drop(r);
        return;
    }
    arm_deadline(r);
}

static void arm_deadline(struct store_redis *r)
{
    uint64_t now = uv_now(r->loop);
    uint64_t at = UINT64_MAX;
    if (r->first)
        at = r->first->deadline;
    if (r->overdue && r->overdue_since + STUCK_MS < at)
        at = r->overdue_since + STUCK_MS;
    if (at == UINT64_MAX) {
        uv_timer_stop(&r->deadline);
        return;
    }
    uv_timer_start(&r->deadline, on_deadline, at > now ? at - now : 0, 0);
}

/* hiredis's callback of one command: the reply, or NULL as its context goes. */
static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    struct pending *p = privdata;
    struct store_redis *r = p->r;
    if (p->is_waiting) {
        unlink_pending(r, p);
        p->is_waiting = false;
        if (p->cb)
            p->cb(p->ctx, (const struct store_redis_reply *)reply);
        if (!r->first)
            arm_deadline(r);
    } else if (p->is_overdue && p->generation == r->generation && r->overdue) {
        r->overdue--; /* a late reply: the server answers again */
        if (r->overdue == 0)
            arm_deadline(r);
    }
    xfree(p);
}

enum rc store_redis_command(struct store_redis *r, store_redis_reply_fn *cb, void *ctx, int argc,
                            const char *const *argv, const size_t *lens)
{
    if (r->state != ST_UP || !r->ac || r->channels)
        return RC_UNAVAILABLE;
    struct pending *p = xcalloc(1, sizeof(*p));
    p->r = r;
    p->cb = cb;
    p->ctx = ctx;
    p->deadline = uv_now(r->loop) + r->cfg.command_timeout_ms;
    p->generation = r->generation;
    p->is_waiting = true;
    if (redisAsyncCommandArgv(r->ac, on_reply, p, argc, (const char **)argv, lens) != REDIS_OK) {
        xfree(p);
        return RC_UNAVAILABLE;
    }
    p->prev = r->last;
    if (r->last)
        r->last->next = p;
    else
        r->first = p;
    r->last = p;
    if (p == r->first)
        arm_deadline(r);
    return RC_OK;
}

/* -------------------------------------------------------------------------
 * Connecting
 * ------------------------------------------------------------------------- */

/* A setup command's reply: an error (wrong password, no such database) ends
 * the attempt; PING's answer (commands) makes the connection up. */
static void on_setup_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct store_redis *r = ac->data;
    const redisReply *rp = reply;
    if (!r || r->ac != ac || !rp)
        return; /* an older context going, or this one breaking: handled there */
    enum setup_step step = (enum setup_step)(uintptr_t)privdata;
    if (rp->type == REDIS_REPLY_ERROR) {
        char why[128];
        snprintf(why, sizeof(why), "%s: %.*s", setup_names[step], (int)rp->len, rp->str);
        note_failure(r, why);
        drop(r);
        return;
    }
    if (step == SETUP_PING)
        now_up(r);
}

/* A subscriber's one callback: subscribe confirmations, then messages. */
static void on_subscribed(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)privdata;
    struct store_redis *r = ac->data;
    const redisReply *rp = reply;
    if (!r || r->ac != ac || !rp || rp->type != REDIS_REPLY_ARRAY || rp->elements < 3)
        return;
    const redisReply *kind = rp->element[0];
    if (kind->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(kind->str, "subscribe") == 0) {
        if (++r->subscribed == r->cfg.channel_count)
            now_up(r);
        return;
    }
    if (strcmp(kind->str, "message") != 0 || rp->element[1]->type != REDIS_REPLY_STRING ||
        rp->element[2]->type != REDIS_REPLY_STRING)
        return;
    if (r->cfg.on_message)
        r->cfg.on_message(r->cfg.ctx, (struct str){rp->element[1]->str, rp->element[1]->len},
                          (struct str){rp->element[2]->str, rp->element[2]->len});
}

static void on_connected(const redisAsyncContext *ac, int status)
{
    struct store_redis *r = ac->data;
    if (!r || r->ac != ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees this context when we return */
        char why[128];
        snprintf(why, sizeof(why), "connect: %s", ac->errstr[0] ? ac->errstr : "refused");
        r->ac = NULL;
        note_failure(r, why);
        drop(r);
        return;
    }
    if (!r->cfg.target->path[0])
        (void)redisEnableKeepAlive((redisContext *)&((redisAsyncContext *)ac)->c);
}

static void on_disconnected(const redisAsyncContext *ac, int status)
{
    (void)status;
    struct store_redis *r = ac->data;
    if (!r || r->ac != ac)
        return;   /* we ended it ourselves */
    r->ac = NULL; /* hiredis frees it when we return */
    note_failure(r, ac->errstr[0] ? ac->errstr : "connection closed by the server");
    drop(r);
}

/* Sends the setup commands: they are buffered until the socket connects. */
static void send_setup(struct store_redis *r)
{
    const struct store_redis_target *t = r->cfg.target;
    redisAsyncContext *ac = r->ac;
    if (t->password[0]) {
        /* AUTH password, or AUTH user password (Redis 6 ACL users) */
        const char *argv[3] = {"AUTH", t->username, t->password};
        size_t lens[3] = {4, strlen(t->username), strlen(t->password)};
        int first = t->username[0] ? 1 : 2;
        argv[first - 1] = "AUTH";
        lens[first - 1] = 4;
        redisAsyncCommandArgv(ac, on_setup_reply, (void *)(uintptr_t)SETUP_AUTH, 4 - first,
                              argv + first - 1, lens + first - 1);
    }
    if (r->channels) {
        /* Channels are not per database: no SELECT. */
        size_t n = r->cfg.channel_count;
        const char **argv = xcalloc(n + 1, sizeof(*argv));
        size_t *lens = xcalloc(n + 1, sizeof(*lens));
        argv[0] = "SUBSCRIBE";
        lens[0] = 9;
        for (size_t i = 0; i < n; i++) {
            argv[i + 1] = r->channels[i];
            lens[i + 1] = strlen(r->channels[i]);
        }
        redisAsyncCommandArgv(ac, on_subscribed, NULL, (int)n + 1, argv, lens);
        xfree(argv);
        xfree(lens);
        return;
    }
    if (t->db) {
        char db[16];
        int n = snprintf(db, sizeof(db), "%u", t->db);
        redisAsyncCommandArgv(ac, on_setup_reply, (void *)(uintptr_t)SETUP_SELECT, 2,
                              (const char *[]){"SELECT", db}, (size_t[]){6, (size_t)n});
    }
    redisAsyncCommandArgv(ac, on_setup_reply, (void *)(uintptr_t)SETUP_PING, 1,
                          (const char *[]){"PING"}, (size_t[]){4});
}

static void connect_to(struct store_redis *r, const char *ip)
{
    const struct store_redis_target *t = r->cfg.target;
    redisAsyncContext *ac =
        t->path[0] ? redisAsyncConnectUnix(t->path) : redisAsyncConnect(ip, t->port);
    if (!ac || ac->err) {
        char why[128];
        snprintf(why, sizeof(why), "connect: %s", ac && ac->errstr[0] ? ac->errstr : "failed");
        if (ac)
            redisAsyncFree(ac);
        note_failure(r, why);
        report(r, false);
        schedule_retry(r);
        return;
    }
    ac->data = r;
    if (redisLibuvAttach(ac, r->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        note_failure(r, "cannot watch the socket");
        report(r, false);
        schedule_retry(r);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connected);
    redisAsyncSetDisconnectCallback(ac, on_disconnected);
    r->ac = ac;
    r->generation++;
    r->state = ST_CONNECTING;
    send_setup(r);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct store_redis *r = req->data;
    r->gai = NULL;
    xfree(req);
    if (r->state != ST_RESOLVING) {
        /* closed, or its deadline passed */
        uv_freeaddrinfo(res);
        if (r->state == ST_CLOSED && r->open_handles == 0)
            xfree(r);
        return;
    }
    char ip[INET6_ADDRSTRLEN] = "";
    if (status == 0 && res) {
        const void *a = res->ai_family == AF_INET6
                            ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                            : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
        inet_ntop(res->ai_family, a, ip, sizeof(ip));
    }
    uv_freeaddrinfo(res);
    if (!ip[0]) {
        char why[400];
        snprintf(why, sizeof(why), "cannot resolve %s: %s", r->cfg.target->host,
                 status ? uv_strerror(status) : "no address");
        note_failure(r, why);
        drop(r);
        return;
    }
    connect_to(r, ip);
}

static bool is_numeric(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static void start_attempt(struct store_redis *r)
{
    const struct store_redis_target *t = r->cfg.target;
    uv_timer_start(&r->retry, on_retry, SETUP_MS, 0); /* the whole setup's deadline */
    if (t->path[0] || is_numeric(t->host)) {
        connect_to(r, t->host);
        return;
    }
    r->state = ST_RESOLVING;
    r->gai = xcalloc(1, sizeof(*r->gai));
    r->gai->data = r;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(r->loop, r->gai, on_resolved, t->host, NULL, &hints);
    if (rc) {
        xfree(r->gai);
        r->gai = NULL;
        char why[400];
        snprintf(why, sizeof(why), "cannot resolve %s: %s", t->host, uv_strerror(rc));
        note_failure(r, why);
        drop(r);
    }
}

struct store_redis *store_redis_open(uv_loop_t *loop, const struct store_redis_config *cfg)
{
    struct store_redis *r = xcalloc(1, sizeof(*r));
    r->loop = loop;
    r->cfg = *cfg;
    snprintf(r->name, sizeof(r->name), "%s", cfg->name ? cfg->name : "redis");
    r->cfg.name = r->name;
    if (cfg->channels) {
        r->channels = xcalloc(cfg->channel_count, sizeof(*r->channels));
        for (size_t i = 0; i < cfg->channel_count; i++)
            r->channels[i] = xstrdup(cfg->channels[i]);
    }
    r->backoff_ms = BACKOFF_MIN_MS;
    uv_timer_init(loop, &r->retry);
    uv_timer_init(loop, &r->deadline);
    r->retry.data = r;
    r->deadline.data = r;
    r->open_handles = 2;
    start_attempt(r);
    return r;
}

bool store_redis_is_up(const struct store_redis *r)
{
    return r && r->state == ST_UP;
}

void store_redis_stats(const struct store_redis *r, struct store_redis_stats *out)
{
    out->timeouts = metrics_read(&r->timeouts);
    out->reconnects = metrics_read(&r->reconnects);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct store_redis *r = h->data;
    if (--r->open_handles == 0 && !r->gai)
        xfree(r);
}

void store_redis_close(struct store_redis *r)
{
    if (!r)
        return;
    r->state = ST_CLOSED;
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    fail_waiting(r);
    if (ac)
        redisAsyncFree(ac);
    for (size_t i = 0; r->channels && i < r->cfg.channel_count; i++)
        xfree(r->channels[i]);
    xfree(r->channels);
    r->channels = NULL;
    uv_close((uv_handle_t *)&r->retry, on_handle_closed);
    uv_close((uv_handle_t *)&r->deadline, on_handle_closed);
}
