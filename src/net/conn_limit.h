/* conn_limit.h -- connection caps shared by every worker (layer: net).
 *
 * Two counts, one per process: the connections open in all workers (against
 * --max-conns, kept below the descriptor limit) and the connections open per
 * client address (against --max-conns-per-ip). An IPv4 client (also one seen
 * as ::ffff:a.b.c.d on a dual-stack socket) is counted by its address, an IPv6
 * client by its /64: one subscriber's network gets a /64 and may use any of
 * its 2^64 addresses, so counting exact IPv6 addresses would limit nothing.
 * The total is an atomic counter; the per-address counts live in a hash table
 * split into shards, each under its own mutex, holding only addresses with a
 * connection open. Every function is thread-safe. */
#ifndef TARMAC_NET_CONN_LIMIT_H
#define TARMAC_NET_CONN_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* What the per-address count is keyed by: an IPv4 address in its IPv4-mapped
 * IPv6 form, or an IPv6 /64 prefix followed by zeros. */
struct net_ip_key {
    uint8_t bytes[16];
};

struct net_conn_limit;

/* Returns a new limit, free it with net_conn_limit_free(). max_conns: most
 * connections open at once, 0 = no cap (they are still counted);
 * max_per_addr: most per client address, 0 = no cap (and no table). */
struct net_conn_limit *net_conn_limit_new(uint64_t max_conns, uint64_t max_per_addr);
/* Frees l (NULL is fine). Every slot must have been put back. */
void net_conn_limit_free(struct net_conn_limit *l);

/* Takes one connection slot. False, taking nothing, when max_conns are open. */
bool net_conn_limit_take(struct net_conn_limit *l);
/* Puts back a slot net_conn_limit_take() gave. */
void net_conn_limit_put(struct net_conn_limit *l);
/* True when every slot is taken (never without a cap). A hint: another
 * thread may take or put one right after. */
bool net_conn_limit_is_full(const struct net_conn_limit *l);
/* Connections counted now (slots taken and not put back). */
uint64_t net_conn_limit_open(const struct net_conn_limit *l);

/* Fills *key from a peer address (AF_INET or AF_INET6); false for any other
 * family or a short len. */
bool net_ip_key_of(const struct sockaddr *sa, socklen_t len, struct net_ip_key *key);
/* Counts one more connection from key. False, counting nothing, when
 * max_per_addr are open from it already; always true without a cap. */
bool net_conn_limit_take_addr(struct net_conn_limit *l, const struct net_ip_key *key);
/* Counts one connection from key less (one net_conn_limit_take_addr() gave). */
void net_conn_limit_put_addr(struct net_conn_limit *l, const struct net_ip_key *key);
/* Connections counted from key now (0 without a cap). */
uint64_t net_conn_limit_addr_count(struct net_conn_limit *l, const struct net_ip_key *key);

#endif
