/* http_out.h -- one blocking outbound HTTP request for job runners (layer: net).
 *
 * Job runner threads (core/jobs/runner.h), never a worker loop, call this:
 * it blocks for up to the request's timeout. libcurl does the work. Unless
 * the request allows private networks, the socket's peer is checked in
 * libcurl's open-socket callback, on the address actually about to be
 * connected to (after DNS, so a name that resolves to 127.0.0.1 on the
 * second lookup is still caught): loopback, private (RFC 1918, CGNAT, ULA),
 * link-local, unspecified and multicast addresses are refused. Redirects are
 * not followed. */
#ifndef TARMAC_NET_HTTP_OUT_H
#define TARMAC_NET_HTTP_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"

#define NET_HTTP_OUT_MAX_HEADERS 32
#define NET_HTTP_OUT_MAX_RESPONSE (64 * 1024)

struct net_http_out_req {
    const char *method; /* "POST" */
    const char *url;
    const char *headers[NET_HTTP_OUT_MAX_HEADERS]; /* "Name: value", borrowed */
    size_t header_count;
    struct str body;
    int64_t timeout_ms;
    bool allow_private_network;
};

enum net_http_out_fail {
    NET_HTTP_OUT_OK,      /* a response came (any status) */
    NET_HTTP_OUT_REFUSED, /* the target address is private and not allowed */
    NET_HTTP_OUT_TIMEOUT, /* no complete response within the timeout */
    NET_HTTP_OUT_NETWORK, /* DNS, connect, TLS or protocol failure */
    NET_HTTP_OUT_BAD_URL, /* not an http(s) URL */
};

struct net_http_out_resp {
    enum net_http_out_fail fail;
    long status;
    int64_t retry_after_ms; /* from Retry-After in seconds; 0 = none */
    char error[256];
};

/* Sends req and fills *resp (the response body is read and dropped, up to
 * NET_HTTP_OUT_MAX_RESPONSE). Any thread; blocks. */
void net_http_out_send(const struct net_http_out_req *req, struct net_http_out_resp *resp);
/* Whether addr (16 bytes, IPv4 mapped) is loopback, private, link-local,
 * unspecified or multicast. Pure. */
bool net_http_out_is_private(const uint8_t addr[16]);
/* curl_global_init; call once before runner threads start. */
void net_http_out_global_init(void);

#endif
