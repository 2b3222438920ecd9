/* s3_object.c -- see s3.h: the calls on objects and on a prefix, each one
 * request or a few (net_s3_perform, s3.c, sends them). */
#include "net/s3.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/b64.h"
#include "base/buf.h"
#include "net/s3_int.h"
#include "net/s3_xml.h"

#define DELETE_BATCH 1000 /* DeleteObjects' limit */

/* -------------------------------------------------------------------------
 * Objects
 * ------------------------------------------------------------------------- */

enum rc net_s3_put(const struct net_s3_config *c, const char *key, struct str data,
                   const char *content_type, struct net_s3_error *err)
{
    struct net_s3_request r;
    net_s3_request_init(&r, c, "PUT", key);
    r.body = data;
    r.content_type = content_type;
    return net_s3_perform(&r, err);
}

enum rc net_s3_put_file(const struct net_s3_config *c, const char *key, const char *path,
                        const char *content_type, struct net_s3_error *err)
{
    struct net_s3_request r;
    net_s3_request_init(&r, c, "PUT", key);
    r.content_type = content_type;
    r.fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (r.fd < 0 || fstat(r.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (err) {
            err->status = 0;
            snprintf(err->message, sizeof(err->message), "PUT %s: cannot read %s: %s", key, path,
                     strerror(errno));
        }
        if (r.fd >= 0)
            close(r.fd);
        return RC_IO;
    }
    r.file_size = (uint64_t)st.st_size;
    enum rc rc = net_s3_perform(&r, err);
    close(r.fd);
    return rc;
}

enum rc net_s3_get(const struct net_s3_config *c, const char *key, uint64_t first, uint64_t last,
                   net_s3_sink_fn *sink, void *ctx, struct net_s3_object *info,
                   struct net_s3_error *err)
{
    struct net_s3_object tmp;
    struct net_s3_request r;
    net_s3_request_init(&r, c, "GET", key);
    r.has_range = first != 0 || last != NET_S3_TO_END;
    r.first = first;
    r.last = last;
    r.sink = sink;
    r.sink_ctx = ctx;
    r.info = info ? info : &tmp;
    memset(r.info, 0, sizeof(*r.info));
    return net_s3_perform(&r, err);
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
    struct net_s3_request r;
    net_s3_request_init(&r, c, "HEAD", key);
    r.info = info ? info : &tmp;
    memset(r.info, 0, sizeof(*r.info));
    enum rc rc = net_s3_perform(&r, err);
    r.info->first = r.info->last = 0;
    return rc;
}

enum rc net_s3_delete(const struct net_s3_config *c, const char *key, struct net_s3_error *err)
{
    struct net_s3_request r;
    net_s3_request_init(&r, c, "DELETE", key);
    enum rc rc = net_s3_perform(&r, err);
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
    buf_init(&q, NET_S3_URL_MAX);
    enum rc rc = RC_OK;
    if (token && token[0]) {
        rc = buf_append_cstr(&q, "continuation-token=");
        if (!rc)
            rc = net_s3_append_encoded(&q, token, false);
        if (!rc)
            rc = buf_append_cstr(&q, "&");
    }
    if (!rc)
        rc = buf_append_cstr(&q, "list-type=2&prefix=");
    if (!rc)
        rc = net_s3_append_encoded(&q, prefix, false);
    if (!rc)
        rc = buf_append(&q, "", 1);
    struct buf body;
    buf_init(&body, NET_S3_LIST_BODY_MAX);
    if (!rc) {
        struct net_s3_request r;
        net_s3_request_init(&r, c, "GET", NULL);
        r.query = q.data;
        r.response = &body;
        rc = net_s3_perform(&r, err);
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
    buf_init(&answer, NET_S3_LIST_BODY_MAX);
    struct net_s3_request r;
    net_s3_request_init(&r, c, "POST", NULL);
    r.query = "delete=";
    r.body = buf_str(&b->xml);
    r.content_type = "application/xml";
    r.content_md5 = md5;
    r.response = &answer;
    enum rc rc = net_s3_perform(&r, err);
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
