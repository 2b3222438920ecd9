/* s3.c -- see s3.h: one request (URL, signing, headers, the answer) and
 * the thread's handle; the calls themselves are s3_object.c's.
 *
 * libcurl signs (CURLOPT_AWS_SIGV4), but Debian 12's 7.88 (checked against
 * the tests' fake) leaves three things to this file: it sends no
 * x-amz-content-sha256 (S3 requires one; we add it, and curl then signs it
 * and uses it as the payload hash), it does not sort the query string when
 * it builds the canonical request (we only ever send queries already sorted
 * and encoded as AWS encodes them), and it canonicalises a bare "?delete" as
 * "delete" where S3 expects "delete=" (we send "delete="). It also signs a
 * header the caller removes ("Expect:"), so uploads keep curl's
 * "Expect: 100-continue", which S3 answers. The fake server
 * of the tests (tests/e2e/lib/fake_s3.mjs) checks signatures by AWS's
 * documented algorithm, so a difference shows up as a 403 there. */
#include "net/s3.h"
#include "net/s3_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/secure.h"
#include "base/str.h"
#include "net/http_out.h"
#include "net/s3_xml.h"
#include "net/worker.h"

#define ERROR_BODY_MAX 4096
#define CONNECT_TIMEOUT_S 10L
/* No overall timeout (a large upload takes what it takes); a transfer that
 * moves less than a byte a second for this long is dropped. */
#define STALL_S 30L
#define RETRY_DELAY_MS 200

static const char EMPTY_SHA256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static uint64_t requests_sent;
static uint64_t requests_failed;

void net_s3_counts(uint64_t *requests, uint64_t *failed)
{
    *requests = metrics_read(&requests_sent);
    *failed = metrics_read(&requests_failed);
}

/* -------------------------------------------------------------------------
 * The thread's handle
 * ------------------------------------------------------------------------- */

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t handle_key;

static void free_handle(void *p)
{
    curl_easy_cleanup(p);
}

static void make_key(void)
{
    (void)pthread_key_create(&handle_key, free_handle);
}

/* The calling thread's easy handle (its connection cache lives in it), reset
 * to no options; NULL when it cannot be made. */
static CURL *thread_handle(void)
{
    net_http_out_global_init();
    pthread_once(&key_once, make_key);
    CURL *h = pthread_getspecific(handle_key);
    if (h) {
        curl_easy_reset(h);
        return h;
    }
    h = curl_easy_init();
    if (h && pthread_setspecific(handle_key, h) != 0) {
        curl_easy_cleanup(h);
        return NULL;
    }
    return h;
}

/* -------------------------------------------------------------------------
 * URLs
 * ------------------------------------------------------------------------- */

/* The part of the endpoint after its scheme ("host:port"), without a
 * trailing slash; NULL when it is no http(s) URL with a host. */
static const char *endpoint_rest(const char *endpoint, size_t *scheme_len, size_t *rest_len)
{
    size_t s = strncasecmp(endpoint, "https://", 8) == 0  ? 8
               : strncasecmp(endpoint, "http://", 7) == 0 ? 7
                                                          : 0;
    if (!s)
        return NULL;
    const char *rest = endpoint + s;
    size_t n = strlen(rest);
    while (n && rest[n - 1] == '/')
        n--;
    if (!n || rest[0] == '/' || rest[0] == ':')
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)rest[i] <= 0x20 || rest[i] == 0x7f || rest[i] == '?' || rest[i] == '#')
            return NULL;
    }
    *scheme_len = s;
    *rest_len = n;
    return rest;
}

bool net_s3_config_is_usable(const struct net_s3_config *c)
{
    size_t s, n;
    return c->endpoint && endpoint_rest(c->endpoint, &s, &n) && c->bucket && c->bucket[0] &&
           c->region && c->region[0] && c->access_key && c->access_key[0] && c->secret &&
           c->secret[0];
}

/* AWS's URI encoding: A-Z a-z 0-9 - _ . ~ stay (and '/' when keep_slash),
 * every other byte is %XX in upper case. */
