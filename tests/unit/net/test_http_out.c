/* test_http_out.c -- unit tests of net/http_out.h: which addresses the SSRF
 * guard refuses (loopback, private, CGNAT, link-local and cloud metadata,
 * unspecified, multicast, ULA, in IPv4, IPv6 and IPv4-mapped forms) and
 * which it lets by; a refused target is reported without a connection; with
 * private networks allowed, a one-shot server on loopback answers a GET into
 * the caller's buffer, capped by its maximum; Retry-After in both its forms
 * and refused ones; a connection kept between calls; a server that never
 * answers times out and one that cuts its answer short is a network
 * failure. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/chrono.h"
#include "base/cidr.h"
#include "net/http_out.h"

static bool private_ip(const char *s)
{
    uint8_t a[16];
    assert_true(cidr_parse_ip(str_from_cstr(s), a));
    return net_http_out_is_private(a);
}

static void private_addresses(void **state)
{
    (void)state;
    const char *const refused[] = {"127.0.0.1",
                                   "127.255.0.9",
                                   "10.1.2.3",
                                   "172.16.0.1",
                                   "172.31.255.1",
                                   "192.168.1.1",
                                   "169.254.169.254",
                                   "100.64.0.1",
                                   "0.0.0.0",
                                   "224.0.0.1",
                                   "255.255.255.255",
                                   "::1",
                                   "::",
                                   "::2",
                                   "fe80::1",
                                   "fc00::1",
                                   "fd00::1",
                                   "fd12::1",
                                   "ff02::1",
                                   "::ffff:127.0.0.1",
                                   "::ffff:10.0.0.1"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (!private_ip(refused[i]))
            fail_msg("%s counted as public", refused[i]);
    }
    const char *const allowed[] = {"8.8.8.8",        "172.32.0.1",          "192.169.0.1",
                                   "100.128.0.1",    "2606:4700::1111",     "::ffff:1.1.1.1",
                                   "::ffff:8.8.4.4", "2001:4860:4860::8888"};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        if (private_ip(allowed[i]))
            fail_msg("%s counted as private", allowed[i]);
    }
}

static void refused_before_connecting(void **state)
{
    (void)state;
    struct net_http_out_req req = {
        .method = "POST", .url = "http://127.0.0.1:9/x", .timeout_ms = 2000};
    struct net_http_out_resp resp;
    net_http_out_send(&req, &resp);
    assert_int_equal(resp.fail, NET_HTTP_OUT_REFUSED);
    req.url = "ftp://example.com/";
    net_http_out_send(&req, &resp);
    assert_int_equal(resp.fail, NET_HTTP_OUT_BAD_URL);
}

/* -------------------------------------------------------------------------
 * A one-shot server on loopback
 * ------------------------------------------------------------------------- */

struct gate; /* a batch's servers answer together (send_many_is_concurrent) */

struct server {
    int fd;
    int port;
    struct gate *gate;  /* NULL: answer at once */
    const char *answer; /* written after the request head */
    char head[4096];    /* the request head received */
    pthread_t thread;
};

/* Whether head holds a whole request: its head and Content-Length bytes. */
static bool is_whole(const char *head, size_t n)
{
    const char *end = strstr(head, "\r\n\r\n");
    if (!end)
        return false;
    const char *cl = strstr(head, "Content-Length: ");
    size_t want = cl && cl < end ? (size_t)atoi(cl + 16) : 0;
    return n >= (size_t)(end + 4 - head) + want;
}

/* Waits until count servers have their requests (or 3 s passed). */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int arrived, count;
};

static void gate_pass(struct gate *g)
{
    if (!g)
        return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 3;
    pthread_mutex_lock(&g->mu);
    g->arrived++;
    pthread_cond_broadcast(&g->cond);
    while (g->arrived < g->count)
        if (pthread_cond_timedwait(&g->cond, &g->mu, &until) != 0)
            break;
    pthread_mutex_unlock(&g->mu);
}

static void *serve_once(void *ctx)
{
    struct server *s = ctx;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t n = 0;
    while (n < sizeof(s->head) - 1 && !is_whole(s->head, n)) {
        ssize_t r = read(c, s->head + n, sizeof(s->head) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        s->head[n] = '\0';
    }
    gate_pass(s->gate);
    (void)!write(c, s->answer, strlen(s->answer));
    close(c);
    return NULL;
}

static void server_start_gated(struct server *s, const char *answer, struct gate *gate);

/* A listening socket on loopback, on a port of the kernel's choosing. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void server_start(struct server *s, const char *answer)
{
    memset(s, 0, sizeof(*s));
    server_start_gated(s, answer, NULL);
}

static void server_start_gated(struct server *s, const char *answer, struct gate *gate)
{
    memset(s, 0, sizeof(*s));
    s->gate = gate;
    s->answer = answer;
    s->fd = listen_loopback(&s->port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve_once, s), 0);
}

static void server_stop(struct server *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static void get_fills_the_callers_buffer(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nRetry-After: 7\r\n"
                     "Connection: close\r\n\r\n{\"ok\":true}");
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/me", s.port);
    struct buf body;
    buf_init(&body, 1024);
    struct net_http_out_req req = {.method = "GET",
                                   .url = url,
                                   .headers = {"Accept: application/json"},
                                   .header_count = 1,
                                   .timeout_ms = 5000,
                                   .allow_private_network = true,
                                   .response = &body};
    struct net_http_out_resp resp;
    net_http_out_send(&req, &resp);
    server_stop(&s);
    assert_int_equal(resp.fail, NET_HTTP_OUT_OK);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.retry_after_ms, 7000);
    assert_int_equal(body.len, 11);
    assert_memory_equal(body.data, "{\"ok\":true}", 11);
    assert_non_null(strstr(s.head, "GET /me HTTP/1.1\r\n"));
    assert_non_null(strstr(s.head, "Accept: application/json\r\n"));
    /* a plain GET carries no body headers */
    assert_null(strstr(s.head, "Content-Length"));
    assert_null(strstr(s.head, "Content-Type"));
    buf_cleanup(&body);
}

