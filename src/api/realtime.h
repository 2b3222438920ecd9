/* realtime.h -- the realtime transports: SSE and WebSocket (layer: api).
 *
 * Both turn an HTTP connection into a core realtime client (core/realtime.h)
 * and frame what it delivers. The bookkeeping they share lives here: each
 * worker keeps its realtime connections in a list, swept once a second to
 * send keep-alive pings and to close streams idle (no message delivered) or
 * old past the configured limits, after which clients reconnect (spec §7.1). */
#ifndef TARMAC_API_REALTIME_H
#define TARMAC_API_REALTIME_H
#include <stdbool.h>
#include <stdint.h>
#include "api/worker.h"
#include "base/list.h"
#include "core/realtime/realtime.h"
#include "http/server.h"

struct api_call;

struct api_realtime_config {
    uint64_t idle_ms;    /* close after this long without a delivered message */
    uint64_t max_age_ms; /* close any stream this old; 0 = never */
    uint64_t ping_ms;    /* keep-alive after this long without a write */
};

/* Sets the limits for every worker; call before workers start. */
void api_realtime_configure(const struct api_realtime_config *c);
const struct api_realtime_config *api_realtime_config(void);

/* One realtime connection, embedded first in the transport's own state. */
struct api_rt_conn {
    struct api_worker *aw;
    struct http_stream *stream;
    struct core_rt_client *client; /* NULL until connected (WebSocket: after the handshake) */
    struct list_node link;         /* in aw->rt_conns */
    uint64_t connected_ms;
    uint64_t last_message_ms; /* last delivered message (the idle limit) */
    uint64_t last_write_ms;   /* last bytes of any kind (pings) */
    bool is_closing;
    void (*ping)(struct api_rt_conn *rc);
    void (*close)(struct api_rt_conn *rc); /* graceful */
    void (*abort)(struct api_rt_conn *rc); /* at once, dropping queued output */
};

void api_rt_conn_attach(struct api_rt_conn *rc, struct api_worker *aw, struct http_stream *s);
/* Disconnects the client and leaves the list; from the stream's on_close. */
void api_rt_conn_detach(struct api_rt_conn *rc);
/* False when rc is closing, or when its reader has fallen too far behind:
 * then it is dropped (aborted) rather than buffered for. Check before a message. */
bool api_rt_conn_keeps_up(struct api_rt_conn *rc);
/* Notes that bytes went out now (the ping timer). */
void api_rt_conn_wrote(struct api_rt_conn *rc);

/* The once-a-second sweep; from the worker's tick. */
void api_realtime_tick(struct api_worker *aw, uint64_t now_ms);

/* The answer (400) to a subscribe that would pass --realtime-max-subs-ip. */
#define API_RT_TOO_MANY_FROM_IP                                                                    \
    "Too many realtime subscriptions from this IP address; close other clients or subscribe to "   \
    "fewer topics."

/* Answers a subscribe outcome of core_realtime_subscribe*() per spec §7.2. */
enum rc api_realtime_answer(struct api_call *c, enum rc rc);

#endif