enum rc net_s3_append_encoded(struct buf *b, const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    enum rc rc = RC_OK;
    for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
        unsigned char ch = *p;
        bool keep = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
                    (keep_slash && ch == '/');
        if (keep) {
            rc = buf_append(b, p, 1);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rc = buf_append(b, e, 3);
        }
    }
    return rc;
}

/* <endpoint>/<bucket>/<key>[?query] or <scheme><bucket>.<host>/<key>[?query];
 * key NULL for the bucket itself. query is sorted and encoded already. */
static enum rc build_url(struct buf *b, const struct net_s3_config *c, const char *key,
                         const char *query)
{
    size_t s, n;
    const char *rest = endpoint_rest(c->endpoint, &s, &n);
    if (!rest)
        return RC_INVALID;
    enum rc rc = buf_append(b, c->endpoint, s);
    if (c->force_path_style) {
        if (!rc)
            rc = buf_append(b, rest, n);
        if (!rc)
            rc = buf_append_cstr(b, "/");
        if (!rc)
            rc = net_s3_append_encoded(b, c->bucket, false);
        if (!rc && key)
            rc = buf_append_cstr(b, "/");
    } else {
        if (!rc)
            rc = net_s3_append_encoded(b, c->bucket, false);
        if (!rc)
            rc = buf_append_cstr(b, ".");
        if (!rc)
            rc = buf_append(b, rest, n);
        if (!rc)
            rc = buf_append_cstr(b, "/");
    }
    if (!rc && key)
        rc = net_s3_append_encoded(b, key, true);
    if (!rc && query && query[0]) {
        rc = buf_append_cstr(b, "?");
        if (!rc)
            rc = buf_append_cstr(b, query);
    }
    if (!rc)
        rc = buf_append(b, "", 1);
    return rc;
}

/* -------------------------------------------------------------------------
 * One request
 * ------------------------------------------------------------------------- */

static long status_of(CURL *h)
{
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static size_t on_read(char *dst, size_t size, size_t n, void *ud)
{
    struct net_s3_request *r = ud;
    size_t room = size * n;
    if (r->fd >= 0) {
        ssize_t got;
        do {
            got = read(r->fd, dst, room);
        } while (got < 0 && errno == EINTR);
        return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
    }
    size_t left = r->body.len - r->body_off;
    size_t k = left < room ? left : room;
    memcpy(dst, r->body.ptr + r->body_off, k);
    r->body_off += k;
    return k;
}

/* A call that will run again (a 5xx) sends its body again from the start. */
static bool rewind_body(struct net_s3_request *r)
{
    r->body_off = 0;
    return r->fd < 0 || lseek(r->fd, 0, SEEK_SET) == 0;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    CURL *h = ((void **)ud)[0];
    struct net_s3_request *r = ((void **)ud)[1];
    size_t len = size * n;
    long status = status_of(h);
    if (status < 200 || status >= 300) {
        size_t room = ERROR_BODY_MAX - r->error_body.len;
        (void)buf_append(&r->error_body, ptr, len < room ? len : room);
        return len;
    }
    if (r->sink) {
        r->sink_rc = r->sink(r->sink_ctx, ptr, len);
        return r->sink_rc ? 0 : len;
    }
    if (r->response) {
        r->is_too_large = buf_append(r->response, ptr, len) != RC_OK;
        return r->is_too_large ? 0 : len;
    }
    return len;
}

static bool header_is(const char *line, size_t len, const char *name, struct str *value)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    *value = str_trim_ows((struct str){line + n + 1, len - n - 1});
    return true;
}

