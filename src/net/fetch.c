/* fetch.c -- see fetch.h. One easy handle per call: the calls are rare (a
 * sign-in) and each runs on a pool thread, so a shared handle would need a
 * lock for nothing. */
#include "net/fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_curl(void)
{
    /* Thread-safe since curl 7.84 when built with atomics (Debian 12's is);
     * the once keeps older ones right too. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool is_public_v4(uint32_t a)
{
    return !((a >> 24) == 0 ||                 /* 0.0.0.0/8 */
             (a >> 24) == 10 ||                /* 10/8 */
             (a >> 24) == 127 ||               /* loopback */
             (a >> 22) == (100u << 2 | 1) ||   /* 100.64/10 CGNAT */
             (a >> 16) == (169u << 8 | 254) || /* link-local, cloud metadata */
             (a >> 20) == (172u << 4 | 1) ||   /* 172.16/12 */
             (a >> 16) == (192u << 8 | 168) || /* 192.168/16 */
             (a >> 28) >= 14);                 /* multicast, reserved, broadcast */
}

bool net_fetch_is_public(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        return is_public_v4(ntohl(in->sin_addr.s_addr));
    }
    if (addr->sa_family != AF_INET6)
        return false;
    const unsigned char *b = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, mapped, 12) == 0)
        return is_public_v4((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 |
                            b[15]);
    static const unsigned char zero[15] = {0};
    if (memcmp(b, zero, 15) == 0)
        return false;          /* :: and ::1 */
    if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 unique local */
        return false;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 link-local */
        return false;
    return b[0] != 0xff; /* multicast */
}

/* curl asks before each connect: a refused address fails the transfer with
 * CURLE_COULDNT_CONNECT (and curl tries the name's other addresses). */
static curl_socket_t open_public(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)ctx;
    if (purpose != CURLSOCKTYPE_IPCXN || !net_fetch_is_public(&a->addr))
        return CURL_SOCKET_BAD;
    return socket(a->family, a->socktype, a->protocol);
}

struct sink {
    struct buf *body;
    enum rc rc;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    struct sink *s = ctx;
    size_t len = size * n;
    if (s->rc)
        return 0;
    s->rc = buf_append(s->body, p, len);
    return s->rc ? 0 : len; /* 0 makes curl stop with CURLE_WRITE_ERROR */
}

enum rc net_fetch(const struct net_fetch_request *r, struct buf *body, long *status)
{
    *status = 0;
    if (strncmp(r->url, "http://", 7) != 0 && strncmp(r->url, "https://", 8) != 0)
        return RC_INVALID;
    pthread_once(&init_once, init_curl);
    CURL *h = curl_easy_init();
    if (!h)
        return RC_NOMEM;
    struct sink s = {body, RC_OK};
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i < NET_FETCH_MAX_HEADERS && r->headers[i]; i++)
        headers = curl_slist_append(headers, r->headers[i]);
    char type[128];
    if (r->post_body && r->post_type) {
        snprintf(type, sizeof(type), "Content-Type: %s", r->post_type);
        headers = curl_slist_append(headers, type);
    }
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms ? r->timeout_ms : 15000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tarmac");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    if (headers)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (r->is_public_only) {
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_public);
        curl_easy_setopt(h, CURLOPT_PROXY, ""); /* the check must see the real peer */
    }
    if (r->post_body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->post_body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(r->post_body));
    }
    CURLcode cc = curl_easy_perform(h);
    enum rc rc = RC_OK;
    if (s.rc)
        rc = s.rc;
    else if (cc != CURLE_OK)
        rc = RC_IO;
    else
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return rc;
}
