/* http_out.c -- see http_out.h. Two helpers once wrote a module each for
 * this (net/fetch.c for OAuth2, this one for jobs); fetch.c's parts that
 * were better live on here: the caller's response buffer, and the proxy
 * turned off while the address check is on. */
#include "net/http_out.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/alloc.h"
#include "base/cidr.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
/* Each thread's handles, one per allow_private_network value: a handle keeps
 * its connections open between calls (a runner delivering to one receiver
 * reuses one connection instead of a TCP handshake and teardown per job),
 * and a connection opened with private addresses allowed is never reused by
 * a call that refuses them. Freed when the thread ends. */
static pthread_key_t handles_key;

static void free_handles(void *p)
{
    CURL **h = p;
    for (int i = 0; i < 2; i++) {
        if (h[i])
            curl_easy_cleanup(h[i]);
    }
    xfree(h);
}

static void do_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    (void)pthread_key_create(&handles_key, free_handles);
}

/* The calling thread's handle for allow_private, with no options set (its
 * connections kept); NULL when none can be made. */
static CURL *thread_handle(bool allow_private)
{
    CURL **h = pthread_getspecific(handles_key);
    if (!h) {
        h = xcalloc(2, sizeof(*h));
        if (pthread_setspecific(handles_key, h) != 0) {
            xfree(h);
            return NULL;
        }
    }
    CURL **slot = &h[allow_private ? 1 : 0];
    if (!*slot)
        *slot = curl_easy_init(); /* a kept one was reset after its last call */
    return *slot;
}

void net_http_out_global_init(void)
{
    pthread_once(&init_once, do_init);
}

bool net_http_out_is_private(const uint8_t a[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, 12) == 0) {
        const uint8_t *v4 = a + 12;
        return v4[0] == 0 || v4[0] == 10 || v4[0] == 127 ||
               (v4[0] == 100 && (v4[1] & 0xc0) == 64) || (v4[0] == 169 && v4[1] == 254) ||
               (v4[0] == 172 && (v4[1] & 0xf0) == 16) || (v4[0] == 192 && v4[1] == 168) ||
               v4[0] >= 224;
    }
    static const uint8_t zero[15] = {0};
    if (memcmp(a, zero, 15) == 0)
        return true;                                  /* ::, ::1 and the rest of ::/120 */
    return (a[0] & 0xfe) == 0xfc ||                   /* fc00::/7 */
           (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || /* fe80::/10 */
           a[0] == 0xff;                              /* multicast */
}

struct call {
    const struct net_http_out_req *req;
    struct net_http_out_resp *resp;
    size_t received;
    bool is_too_large; /* req->response refused an append */
};

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct call *c = clientp;
    (void)purpose;
    uint8_t ip[16];
    if (!c->req->allow_private_network &&
        (!cidr_ip_of_sockaddr(&addr->addr, ip) || net_http_out_is_private(ip))) {
        c->resp->fail = NET_HTTP_OUT_REFUSED;
        snprintf(c->resp->error, sizeof(c->resp->error),
                 "target address is private, loopback or link-local (--allow-private-network)");
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* Returning less than given makes curl stop with CURLE_WRITE_ERROR. */
static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    size_t len = size * n;
    if (c->req->response) {
        c->is_too_large = buf_append(c->req->response, ptr, len) != RC_OK;
        return c->is_too_large ? 0 : len;
    }
    c->received += len;
    return c->received > NET_HTTP_OUT_MAX_RESPONSE ? 0 : len;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) && strncasecmp(ptr, name, sizeof(name) - 1) == 0) {
        char v[32];
        size_t vl = len - (sizeof(name) - 1);
        if (vl >= sizeof(v))
            vl = sizeof(v) - 1;
        memcpy(v, ptr + sizeof(name) - 1, vl);
        v[vl] = '\0';
        char *end;
        long s = strtol(v, &end, 10);
        if (end != v && s > 0 && s < 86400)
            c->resp->retry_after_ms = (int64_t)s * 1000;
    }
    return len;
}

void net_http_out_send(const struct net_http_out_req *req, struct net_http_out_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (strncasecmp(req->url, "http://", 7) != 0 && strncasecmp(req->url, "https://", 8) != 0) {
        resp->fail = NET_HTTP_OUT_BAD_URL;
        snprintf(resp->error, sizeof(resp->error), "not an http(s) URL");
        return;
    }
    net_http_out_global_init();
    CURL *h = thread_handle(req->allow_private_network);
    if (!h) {
        resp->fail = NET_HTTP_OUT_NETWORK;
        snprintf(resp->error, sizeof(resp->error), "curl_easy_init failed");
        return;
    }
    struct call c = {.req = req, .resp = resp};
    struct curl_slist *hl = NULL;
    for (size_t i = 0; i < req->header_count; i++)
        hl = curl_slist_append(hl, req->headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    const char *method = req->method ? req->method : "POST";
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strcmp(method, "GET") == 0 && !req->body.len) {
        /* a plain GET: no Content-Length and no form Content-Type */
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body.ptr ? req->body.ptr : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body.len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     (long)(req->timeout_ms > 0 ? req->timeout_ms : NET_HTTP_OUT_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tarmac");
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &c);
    if (!req->allow_private_network)
        curl_easy_setopt(h, CURLOPT_PROXY, ""); /* a proxy's address would be checked instead */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
    CURLcode rc = curl_easy_perform(h);
    if (c.is_too_large) {
        resp->fail = NET_HTTP_OUT_TOO_LARGE;
        snprintf(resp->error, sizeof(resp->error), "response body too large");
    } else if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR) {
        /* a refused address may have been followed by an allowed one of the same name */
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        resp->fail = NET_HTTP_OUT_OK;
        resp->error[0] = '\0';
    } else if (resp->fail == NET_HTTP_OUT_REFUSED) {
        /* set by open_socket */
    } else {
        resp->fail = rc == CURLE_OPERATION_TIMEDOUT ? NET_HTTP_OUT_TIMEOUT : NET_HTTP_OUT_NETWORK;
        snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(rc));
    }
    curl_slist_free_all(hl);
    /* the options point at this call's memory: none may outlive it */
    curl_easy_reset(h);
}
