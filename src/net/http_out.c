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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/chrono.h"
#include "base/cidr.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
/* Each thread's handles: one set per allow_private_network value and HTTP
 * version wanted, each a multi handle whose connection cache keeps
 * connections open between calls (a runner delivering to one receiver
 * reuses its connections instead of a TCP handshake and teardown per job)
 * and the easy handles of its last batch. A connection opened with private
 * addresses allowed is never reused by a call that refuses them: those sets
 * share nothing. The HTTP/2 sets keep one connection per host, all of a
 * batch's streams on it: when a server ends a connection (GOAWAY), the
 * streams waiting go to one new connection, not one each (a TLS handshake
 * each, and as many connections kept). One epoll set per thread watches the
 * sockets of all of them, so a batch's HTTP/1.1 and HTTP/2 calls go out
 * together and only the transfers whose sockets are ready are run. Freed
 * when the thread ends. */
static pthread_key_t handles_key;

#define KEEP_CONNECTIONS 256    /* the connection cache of one multi handle */
#define RETRY_AFTER_MAX_S 86400 /* a server asking for more is waited a day */

/* A socket curl asked to watch: the epoll entry's data (freed after the
 * events it may appear in are handled: see on_socket). */
struct watched {
    curl_socket_t fd; /* CURL_SOCKET_BAD once curl is done with it */
    struct handle_set *set;
    struct watched *next; /* the set's list of them */
};

struct handle_set {
    CURLM *multi;
    CURL **easy;
    size_t easy_count;
    int epfd;              /* the thread's */
    int64_t deadline_ms;   /* curl's timer (monotonic), -1: none */
    int running;           /* transfers curl is running */
    size_t added;          /* calls of this batch in it */
    struct watched *socks; /* every socket it watches, and the ones done with */
};

#define SET_COUNT 4 /* [allow_private * 2 + is_http2] */

struct thread_handles {
    struct handle_set set[SET_COUNT];
    int epfd;
};

static void free_watched(struct handle_set *s, bool all)
{
    struct watched **p = &s->socks;
    while (*p) {
        struct watched *w = *p;
        if (all || w->fd == CURL_SOCKET_BAD) {
            *p = w->next;
            xfree(w);
        } else {
            p = &w->next;
        }
    }
}

static void free_handles(void *p)
{
    struct thread_handles *t = p;
    for (int i = 0; i < SET_COUNT; i++) {
        for (size_t k = 0; k < t->set[i].easy_count; k++)
            curl_easy_cleanup(t->set[i].easy[k]);
        xfree(t->set[i].easy);
        if (t->set[i].multi)
            curl_multi_cleanup(t->set[i].multi);
        free_watched(&t->set[i], true);
    }
    if (t->epfd >= 0)
        close(t->epfd);
    xfree(t);
}

static void do_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    (void)pthread_key_create(&handles_key, free_handles);
}

static int64_t mono_ms(void)
{
    return (int64_t)(chrono_mono_ns() / 1000000);
}

/* curl's socket callback: what to watch on s (CURLMOPT_SOCKETFUNCTION). A
 * socket curl is done with stays listed until the batch's events are all
 * handled, since one of them may still point at it. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)e;
    struct handle_set *s = userp;
    struct watched *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
            w->fd = CURL_SOCKET_BAD;
            curl_multi_assign(s->multi, fd, NULL);
        }
        return 0;
    }
    struct epoll_event ev = {.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
                                       (what & CURL_POLL_OUT ? EPOLLOUT : 0)};
    int op = EPOLL_CTL_MOD;
    if (!w) {
        w = xcalloc(1, sizeof(*w));
        w->fd = fd;
        w->set = s;
        w->next = s->socks;
        s->socks = w;
        curl_multi_assign(s->multi, fd, w);
        op = EPOLL_CTL_ADD;
    }
    ev.data.ptr = w;
    if (epoll_ctl(s->epfd, op, fd, &ev) != 0 && op == EPOLL_CTL_MOD)
        (void)epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev); /* the fd was closed and reopened */
    return 0;
}

/* curl's timer callback (CURLMOPT_TIMERFUNCTION): -1 deletes the timer. */
static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    struct handle_set *s = userp;
    s->deadline_ms = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
    return 0;
}

/* The calling thread's handle set i with at least n easy handles (no
 * options set), or NULL when they cannot be made. */
static struct handle_set *thread_handles(int i, size_t n)
{
    struct thread_handles *t = pthread_getspecific(handles_key);
    if (!t) {
        t = xcalloc(1, sizeof(*t));
        t->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (t->epfd < 0 || pthread_setspecific(handles_key, t) != 0) {
            if (t->epfd >= 0)
                close(t->epfd);
            xfree(t);
            return NULL;
        }
    }
    struct handle_set *s = &t->set[i];
    if (!s->multi) {
        s->multi = curl_multi_init();
        if (!s->multi)
            return NULL;
        s->epfd = t->epfd;
        s->deadline_ms = -1;
        curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)KEEP_CONNECTIONS);
        curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
        curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
        if (i & 1)
            curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
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
    bool is_too_large;      /* req->response refused an append */
    bool is_added;          /* to the multi handle */
    bool is_done;           /* its transfer ended */
    struct handle_set *set; /* its handles */
    CURL *easy;             /* its easy handle, one of set's */
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

/* Retry-After's value v (RFC 9110 10.2.3): delay-seconds, or an HTTP-date
 * (the time from now). In ms, at most a day; 0 when absent, past or not
 * either form. */
