/* worker.h -- worker threads, each with its own loop and listener (layer: net).
 *
 * One libuv loop per worker thread; each worker has its own listening socket
 * bound with SO_REUSEPORT so the kernel spreads connections and loops share
 * nothing on the hot path. The cost: a busy worker cannot pass connections to
 * an idle one, and closing one listener resets the connections queued on it, so
 * on stop each worker first accepts what is queued, then closes its listener,
 * then drains.
 *
 * Accepting is ours, not libuv's (worker.c says why): when descriptors run
 * out, or max_conns are open in all workers together, a worker stops watching
 * its listener and looks again on a short timer, while its loop goes on
 * timing out and closing connections. A client address over max_conns_per_ip
 * is closed as soon as it is accepted. All fields belong to the worker's
 * thread once it runs, except the shared limit (thread-safe). */
#ifndef TARMAC_NET_WORKER_H
#define TARMAC_NET_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/list.h"
#include "base/rc.h"

struct cidr_list;
struct net_conn;
struct net_conn_limit;
struct net_mailbox;
struct net_worker;

/* Callbacks into the layer above; all run on the worker's thread. */
struct net_worker_hooks {
    void (*on_start)(struct net_worker *w, void *ctx); /* before the first accept */
    void (*on_conn)(struct net_worker *w, struct net_conn *c, void *ctx); /* set c->ops */
    void (*on_tick)(struct net_worker *w, void *ctx);                     /* every tick_ms */
    void (*on_stop)(struct net_worker *w, void *ctx); /* listener closed, drain begins */
    void (*on_exit)(struct net_worker *w, void *ctx); /* every connection is gone */
    bool (*is_busy)(struct net_worker *w, void *ctx); /* pending work keeps the loop alive */
    void (*on_iteration_end)(struct net_worker *w, void *ctx); /* after each loop iteration's I/O */
    void *ctx;
};

struct net_worker_config {
    unsigned count;
    uint64_t tick_ms;          /* timeout granularity */
    uint64_t write_timeout_ms; /* a write making no progress this long closes the connection */
    uint64_t grace_ms;         /* drain time on stop before connections are cut */
    uint64_t max_conns;        /* open in all workers together; 0 = no cap */
    uint64_t max_conns_per_ip; /* open from one IPv4 address or IPv6 /64; 0 = no cap */
    /* Peers exempt from max_conns_per_ip (trusted reverse proxies, whose
     * connections carry many clients), swapped at run time; NULL: none. */
    _Atomic(const struct cidr_list *) *per_ip_exempt;
};

/* A log line that may repeat at most once per period; the lines left out
 * are counted and reported with the next one. */
struct net_warn_gate {
    uint64_t last_ms; /* uv_now() of the last line logged; 0 = none yet */
    uint64_t skipped; /* occurrences not logged since */
};

struct net_worker {
    unsigned id;
    uv_loop_t loop;
    uv_thread_t thread;
    uv_poll_t listener; /* readable: connections wait in the kernel's queue */
    int listen_fd;
    uv_timer_t accept_retry;      /* runs while accepting is paused */
    struct net_conn_limit *limit; /* shared by every worker */
    bool is_accept_paused;
    bool is_accept_full;                    /* paused at max_conns, not by an error */
    struct net_warn_gate warn_accept_error; /* out of descriptors (or another accept error) */
    struct net_warn_gate warn_full;         /* max_conns open */
    struct net_warn_gate warn_per_ip;       /* a client over max_conns_per_ip */
    uv_timer_t tick;
    uv_timer_t grace;
    uv_check_t check; /* runs hooks->on_iteration_end */
    struct net_mailbox *mailbox;
    struct list_node conns; /* every open struct net_conn */
    size_t conn_count;
    uint64_t next_conn_id;
    const struct net_worker_hooks *hooks;
    const struct net_worker_config *config;
    void *user; /* the upper layer's per-worker state */
    bool is_stopping;
    bool is_exiting;
    char read_buf[64 * 1024]; /* shared by all connections of this worker */
};

struct net_workers;

/* Opens the listening sockets (one per worker, SO_REUSEPORT) on host:port in
 * the calling thread, so an address in use is reported before anything runs.
 * port 0 picks a free port, shared by all workers. On failure returns RC_IO
 * and sets *err to a static sentence. On success *bound_port is the port. */
enum rc net_workers_listen(const char *host, int port, unsigned count, int *fds, int *bound_port,
                           const char **err);
/* Starts config->count workers on the given listening fds (takes ownership).
 * Returns a handle to stop them with. config and hooks must outlive the workers. */
struct net_workers *net_workers_start(const struct net_worker_config *config,
                                      const struct net_worker_hooks *hooks, const int *fds);
/* Tells every worker to stop (from any thread; async-signal-unsafe). */
void net_workers_stop(struct net_workers *ws);
/* Waits until every worker thread has ended, then frees ws. */
void net_workers_join(struct net_workers *ws);

/* True on a worker's loop thread, where nothing may block (net/s3.h refuses
 * to run there). Any thread. */
bool net_worker_is_loop_thread(void);

/* Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit. */
uint64_t net_raise_fd_limit(void);
/* The default for max_conns under a descriptor limit of fd_limit with
 * workers workers: three quarters of what is left after a reserve for the
 * process's own descriptors (databases, loops, mailboxes, logs, mail), so
 * files opened for requests (downloads, uploads, thumbnails) still find
 * descriptors when every connection is open. At least 1. */
uint64_t net_default_max_conns(uint64_t fd_limit, unsigned workers);
/* Number of CPUs this process may run on (its affinity mask), at least 1. */
unsigned net_cpu_count(void);

#endif
