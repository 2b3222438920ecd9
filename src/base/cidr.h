/* cidr.h -- IP addresses and CIDR networks, IPv4 and IPv6 (layer: base).
 *
 * An address is held as 16 bytes; an IPv4 address in its IPv4-mapped IPv6
 * form (::ffff:a.b.c.d), so "10.0.0.0/8" and a peer seen as ::ffff:10.1.2.3 on
 * a dual-stack socket match. Used by the trusted-proxy rule (http/proxy) and
 * the per-address connection cap's exemption (net/worker). Pure: no I/O. */
#ifndef TARMAC_BASE_CIDR_H
#define TARMAC_BASE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

struct cidr {
    uint8_t addr[16]; /* the network's address, host bits cleared */
    uint8_t bits;     /* prefix length over the 16 bytes (IPv4 /n is 96 + n) */
};

/* A list of networks, read-only once built. */
struct cidr_list {
    struct cidr *nets; /* owned; free with cidr_list_cleanup() */
    size_t count;
};

/* Parses one IPv4 or IPv6 address ("10.0.0.1", "::1", "::ffff:10.0.0.1"),
 * no brackets, no zone, no surrounding spaces. False when malformed. */
bool cidr_parse_ip(struct str s, uint8_t out[16]);
/* Parses "ADDR/BITS" or a bare ADDR (a single host). Host bits set past the
 * prefix are cleared ("10.1.2.3/8" is 10.0.0.0/8). False when malformed. */
bool cidr_parse(struct str s, struct cidr *out);
/* Parses a comma-separated list ("10.0.0.0/8, ::1"; spaces around entries
 * allowed; "" is the empty list) into *out, which the caller cleans up.
 * False, leaving *out empty, when any entry is malformed; *bad is then the
 * first bad entry. */
bool cidr_list_parse(struct str s, struct cidr_list *out, struct str *bad);
void cidr_list_cleanup(struct cidr_list *l);
/* Fills out from an AF_INET or AF_INET6 socket address (IPv4 mapped); false
 * for any other family. */
struct sockaddr;
bool cidr_ip_of_sockaddr(const struct sockaddr *sa, uint8_t out[16]);
/* True when addr lies in n. */
bool cidr_contains(const struct cidr *n, const uint8_t addr[16]);
/* True when addr lies in any network of l (false for an empty or NULL list). */
bool cidr_list_contains(const struct cidr_list *l, const uint8_t addr[16]);
/* Formats addr as text: dotted quad for an IPv4-mapped address, RFC 5952
 * for IPv6. out needs CIDR_IP_TEXT bytes. Returns the length. */
#define CIDR_IP_TEXT 48
size_t cidr_format_ip(const uint8_t addr[16], char *out);

#endif
