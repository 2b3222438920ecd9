/* proxy.h -- the client address behind trusted reverse proxies (layer: http).
 *
 * A request's client address is its TCP peer's, unless that peer is one of
 * the configured trusted proxies: then it is read from the configured header
 * (X-Forwarded-For, X-Real-IP, CF-Connecting-IP, ...). From anyone else the
 * header is ignored, so a client cannot pick its own rate-limit bucket.
 *
 * Reading a list header (X-Forwarded-For: client, proxy1, proxy2), each proxy
 * appends the address it received from, so only the right end is written by
 * proxies we trust; the left end is whatever the client sent. "rightmost"
 * (the default) walks from the right, skipping addresses that are themselves
 * trusted proxies, and takes the first that is not: the address the outermost
 * trusted proxy saw. "leftmost" takes the first valid address (what
 * PocketBase's useLeftmostIP does): right only when every proxy in front
 * overwrites the header (some CDNs do), spoofable otherwise. Several header
 * lines are read as one list, in order. Read-only once made (struct http_proxy_slot swaps whole
 * ones). */
#ifndef TARMAC_HTTP_PROXY_H
#define TARMAC_HTTP_PROXY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/cidr.h"

struct http_req;

struct http_proxy_config {
    struct cidr_list trusted; /* the proxies' networks; empty: no header is ever read */
    char header[64];          /* the header name, e.g. "X-Forwarded-For" */
    bool is_leftmost;         /* take the leftmost valid address instead of rightmost-untrusted */
};

/* The configuration the workers read, replaced whole at run time (the
 * settings API): a reader loads the pointer once per use; its owner keeps
 * a replaced configuration until the workers are gone. */
struct http_proxy_slot {
    _Atomic(const struct http_proxy_config *) current; /* NULL: no proxy is trusted */
};

/* True when the TCP peer addr (16 bytes, IPv4 mapped) is a trusted proxy. */
bool http_proxy_is_trusted(const struct http_proxy_config *cfg, const uint8_t addr[16]);
/* Reads the client address of req, whose TCP peer is trusted, from the
 * configured header into out (CIDR_IP_TEXT bytes, canonical text). False,
 * leaving out alone, when the header is absent or holds no valid address. */
bool http_proxy_client_ip(const struct http_proxy_config *cfg, const struct http_req *req,
                          char *out);
/* Parses one entry of a forwarding header: an address with optional
 * surrounding spaces, "[v6]", "[v6]:port" or "v4:port". */
bool http_proxy_parse_entry(struct str s, uint8_t out[16]);

#endif
