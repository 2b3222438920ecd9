/* s3.c -- see s3.h.
 *
 * libcurl signs (CURLOPT_AWS_SIGV4) but Debian 12's 7.88 does three things
 * its later versions changed, so this file does them itself: it sends no
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

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/b64.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/secure.h"
#include "net/http_out.h"
#include "net/s3_xml.h"
#include "net/worker.h"

#define URL_MAX 8192
#define ERROR_BODY_MAX 4096
#define LIST_BODY_MAX (8u << 20) /* a page of 1000 keys is ~300 KiB */
#define DELETE_BATCH 1000        /* DeleteObjects' limit */
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
static enum rc append_encoded(struct buf *b, const char *s, bool keep_slash)
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
            rc = append_encoded(b, c->bucket, false);
        if (!rc && key)
            rc = buf_append_cstr(b, "/");
    } else {
        if (!rc)
            rc = append_encoded(b, c->bucket, false);
        if (!rc)
            rc = buf_append_cstr(b, ".");
        if (!rc)
            rc = buf_append(b, rest, n);
        if (!rc)
            rc = buf_append_cstr(b, "/");
    }
    if (!rc && key)
        rc = append_encoded(b, key, true);
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

struct request {
    /* in */
    const struct net_s3_config *c;
    const char *method; /* GET HEAD PUT POST DELETE */
    const char *key;    /* NULL: the bucket */
    const char *query;  /* sorted and encoded, or NULL */
    const char *content_type;
    const char *content_md5;
    struct str body;            /* PUT or POST from memory */
    int fd;                     /* PUT from this file when >= 0 */
    uint64_t file_size;         /* its size */
    bool has_range;             /* GET bytes first..last */
    uint64_t first, last;       /* last NET_S3_TO_END: open-ended */
    net_s3_sink_fn *sink;       /* a 2xx GET body goes here ... */
    void *sink_ctx;             /* ... */
    struct buf *response;       /* ... or here (bucket calls) */
    struct net_s3_object *info; /* may be NULL */
    /* state */
    size_t body_off;
    long status;
    enum rc sink_rc;
    bool is_too_large;
    bool has_content_range; /* Content-Length is then the part's, not the object's */
    struct buf error_body;
};

