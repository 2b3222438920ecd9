/* worker.h -- what the API keeps per worker thread (layer: api).
 *
 * net_worker->user points at one of these on every worker: the HTTP server
 * state and the product's per-worker context (read connection, mailbox). The
 * CLI creates and frees it; handlers reach it through http_req_worker(). */
#ifndef TARMAC_API_WORKER_H
#define TARMAC_API_WORKER_H

#include "base/list.h"
#include "core/app.h"
#include "http/server.h"

struct api_worker {
    struct http_server *http;
    struct core_worker core;
    struct list_node rt_conns; /* realtime connections (api/realtime.h) */
    uint64_t rt_last_sweep_ms;
    /* Chunk reads of large downloads (api/files.c) out on the offload pool:
     * their answers come by this worker's mailbox, which must outlive them,
     * so the worker does not stop while any is out, even with no
     * connection left. */
    size_t file_reads;
    /* Pieces of streamed pages posted to this worker's mailbox (records.c),
     * for the same reason. */
    size_t page_pieces;
    /* Backups being made or staged for this worker's requests (backups.c):
     * their answers come by the mailbox too. */
    size_t backup_ops;
    /* The routes of this worker's scripts (api/hooks.c), built again when
     * they were reloaded. */
    struct http_router *hooks_router;
    uint64_t hooks_generation;
};

/* True while work of this worker's api layer is out (file_reads, page_pieces,
 * backup_ops). */
bool api_worker_is_busy(const struct api_worker *aw);

/* http_server_config.invoke: on a remote engine, a handler runs as a task
 * of the worker (core/task.h) and its answer goes out when it ends; a
 * worker with too many tasks answers 503. */
enum rc api_invoke(http_handler_fn *h, struct http_req *req, void *ctx);

/* The api_worker of the worker running req. */
struct api_worker *api_worker_of(struct http_req *req);

#endif
