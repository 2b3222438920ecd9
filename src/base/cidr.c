/* cidr.c -- see cidr.h. inet_pton/inet_ntop do the text work: they are pure
 * functions of their arguments (no I/O, no locale). */
#include "base/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "base/alloc.h"

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool cidr_parse_ip(struct str s, uint8_t out[16])
{
    char tmp[CIDR_IP_TEXT];
    if (s.len == 0 || s.len >= sizeof(tmp))
        return false;
    memcpy(tmp, s.ptr, s.len);
    tmp[s.len] = '\0';
    if (memchr(s.ptr, ':', s.len))
        return inet_pton(AF_INET6, tmp, out) == 1;
    memcpy(out, v4_mapped, 12);
    return inet_pton(AF_INET, tmp, out + 12) == 1;
}

bool cidr_parse(struct str s, struct cidr *out)
{
    const char *slash = memchr(s.ptr, '/', s.len);
    struct str ip = slash ? (struct str){s.ptr, (size_t)(slash - s.ptr)} : s;
    if (!cidr_parse_ip(ip, out->addr))
        return false;
    bool is_v4 = memcmp(out->addr, v4_mapped, 12) == 0 && !memchr(ip.ptr, ':', ip.len);
    uint64_t bits = 128;
    if (slash) {
        struct str b = {slash + 1, s.len - ip.len - 1};
        if (b.len == 0 || b.len > 3 || !str_to_u64(b, &bits) || bits > (is_v4 ? 32u : 128u))
            return false;
        if (is_v4)
            bits += 96;
    }
    out->bits = (uint8_t)bits;
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = bits >= (i + 1) * 8 ? 8 : bits > i * 8 ? (unsigned)(bits - i * 8) : 0;
        out->addr[i] &= (uint8_t)(keep ? 0xff << (8 - keep) : 0);
    }
    return true;
}

bool cidr_list_parse(struct str s, struct cidr_list *out, struct str *bad)
{
    out->nets = NULL;
    out->count = 0;
    size_t start = 0;
    while (start <= s.len) {
        const char *comma = memchr(s.ptr + start, ',', s.len - start);
        size_t end = comma ? (size_t)(comma - s.ptr) : s.len;
        struct str item = str_trim_ows((struct str){s.ptr + start, end - start});
        if (item.len) {
            struct cidr c;
            if (!cidr_parse(item, &c)) {
                *bad = item;
                cidr_list_cleanup(out);
                return false;
            }
            out->nets = xrealloc(out->nets, (out->count + 1) * sizeof(*out->nets));
            out->nets[out->count++] = c;
        }
        if (!comma)
            break;
        start = end + 1;
    }
    return true;
}

void cidr_list_cleanup(struct cidr_list *l)
{
    xfree(l->nets);
    l->nets = NULL;
    l->count = 0;
}

bool cidr_ip_of_sockaddr(const struct sockaddr *sa, uint8_t out[16])
{
    if (sa->sa_family == AF_INET) {
        memcpy(out, v4_mapped, 12);
        memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    return false;
}

bool cidr_contains(const struct cidr *n, const uint8_t addr[16])
{
    unsigned whole = n->bits / 8;
    if (memcmp(n->addr, addr, whole) != 0)
        return false;
    unsigned rest = n->bits % 8;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (addr[whole] & mask) == n->addr[whole];
}

bool cidr_list_contains(const struct cidr_list *l, const uint8_t addr[16])
{
    if (!l)
        return false;
    for (size_t i = 0; i < l->count; i++) {
        if (cidr_contains(&l->nets[i], addr))
            return true;
    }
    return false;
}

size_t cidr_format_ip(const uint8_t addr[16], char *out)
{
    const char *r = memcmp(addr, v4_mapped, 12) == 0
                        ? inet_ntop(AF_INET, addr + 12, out, CIDR_IP_TEXT)
                        : inet_ntop(AF_INET6, addr, out, CIDR_IP_TEXT);
    if (!r)
        out[0] = '\0';
    return strlen(out);
}
