/* s3_int.h -- what s3.c (requests) and s3_object.c (the calls) share
 * (layer: net). Nothing outside net/s3*.c includes it. */
#ifndef TARMAC_NET_S3_INT_H
#define TARMAC_NET_S3_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "net/s3.h"

#define NET_S3_URL_MAX 8192
#define NET_S3_LIST_BODY_MAX (8u << 20) /* a page of 1000 keys is ~300 KiB */

/* One request: what to send, where its answer goes, and its state. */
struct net_s3_request {
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

/* Sets r up for method on key (NULL: the bucket) of c; the rest zero. */
void net_s3_request_init(struct net_s3_request *r, const struct net_s3_config *c,
                         const char *method, const char *key);
/* Sends r on the calling thread's handle (once more after a 5xx), counts
 * it, and fills err; the results of s3.h. Refused on a loop thread. */
enum rc net_s3_perform(struct net_s3_request *r, struct net_s3_error *err);
/* Appends s in AWS's URI encoding ('/' kept when keep_slash). */
enum rc net_s3_append_encoded(struct buf *b, const char *s, bool keep_slash);

#endif
