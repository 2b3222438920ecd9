/* worker.c -- see worker.h. */
#include "net/worker.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/cidr.h"
#include "base/log.h"
#include "net/conn.h"
#include "net/conn_limit.h"
#include "net/mailbox.h"

struct net_workers {
    unsigned count;
    struct net_worker **items;
    struct net_conn_limit *limit; /* every worker's */
};

uint64_t net_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (uint64_t)rl.rlim_cur;
}

uint64_t net_default_max_conns(uint64_t fd_limit, unsigned workers)
{
    /* Measured: a fresh server holds 15 descriptors plus 8 per worker (its
     * database connection, loop, mailbox, libuv's reserve); the reserve
     * leaves room over that for mail, the SQLite journal and temp files. */
    uint64_t reserve = 64 + 16 * (uint64_t)workers;
    if (reserve > fd_limit / 2)
        reserve = fd_limit / 2;
    uint64_t max = (fd_limit - reserve) / 4 * 3;
    return max ? max : 1;
}

unsigned net_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return (unsigned)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static int open_one(const struct addrinfo *ai, int port, const char **err)
{
    struct sockaddr_storage ss;
    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = "cannot create a socket";
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        *err = "SO_REUSEPORT is not available";
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&ss, ai->ai_addrlen) != 0) {
        *err = errno == EADDRINUSE ? "address already in use" : "cannot bind the address";
        close(fd);
        return -1;
    }
    return fd;
}

/* True when something already listens on the address. SO_REUSEPORT would
 * let a second server (another tarmac started by mistake) bind it too and
 * take half of the connections: a socket bound without it finds out first. */
static bool is_taken(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    bool taken = bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

enum rc net_workers_listen(const char *host, int port, unsigned count, int *fds, int *bound_port,
                           const char **err)
{
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    struct addrinfo *res = NULL;
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res) != 0 || !res) {
        *err = "cannot resolve the host";
        return RC_IO;
    }
    if (port != 0 && is_taken(res)) {
        *err = "address already in use";
        freeaddrinfo(res);
        return RC_IO;
    }
    unsigned opened = 0;
    int actual = port;
    for (unsigned i = 0; i < count; i++) {
        int fd = open_one(res, actual, err);
        if (fd < 0)
            break;
        if (i == 0 && actual == 0) {
            /* The first socket picked a free port; the others share it. */
            struct sockaddr_storage ss;
            socklen_t sl = sizeof(ss);
            getsockname(fd, (struct sockaddr *)&ss, &sl);
            actual = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                             : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
        /* Listen here, not in the worker: connections queue from the moment
         * the start-up line says the server is up. */
        if (listen(fd, 4096) != 0) {
            *err = "cannot listen";
            close(fd);
            break;
        }
        fds[opened++] = fd;
    }
    freeaddrinfo(res);
    if (opened != count) {
        for (unsigned i = 0; i < opened; i++)
            close(fds[i]);
        return RC_IO;
    }
    *bound_port = actual;
    return RC_OK;
}

/* -------------------------------------------------------------------------
 * Accepting
 *
 * libuv's uv_listen() accepts in a loop inside its own callback and, on
 * EMFILE, closes a reserve descriptor, accepts and drops what waits, and
 * reopens the reserve. Our workers share one descriptor table, so another
 * thread can take the freed descriptor first; the reserve is then gone and
 * libuv calls back with UV_EMFILE and tries again, in that same loop, for as
 * long as no descriptor frees -- and none does, since the loop that would
 * close connections never gets back to its timers (issue #20: 200% CPU,
 * sockets left in CLOSE-WAIT, health down until kill -9). So we poll the
 * listening socket and call accept4() ourselves, as nginx does: on
 * EMFILE/ENFILE (or any error that is not about one connection) we stop
 * watching the listener and try again after ACCEPT_RETRY_MS; meanwhile the
 * loop runs its timers and closes connections, which frees descriptors.
 * Connections wait in the kernel's queue until then. At max_conns we stop
 * the same way and look at the shared count every ACCEPT_FULL_RETRY_MS (an
 * atomic load, no system call), so the queue drains at speed once slots
 * free up (a flood leaves thousands of dead connections in it). A worker
 * does not try again early when one of its own connections closes: it would
 * take back every slot it frees, and a worker whose queue is longer (a
 * flood) would starve the other workers' clients; with timers alone each
 * paused worker gets its turn.
 * ------------------------------------------------------------------------- */

