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
/* Each thread's handles, one set per allow_private_network value: a multi
 * handle whose connection cache keeps connections open between calls (a
 * runner delivering to one receiver reuses its connections instead of a
 * TCP handshake and teardown per job) and the easy handles of its last
 * batch. A connection opened with private addresses allowed is never
 * reused by a call that refuses them: the two sets share nothing. Freed
 * when the thread ends. */
static pthread_key_t handles_key;

#define KEEP_CONNECTIONS 64 /* the connection cache of one multi handle */

struct handle_set {
    CURLM *multi;
    CURL **easy;
    size_t easy_count;
};

struct thread_handles {
    struct handle_set set[2]; /* [allow_private] */
};

static void free_handles(void *p)
{
    struct thread_handles *t = p;
    for (int i = 0; i < 2; i++) {
        for (size_t k = 0; k < t->set[i].easy_count; k++)
            curl_easy_cleanup(t->set[i].easy[k]);
        xfree(t->set[i].easy);
        if (t->set[i].multi)
            curl_multi_cleanup(t->set[i].multi);
    }
    xfree(t);
}

static void do_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    (void)pthread_key_create(&handles_key, free_handles);
}

/* The calling thread's handle set for allow_private with at least n easy
 * handles (no options set), or NULL when they cannot be made. */
static struct handle_set *thread_handles(bool allow_private, size_t n)
{
    struct thread_handles *t = pthread_getspecific(handles_key);
    if (!t) {
        t = xcalloc(1, sizeof(*t));
        if (pthread_setspecific(handles_key, t) != 0) {
            xfree(t);
            return NULL;
        }
    }
    struct handle_set *s = &t->set[allow_private ? 1 : 0];
    if (!s->multi) {
        s->multi = curl_multi_init();
        if (!s->multi)
            return NULL;
        curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)KEEP_CONNECTIONS);
    }
    if (s->easy_count < n) {
        s->easy = xrealloc(s->easy, n * sizeof(*s->easy));
        while (s->easy_count < n) {
            CURL *h = curl_easy_init();
            if (!h)
                return NULL;
            s->easy[s->easy_count++] = h;
        }
    }
    return s;
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
    struct curl_slist *headers;
    size_t received;
    bool is_too_large; /* req->response refused an append */
    bool is_added;     /* to the multi handle */
    bool is_done;      /* its transfer ended */
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

/* Sets h up for c's request; false (c's response says why) when it is not
 * sent at all. */
static bool setup(CURL *h, struct call *c)
{
    const struct net_http_out_req *req = c->req;
    struct net_http_out_resp *resp = c->resp;
    memset(resp, 0, sizeof(*resp));
    if (strncasecmp(req->url, "http://", 7) != 0 && strncasecmp(req->url, "https://", 8) != 0) {
        resp->fail = NET_HTTP_OUT_BAD_URL;
        snprintf(resp->error, sizeof(resp->error), "not an http(s) URL");
        return false;
    }
    for (size_t i = 0; i < req->header_count; i++)
        c->headers = curl_slist_append(c->headers, req->headers[i]);
    c->headers = curl_slist_append(c->headers, "Expect:");
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
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     (long)(req->timeout_ms > 0 ? req->timeout_ms : NET_HTTP_OUT_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tarmac");
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
    if (!req->allow_private_network)
        curl_easy_setopt(h, CURLOPT_PROXY, ""); /* a proxy's address would be checked instead */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_PRIVATE, c);
    if (req->is_http2)
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                         strncasecmp(req->url, "https://", 8) == 0
                             ? (long)CURL_HTTP_VERSION_2TLS
                             : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    if (req->ca_pem.len) {
        struct curl_blob ca = {
            .data = (void *)req->ca_pem.ptr, .len = req->ca_pem.len, .flags = CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    }
    return true;
}

/* Fills c's response from how h's transfer ended. */
static void finish(CURL *h, struct call *c, CURLcode rc)
{
    struct net_http_out_resp *resp = c->resp;
    if (c->is_too_large) {
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
}

/* Sends the n calls whose requests share allow_private, at once. */
static void send_set(struct call *calls, size_t n, bool allow_private)
{
    struct handle_set *s = thread_handles(allow_private, n);
    if (!s) {
        for (size_t i = 0; i < n; i++) {
            memset(calls[i].resp, 0, sizeof(*calls[i].resp));
            calls[i].resp->fail = NET_HTTP_OUT_NETWORK;
            snprintf(calls[i].resp->error, sizeof(calls[i].resp->error), "curl init failed");
        }
        return;
    }
    size_t added = 0;
    for (size_t i = 0; i < n; i++) {
        CURL *h = s->easy[i];
        if (!setup(h, &calls[i]))
            continue;
        if (curl_multi_add_handle(s->multi, h) != CURLM_OK) {
            calls[i].resp->fail = NET_HTTP_OUT_NETWORK;
            snprintf(calls[i].resp->error, sizeof(calls[i].resp->error), "curl_multi_add_handle");
            continue;
        }
        calls[i].is_added = true;
        added++;
    }
    /* Each transfer has its own timeout: the loop ends when the last one is
     * done or timed out. */
    int running = (int)added;
    while (running > 0) {
        if (curl_multi_perform(s->multi, &running) != CURLM_OK)
            break;
        if (running > 0 && curl_multi_poll(s->multi, NULL, 0, 1000, NULL) != CURLM_OK)
            break;
    }
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct call *c = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        if (c) {
            finish(m->easy_handle, c, m->data.result);
            c->is_done = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (calls[i].is_added) {
            if (!calls[i].is_done) { /* the multi loop failed under it */
                calls[i].resp->fail = NET_HTTP_OUT_NETWORK;
                snprintf(calls[i].resp->error, sizeof(calls[i].resp->error),
                         "transfer did not complete");
            }
            curl_multi_remove_handle(s->multi, s->easy[i]);
        }
        curl_slist_free_all(calls[i].headers);
        /* the options point at this call's memory: none may outlive it */
        curl_easy_reset(s->easy[i]);
    }
}

void net_http_out_send_many(const struct net_http_out_req *const *reqs,
                            struct net_http_out_resp *const *resps, size_t n)
{
    if (n == 0)
        return;
    net_http_out_global_init();
    struct call one, *calls = n == 1 ? &one : xcalloc(n, sizeof(*calls));
    /* Grouped by allow_private_network: each group on its own handles. */
    for (int allow = 0; allow < 2; allow++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (reqs[i]->allow_private_network == (allow == 1))
                calls[k++] = (struct call){.req = reqs[i], .resp = resps[i]};
        }
        if (k)
            send_set(calls, k, allow == 1);
    }
    if (calls != &one)
        xfree(calls);
}

void net_http_out_send(const struct net_http_out_req *req, struct net_http_out_resp *resp)
{
    net_http_out_send_many(&req, &resp, 1);
}
