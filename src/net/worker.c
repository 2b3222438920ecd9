/* worker.c -- see worker.h. */
#include "net/worker.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/log.h"
#include "net/conn.h"
#include "net/mailbox.h"

struct net_workers {
    unsigned count;
    struct net_worker **items;
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

static void on_new_connection(uv_stream_t *listener, int status)
{
    struct net_worker *w = listener->data;
    if (status < 0 || w->is_stopping)
        return;
    /* libuv calls us once per accepted socket, looping while the backlog has more. */
    struct net_conn *c = net_conn_new(w);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        net_conn_close(c);
        return;
    }
    w->hooks->on_conn(w, c, w->hooks->ctx);
    if (!c->is_closing && net_conn_start(c) != RC_OK)
        net_conn_close(c);
}

/* Accepts, without libuv, whatever waits in the kernel's queue: used once,
 * right before the listener closes. */
static void accept_backlog(struct net_worker *w)
{
    for (;;) {
        int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct net_conn *c = net_conn_new(w);
        if (uv_tcp_open(&c->tcp, fd) != 0) {
            close(fd);
            net_conn_close(c);
            continue;
        }
        w->hooks->on_conn(w, c, w->hooks->ctx);
        if (!c->is_closing && net_conn_start(c) != RC_OK)
            net_conn_close(c);
    }
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
    uv_close((uv_handle_t *)&w->check, NULL);
    net_mailbox_close(w->mailbox);
}

static void stop_worker(void *arg)
{
    struct net_worker *w = arg;
    if (w->is_stopping)
        return;
    /* Accept what is queued on our listener before closing it: with
     * SO_REUSEPORT, the kernel resets connections left in a closed listener's queue. */
    accept_backlog(w);
    w->is_stopping = true;
    uv_close((uv_handle_t *)&w->listener, NULL);
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

static void run_worker(void *arg)
{
    struct net_worker *w = arg;
    char name[16];
    snprintf(name, sizeof(name), "tarmac-w%u", w->id);
    pthread_setname_np(pthread_self(), name);
    if (w->hooks->on_start)
        w->hooks->on_start(w, w->hooks->ctx);
    uv_timer_start(&w->tick, tick_or_exit, w->config->tick_ms, w->config->tick_ms);
    if (uv_listen((uv_stream_t *)&w->listener, w->config->backlog, on_new_connection) != 0)
        log_error("msg=\"listen failed\" worker=%u", w->id);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
}

struct net_workers *net_workers_start(const struct net_worker_config *config,
                                      const struct net_worker_hooks *hooks, const int *fds)
{
    struct net_workers *ws = xcalloc(1, sizeof(*ws));
    ws->count = config->count;
    ws->items = xcalloc(config->count, sizeof(*ws->items));
    for (unsigned i = 0; i < config->count; i++) {
        struct net_worker *w = xcalloc(1, sizeof(*w));
        w->id = i;
        w->config = config;
        w->hooks = hooks;
        w->listen_fd = fds[i];
        list_init(&w->conns);
        uv_loop_init(&w->loop);
        uv_tcp_init(&w->loop, &w->listener);
        uv_tcp_open(&w->listener, fds[i]);
        w->listener.data = w;
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
    xfree(ws->items);
    xfree(ws);
}