static void body_past_the_buffer_is_too_large(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\nConnection: close\r\n\r\n"
                     "01234567890123456789");
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
    struct buf body;
    buf_init(&body, 8);
    struct net_http_out_req req = {.method = "GET",
                                   .url = url,
                                   .timeout_ms = 5000,
                                   .allow_private_network = true,
                                   .response = &body};
    struct net_http_out_resp resp;
    net_http_out_send(&req, &resp);
    server_stop(&s);
    assert_int_equal(resp.fail, NET_HTTP_OUT_TOO_LARGE);
    assert_true(body.len <= 8);
    buf_cleanup(&body);
}

static void post_sends_the_body(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", s.port);
    struct net_http_out_req req = {
        .url = url, .body = STR_LIT("a=1"), .timeout_ms = 5000, .allow_private_network = true};
    struct net_http_out_resp resp;
    net_http_out_send(&req, &resp);
    server_stop(&s);
    assert_int_equal(resp.fail, NET_HTTP_OUT_OK);
    assert_int_equal(resp.status, 204);
    assert_non_null(strstr(s.head, "POST /hook HTTP/1.1\r\n"));
    assert_non_null(strstr(s.head, "Content-Length: 3\r\n"));
    assert_null(strstr(s.head, "Expect:"));
}

/* A batch goes out at once: each server answers only when all three have
 * their requests, so requests sent one after another would time out.
 * Each answer lands in its own request's response, and a refused or bad
 * target in the same batch fails alone. */
static void send_many_is_concurrent(void **state)
{
    (void)state;
    struct gate g = {.count = 3};
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cond, NULL);
    static const char *const answers[3] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 503 Busy\r\nRetry-After: 9\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"};
    struct server s[3];
    char url[3][64];
    struct net_http_out_req req[5];
    struct net_http_out_resp resp[5];
    const struct net_http_out_req *reqs[5];
    struct net_http_out_resp *resps[5];
    for (int i = 0; i < 3; i++) {
        server_start_gated(&s[i], answers[i], &g);
        snprintf(url[i], sizeof(url[i]), "http://127.0.0.1:%d/n%d", s[i].port, i);
        req[i] = (struct net_http_out_req){
            .url = url[i], .body = STR_LIT("x"), .timeout_ms = 2500, .allow_private_network = true};
    }
    req[3] = (struct net_http_out_req){.url = "http://127.0.0.1:9/", .timeout_ms = 2500};
    req[4] = (struct net_http_out_req){.url = "gopher://example.com/", .timeout_ms = 2500};
    for (int i = 0; i < 5; i++) {
        reqs[i] = &req[i];
        resps[i] = &resp[i];
    }
    net_http_out_send_many(reqs, resps, 5);
    for (int i = 0; i < 3; i++)
        server_stop(&s[i]);
    assert_int_equal(resp[0].fail, NET_HTTP_OUT_OK);
    assert_int_equal(resp[0].status, 200);
    assert_int_equal(resp[1].fail, NET_HTTP_OUT_OK);
    assert_int_equal(resp[1].status, 503);
    assert_int_equal(resp[1].retry_after_ms, 9000);
    assert_int_equal(resp[2].fail, NET_HTTP_OUT_OK);
    assert_int_equal(resp[2].status, 204);
    assert_int_equal(resp[3].fail, NET_HTTP_OUT_REFUSED);
    assert_int_equal(resp[4].fail, NET_HTTP_OUT_BAD_URL);
    for (int i = 0; i < 3; i++) {
        char line[32];
        snprintf(line, sizeof(line), "POST /n%d HTTP/1.1\r\n", i);
        assert_non_null(strstr(s[i].head, line));
    }
    pthread_cond_destroy(&g.cond);
    pthread_mutex_destroy(&g.mu);
}

/* The Retry-After a one-shot server's answer with the header line gives. */
static int64_t retry_after_of(const char *line)
{
    static char answer[256];
    snprintf(answer, sizeof(answer),
             "HTTP/1.1 503 Busy\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n", line);
    struct server s;
    server_start(&s, answer);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
    struct net_http_out_req req = {.url = url, .timeout_ms = 5000, .allow_private_network = true};
    struct net_http_out_resp resp;
    net_http_out_send(&req, &resp);
    server_stop(&s);
    assert_int_equal(resp.fail, NET_HTTP_OUT_OK);
    assert_int_equal(resp.status, 503);
    return resp.retry_after_ms;
}