/* How long accepting pauses on an error; how often a worker at max_conns
 * looks whether a slot is free. */
#define ACCEPT_RETRY_MS 100
#define ACCEPT_FULL_RETRY_MS 10
/* Connections accepted per wake-up: a connect flood must not keep the loop
 * from its other sockets; the poll is level-triggered, so the rest of the
 * queue wakes us again in the next iteration. */
#define ACCEPT_BATCH 64
/* The accept warnings repeat at most this often per worker. */
#define WARN_EVERY_MS 10000

/* True when the line may be logged now; *skipped is how many were not since. */
static bool warn_gate_open(struct net_warn_gate *g, uint64_t now, uint64_t *skipped)
{
    if (g->last_ms && now - g->last_ms < WARN_EVERY_MS) {
        g->skipped++;
        return false;
    }
    *skipped = g->skipped;
    g->last_ms = now ? now : 1;
    g->skipped = 0;
    return true;
}

static void on_accept_retry(uv_timer_t *t);

/* Stops watching the listener until on_accept_retry; is_full: paused at
 * max_conns rather than by an error. */
static void pause_accepting(struct net_worker *w, bool is_full)
{
    if (w->is_accept_paused)
        return;
    w->is_accept_paused = true;
    w->is_accept_full = is_full;
    uv_poll_stop(&w->listener);
    uv_timer_start(&w->accept_retry, on_accept_retry,
                   is_full ? ACCEPT_FULL_RETRY_MS : ACCEPT_RETRY_MS, 0);
}

static void warn_accept_error(struct net_worker *w, int err)
{
    uint64_t skipped;
    if (!warn_gate_open(&w->warn_accept_error, uv_now(&w->loop), &skipped))
        return;
    log_warn("msg=\"cannot accept, pausing %dms\" worker=%u error=%s open=%llu repeats=%llu",
             ACCEPT_RETRY_MS, w->id, uv_err_name(uv_translate_sys_error(err)),
             (unsigned long long)net_conn_limit_open(w->limit), (unsigned long long)skipped);
}

static void warn_full(struct net_worker *w)
{
    uint64_t skipped;
    if (!warn_gate_open(&w->warn_full, uv_now(&w->loop), &skipped))
        return;
    log_warn(
        "msg=\"connection cap reached, accepting paused\" worker=%u max_conns=%llu repeats=%llu",
        w->id, (unsigned long long)w->config->max_conns, (unsigned long long)skipped);
}

static void warn_per_ip(struct net_worker *w, const struct sockaddr_storage *ss)
{
    uint64_t skipped;
    if (!warn_gate_open(&w->warn_per_ip, uv_now(&w->loop), &skipped))
        return;
    char ip[INET6_ADDRSTRLEN] = "";
    if (ss->ss_family == AF_INET)
        uv_ip4_name((const struct sockaddr_in *)ss, ip, sizeof(ip));
    else if (ss->ss_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)ss, ip, sizeof(ip));
    log_warn("msg=\"connection refused: per-IP cap\" worker=%u ip=%s max_conns_per_ip=%llu "
             "repeats=%llu",
             w->id, ip, (unsigned long long)w->config->max_conns_per_ip,
             (unsigned long long)skipped);
}

/* Errors accept(2) returns for one connection that failed (Linux passes a
 * pending network error of the new socket this way): the next may succeed. */
static bool is_per_connection_error(int err)
{
    switch (err) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH: return true;
    default: return false;
    }
}

/* Hands the accepted socket fd to a new connection and the layer above. The
 * connection holds the slot (and address slot) taken for it; they are put
 * back when it is freed. */
static void start_conn(struct net_worker *w, int fd, const struct net_ip_key *key, bool has_key)
{
    struct net_conn *c = net_conn_new(w);
    c->holds_slot = true;
    c->holds_addr_slot = has_key;
    if (has_key)
        c->addr_key = *key;
    if (uv_tcp_open(&c->tcp, fd) != 0) {
        close(fd);
        net_conn_close(c);
        return;
    }
    w->hooks->on_conn(w, c, w->hooks->ctx);
    if (!c->is_closing && net_conn_start(c) != RC_OK)
        net_conn_close(c);
}

/* Accepts up to max connections from the listener's queue. Returns early
 * when the queue is empty; pauses accepting at max_conns or on an error. */