/* An IMF-fixdate in Unix seconds; 0 when unreadable. */
static int64_t imf_date(struct str v)
{
    char tmp[64];
    if (v.len >= sizeof(tmp))
        return 0;
    memcpy(tmp, v.ptr, v.len);
    tmp[v.len] = '\0';
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(tmp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return end && !*end ? (int64_t)timegm(&tm) : 0;
}

/* "bytes a-b/size", or "bytes *\/size" of a 416. */
static void parse_content_range(struct str v, struct net_s3_object *o)
{
    if (!str_has_prefix(v, STR_LIT("bytes ")))
        return;
    struct str rest = {v.ptr + 6, v.len - 6};
    const char *slash = memchr(rest.ptr, '/', rest.len);
    if (!slash)
        return;
    struct str span = {rest.ptr, (size_t)(slash - rest.ptr)};
    struct str total = {slash + 1, rest.len - span.len - 1};
    uint64_t size, a, b;
    if (!str_to_u64(total, &size))
        return;
    o->size = size;
    const char *dash = memchr(span.ptr, '-', span.len);
    if (dash && str_to_u64((struct str){span.ptr, (size_t)(dash - span.ptr)}, &a) &&
        str_to_u64((struct str){dash + 1, span.len - (size_t)(dash - span.ptr) - 1}, &b)) {
        o->first = a;
        o->last = b;
    }
}

static size_t on_header(char *ptr, size_t size, size_t n, void *ud)
{
    struct net_s3_request *r = ud;
    size_t len = size * n;
    struct net_s3_object *o = r->info;
    while (len && (ptr[len - 1] == '\n' || ptr[len - 1] == '\r'))
        len--;
    if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        if (o) /* a new answer (after a 100 or a retry): forget the last one's */
            memset(o, 0, sizeof(*o));
        r->has_content_range = false;
        return size * n;
    }
    if (!o)
        return size * n;
    struct str v;
    uint64_t u;
    if (header_is(ptr, len, "content-length", &v) && str_to_u64(v, &u)) {
        if (!r->has_content_range) {
            o->size = u;
            o->first = 0;
            o->last = u ? u - 1 : 0;
        }
    } else if (header_is(ptr, len, "content-range", &v)) {
        r->has_content_range = true;
        parse_content_range(v, o);
    } else if (header_is(ptr, len, "last-modified", &v)) {
        o->mtime = imf_date(v);
    } else if (header_is(ptr, len, "content-type", &v) && v.len < sizeof(o->content_type)) {
        memcpy(o->content_type, v.ptr, v.len);
        o->content_type[v.len] = '\0';
    }
    return size * n;
}

static void set_error(struct net_s3_error *err, const struct net_s3_request *r, long status,
                      const char *fmt, const char *a, const char *b)
{
    if (!err)
        return;
    err->status = status;
    char what[256];
    snprintf(what, sizeof(what), fmt, a, b);
    snprintf(err->message, sizeof(err->message), "%s %s: %s", r->method,
             r->key ? r->key : r->c->bucket, what);
}

/* The result of an answer with status (no transport failure). */
static enum rc answer_rc(struct net_s3_request *r, struct net_s3_error *err)
{
    long st = r->status;
    if (st >= 200 && st < 300)
        return RC_OK;
    struct str body = buf_str(&r->error_body);
    char code[64] = "", msg[200] = "";
    struct str xc = net_s3_xml_first(body, "Code");
    struct str xm = net_s3_xml_first(body, "Message");
    long cn = net_s3_xml_unescape(xc, code, sizeof(code) - 1);
    long mn = net_s3_xml_unescape(xm, msg, sizeof(msg) - 1);
    code[cn > 0 ? cn : 0] = '\0';
    msg[mn > 0 ? mn : 0] = '\0';
    char status[96]; /* 20 digits, a space, the code */
    snprintf(status, sizeof(status), "%ld%s%s", st, code[0] ? " " : "", code);
    set_error(err, r, st, msg[0] ? "%s: %s" : "%s%s", status, msg);
    if (st == 404 && (!code[0] || strcmp(code, "NoSuchKey") == 0))
        return RC_NOT_FOUND;
    if (st == 416)
        return RC_INVALID;
    return st >= 500 ? RC_UNAVAILABLE : RC_IO;
}

