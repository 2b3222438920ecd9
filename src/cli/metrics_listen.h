/* metrics_listen.h -- the --metrics-addr listener on the main loop (layer: cli). */
#ifndef TARMAC_CLI_METRICS_LISTEN_H
#define TARMAC_CLI_METRICS_LISTEN_H

#include <uv.h>

#include "base/rc.h"

struct core_app;
struct http_router;
struct cli_metrics_listener;

/* Listens on host:port (port 0 picks one) in loop, serving GET /metrics to
 * anyone who connects. router and app must outlive the listener. RC_INVALID
 * for a bad host, RC_IO when the address cannot be bound (logged). */
enum rc cli_metrics_listen(uv_loop_t *loop, const char *host, int port,
                           const struct http_router *router, struct core_app *app,
                           struct cli_metrics_listener **out);
/* The bound port. */
int cli_metrics_port(struct cli_metrics_listener *l);
/* Stops listening; scrapes in flight finish on their own. Accepts NULL. */
void cli_metrics_close(struct cli_metrics_listener *l);

#endif
