/* loopback_provider.h -- an HTTP server on 127.0.0.1 for the unit tests
 * of the OAuth2 and OpenID code: it answers each path with canned bytes
 * (the answers can be swapped while it runs) and counts the requests, one
 * connection at a time, until stopped. Header-only. */
#ifndef TARMAC_TESTS_LOOPBACK_PROVIDER_H
#define TARMAC_TESTS_LOOPBACK_PROVIDER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/alloc.h"

/* -------------------------------------------------------------------------
 * A provider on loopback: answers each path with canned bytes until stopped
 * ------------------------------------------------------------------------- */

struct answer {
    const char *path; /* "/token" */
    int status;
    const char *body; /* NULL: the 2 MiB body below */
};

struct provider {
    int fd;
    int port;
    pthread_mutex_t mu; /* answers and counts: the test reads them while it runs */
    const struct answer *answers;
    size_t answer_count;
    int requests;
    int hits[32]; /* requests per answer (its index), since the last provider_set */
    pthread_t thread;
};

/* Replaces the answers (borrowed until the next call or the stop). */
static inline void provider_set(struct provider *pv, const struct answer *answers, size_t count)
{
    pthread_mutex_lock(&pv->mu);
    pv->answers = answers;
    pv->answer_count = count;
    memset(pv->hits, 0, sizeof(pv->hits));
    pthread_mutex_unlock(&pv->mu);
}

/* The requests the answer of path got since the last provider_set. */
static inline int provider_hits(struct provider *pv, const char *path)
{
    int n = 0;
    pthread_mutex_lock(&pv->mu);
    for (size_t i = 0; i < pv->answer_count && i < 32; i++) {
        if (strcmp(pv->answers[i].path, path) == 0)
            n = pv->hits[i];
    }
    pthread_mutex_unlock(&pv->mu);
    return n;
}

static inline int provider_requests(struct provider *pv)
{
    pthread_mutex_lock(&pv->mu);
    int n = pv->requests;
    pthread_mutex_unlock(&pv->mu);
    return n;
}

static inline char *huge_body(void)
{
    static char *body;
    if (!body) {
        size_t n = 2u << 20;
        body = xmalloc(n + 32);
        memcpy(body, "{\"access_token\":\"", 17);
        memset(body + 17, 'a', n);
        memcpy(body + 17 + n, "\"}", 3);
    }
    return body;
}

static inline void answer_one(struct provider *pv, int c)
{
    char head[8192];
    size_t n = 0;
    head[0] = '\0';
    while (n < sizeof(head) - 1 && !strstr(head, "\r\n\r\n")) {
        ssize_t r = read(c, head + n, sizeof(head) - 1 - n);
        if (r <= 0)
            return;
        n += (size_t)r;
        head[n] = '\0';
    }
    const char *cl = strstr(head, "Content-Length: ");
    size_t want = cl ? (size_t)atoi(cl + 16) : 0;
    size_t got = n - (size_t)(strstr(head, "\r\n\r\n") + 4 - head);
    char sink[4096];
    while (got < want) {
        ssize_t r = read(c, sink, sizeof(sink));
        if (r <= 0)
            return;
        got += (size_t)r;
    }
    pthread_mutex_lock(&pv->mu);
    pv->requests++;
    const struct answer *a = NULL;
    for (size_t i = 0; i < pv->answer_count && !a; i++) {
        size_t pl = strlen(pv->answers[i].path);
        if (strncmp(head + 4, pv->answers[i].path, pl) == 0 && head[4 + pl] == ' ')
            a = &pv->answers[i];
        if (strncmp(head + 5, pv->answers[i].path, pl) == 0 && head[5 + pl] == ' ')
            a = &pv->answers[i]; /* "POST " */
    }
    if (a && a - pv->answers < 32)
        pv->hits[a - pv->answers]++;
    const char *body = !a ? "{}" : a->body ? a->body : huge_body();
    int status = a ? a->status : 404;
    pthread_mutex_unlock(&pv->mu);
    char top[160];
    int tl = snprintf(top, sizeof(top),
                      "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, strlen(body));
    (void)!write(c, top, (size_t)tl);
    for (size_t off = 0, len = strlen(body); off < len;) {
        ssize_t w = write(c, body + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

static inline void *provider_run(void *ctx)
{
    struct provider *pv = ctx;
    for (;;) {
        int c = accept(pv->fd, NULL, NULL);
        if (c < 0)
            return NULL; /* shut down */
        answer_one(pv, c);
        close(c);
    }
}

static inline void provider_start(struct provider *pv, const struct answer *answers, size_t count)
{
    memset(pv, 0, sizeof(*pv));
    pthread_mutex_init(&pv->mu, NULL);
    pv->answers = answers;
    pv->answer_count = count;
    pv->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(pv->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(pv->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(pv->fd, 8), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(pv->fd, (struct sockaddr *)&a, &len), 0);
    pv->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&pv->thread, NULL, provider_run, pv), 0);
}

static inline void provider_stop(struct provider *pv)
{
    shutdown(pv->fd, SHUT_RDWR); /* wakes accept() */
    pthread_join(pv->thread, NULL);
    close(pv->fd);
    pthread_mutex_destroy(&pv->mu);
}

#endif