/* A trusted proxy carries many clients' connections: the per-address cap
 * would cut them all off together (the rate limits see the real clients). */
static bool is_per_ip_exempt(const struct net_worker *w, const struct sockaddr_storage *ss)
{
    uint8_t a[16];
    const struct cidr_list *l =
        w->config->per_ip_exempt
            ? atomic_load_explicit(w->config->per_ip_exempt, memory_order_acquire)
            : NULL;
    return l && l->count && cidr_ip_of_sockaddr((const struct sockaddr *)ss, a) &&
           cidr_list_contains(l, a);
}

static void accept_some(struct net_worker *w, unsigned max)
{
    for (unsigned i = 0; i < max; i++) {
        if (!net_conn_limit_take(w->limit)) {
            warn_full(w);
            pause_accepting(w, true);
            return;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(w->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            net_conn_limit_put(w->limit);
            if (err == EAGAIN || err == EWOULDBLOCK)
                return;
            if (is_per_connection_error(err))
                continue;
            /* EMFILE, ENFILE, ENOBUFS, ENOMEM, or worse: not this client's fault. */
            warn_accept_error(w, err);
            pause_accepting(w, false);
            return;
        }
        struct net_ip_key key;
        bool has_key = w->config->max_conns_per_ip &&
                       net_ip_key_of((struct sockaddr *)&ss, sl, &key) && !is_per_ip_exempt(w, &ss);
        if (has_key && !net_conn_limit_take_addr(w->limit, &key)) {
            /* Closed before a byte is read: cheaper than an answer, and an
             * answer would be reset by the request bytes we never read. */
            close(fd);
            net_conn_limit_put(w->limit);
            warn_per_ip(w, &ss);
            continue;
        }
        start_conn(w, fd, &key, has_key);
    }
}

static void on_listener(uv_poll_t *p, int status, int events)
{
    (void)events;
    struct net_worker *w = p->data;
    if (w->is_stopping)
        return;
    if (status < 0) {
        warn_accept_error(w, -status);
        pause_accepting(w, false);
        return;
    }
    accept_some(w, ACCEPT_BATCH);
}

static void on_accept_retry(uv_timer_t *t)
{
    struct net_worker *w = t->data;
    if (w->is_stopping || !w->is_accept_paused)
        return;
    if (w->is_accept_full && net_conn_limit_is_full(w->limit)) {
        uv_timer_start(&w->accept_retry, on_accept_retry, ACCEPT_FULL_RETRY_MS, 0);
        return;
    }
    w->is_accept_paused = false;
    if (uv_poll_start(&w->listener, UV_READABLE, on_listener) != 0) {
        pause_accepting(w, false);
        return;
    }
    accept_some(w, ACCEPT_BATCH);
}

static void on_listener_closed(uv_handle_t *h)
{
    struct net_worker *w = h->data;
    close(w->listen_fd);
    w->listen_fd = -1;
}

static void on_tick(uv_timer_t *t)
{
    struct net_worker *w = t->data;
    uint64_t now = uv_now(&w->loop);
    struct list_node *n = w->conns.next;
    while (n != &w->conns) {
        struct list_node *next = n->next;
        struct net_conn *c = list_entry(n, struct net_conn, link);
        net_conn_check_timers(c, now, w->config->write_timeout_ms);
        n = next;
    }
    if (w->hooks->on_tick)
        w->hooks->on_tick(w, w->hooks->ctx);
}

static void close_all_conns(struct net_worker *w)
{
    for (struct list_node *n = w->conns.next; n != &w->conns; n = n->next)
        net_conn_close(list_entry(n, struct net_conn, link));
}

static void maybe_exit(struct net_worker *w);

static void on_grace(uv_timer_t *t)
{
    struct net_worker *w = t->data;
    if (w->conn_count)
        log_warn("msg=\"grace period over, closing connections\" worker=%u open=%zu", w->id,
                 w->conn_count);
    close_all_conns(w);
}

static void maybe_exit(struct net_worker *w)
{
    if (w->is_exiting || !w->is_stopping)
        return;
    if (w->conn_count || (w->hooks->is_busy && w->hooks->is_busy(w, w->hooks->ctx)))
        return; /* the next tick looks again; closes complete asynchronously */
    w->is_exiting = true;
    if (w->hooks->on_exit)
        w->hooks->on_exit(w, w->hooks->ctx);
    uv_close((uv_handle_t *)&w->tick, NULL);
    uv_close((uv_handle_t *)&w->grace, NULL);
    uv_close((uv_handle_t *)&w->accept_retry, NULL);
    uv_close((uv_handle_t *)&w->check, NULL);
    net_mailbox_close(w->mailbox);
}

static void stop_worker(void *arg)
{
    struct net_worker *w = arg;
    if (w->is_stopping)
        return;
    /* Accept what is queued on our listener before closing it: with
     * SO_REUSEPORT, the kernel resets connections left in a closed listener's
     * queue. (Out of descriptors or at max_conns, the rest is reset anyway.) */
    accept_some(w, UINT_MAX);
    w->is_stopping = true;
    uv_timer_stop(&w->accept_retry);
    uv_close((uv_handle_t *)&w->listener, on_listener_closed);
    if (w->hooks->on_stop)
        w->hooks->on_stop(w, w->hooks->ctx);
    uv_timer_start(&w->grace, on_grace, w->config->grace_ms ? w->config->grace_ms : 1, 0);
    maybe_exit(w);
}

static void tick_or_exit(uv_timer_t *t)
{
    struct net_worker *w = t->data;
    on_tick(t);
    if (w->is_stopping)
        maybe_exit(w);
}

static void on_check(uv_check_t *h)
{
    struct net_worker *w = h->data;
    if (w->hooks->on_iteration_end)
        w->hooks->on_iteration_end(w, w->hooks->ctx);
}

static _Thread_local bool is_loop_thread;

bool net_worker_is_loop_thread(void)
{
    return is_loop_thread;
}

static void run_worker(void *arg)
{
    struct net_worker *w = arg;
    is_loop_thread = true;
    char name[16];
    snprintf(name, sizeof(name), "tarmac-w%u", w->id);
    pthread_setname_np(pthread_self(), name);
    if (w->hooks->on_start)
        w->hooks->on_start(w, w->hooks->ctx);
    uv_timer_start(&w->tick, tick_or_exit, w->config->tick_ms, w->config->tick_ms);
    /* The socket listens already (net_workers_listen); watch its queue. */
    if (uv_poll_start(&w->listener, UV_READABLE, on_listener) != 0)
        log_error("msg=\"cannot watch the listener\" worker=%u", w->id);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
}

struct net_workers *net_workers_start(const struct net_worker_config *config,
                                      const struct net_worker_hooks *hooks, const int *fds)
{
    struct net_workers *ws = xcalloc(1, sizeof(*ws));
    ws->count = config->count;
    ws->items = xcalloc(config->count, sizeof(*ws->items));
    ws->limit = net_conn_limit_new(config->max_conns, config->max_conns_per_ip);
    for (unsigned i = 0; i < config->count; i++) {
        struct net_worker *w = xcalloc(1, sizeof(*w));
        w->id = i;
        w->config = config;
        w->hooks = hooks;
        w->listen_fd = fds[i];
        w->limit = ws->limit;
        list_init(&w->conns);
        uv_loop_init(&w->loop);
        uv_poll_init_socket(&w->loop, &w->listener, fds[i]);
        w->listener.data = w;
        uv_timer_init(&w->loop, &w->accept_retry);
        w->accept_retry.data = w;
        uv_timer_init(&w->loop, &w->tick);
        w->tick.data = w;
        uv_timer_init(&w->loop, &w->grace);
        w->grace.data = w;
        uv_check_init(&w->loop, &w->check);
        w->check.data = w;
        uv_check_start(&w->check, on_check);
        uv_unref((uv_handle_t *)&w->check); /* it must not keep the loop alive */
        w->mailbox = net_mailbox_new(&w->loop);
        ws->items[i] = w;
    }
    for (unsigned i = 0; i < config->count; i++)
        uv_thread_create(&ws->items[i]->thread, run_worker, ws->items[i]);
    return ws;
}

void net_workers_stop(struct net_workers *ws)
{
    for (unsigned i = 0; i < ws->count; i++)
        net_mailbox_post(ws->items[i]->mailbox, stop_worker, ws->items[i]);
}

void net_workers_join(struct net_workers *ws)
{
    for (unsigned i = 0; i < ws->count; i++) {
        uv_thread_join(&ws->items[i]->thread);
        xfree(ws->items[i]);
    }
    net_conn_limit_free(ws->limit);
    xfree(ws->items);
    xfree(ws);
}
