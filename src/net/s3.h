/* s3.h -- a blocking client of the S3 REST API over libcurl (layer: net).
 *
 * What tarmac stores in S3 (uploads and thumbnails, core/files/storage_s3.c;
 * backups later) goes through these calls: put an object from memory or a
 * file, get one (or a byte range of it) into a callback or a file, head,
 * delete, list a prefix, delete a prefix. Any S3-compatible service works
 * (AWS S3, Cloudflare R2, MinIO, Backblaze B2): requests are signed with
 * AWS Signature Version 4 by libcurl (CURLOPT_AWS_SIGV4,
 * "aws:amz:<region>:s3"), the payload hash is sent as x-amz-content-sha256
 * (the body's SHA-256, UNSIGNED-PAYLOAD for a file streamed from disk),
 * and the bucket is addressed path-style (<endpoint>/<bucket>/<key>) or
 * virtual-host style (<scheme>://<bucket>.<host>/<key>).
 *
 * Every call blocks for its round trips: offload pool, job runners and
 * other threads of their own only; a call made on a worker's loop thread
 * is refused (RC_INTERNAL, logged) without touching the network. Each
 * thread keeps its own libcurl handle, so its connections to the endpoint
 * stay open between calls. The endpoint is the superuser's setting, so
 * private and loopback addresses are allowed (a MinIO beside tarmac).
 *
 * Results: RC_OK; RC_NOT_FOUND (404: no such key); RC_INVALID (416: a range
 * past the end); RC_UNAVAILABLE (no connection, a timeout, a 5xx answer,
 * after one retry of a 5xx); RC_IO (any other answer: a refused signature,
 * no such bucket, ...). err, when not NULL, says what happened in one line
 * ("PUT a/b.txt: 403 SignatureDoesNotMatch: The request signature ..."). */
#ifndef TARMAC_NET_S3_H
#define TARMAC_NET_S3_H

#include <stdbool.h>
#include <stdint.h>

#include "base/rc.h"
#include "base/str.h"

/* Borrowed strings; the caller keeps them alive for the call. */
struct net_s3_config {
    const char *endpoint; /* "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000" */
    const char *bucket;
    const char *region;
    const char *access_key;
    const char *secret;
    bool force_path_style; /* <endpoint>/<bucket>/<key> instead of <bucket>.<host>/<key> */
};

/* What one failed call says; message is "" after a success. */
struct net_s3_error {
    long status;       /* the HTTP status, 0 when no answer came */
    char message[512]; /* one line, for logs and the settings test */
};

/* An object's attributes, from a GET or HEAD. */
struct net_s3_object {
    uint64_t size;          /* of the whole object */
    int64_t mtime;          /* Last-Modified in Unix seconds; 0 when absent */
    char content_type[128]; /* "" when absent */
    uint64_t first, last;   /* the bytes a GET returned (last inclusive); size 0: none */
};

/* Receives a GET's body in pieces; anything but RC_OK stops the transfer
 * and becomes the call's result. */
typedef enum rc net_s3_sink_fn(void *ctx, const char *data, size_t len);
/* One listed object; anything but RC_OK stops the listing and becomes the
 * call's result. key is valid for the call only. */
typedef enum rc net_s3_list_fn(void *ctx, struct str key, uint64_t size, int64_t mtime);

#define NET_S3_TO_END UINT64_MAX /* a range's last byte: the end of the object */

/* Whether c names an endpoint the client can address: an http(s) URL with
 * a host, and a bucket, region, access key and secret. Pure. */
bool net_s3_config_is_usable(const struct net_s3_config *c);

/* Stores data under key with Content-Type content_type (NULL: none). */
enum rc net_s3_put(const struct net_s3_config *c, const char *key, struct str data,
                   const char *content_type, struct net_s3_error *err);
/* Stores the file at path under key, streamed from disk. RC_IO when the
 * file cannot be read. */
enum rc net_s3_put_file(const struct net_s3_config *c, const char *key, const char *path,
                        const char *content_type, struct net_s3_error *err);
/* Gets bytes first..last (inclusive; first 0 and last NET_S3_TO_END: the
 * whole object, no Range header) of key into sink, and its attributes into
 * *info (which may be NULL). A range that starts inside the object and
 * ends past it gets what there is, as S3 answers. */
enum rc net_s3_get(const struct net_s3_config *c, const char *key, uint64_t first, uint64_t last,
                   net_s3_sink_fn *sink, void *ctx, struct net_s3_object *info,
                   struct net_s3_error *err);
/* Gets the whole of key into a new file at path (created, mode 0600; removed
 * again when the call fails). */
enum rc net_s3_get_file(const struct net_s3_config *c, const char *key, const char *path,
                        struct net_s3_object *info, struct net_s3_error *err);
/* The attributes of key (first and last unset). */
enum rc net_s3_head(const struct net_s3_config *c, const char *key, struct net_s3_object *info,
                    struct net_s3_error *err);
/* Deletes key; RC_OK when it did not exist (S3 answers 204 either way). */
enum rc net_s3_delete(const struct net_s3_config *c, const char *key, struct net_s3_error *err);
/* Calls fn for every object whose key starts with prefix, in key order,
 * page after page (ListObjectsV2). */
enum rc net_s3_list(const struct net_s3_config *c, const char *prefix, net_s3_list_fn *fn,
                    void *ctx, struct net_s3_error *err);
/* Deletes every object whose key starts with prefix ("" refused with
 * RC_INVALID: the whole bucket is never one call away), up to 1000 per
 * request (DeleteObjects). RC_IO when S3 reports a key it did not delete. */
enum rc net_s3_delete_prefix(const struct net_s3_config *c, const char *prefix,
                             struct net_s3_error *err);

/* Requests sent and those that failed (any result but RC_OK and
 * RC_NOT_FOUND) since start; any thread. */
void net_s3_counts(uint64_t *requests, uint64_t *failed);

#endif
