/* fetch.h -- one outbound HTTP request with libcurl, blocking (layer: net).
 *
 * For the offload pool only (net/offload.h): an OAuth2 code exchange or a
 * user-info read waits on a remote server for up to timeout_ms, which no
 * loop may do. Only http and https, redirects not followed, the response
 * body capped at max_body bytes. */
#ifndef TARMAC_NET_FETCH_H
#define TARMAC_NET_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/rc.h"

#define NET_FETCH_MAX_HEADERS 4

struct net_fetch_request {
    const char *url;
    const char *post_body;                      /* NULL: GET; else POST with this body */
    const char *post_type;                      /* Content-Type of the POST body */
    const char *headers[NET_FETCH_MAX_HEADERS]; /* "Name: value"; NULL ends the list */
    long timeout_ms;                            /* 0: 15000 */
    /* A URL someone other than the operator chose (an OAuth2 picture):
     * refuse to connect to loopback, private, link-local, CGNAT, multicast
     * and unspecified addresses, checked on the address curl resolved (so a
     * name that resolves inward is refused too). */
    bool is_public_only;
};

/* Whether a connection to addr would leave the host's networks: false for
 * the ranges is_public_only refuses (IPv4, IPv6 and IPv4-mapped IPv6). */
struct sockaddr;
bool net_fetch_is_public(const struct sockaddr *addr);

/* Performs r and appends the response body to body (initialised by the
 * caller; its maximum caps the body: RC_TOO_LARGE past it). *status gets the
 * HTTP status. RC_IO when the server cannot be reached or times out,
 * RC_INVALID for a URL that is not http(s). Any thread but a loop's. */
enum rc net_fetch(const struct net_fetch_request *r, struct buf *body, long *status);

#endif
