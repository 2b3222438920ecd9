/* cluster_logs.h -- the request log read across instances (layer: core, at
 * its root beside cluster_app.c).
 *
 * Each instance writes the requests it served into its own auxiliary.db
 * (store/logs.h); behind a balancer, GET /api/logs must show what every
 * instance served. A read (on the offload pool) broadcasts its query
 * ("logq": op list/view/stats with the filter, sort and row count) and waits
 * for the others' answers ("logr", sent to the asking instance only) until
 * every instance PUBLISH reached has answered, at most 1.5 s (then it goes
 * on with what it has, and logs a warning); each instance answers from its
 * own log on its offload pool (core_logs_answer). core/logs.c merges. */
#ifndef TARMAC_CORE_CLUSTER_LOGS_H
#define TARMAC_CORE_CLUSTER_LOGS_H

struct core_cluster;
struct net_offload;

/* Wires c's "logq"/"logr" messages and core/logs.h's gathering, answering
 * on offload. Start-up, before the workers. */
void core_cluster_logs_start(struct core_cluster *c, struct net_offload *offload);
/* Reads stop asking the others (before c is freed). */
void core_cluster_logs_stop(void);

#endif
