/* chunked.h -- incremental decoder of the chunked transfer coding (layer: http).
 *
 * RFC 9112 §7.1. Pure state machine over (ptr, len): feed it bytes as they
 * arrive, in any split, and it appends the payload to a struct buf whose
 * maximum is the body limit. Chunk extensions are checked against RFC 9112's
 * grammar (an empty one, "5;", is malformed) and ignored; trailer fields are
 * checked and dropped (nothing here needs them). */
#ifndef TARMAC_HTTP_CHUNKED_H
#define TARMAC_HTTP_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define HTTP_CHUNKED_MAX_LINE 4096     /* bytes of a chunk-size line or a trailer line */
#define HTTP_CHUNKED_MAX_TRAILERS 8192 /* bytes of the whole trailer section */

struct http_chunked {
    int state;
    uint64_t remaining; /* bytes left in the current chunk */
    unsigned digits;    /* hex digits read of the current size */
    size_t line_len;    /* bytes of the current size or trailer line */
    size_t trailer_len; /* bytes of trailer section so far */
    bool has_colon;     /* the current trailer line has its ':' */
};

enum http_chunked_result {
    HTTP_CHUNKED_DONE,      /* the last chunk and trailers are read */
    HTTP_CHUNKED_PARTIAL,   /* all input used; more needed */
    HTTP_CHUNKED_BAD,       /* malformed: 400 */
    HTTP_CHUNKED_TOO_LARGE, /* payload past out's maximum: 413 */
    HTTP_CHUNKED_NOMEM,     /* out could not grow */
};

/* Sets d up for a new body. */
void http_chunked_init(struct http_chunked *d);
/* Decodes in[0..len), appending payload to out. *used = bytes consumed; on
 * DONE the bytes after the body (a pipelined request) are not consumed. After
 * BAD/TOO_LARGE/NOMEM the decoder must not be fed again. */
enum http_chunked_result http_chunked_decode(struct http_chunked *d, const char *in, size_t len,
                                             size_t *used, struct buf *out);

#endif
