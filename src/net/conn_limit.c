/* conn_limit.c -- see conn_limit.h.
 *
 * The per-address table is touched twice per connection (accept, close) by
 * whichever worker owns it; 64 shards keep two workers from meeting on one
 * lock unless their clients hash alike. The hash is keyed by a random seed so
 * a client cannot pick addresses that pile into one chain; chains stay short
 * anyway, as a shard doubles its buckets when it holds more entries than
 * buckets. An entry exists only while its address has a connection open, so
 * the table is never larger than the connections are. */
#include "net/conn_limit.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/str.h"

#define SHARD_BITS 6
#define SHARDS (1u << SHARD_BITS)
#define FIRST_BUCKETS 16

struct addr_entry {
    struct net_ip_key key;
    uint64_t count;
    struct addr_entry *next;
};

struct shard {
    uv_mutex_t lock;
    struct addr_entry **buckets;
    size_t bucket_count; /* a power of two */
    size_t entry_count;
};

struct net_conn_limit {
    uint64_t max_conns;    /* 0 = no cap */
    uint64_t max_per_addr; /* 0 = no cap, no table */
    _Atomic uint64_t open;
    uint64_t seed[2];
    struct shard *shards; /* SHARDS of them, or NULL without a per-address cap */
};

struct net_conn_limit *net_conn_limit_new(uint64_t max_conns, uint64_t max_per_addr)
{
    struct net_conn_limit *l = xcalloc(1, sizeof(*l));
    l->max_conns = max_conns;
    l->max_per_addr = max_per_addr;
    atomic_init(&l->open, 0);
    if (!max_per_addr)
        return l;
    /* Synchronous without a loop; if the kernel's RNG failed, a fixed seed
     * only makes chains predictable, not wrong. */
    if (uv_random(NULL, NULL, l->seed, sizeof(l->seed), 0, NULL) != 0) {
        l->seed[0] = 0x9e3779b97f4a7c15ull;
        l->seed[1] = 0xbf58476d1ce4e5b9ull;
    }
    l->shards = xcalloc(SHARDS, sizeof(*l->shards));
    for (unsigned i = 0; i < SHARDS; i++) {
        struct shard *s = &l->shards[i];
        uv_mutex_init(&s->lock);
        s->bucket_count = FIRST_BUCKETS;
        s->buckets = xcalloc(s->bucket_count, sizeof(*s->buckets));
    }
    return l;
}

void net_conn_limit_free(struct net_conn_limit *l)
{
    if (!l)
        return;
    if (l->shards) {
        for (unsigned i = 0; i < SHARDS; i++) {
            struct shard *s = &l->shards[i];
            for (size_t b = 0; b < s->bucket_count; b++) {
                struct addr_entry *e = s->buckets[b];
                while (e) {
                    struct addr_entry *next = e->next;
                    xfree(e);
                    e = next;
                }
            }
            xfree(s->buckets);
            uv_mutex_destroy(&s->lock);
        }
        xfree(l->shards);
    }
    xfree(l);
}

bool net_conn_limit_take(struct net_conn_limit *l)
{
    /* Compare-and-swap rather than add-then-undo: a refused take must not
     * count for a moment, or a take elsewhere would fail with a slot free. */
    uint64_t n = atomic_load_explicit(&l->open, memory_order_relaxed);
    do {
        if (l->max_conns && n >= l->max_conns)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&l->open, &n, n + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

void net_conn_limit_put(struct net_conn_limit *l)
{
    atomic_fetch_sub_explicit(&l->open, 1, memory_order_relaxed);
}

bool net_conn_limit_is_full(const struct net_conn_limit *l)
{
    return l->max_conns && atomic_load_explicit(&l->open, memory_order_relaxed) >= l->max_conns;
}

uint64_t net_conn_limit_open(const struct net_conn_limit *l)
{
    return atomic_load_explicit(&l->open, memory_order_relaxed);
}

bool net_ip_key_of(const struct sockaddr *sa, socklen_t len, struct net_ip_key *key)
{
    memset(key, 0, sizeof(*key));
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        key->bytes[10] = 0xff;
        key->bytes[11] = 0xff;
        memcpy(key->bytes + 12, &in->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, mapped, sizeof(mapped)) == 0)
            memcpy(key->bytes, a, 16); /* an IPv4 client: its whole address */
        else
            memcpy(key->bytes, a, 8); /* the /64 */
        return true;
    }
    return false;
}