static long status_of(CURL *h)
{
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static size_t on_read(char *dst, size_t size, size_t n, void *ud)
{
    struct request *r = ud;
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
static bool rewind_body(struct request *r)
{
    r->body_off = 0;
    return r->fd < 0 || lseek(r->fd, 0, SEEK_SET) == 0;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    CURL *h = ((void **)ud)[0];
    struct request *r = ((void **)ud)[1];
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
    struct request *r = ud;
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

static void set_error(struct net_s3_error *err, const struct request *r, long status,
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
static enum rc answer_rc(struct request *r, struct net_s3_error *err)
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

static enum rc perform_once(CURL *h, struct request *r, struct net_s3_error *err)
{
    struct buf url;
    buf_init(&url, URL_MAX);
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
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
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
static enum rc perform(struct request *r, struct net_s3_error *err)
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

static void request_init(struct request *r, const struct net_s3_config *c, const char *method,
                         const char *key)
{
    memset(r, 0, sizeof(*r));
    r->c = c;
    r->method = method;
    r->key = key;
    r->fd = -1;
}

/* -------------------------------------------------------------------------
 * Objects
 * ------------------------------------------------------------------------- */

enum rc net_s3_put(const struct net_s3_config *c, const char *key, struct str data,
                   const char *content_type, struct net_s3_error *err)
{
    struct request r;
    request_init(&r, c, "PUT", key);
    r.body = data;
    r.content_type = content_type;
    return perform(&r, err);
}

enum rc net_s3_put_file(const struct net_s3_config *c, const char *key, const char *path,
                        const char *content_type, struct net_s3_error *err)
{
    struct request r;
    request_init(&r, c, "PUT", key);
    r.content_type = content_type;
    r.fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (r.fd < 0 || fstat(r.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_error(err, &r, 0, "cannot read %s: %s", path, strerror(errno));
        if (r.fd >= 0)
            close(r.fd);
        return RC_IO;
    }
    r.file_size = (uint64_t)st.st_size;
    enum rc rc = perform(&r, err);
    close(r.fd);
    return rc;
}

enum rc net_s3_get(const struct net_s3_config *c, const char *key, uint64_t first, uint64_t last,
                   net_s3_sink_fn *sink, void *ctx, struct net_s3_object *info,
                   struct net_s3_error *err)
{
    struct net_s3_object tmp;
    struct request r;
    request_init(&r, c, "GET", key);
    r.has_range = first != 0 || last != NET_S3_TO_END;
    r.first = first;
    r.last = last;
    r.sink = sink;
    r.sink_ctx = ctx;
    r.info = info ? info : &tmp;
    memset(r.info, 0, sizeof(*r.info));
    return perform(&r, err);
}

struct file_sink {
    int fd;
};

static enum rc write_all(void *ctx, const char *data, size_t len)
{
    struct file_sink *fs = ctx;
    while (len) {
        ssize_t w = write(fs->fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return RC_IO;
        data += w;
        len -= (size_t)w;
    }
    return RC_OK;
}

enum rc net_s3_get_file(const struct net_s3_config *c, const char *key, const char *path,
                        struct net_s3_object *info, struct net_s3_error *err)
{
    struct file_sink fs = {open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
    if (fs.fd < 0) {
        if (err) {
            err->status = 0;
            snprintf(err->message, sizeof(err->message), "GET %s: cannot create %s: %s", key, path,
                     strerror(errno));
        }
        return RC_IO;
    }
    enum rc rc = net_s3_get(c, key, 0, NET_S3_TO_END, write_all, &fs, info, err);
    if (close(fs.fd) != 0 && !rc)
        rc = RC_IO;
    if (rc)
        unlink(path);
    return rc;
}

enum rc net_s3_head(const struct net_s3_config *c, const char *key, struct net_s3_object *info,
                    struct net_s3_error *err)
{
    struct net_s3_object tmp;
    struct request r;
    request_init(&r, c, "HEAD", key);
    r.info = info ? info : &tmp;
    memset(r.info, 0, sizeof(*r.info));
    enum rc rc = perform(&r, err);
    r.info->first = r.info->last = 0;
    return rc;
}

enum rc net_s3_delete(const struct net_s3_config *c, const char *key, struct net_s3_error *err)
{
    struct request r;
    request_init(&r, c, "DELETE", key);
    enum rc rc = perform(&r, err);
    return rc == RC_NOT_FOUND ? RC_OK : rc;
}

/* -------------------------------------------------------------------------
 * Listing and deleting by prefix
 * ------------------------------------------------------------------------- */

/* One ListObjectsV2 page after token (NULL: the first); fn per object.
 * *next gets the next page's token ("" when this was the last). */
static enum rc list_page(const struct net_s3_config *c, const char *prefix, const char *token,
                         net_s3_list_fn *fn, void *ctx, struct buf *next, struct net_s3_error *err)
{
    /* The query's names in order: continuation-token, list-type, prefix. */
    struct buf q;
    buf_init(&q, URL_MAX);
    enum rc rc = RC_OK;
    if (token && token[0]) {
        rc = buf_append_cstr(&q, "continuation-token=");
        if (!rc)
            rc = append_encoded(&q, token, false);
        if (!rc)
            rc = buf_append_cstr(&q, "&");
    }
    if (!rc)
        rc = buf_append_cstr(&q, "list-type=2&prefix=");
    if (!rc)
        rc = append_encoded(&q, prefix, false);
    if (!rc)
        rc = buf_append(&q, "", 1);
    struct buf body;
    buf_init(&body, LIST_BODY_MAX);
    if (!rc) {
        struct request r;
        request_init(&r, c, "GET", NULL);
        r.query = q.data;
        r.response = &body;
        rc = perform(&r, err);
    }
    buf_reset(next);
    struct str xml = buf_str(&body);
    size_t pos = 0;
    struct str item;
    char key[1100];
    while (!rc && net_s3_xml_next(xml, "Contents", &pos, &item)) {
        long kn = net_s3_xml_unescape(net_s3_xml_first(item, "Key"), key, sizeof(key) - 1);
        uint64_t size = 0;
        (void)str_to_u64(net_s3_xml_first(item, "Size"), &size);
        int64_t mtime = net_s3_xml_time(net_s3_xml_first(item, "LastModified"));
        if (kn <= 0)
            continue;
        key[kn] = '\0';
        rc = fn(ctx, (struct str){key, (size_t)kn}, size, mtime < 0 ? 0 : mtime);
    }
    if (!rc && str_eq(net_s3_xml_first(xml, "IsTruncated"), STR_LIT("true"))) {
        char tok[1100];
        long tn = net_s3_xml_unescape(net_s3_xml_first(xml, "NextContinuationToken"), tok,
                                      sizeof(tok) - 1);
        if (tn <= 0) {
            rc = RC_IO; /* truncated without a way on: never loop */
            if (err)
                snprintf(err->message, sizeof(err->message),
                         "GET %s: a truncated listing without a continuation token", c->bucket);
        } else {
            rc = buf_append(next, tok, (size_t)tn);
            if (!rc)
                rc = buf_append(next, "", 1);
        }
    }
    buf_cleanup(&body);
    buf_cleanup(&q);
    return rc;
}

enum rc net_s3_list(const struct net_s3_config *c, const char *prefix, net_s3_list_fn *fn,
                    void *ctx, struct net_s3_error *err)
{
    struct buf token, next;
    buf_init(&token, 2048);
    buf_init(&next, 2048);
    enum rc rc = RC_OK;
    bool is_first = true;
    while (!rc && (is_first || token.len)) {
        rc = list_page(c, prefix, is_first ? NULL : token.data, fn, ctx, &next, err);
        is_first = false;
        struct buf t = token;
        token = next;
        next = t;
    }
    buf_cleanup(&token);
    buf_cleanup(&next);
    return rc;
}

/* The keys of one DeleteObjects request, as its XML body. */
struct batch {
    struct buf xml;
    size_t count;
    enum rc rc;
};

static enum rc add_key(void *ctx, struct str key, uint64_t size, int64_t mtime)
{
    (void)size;
    (void)mtime;
    struct batch *b = ctx;
    if (b->count >= DELETE_BATCH)
        return RC_OK; /* the next round lists it again */
    enum rc rc = buf_append_cstr(&b->xml, "<Object><Key>");
    if (!rc)
        rc = net_s3_xml_escape(&b->xml, key);
    if (!rc)
        rc = buf_append_cstr(&b->xml, "</Key></Object>");
    if (!rc)
        b->count++;
    return rc;
}

static enum rc delete_batch(const struct net_s3_config *c, struct batch *b,
                            struct net_s3_error *err)
{
    if (buf_append_cstr(&b->xml, "</Delete>"))
        return RC_TOO_LARGE;
    unsigned char digest[16];
    unsigned int dn = 0;
    if (EVP_Digest(b->xml.data, b->xml.len, digest, &dn, EVP_md5(), NULL) != 1 || dn != 16)
        return RC_INTERNAL;
    char md5[32];
    md5[b64_encode(B64_STD_PAD, digest, 16, md5)] = '\0';
    struct buf answer;
    buf_init(&answer, LIST_BODY_MAX);
    struct request r;
    request_init(&r, c, "POST", NULL);
    r.query = "delete=";
    r.body = buf_str(&b->xml);
    r.content_type = "application/xml";
    r.content_md5 = md5;
    r.response = &answer;
    enum rc rc = perform(&r, err);
    struct str failed;
    size_t pos = 0;
    if (!rc && net_s3_xml_next(buf_str(&answer), "Error", &pos, &failed)) {
        char code[64] = "", key[300] = "";
        long cn = net_s3_xml_unescape(net_s3_xml_first(failed, "Code"), code, sizeof(code) - 1);
        long kn = net_s3_xml_unescape(net_s3_xml_first(failed, "Key"), key, sizeof(key) - 1);
        code[cn > 0 ? cn : 0] = '\0';
        key[kn > 0 ? kn : 0] = '\0';
        if (err)
            snprintf(err->message, sizeof(err->message), "POST %s?delete: %s not deleted: %s",
                     c->bucket, key, code);
        rc = RC_IO;
    }
    buf_cleanup(&answer);
    return rc;
}

enum rc net_s3_delete_prefix(const struct net_s3_config *c, const char *prefix,
                             struct net_s3_error *err)
{
    if (!prefix || !prefix[0])
        return RC_INVALID;
    /* List the first page, delete it, list again: what is deleted leaves the
     * listing, so no continuation token must outlive the deletes. Bounded,
     * in case a store answers deletes it does not do. */
    for (int round = 0; round < 100000; round++) {
        struct batch b = {.count = 0};
        buf_init(&b.xml, 512u << 10);
        enum rc rc = buf_append_cstr(&b.xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                                             "<Delete><Quiet>true</Quiet>");
        struct buf next;
        buf_init(&next, 2048);
        if (!rc)
            rc = list_page(c, prefix, NULL, add_key, &b, &next, err);
        bool is_more = next.len > 0;
        buf_cleanup(&next);
        if (!rc && b.count)
            rc = delete_batch(c, &b, err);
        size_t count = b.count;
        buf_cleanup(&b.xml);
        if (rc || !count || !is_more)
            return rc;
    }
    return RC_IO;
}
