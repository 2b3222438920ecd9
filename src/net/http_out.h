/* http_out.h -- one blocking outbound HTTP request with libcurl (layer: net).
 *
 * The one way tarmac calls out over HTTP: job runners (webhooks, http jobs,
 * core/jobs/) and the offload pool (an OAuth2 code exchange, user-info read
 * and picture, core/auth/oauth2.c, api/auth_oauth2.c). Never a worker loop:
 * it blocks for up to the request's timeout. Only http and https, redirects
 * not followed. Unless the request allows private networks, the socket's
 * peer is checked in libcurl's open-socket callback, on the address actually
 * about to be connected to (after DNS, so a name that resolves to 127.0.0.1
 * on the second lookup is still caught), and proxies from the environment
 * are ignored (the check must see the real peer): loopback, private (RFC
 * 1918, CGNAT, ULA), link-local, unspecified and multicast addresses are
 * refused. Each thread keeps its own libcurl handles (and their open
 * connections) between calls; a batch of requests goes out at once
 * (net_http_out_send_many), each with its own timeout. */
#ifndef TARMAC_NET_HTTP_OUT_H
#define TARMAC_NET_HTTP_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"

#define NET_HTTP_OUT_MAX_HEADERS 32
#define NET_HTTP_OUT_MAX_RESPONSE (64 * 1024) /* read and dropped when no response buffer */
#define NET_HTTP_OUT_TIMEOUT_MS 10000         /* when timeout_ms is 0 */

struct net_http_out_req {
    const char *method; /* "GET" (no body sent), "POST", ...; NULL: "POST" */
    const char *url;
    const char *headers[NET_HTTP_OUT_MAX_HEADERS]; /* "Name: value", borrowed */
    size_t header_count;
    struct str body;
    int64_t timeout_ms; /* 0: NET_HTTP_OUT_TIMEOUT_MS */
    bool allow_private_network;
    /* NULL: the body is read and dropped (up to NET_HTTP_OUT_MAX_RESPONSE).
     * Else it is appended here (the caller's buf_init sets its maximum). */
    struct buf *response;
    /* HTTP/2 (APNs requires it): negotiated by ALPN over TLS, and with
     * prior knowledge over plain http. false: libcurl's default (HTTP/2
     * when an https server offers it, else 1.1). */
    bool is_http2;
    /* Not empty: the CAs (PEM) the server's certificate must chain to,
     * instead of the system's (a test service, a private CA). */
    struct str ca_pem;
};

enum net_http_out_fail {
    NET_HTTP_OUT_OK,        /* a response came (any status) */
    NET_HTTP_OUT_REFUSED,   /* the target address is private and not allowed */
    NET_HTTP_OUT_TIMEOUT,   /* no complete response within the timeout */
    NET_HTTP_OUT_NETWORK,   /* DNS, connect, TLS or protocol failure */
    NET_HTTP_OUT_BAD_URL,   /* not an http(s) URL */
    NET_HTTP_OUT_TOO_LARGE, /* the body outgrew req->response's maximum (or memory) */
};

struct net_http_out_resp {
    enum net_http_out_fail fail;
    long status;
    int64_t retry_after_ms; /* Retry-After (seconds or an HTTP-date), at most a day; 0 = none */
    char error[256];
};

/* Sends req and fills *resp. Any thread but a loop's; blocks. */
void net_http_out_send(const struct net_http_out_req *req, struct net_http_out_resp *resp);
/* Sends the n requests concurrently and fills each resps[i]; returns when
 * the last one has its answer or timed out. Any thread but a loop's. */
void net_http_out_send_many(const struct net_http_out_req *const *reqs,
                            struct net_http_out_resp *const *resps, size_t n);
/* Whether addr (16 bytes, IPv4 mapped) is loopback, private, link-local,
 * unspecified or multicast. Pure. */
bool net_http_out_is_private(const uint8_t addr[16]);
/* curl_global_init, once however often it is called (the mailer calls it
 * too); call before threads that use libcurl start. */
void net_http_out_global_init(void);

#endif