static uint64_t hash_key(const struct net_conn_limit *l, const struct net_ip_key *key)
{
    uint64_t lo;
    uint64_t hi;
    memcpy(&lo, key->bytes, 8);
    memcpy(&hi, key->bytes + 8, 8);
    return hash_mix64(hash_mix64(lo ^ l->seed[0]) ^ hi ^ l->seed[1]);
}

static struct shard *shard_of(struct net_conn_limit *l, uint64_t h)
{
    return &l->shards[h >> (64 - SHARD_BITS)];
}

/* The link that points (or would point) at key's entry in its chain. */
static struct addr_entry **find_link(struct shard *s, uint64_t h, const struct net_ip_key *key)
{
    struct addr_entry **link = &s->buckets[h & (s->bucket_count - 1)];
    while (*link && memcmp((*link)->key.bytes, key->bytes, sizeof(key->bytes)) != 0)
        link = &(*link)->next;
    return link;
}

static void grow(struct net_conn_limit *l, struct shard *s)
{
    size_t count = s->bucket_count * 2;
    struct addr_entry **buckets = xcalloc(count, sizeof(*buckets));
    for (size_t b = 0; b < s->bucket_count; b++) {
        struct addr_entry *e = s->buckets[b];
        while (e) {
            struct addr_entry *next = e->next;
            size_t i = hash_key(l, &e->key) & (count - 1);
            e->next = buckets[i];
            buckets[i] = e;
            e = next;
        }
    }
    xfree(s->buckets);
    s->buckets = buckets;
    s->bucket_count = count;
}

bool net_conn_limit_take_addr(struct net_conn_limit *l, const struct net_ip_key *key)
{
    if (!l->shards)
        return true;
    uint64_t h = hash_key(l, key);
    struct shard *s = shard_of(l, h);
    bool is_taken = true;
    uv_mutex_lock(&s->lock);
    struct addr_entry **link = find_link(s, h, key);
    if (*link) {
        if ((*link)->count >= l->max_per_addr)
            is_taken = false;
        else
            (*link)->count++;
    } else {
        struct addr_entry *e = xcalloc(1, sizeof(*e));
        e->key = *key;
        e->count = 1;
        *link = e;
        if (++s->entry_count > s->bucket_count)
            grow(l, s);
    }
    uv_mutex_unlock(&s->lock);
    return is_taken;
}

void net_conn_limit_put_addr(struct net_conn_limit *l, const struct net_ip_key *key)
{
    if (!l->shards)
        return;
    uint64_t h = hash_key(l, key);
    struct shard *s = shard_of(l, h);
    uv_mutex_lock(&s->lock);
    struct addr_entry **link = find_link(s, h, key);
    struct addr_entry *e = *link;
    if (e && --e->count == 0) {
        *link = e->next;
        s->entry_count--;
        xfree(e);
    }
    uv_mutex_unlock(&s->lock);
}

uint64_t net_conn_limit_addr_count(struct net_conn_limit *l, const struct net_ip_key *key)
{
    if (!l->shards)
        return 0;
    uint64_t h = hash_key(l, key);
    struct shard *s = shard_of(l, h);
    uv_mutex_lock(&s->lock);
    struct addr_entry *e = *find_link(s, h, key);
    uint64_t n = e ? e->count : 0;
    uv_mutex_unlock(&s->lock);
    return n;
}