static int64_t retry_after_ms(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    int64_t s;
    if (*v >= '0' && *v <= '9') {
        char *end;
        long long n = strtoll(v, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end)
            return 0;
        s = n;
    } else {
        time_t at = curl_getdate(v, NULL);
        if (at < 0)
            return 0;
        s = (int64_t)at - chrono_real_ms() / 1000;
    }
    if (s <= 0)
        return 0;
    return (s < RETRY_AFTER_MAX_S ? s : RETRY_AFTER_MAX_S) * 1000;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) && strncasecmp(ptr, name, sizeof(name) - 1) == 0) {
        char v[64];
        size_t vl = len - (sizeof(name) - 1);
        if (vl < sizeof(v)) {
            memcpy(v, ptr + sizeof(name) - 1, vl);
            v[vl] = '\0';
            c->resp->retry_after_ms = retry_after_ms(v);
        }
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
    if (req->is_http2) {
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                         strncasecmp(req->url, "https://", 8) == 0
                             ? (long)CURL_HTTP_VERSION_2TLS
                             : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
        /* A batch's requests to one host wait for the first one's
         * connection and share it as streams: without this each opened a
         * connection of its own (a TLS handshake each) before any knew the
         * server speaks HTTP/2. */
        curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    }
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

/* Reads the ended transfers of s's multi into their calls. */
static void collect(struct handle_set *s)
{
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
}

/* Runs the transfers of the sets used until every one ended (each has its
 * own timeout): the sockets ready, then the timers due. */
static void run_sets(struct handle_set **sets, size_t nsets)
{
    for (size_t i = 0; i < nsets; i++) {
        sets[i]->running = 0;
        (void)curl_multi_socket_action(sets[i]->multi, CURL_SOCKET_TIMEOUT, 0, &sets[i]->running);
    }
    for (;;) {
        int64_t now = mono_ms(), wait = -1;
        bool is_running = false;
        for (size_t i = 0; i < nsets; i++) {
            collect(sets[i]);
            free_watched(sets[i], false);
            if (sets[i]->running <= 0)
                continue;
            is_running = true;
            int64_t d = sets[i]->deadline_ms;
            if (d >= 0 && (wait < 0 || d - now < wait))
                wait = d > now ? d - now : 0;
        }
        if (!is_running)
            return;
        /* curl keeps a timer while a transfer runs; the cap only guards
         * against one that was never set */
        if (wait < 0 || wait > 1000)
            wait = 1000;
        struct epoll_event evs[64];
        int n = epoll_wait(sets[0]->epfd, evs, 64, (int)wait);
        for (int k = 0; k < n; k++) {
            struct watched *w = evs[k].data.ptr;
            if (w->fd == CURL_SOCKET_BAD)
                continue; /* curl let go of it earlier in this loop */
            int mask = (evs[k].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                       (evs[k].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                       (evs[k].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
            (void)curl_multi_socket_action(w->set->multi, w->fd, mask, &w->set->running);
        }
        now = mono_ms();
        for (size_t i = 0; i < nsets; i++) {
            if (sets[i]->deadline_ms >= 0 && sets[i]->deadline_ms <= now) {
                sets[i]->deadline_ms = -1;
                (void)curl_multi_socket_action(sets[i]->multi, CURL_SOCKET_TIMEOUT, 0,
                                               &sets[i]->running);
            }
        }
    }
}

/* The set a request goes out on: [allow_private * 2 + is_http2]. */
static int set_of(const struct net_http_out_req *req)
{
    return (req->allow_private_network ? 2 : 0) + (req->is_http2 ? 1 : 0);
}

void net_http_out_send_many(const struct net_http_out_req *const *reqs,
                            struct net_http_out_resp *const *resps, size_t n)
{
    if (n == 0)
        return;
    net_http_out_global_init();
    struct call one, *calls = n == 1 ? &one : xcalloc(n, sizeof(*calls));
    size_t per_set[SET_COUNT] = {0};
    for (size_t i = 0; i < n; i++)
        per_set[set_of(reqs[i])]++;
    struct handle_set *sets[SET_COUNT];
    size_t nsets = 0, used[SET_COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
        struct call *c = &calls[i];
        *c = (struct call){.req = reqs[i], .resp = resps[i]};
        int si = set_of(reqs[i]);
        c->set = thread_handles(si, per_set[si]);
        if (!c->set) {
            memset(c->resp, 0, sizeof(*c->resp));
            c->resp->fail = NET_HTTP_OUT_NETWORK;
            snprintf(c->resp->error, sizeof(c->resp->error), "curl init failed");
            continue;
        }
        c->easy = c->set->easy[used[si]++];
        if (!setup(c->easy, c))
            continue;
        if (curl_multi_add_handle(c->set->multi, c->easy) != CURLM_OK) {
            c->resp->fail = NET_HTTP_OUT_NETWORK;
            snprintf(c->resp->error, sizeof(c->resp->error), "curl_multi_add_handle");
            continue;
        }
        c->is_added = true;
        if (c->set->added++ == 0)
            sets[nsets++] = c->set;
    }
    if (nsets)
        run_sets(sets, nsets);
    for (size_t i = 0; i < n; i++) {
        struct call *c = &calls[i];
        if (c->is_added) {
            if (!c->is_done) { /* the loop ended under it */
                c->resp->fail = NET_HTTP_OUT_NETWORK;
                snprintf(c->resp->error, sizeof(c->resp->error), "transfer did not complete");
            }
            curl_multi_remove_handle(c->set->multi, c->easy);
        }
        curl_slist_free_all(c->headers);
        /* the options point at this call's memory: none may outlive it */
        if (c->easy)
            curl_easy_reset(c->easy);
    }
    for (size_t i = 0; i < nsets; i++) {
        sets[i]->added = 0;
        free_watched(sets[i], false);
    }
    if (calls != &one)
        xfree(calls);
}

void net_http_out_send(const struct net_http_out_req *req, struct net_http_out_resp *resp)
{
    net_http_out_send_many(&req, &resp, 1);
}
