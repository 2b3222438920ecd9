/* metrics.h -- the product's gauges and counters for /api/metrics (layer: core).
 *
 * Writes, in Prometheus text format 0.0.4, what the app's parts count: the
 * writer thread (queue, commits, transaction time), the offload pool's queue,
 * mail, thumbnails, realtime clients, and the process (CPU, memory,
 * descriptors). Each source keeps its own counters; this only reads them, from
 * any thread, so a scrape costs the request path nothing. */
#ifndef TARMAC_CORE_METRICS_H
#define TARMAC_CORE_METRICS_H

#include "base/buf.h"

struct core_app;

/* Appends the tarmac_* families of app and tarmac_process_* to out. Any thread. */
void core_metrics_write(struct core_app *app, struct buf *out);

#endif