static void retry_after_forms(void **state)
{
    (void)state;
    assert_int_equal(retry_after_of("Retry-After: 120\r\n"), 120000);
    assert_int_equal(retry_after_of("retry-after:5 \r\n"), 5000);
    assert_int_equal(retry_after_of(""), 0);
    assert_int_equal(retry_after_of("Retry-After: 0\r\n"), 0);
    assert_int_equal(retry_after_of("Retry-After: -5\r\n"), 0);
    assert_int_equal(retry_after_of("Retry-After: 12abc\r\n"), 0);
    assert_int_equal(retry_after_of("Retry-After: soon\r\n"), 0);
    /* more than a day is a day */
    assert_int_equal(retry_after_of("Retry-After: 999999999999\r\n"), 86400000);
    /* an HTTP-date: the time from now; a past one is none */
    char date[30], line[64];
    chrono_format_http_date(chrono_real_ms() / 1000 + 120, date);
    snprintf(line, sizeof(line), "Retry-After: %s\r\n", date);
    int64_t d = retry_after_of(line);
    if (d < 115000 || d > 120000)
        fail_msg("%s gave %lld ms", date, (long long)d);
    chrono_format_http_date(chrono_real_ms() / 1000 - 60, date);
    snprintf(line, sizeof(line), "Retry-After: %s\r\n", date);
    assert_int_equal(retry_after_of(line), 0);
}

/* A server that answers `calls` requests on the first connection it
 * accepts, keeping it open, and no other connection. */
struct keep_server {
    int fd, port, calls, answered;
    pthread_t thread;
};

static void *serve_kept(void *ctx)
{
    struct keep_server *s = ctx;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    char in[4096];
    size_t n = 0;
    while (s->answered < s->calls) {
        ssize_t r = read(c, in + n, sizeof(in) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        in[n] = '\0';
        if (!is_whole(in, n))
            continue;
        static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        (void)!write(c, ok, sizeof(ok) - 1);
        s->answered++;
        n = 0;
    }
    close(c);
    return NULL;
}

/* Calls to one server reuse the connection of the one before: a server
 * that never accepts a second connection answers all three. */
static void connections_kept_between_calls(void **state)
{
    (void)state;
    struct keep_server s = {.calls = 3};
    s.fd = listen_loopback(&s.port);
    assert_int_equal(pthread_create(&s.thread, NULL, serve_kept, &s), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/k", s.port);
    for (int i = 0; i < 3; i++) {
        struct net_http_out_req req = {
            .url = url, .body = STR_LIT("x"), .timeout_ms = 2000, .allow_private_network = true};
        struct net_http_out_resp resp;
        net_http_out_send(&req, &resp);
        if (resp.fail != NET_HTTP_OUT_OK || resp.status != 200)
            fail_msg("call %d: fail %d status %ld (%s)", i, resp.fail, resp.status, resp.error);
    }
    pthread_join(s.thread, NULL);
    assert_int_equal(s.answered, 3);
    close(s.fd);
}

/* Reads the request, then waits for the client to give up (EOF). */
static void *serve_silently(void *ctx)
{
    struct server *s = ctx;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    char b[4096];
    while (read(c, b, sizeof(b)) > 0)
        ;
    close(c);
    return NULL;
}

static void a_silent_server_times_out(void **state)
{
    (void)state;
    struct server s = {0};
    s.fd = listen_loopback(&s.port);
    assert_int_equal(pthread_create(&s.thread, NULL, serve_silently, &s), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
    struct net_http_out_req req = {
        .url = url, .body = STR_LIT("x"), .timeout_ms = 300, .allow_private_network = true};
    struct net_http_out_resp resp;
    net_http_out_send(&req, &resp);
    server_stop(&s);
    assert_int_equal(resp.fail, NET_HTTP_OUT_TIMEOUT);
    assert_true(resp.error[0] != '\0');
}

static void a_cut_answer_is_a_network_failure(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
    struct net_http_out_req req = {
        .url = url, .body = STR_LIT("x"), .timeout_ms = 5000, .allow_private_network = true};
    struct net_http_out_resp resp;
    net_http_out_send(&req, &resp);
    server_stop(&s);
    assert_int_equal(resp.fail, NET_HTTP_OUT_NETWORK);
    assert_true(resp.error[0] != '\0');
}

int main(void)
{
    net_http_out_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(private_addresses),
        cmocka_unit_test(refused_before_connecting),
        cmocka_unit_test(get_fills_the_callers_buffer),
        cmocka_unit_test(body_past_the_buffer_is_too_large),
        cmocka_unit_test(post_sends_the_body),
        cmocka_unit_test(send_many_is_concurrent),
        cmocka_unit_test(retry_after_forms),
        cmocka_unit_test(connections_kept_between_calls),
        cmocka_unit_test(a_silent_server_times_out),
        cmocka_unit_test(a_cut_answer_is_a_network_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
