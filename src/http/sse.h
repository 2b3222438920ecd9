/* sse.h -- server-sent events: the event-stream response and its messages
 * (layer: http; WHATWG HTML "Server-sent events").
 *
 * Only what a server writes: a 200 text/event-stream head that no proxy
 * buffers or caches, messages of id/event/data lines, and comment lines as
 * keep-alives. A message's data is one line: the caller passes data without
 * CR or LF (compact JSON has none), so each message is one `data:` line,
 * which is all some client parsers keep (spec §7.1). */
#ifndef TARMAC_HTTP_SSE_H
#define TARMAC_HTTP_SSE_H

#include "base/buf.h"
#include "base/rc.h"
#include "base/str.h"
#include "http/req.h"

/* A comment line: EventSource parsers skip it; it keeps proxies from timing
 * the stream out and finds dead peers. */
#define HTTP_SSE_PING ":ping\n\n"

/* Sets req's response to the event-stream head: 200, text/event-stream,
 * Cache-Control: no-store, X-Accel-Buffering: no. */
void http_sse_start(struct http_req *req);

/* Appends "id:<id>\nevent:<event>\ndata:<data>\n\n" to b. Fails with
 * RC_INVALID, leaving b unchanged, when any part holds CR or LF (it would
 * split the message), and with RC_TOO_LARGE past b's maximum. */
enum rc http_sse_format(struct buf *b, struct str id, struct str event, struct str data);

#endif