static enum rc perform_once(CURL *h, struct net_s3_request *r, struct net_s3_error *err)
{
    struct buf url;
    buf_init(&url, NET_S3_URL_MAX);
    enum rc rc = build_url(&url, r->c, r->key, r->query);
    if (rc) {
        buf_cleanup(&url);
        set_error(err, r, 0, "%s%s", "the endpoint is not an http(s) URL", "");
        return RC_INVALID;
    }
    char sigv4[160], payload[96], range[80], type[200], md5[80];
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", r->c->region);
    const char *hash = EMPTY_SHA256;
    char hex[65];
    if (r->fd >= 0) {
        hash = "UNSIGNED-PAYLOAD"; /* streamed: the file is not read twice */
    } else if (r->body.len) {
        unsigned char d[32];
        secure_sha256(r->body.ptr, r->body.len, d);
        str_hex_encode(d, sizeof(d), hex);
        hex[64] = '\0';
        hash = hex;
    }
    snprintf(payload, sizeof(payload), "x-amz-content-sha256: %s", hash);
    struct curl_slist *headers = curl_slist_append(NULL, payload);
    if (r->content_type) {
        snprintf(type, sizeof(type), "Content-Type: %s", r->content_type);
        headers = curl_slist_append(headers, type);
    }
    if (r->content_md5) {
        snprintf(md5, sizeof(md5), "Content-MD5: %s", r->content_md5);
        headers = curl_slist_append(headers, md5);
    }
    if (r->has_range) {
        if (r->last == NET_S3_TO_END)
            snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)r->first);
        else
            snprintf(range, sizeof(range), "Range: bytes=%llu-%llu", (unsigned long long)r->first,
                     (unsigned long long)r->last);
        headers = curl_slist_append(headers, range);
    }
    void *body_ud[2] = {h, r};
    curl_easy_setopt(h, CURLOPT_URL, url.data);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, r->c->access_key);
    curl_easy_setopt(h, CURLOPT_PASSWORD, r->c->secret);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tarmac");
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, STALL_S);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body_ud);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, r);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)(r->fd >= 0 ? r->file_size : r->body.len));
    } else if (strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body.ptr);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
    metrics_add_shared(&requests_sent, 1);
    CURLcode cc = curl_easy_perform(h);
    r->status = status_of(h);
    curl_slist_free_all(headers);
    buf_cleanup(&url);
    if (r->sink_rc)
        return r->sink_rc;
    if (r->is_too_large) {
        set_error(err, r, r->status, "%s%s", "the answer is too large", "");
        return RC_TOO_LARGE;
    }
    if (cc != CURLE_OK) {
        set_error(err, r, 0, "%s%s", curl_easy_strerror(cc), "");
        return RC_UNAVAILABLE;
    }
    return answer_rc(r, err);
}

/* Sends r (once more after a 5xx, as S3 asks clients to); counts it. */
enum rc net_s3_perform(struct net_s3_request *r, struct net_s3_error *err)
{
    if (err) {
        err->status = 0;
        err->message[0] = '\0';
    }
    if (net_worker_is_loop_thread()) {
        log_error("msg=\"S3 call on a worker loop refused\" method=%s", r->method);
        set_error(err, r, 0, "%s%s", "called on a worker loop", "");
        return RC_INTERNAL;
    }
    CURL *h = thread_handle();
    if (!h) {
        set_error(err, r, 0, "%s%s", "curl init failed", "");
        return RC_NOMEM;
    }
    buf_init(&r->error_body, ERROR_BODY_MAX);
    enum rc rc = perform_once(h, r, err);
    if (rc == RC_UNAVAILABLE && r->status >= 500 && !r->sink_rc && rewind_body(r)) {
        buf_reset(&r->error_body);
        struct timespec ts = {0, RETRY_DELAY_MS * 1000000L};
        nanosleep(&ts, NULL);
        curl_easy_reset(h);
        rc = perform_once(h, r, err);
    }
    buf_cleanup(&r->error_body);
    if (rc != RC_OK && rc != RC_NOT_FOUND)
        metrics_add_shared(&requests_failed, 1);
    if (rc == RC_OK && err)
        err->message[0] = '\0';
    return rc;
}

void net_s3_request_init(struct net_s3_request *r, const struct net_s3_config *c,
                         const char *method, const char *key)
{
    memset(r, 0, sizeof(*r));
    r->c = c;
    r->method = method;
    r->key = key;
    r->fd = -1;
}
