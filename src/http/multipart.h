/* multipart.h -- multipart/form-data parser (layer: http).
 *
 * RFC 7578 over RFC 2046 framing. A pure function over a complete body already
 * in memory (the server buffers bodies up to the request limit, so nothing
 * here streams): it splits the body into parts and returns, for each, its form
 * name, its filename, its Content-Type and its data as a slice into the body.
 * Nothing is copied except names that need decoding. Framing is strict where
 * two readers could disagree (CRLF everywhere, one Content-Disposition per
 * part, a closing delimiter) and lenient only where every deployed sender
 * differs from the RFC the same way (browsers' %22 escapes, MSIE backslashes).
 *
 * Typical use (api layer):
 *     struct str b;
 *     if (http_multipart_boundary(content_type, &b) == RC_OK)
 *         rc = http_multipart_parse(body, b, req->arena, &parts, &n, &why);
 */
#ifndef TARMAC_HTTP_MULTIPART_H
#define TARMAC_HTTP_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/rc.h"
#include "base/str.h"

#define HTTP_MULTIPART_MAX_BOUNDARY 70       /* bytes; RFC 2046 §5.1.1 */
#define HTTP_MULTIPART_MAX_PARTS 1000        /* parts in one body */
#define HTTP_MULTIPART_MAX_HEADER_BYTES 8192 /* a part's header section, blank line included */
#define HTTP_MULTIPART_MAX_NAME 255          /* bytes of a decoded form name */

/* One part. Slices point into the body given to http_multipart_parse() or,
 * for a name or filename that had to be decoded, into its arena: they are valid
 * while both live. */
struct http_multipart_part {
    struct str name;         /* form field name, decoded; may be empty (name="") */
    struct str filename;     /* decoded; empty when absent, see has_filename */
    struct str content_type; /* Content-Type value as sent, trimmed; empty when absent */
    struct str data;         /* the part's body bytes, exactly as sent (may hold NULs) */
    bool has_filename;       /* a filename= (or a decodable filename*=) was given, maybe "" */
};

/* Reads the boundary parameter of a Content-Type value such as
 * `multipart/form-data; boundary=----WebKitFormBoundaryXYZ`. The media type
 * and parameter names match case-insensitively; the value may be a token or a
 * quoted-string. On RC_OK *boundary is a slice into content_type (never
 * copied: a valid boundary needs no unescaping).
 *   RC_NOT_FOUND  the media type is not multipart/form-data (try another decoder);
 *   RC_INVALID    it is, but the parameters are malformed, boundary is missing or
 *                 repeated, or is not 1..70 RFC 2046 bchars (no trailing space).
 * Never reads outside content_type. */
enum rc http_multipart_boundary(struct str content_type, struct str *boundary);

/* Splits body into parts delimited by boundary (as returned by
 * http_multipart_boundary(); 1..70 bytes). On RC_OK *parts is an array of
 * *count parts in body order, allocated in a (NULL when *count is 0); the
 * preamble and epilogue are ignored. On error *parts is NULL, *count 0, and
 * *why (when why is not NULL) points to a static sentence for the log or the
 * 400 message:
 *   RC_INVALID    malformed: no opening or closing delimiter, a delimiter line
 *                 with junk, a bare CR or LF or a control byte in part headers,
 *                 a header without a colon or folded, a part without exactly one
 *                 `Content-Disposition: form-data` with a name, an unterminated
 *                 quoted-string, a Content-Transfer-Encoding other than
 *                 7bit/8bit/binary, a bad boundary argument;
 *   RC_TOO_LARGE  over HTTP_MULTIPART_MAX_PARTS parts, a header section over
 *                 HTTP_MULTIPART_MAX_HEADER_BYTES, a name over HTTP_MULTIPART_MAX_NAME;
 *   RC_NOMEM      the arena could not grow (it only ever grows by amounts bounded
 *                 by the limits above times the part count).
 * Reads only body[0..body.len). Borrows body, boundary and a; call it on the
 * thread that owns a. The exact rules are listed at the top of multipart.c. */
enum rc http_multipart_parse(struct str body, struct str boundary, struct arena *a,
                             struct http_multipart_part **parts, size_t *count, const char **why);

#endif
